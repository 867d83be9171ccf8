// SPDX-License-Identifier: ISC
#include "core/mta/data_writer.hpp"

#include <gtest/gtest.h>

using namespace core::mta;

TEST(MtaDataWriter, StuffsDotsAndEndsLinesWithCrlf) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"", ".\r\n"},
        {"a\r\n", "a\r\n.\r\n"},
        {"a\n", "a\r\n.\r\n"},
        {"a", "a\r\n.\r\n"},
        {".\r\n", "..\r\n.\r\n"},
        {"Subject: x\n\n.hidden\n..two\nend.\n.",
         "Subject: x\r\n\r\n..hidden\r\n...two\r\nend.\r\n..\r\n.\r\n"},
        {"bare\rcr\r\nx\r", "bare\rcr\r\nx\r\n.\r\n"},
        {"\n\n", "\r\n\r\n.\r\n"},
    };
    for (const auto& [message, wire] : cases) {
        EXPECT_EQ(encode_data(message), wire) << message;
    }
}

TEST(MtaDataWriter, PiecesAddUpToTheWholeStream) {
    std::string message;
    for (int i = 0; i < 1000; ++i) {
        message += (i % 7 == 0 ? ".line " : "line ") + std::to_string(i) + "\n";
    }
    DataWriter writer(message);
    std::string joined;
    int pieces = 0;
    bool more = true;
    while (more) {
        std::string piece;
        more = writer.next(piece, 100);
        joined += piece;
        ++pieces;
    }
    EXPECT_TRUE(writer.done());
    EXPECT_GT(pieces, 50);
    EXPECT_EQ(joined, encode_data(message));
    std::string after;
    EXPECT_FALSE(writer.next(after, 100));
    EXPECT_TRUE(after.empty());
}

TEST(MtaDataWriter, SizeCountsCrlfButNotStuffing) {
    EXPECT_EQ(message_size(""), 0u);
    EXPECT_EQ(message_size("a\n"), 3u);
    EXPECT_EQ(message_size("a\r\n.b"), 7u);
    EXPECT_EQ(message_size("abc"), 5u);
}

TEST(MtaDataWriter, EightBitDetection) {
    EXPECT_FALSE(has_8bit("plain ascii\r\n"));
    EXPECT_TRUE(has_8bit("caf\xc3\xa9"));
}
