// SPDX-License-Identifier: ISC
#include "core/protocol/framing.hpp"

#include <gtest/gtest.h>

using core::protocol::LineBuffer;

TEST(LineBuffer, SplitsLinesAcrossChunks) {
    LineBuffer lines(100);
    lines.append("{\"a\":1}\n{\"b\"");
    EXPECT_EQ(lines.next_line(), "{\"a\":1}");
    EXPECT_EQ(lines.next_line(), std::nullopt);
    lines.append(":2}\r\n");
    EXPECT_EQ(lines.next_line(), "{\"b\":2}");
    EXPECT_EQ(lines.pending(), 0u);
}

TEST(LineBuffer, OverflowsOnALineLongerThanTheLimit) {
    LineBuffer lines(16);
    lines.append(std::string(10, 'x'));
    EXPECT_FALSE(lines.overflowed());
    lines.append(std::string(10, 'x'));
    EXPECT_TRUE(lines.overflowed());
    lines.append("\n");
    EXPECT_EQ(lines.next_line(), std::nullopt);
}

TEST(LineBuffer, OverflowsWhenTheNewlineComesTooLate) {
    LineBuffer lines(4);
    lines.append("abcdefgh\nok\n");
    EXPECT_EQ(lines.next_line(), std::nullopt);
    EXPECT_TRUE(lines.overflowed());
}

TEST(LineBuffer, AcceptsALineOfExactlyTheLimit) {
    LineBuffer lines(4);
    lines.append("abcd\n");
    EXPECT_EQ(lines.next_line(), "abcd");
    EXPECT_FALSE(lines.overflowed());
}
