// SPDX-License-Identifier: ISC
#include "core/smtp/data_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace core::smtp;

namespace {

struct Outcome {
    bool done = false;
    std::string body;
    std::size_t consumed = 0;
    DataStatus status = DataStatus::ok;
    std::uint64_t size = 0;
};

// Feeds `input` in chunks of `chunk` bytes (0: all at once), stopping at the end of data.
Outcome run(std::string_view input, DataOptions options = {}, std::size_t chunk = 0) {
    DataReader reader(options);
    Outcome out;
    std::size_t offset = 0;
    while (offset < input.size() && !reader.done()) {
        const auto piece = input.substr(offset, chunk == 0 ? input.size() : chunk);
        const auto used = reader.feed(piece, out.body);
        offset += used;
        if (used < piece.size()) {
            break;
        }
    }
    out.done = reader.done();
    out.consumed = offset;
    out.status = reader.status();
    out.size = reader.size();
    return out;
}

DataOptions refusing() {
    DataOptions options;
    options.bare_line_ending = BareLineEnding::refuse;
    options.long_lines = LongLines::refuse;
    return options;
}

} // namespace

TEST(SmtpDataReader, UnstuffsAndFindsTheEnd) {
    struct Case {
        std::string_view input;
        std::string_view body;
        std::size_t consumed;
    };
    const Case cases[] = {
        {".\r\n", "", 3},
        {"Subject: x\r\n\r\nhello\r\n.\r\n", "Subject: x\r\n\r\nhello\r\n", 24},
        {"..\r\n.\r\n", ".\r\n", 7},
        {"...\r\n.\r\n", "..\r\n", 8},
        {"..leading dot\r\n.\r\n", ".leading dot\r\n", 18},
        {".x\r\n.\r\n", "x\r\n", 7}, // RFC 5321 4.5.2: the first dot is always removed
        {"a.\r\n.b\r\n.\r\n", "a.\r\nb\r\n", 11},
        {"a\r\n.\r\nMAIL FROM:<x@y.z>\r\n", "a\r\n", 6},
        {"\r\n.\r\n", "\r\n", 5},
        {" .\r\n.\r\n", " .\r\n", 7},
    };
    for (const auto& c : cases) {
        for (const std::size_t chunk : {0, 1, 2, 3, 7}) {
            const auto out = run(c.input, {}, chunk);
            EXPECT_TRUE(out.done) << c.input << " chunk " << chunk;
            EXPECT_EQ(out.body, c.body) << c.input << " chunk " << chunk;
            EXPECT_EQ(out.consumed, c.consumed) << c.input << " chunk " << chunk;
            EXPECT_EQ(out.size, c.body.size()) << c.input;
            EXPECT_EQ(out.status, DataStatus::ok) << c.input;
        }
    }
}

TEST(SmtpDataReader, StopsAtTheDotAndLeavesPipelinedBytes) {
    DataReader reader;
    std::string body;
    const std::string_view chunk = "line\r\n.\r\nQUIT\r\n";
    const auto used = reader.feed(chunk, body);
    EXPECT_TRUE(reader.done());
    EXPECT_EQ(chunk.substr(used), "QUIT\r\n");
    EXPECT_EQ(reader.feed("more", body), 0U) << "nothing is consumed after the end";
    EXPECT_EQ(body, "line\r\n");
    EXPECT_EQ(reader.lines(), 1U);
    reader.reset();
    body.clear();
    EXPECT_FALSE(reader.done());
    EXPECT_EQ(reader.feed("x\r\n.\r\n", body), 6U);
    EXPECT_EQ(body, "x\r\n");
}

TEST(SmtpDataReader, IsIncompleteWithoutTheFinalCrlf) {
    for (const std::string_view input : {"", "a", "a\r\n", "a\r\n.", "a\r\n.\r", "a\r\n\r"}) {
        const auto out = run(input);
        EXPECT_FALSE(out.done) << input;
        EXPECT_EQ(out.consumed, input.size()) << input;
    }
}

// SMTP smuggling (2023, CVE-2023-51764 and friends): only CRLF "." CRLF ends the data. None of
// these inputs may end it; the bytes after the fake end stay inside the message, and the
// real end comes later.
TEST(SmtpDataReader, SmugglingSequencesDoNotEndTheData) {
    struct Case {
        std::string_view fake_end;
        std::string_view normalized; // what the fake end becomes in the body
    };
    const Case cases[] = {
        {"\n.\n", "\r\n.\r\n"},          {"\r.\r", "\r\n.\r\n"},
        {"\r\n.\n", "\r\n\r\n"},  // at a line start the dot is stuffing
        {"\n.\r\n", "\r\n.\r\n"}, // after a bare LF the dot is literal
        {"\r.\r\n", "\r\n.\r\n"},        {"\r\n.\r", "\r\n\r\n"},
        {"\r\n.\r\r\n", "\r\n\r\n\r\n"}, {"\r\r.\r\n", "\r\n\r\n.\r\n"},
        {"\n\r\n.\n", "\r\n\r\n\r\n"},
    };
    const std::string_view smuggled = "MAIL FROM:<admin@bank.example>\r\nRCPT TO:<victim@x.y>\r\n"
                                      "DATA\r\nforged\r\n";
    for (const auto& c : cases) {
        const std::string input =
            "Subject: hi\r\n\r\nbody" + std::string(c.fake_end) + std::string(smuggled) + ".\r\n";
        const std::string expected =
            "Subject: hi\r\n\r\nbody" + std::string(c.normalized) + std::string(smuggled);
        for (const std::size_t chunk : {0, 1, 2, 5}) {
            const auto out = run(input, {}, chunk);
            EXPECT_TRUE(out.done);
            EXPECT_EQ(out.consumed, input.size()) << "fake end taken as real: " << c.fake_end;
            EXPECT_EQ(out.body, expected) << "fake end " << testing::PrintToString(c.fake_end);
            EXPECT_EQ(out.body.find("\n.\n"), std::string::npos);
            EXPECT_EQ(out.status, DataStatus::ok);
        }
        const auto refused = run(input, refusing());
        EXPECT_TRUE(refused.done);
        EXPECT_EQ(refused.consumed, input.size());
        EXPECT_EQ(refused.status, DataStatus::bare_line_ending)
            << testing::PrintToString(c.fake_end);
    }
}

// The real sequence ends the data even after a bare CR: every hop reads CRLF "." CRLF alike.
TEST(SmtpDataReader, RealEndAfterABareCrStillEnds) {
    const auto out = run("body\r\r\n.\r\nQUIT\r\n");
    EXPECT_TRUE(out.done);
    EXPECT_EQ(out.body, "body\r\n\r\n");
    EXPECT_EQ(out.consumed, 10U);
}

TEST(SmtpDataReader, NormalizedBodiesHoldNoBareLineEndings) {
    const std::string input = "a\nb\rc\r\r\nd\n\ne\r\n.\r\n";
    const auto out = run(input);
    ASSERT_TRUE(out.done);
    EXPECT_EQ(out.body, "a\r\nb\r\nc\r\n\r\nd\r\n\r\ne\r\n");
    for (std::size_t i = 0; i < out.body.size(); ++i) {
        if (out.body[i] == '\r') {
            ASSERT_EQ(out.body[i + 1], '\n');
        } else if (out.body[i] == '\n') {
            ASSERT_EQ(out.body[i - 1], '\r');
        }
    }
}

TEST(SmtpDataReader, TooBigKeepsReadingToTheEnd) {
    DataOptions options;
    options.max_size = 10;
    const std::string input = "0123456789\r\nmore text\r\n.\r\nRSET\r\n";
    for (const std::size_t chunk : {0, 1, 4}) {
        const auto out = run(input, options, chunk);
        EXPECT_TRUE(out.done);
        EXPECT_EQ(out.status, DataStatus::too_big);
        EXPECT_EQ(out.consumed, input.size() - 6);
        EXPECT_EQ(out.size, 23U) << "the size is counted past the limit";
        EXPECT_LE(out.body.size(), 10U) << "the buffer stops growing";
    }
    options.max_size = 12;
    const auto exact = run("0123456789\r\n.\r\n", options);
    EXPECT_EQ(exact.status, DataStatus::ok);
    EXPECT_EQ(exact.size, 12U);
}

TEST(SmtpDataReader, LongLinesAreAcceptedOrRefused) {
    const std::string line998(998, 'x');
    const std::string ok = line998 + "\r\n.\r\n";
    const std::string over = line998 + "x\r\n.\r\n";
    // A stuffed dot counts: the limit is on the line as sent.
    const std::string stuffed = "." + line998 + "\r\n.\r\n";
    EXPECT_EQ(run(ok, refusing()).status, DataStatus::ok);
    EXPECT_EQ(run(over, refusing()).status, DataStatus::line_too_long);
    EXPECT_EQ(run(stuffed, refusing()).status, DataStatus::line_too_long);
    const auto accepted = run(over);
    EXPECT_EQ(accepted.status, DataStatus::ok);
    EXPECT_EQ(accepted.body, line998 + "x\r\n");
    const auto chunked = run(over, refusing(), 100);
    EXPECT_TRUE(chunked.done);
    EXPECT_EQ(chunked.status, DataStatus::line_too_long);
    DataOptions custom = refusing();
    custom.max_line = 10;
    EXPECT_EQ(run("12345678\r\n.\r\n", custom).status, DataStatus::ok);
    EXPECT_EQ(run("123456789\r\n.\r\n", custom).status, DataStatus::line_too_long);
}

TEST(SmtpDataReader, FirstProblemWins) {
    DataOptions options = refusing();
    options.max_size = 3;
    const auto out = run("a\nbcdef\r\n.\r\n", options);
    EXPECT_TRUE(out.done);
    EXPECT_EQ(out.status, DataStatus::bare_line_ending);
}

TEST(SmtpDataReader, HandlesLargeBodiesInOnePass) {
    std::string input;
    std::string expected;
    for (int i = 0; i < 2000; ++i) {
        const std::string line = (i % 10 == 0 ? "." : "") + std::string(70, 'a' + i % 26);
        input += (i % 10 == 0 ? "." : "") + line + "\r\n";
        expected += line + "\r\n";
    }
    input += ".\r\n";
    const auto out = run(input, {}, 4096);
    ASSERT_TRUE(out.done);
    EXPECT_EQ(out.body, expected);
    EXPECT_EQ(out.consumed, input.size());
}

TEST(SmtpLineSplitter, SplitsCrlfLinesAcrossChunks) {
    LineSplitter splitter;
    splitter.append("EHLO a\r\nMAIL FR");
    auto line = splitter.next();
    EXPECT_EQ(line.status, LineStatus::complete);
    EXPECT_EQ(line.text, "EHLO a");
    EXPECT_EQ(splitter.next().status, LineStatus::incomplete);
    splitter.append("OM:<>\r");
    EXPECT_EQ(splitter.next().status, LineStatus::incomplete);
    splitter.append("\n\r\nNOOP\n");
    line = splitter.next();
    EXPECT_EQ(line.text, "MAIL FROM:<>");
    line = splitter.next();
    EXPECT_EQ(line.status, LineStatus::complete);
    EXPECT_EQ(line.text, "");
    line = splitter.next();
    EXPECT_EQ(line.status, LineStatus::complete) << "bare LF normalized by default";
    EXPECT_EQ(line.text, "NOOP");
    EXPECT_EQ(splitter.next().status, LineStatus::incomplete);
}

TEST(SmtpLineSplitter, PipelinedLinesStayValidUntilAppend) {
    LineSplitter splitter;
    splitter.append("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n");
    std::vector<std::string_view> lines;
    for (auto line = splitter.next(); line.status == LineStatus::complete; line = splitter.next()) {
        lines.push_back(line.text);
    }
    ASSERT_EQ(lines.size(), 3U);
    EXPECT_EQ(lines[0], "MAIL FROM:<a@b.c>");
    EXPECT_EQ(lines[1], "RCPT TO:<d@e.f>");
    EXPECT_EQ(lines[2], "DATA");
}

TEST(SmtpLineSplitter, RefusesBareLfWhenAsked) {
    LineSplitter splitter(512, BareLineEnding::refuse);
    splitter.append("NOOP\nQUIT\r\n");
    auto line = splitter.next();
    EXPECT_EQ(line.status, LineStatus::bare_lf);
    EXPECT_EQ(line.text, "NOOP");
    line = splitter.next();
    EXPECT_EQ(line.status, LineStatus::complete);
    EXPECT_EQ(line.text, "QUIT");
}

TEST(SmtpLineSplitter, RecoversAfterAnOverlongLine) {
    LineSplitter splitter(10);
    splitter.append("0123456789\r\n");
    EXPECT_EQ(splitter.next().text, "0123456789");
    splitter.append("0123456789A\r\nNOOP\r\n");
    EXPECT_EQ(splitter.next().status, LineStatus::too_long);
    EXPECT_EQ(splitter.next().text, "NOOP");

    // An over-long line without its LF yet: reported once, then discarded as it arrives.
    splitter.append(std::string(20, 'x'));
    EXPECT_EQ(splitter.next().status, LineStatus::too_long);
    EXPECT_EQ(splitter.next().status, LineStatus::incomplete);
    splitter.append(std::string(5000, 'y'));
    EXPECT_EQ(splitter.next().status, LineStatus::incomplete);
    EXPECT_TRUE(splitter.pending().empty()) << "discarded bytes are not kept";
    splitter.append("zzz\r\nQUIT\r\n");
    const auto line = splitter.next();
    EXPECT_EQ(line.status, LineStatus::complete);
    EXPECT_EQ(line.text, "QUIT");
}

TEST(SmtpLineSplitter, HandsPendingBytesToTheDataReader) {
    LineSplitter splitter;
    splitter.append("DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n");
    ASSERT_EQ(splitter.next().text, "DATA");
    DataReader reader;
    std::string body;
    const auto used = reader.feed(splitter.pending(), body);
    splitter.consume_pending(used);
    EXPECT_TRUE(reader.done());
    EXPECT_EQ(body, "Subject: x\r\n\r\nbody\r\n");
    EXPECT_EQ(splitter.next().text, "QUIT");
    EXPECT_TRUE(splitter.pending().empty());
    splitter.append("NOOP\r\n");
    splitter.reset();
    EXPECT_EQ(splitter.next().status, LineStatus::incomplete) << "reset drops buffered input";
}
