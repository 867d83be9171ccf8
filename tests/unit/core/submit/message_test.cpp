// SPDX-License-Identifier: ISC
#include "core/submit/message.hpp"

#include <gtest/gtest.h>

#include <sstream>

using namespace core::submit;

namespace {

std::string read(const std::string& input, DotEnds dot_ends, std::size_t max = 1 << 20) {
    std::istringstream in(input);
    auto message = read_message(in, dot_ends, max);
    return message ? *message : "error: " + message.error().message;
}

} // namespace

TEST(SubmitRead, ALoneDotEndsTheMessageUnlessDotsAreText) {
    EXPECT_EQ(read("a\n.\nb\n", DotEnds::yes), "a\n");
    EXPECT_EQ(read("a\r\n.\r\nb\r\n", DotEnds::yes), "a\r\n");
    EXPECT_EQ(read("a\n.\nb\n", DotEnds::no), "a\n.\nb\n");
    EXPECT_EQ(read("a\n..\n. \n", DotEnds::yes), "a\n..\n. \n"); // only a dot alone
    EXPECT_EQ(read("no final newline", DotEnds::yes), "no final newline");
    EXPECT_EQ(read("", DotEnds::yes), "");
}

TEST(SubmitRead, RefusesMoreThanTheLimit) {
    EXPECT_EQ(read("0123456789\n", DotEnds::no, 11), "0123456789\n");
    EXPECT_EQ(
        read("0123456789\n0\n", DotEnds::no, 11).rfind("error: message larger than 11 bytes", 0),
        0u);
}

TEST(SubmitHeaders, FindsFieldsContinuationsAndTheEmptyLine) {
    const std::string m = "To: a,\n b\r\nFrom : c\nX-Y: z\n\nbody\nNot: a field\n";
    const auto section = parse_header_section(m);
    ASSERT_EQ(section.fields.size(), 3u);
    EXPECT_EQ(section.fields[0].name, "To");
    EXPECT_EQ(field_value(m, section.fields[0]), "a, b");
    EXPECT_EQ(section.fields[1].name, "From"); // blanks before the colon (RFC 5322 4.5.3)
    EXPECT_TRUE(section.separated);
    EXPECT_EQ(m.substr(section.end), "\nbody\nNot: a field\n");
}

TEST(SubmitHeaders, AFirstLineThatIsNoFieldStartsTheBody) {
    const auto none = parse_header_section("hello world\nTo: x\n");
    EXPECT_TRUE(none.fields.empty());
    EXPECT_EQ(none.end, 0u);
    EXPECT_FALSE(none.separated);
    const auto only = parse_header_section("Subject: s\n");
    EXPECT_EQ(only.fields.size(), 1u);
    EXPECT_EQ(only.end, 11u);
}

TEST(SubmitAddresses, ParsesAddressLists) {
    struct Case {
        std::string value;
        std::vector<std::string> addresses;
    };
    const Case cases[] = {
        {"root", {"root"}},
        {"a@b, c@d", {"a@b", "c@d"}},
        {"Alice Example <alice@example.org>", {"alice@example.org"}},
        {"\"Doe, John\" <john@example.org>, bob", {"john@example.org", "bob"}},
        {"alice@example.org (Alice, at home)", {"alice@example.org"}},
        {"team: a@b, c@d;, e@f", {"a@b", "c@d", "e@f"}},
        {"undisclosed-recipients:;", {}},
        {"\"john doe\"@example.org", {"\"john doe\"@example.org"}},
        {"", {}},
    };
    for (const auto& c : cases) {
        auto parsed = parse_address_list(c.value);
        ASSERT_TRUE(parsed) << c.value << ": " << parsed.error().message;
        EXPECT_EQ(*parsed, c.addresses) << c.value;
    }
    EXPECT_FALSE(parse_address_list("\"unclosed <a@b>"));
    EXPECT_FALSE(parse_address_list("a@b (unclosed"));
    EXPECT_FALSE(parse_address_list("Name <a@b"));
}

TEST(SubmitExtract, TakesToCcAndBccAndRemovesBcc) {
    const std::string m =
        "To: a@x\nBcc: hidden@x,\n  other@x\nCc: c@x\nSubject: s\n\nBcc: not a header\n";
    auto extracted = extract_recipients(m);
    ASSERT_TRUE(extracted);
    EXPECT_EQ(extracted->recipients,
              (std::vector<std::string>{"a@x", "hidden@x", "other@x", "c@x"}));
    EXPECT_EQ(extracted->message, "To: a@x\nCc: c@x\nSubject: s\n\nBcc: not a header\n");
}

TEST(SubmitHeaders, DropsALeadingMboxSeparator) {
    EXPECT_EQ(without_mbox_from_line("From alice Tue Jan  2 15:04:05 2024\nSubject: s\n"),
              "Subject: s\n");
    EXPECT_EQ(without_mbox_from_line("From: alice\n"), "From: alice\n");
    EXPECT_EQ(without_mbox_from_line("Subject: s\nFrom x\n"), "Subject: s\nFrom x\n");
}

TEST(SubmitLines, EveryLineEndBecomesCrlf) {
    EXPECT_EQ(to_crlf("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd\r\n");
    EXPECT_EQ(to_crlf(""), "");
}

TEST(SubmitFrom, GecosAndDisplayNames) {
    EXPECT_EQ(gecos_full_name("Alice Example,,,", "alice"), "Alice Example");
    EXPECT_EQ(gecos_full_name("& Smith,Room 1", "bob"), "Bob Smith");
    EXPECT_EQ(gecos_full_name("", "bob"), "");
    EXPECT_EQ(from_field("CronDaemon", "root@host"), "From: CronDaemon <root@host>\r\n");
    EXPECT_EQ(from_field("", "root@host"), "From: <root@host>\r\n");
    EXPECT_EQ(from_field("Doe, J. \"Jr\"", "j@host"), "From: \"Doe, J. \\\"Jr\\\"\" <j@host>\r\n");
    // Nothing a user gives can start another header line.
    EXPECT_EQ(from_field("Evil\r\nBcc: x", "e@host"), "From: \"EvilBcc: x\" <e@host>\r\n");
}

TEST(SubmitReceived, NamesTheUserUnlessMasked) {
    LocalReceived info;
    info.user = "alice";
    info.uid = 1000;
    info.by_host = "mx.example.org";
    info.id = "0c1d2e3f";
    info.recipient = "root@mx.example.org";
    info.date = 0;
    const auto line = local_received_header(info);
    EXPECT_EQ(line.rfind("Received: from local (user alice uid 1000)\r\n\tby mx.example.org (mxd) "
                         "id 0c1d2e3f\r\n"
                         "\tfor <root@mx.example.org>;\r\n\t",
                         0),
              0u)
        << line;
    info.mask_source = true;
    info.user = "a(b)";
    EXPECT_EQ(
        local_received_header(info).rfind("Received: by mx.example.org (mxd) id 0c1d2e3f\r\n", 0),
        0u);
}

TEST(SubmitComplete, AddsOnlyWhatIsMissingAtTheEndOfTheHeader) {
    Completion c;
    c.date = 0;
    c.host = "host";
    c.from = "From: <u@host>\r\n";
    const auto added = complete_headers("Subject: s\r\n\r\nbody\r\n", c);
    EXPECT_EQ(added.rfind("Subject: s\r\nDate: ", 0), 0u) << added;
    EXPECT_NE(added.find("\r\nMessage-ID: <"), std::string::npos);
    EXPECT_NE(added.find("@host>\r\nFrom: <u@host>\r\n\r\nbody\r\n"), std::string::npos) << added;

    const std::string full = "Date: x\r\nMessage-Id: <y>\r\nFROM: z\r\n\r\nbody\r\n";
    EXPECT_EQ(complete_headers(full, c), full);

    // No header section: the fields, then the empty line, then the body.
    const auto headless = complete_headers("text\r\n", c);
    EXPECT_EQ(headless.substr(headless.size() - 24), "From: <u@host>\r\n\r\ntext\r\n");
    // Fields without a body.
    const auto no_body = complete_headers("Date: x\r\nMessage-ID: <y>\r\n", c);
    EXPECT_EQ(no_body, "Date: x\r\nMessage-ID: <y>\r\nFrom: <u@host>\r\n");
}
