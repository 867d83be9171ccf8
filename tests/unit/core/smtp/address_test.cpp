// SPDX-License-Identifier: ISC
#include "core/smtp/address.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace core::smtp;

namespace {

struct ValidCase {
    std::string_view input;
    PathKind kind;
    std::string_view local;
    std::string_view domain;
};

struct InvalidCase {
    std::string_view input;
    PathKind kind;
    std::string_view reason; // a substring of the error message
};

constexpr auto R = PathKind::reverse;
constexpr auto F = PathKind::forward;

} // namespace

TEST(SmtpAddress, ParsesValidPaths) {
    const ValidCase cases[] = {
        {"<user@example.org>", F, "user", "example.org"},
        {"<User.Name@EXAMPLE.Org>", F, "User.Name", "example.org"},
        {"<a+tag@sub.example.org>", R, "a+tag", "sub.example.org"},
        {"<!#$%&'*+-/=?^_`{|}~@x.y>", F, "!#$%&'*+-/=?^_`{|}~", "x.y"},
        {"<>", R, "", ""},
        {"<postmaster>", F, "postmaster", ""},
        {"<PostMaster>", F, "PostMaster", ""},
        {"<postmaster@example.org>", F, "postmaster", "example.org"},
        {"<u@[192.0.2.1]>", F, "u", "[192.0.2.1]"},
        {"<u@[IPv6:2001:DB8::1]>", F, "u", "[IPv6:2001:db8::1]"},
        {"<u@[ipv6:::1]>", F, "u", "[IPv6:::1]"},
        // RFC 5321 4.1.1.3 / appendix C: source routes are accepted and dropped.
        {"<@relay.example:u@example.org>", F, "u", "example.org"},
        {"<@a.example,@b.example:u@example.org>", R, "u", "example.org"},
        // Quoted local parts: quotes kept when needed, dropped when the content is a Dot-string.
        {"<\"john doe\"@example.org>", F, "\"john doe\"", "example.org"},
        {"<\"john\"@example.org>", F, "john", "example.org"},
        {"<\"a@b\"@example.org>", F, "\"a@b\"", "example.org"},
        {"<\"a\\\"b\"@example.org>", F, "\"a\\\"b\"", "example.org"},
        {"<\"a>b\"@example.org>", F, "\"a>b\"", "example.org"},
        // Lenient: doubled and trailing dots (OpenSMTPD valid_localpart accepts them), '_' in
        // domains.
        {"<john..doe@example.org>", F, "john..doe", "example.org"},
        {"<john.@example.org>", F, "john.", "example.org"},
        {"<u@my_host.example.org>", F, "u", "my_host.example.org"},
        {"<u@x>", F, "u", "x"},
        {"<u@123.example>", F, "u", "123.example"},
    };
    for (const auto& c : cases) {
        const auto parsed = parse_path(c.input, c.kind);
        ASSERT_TRUE(parsed) << c.input << ": " << parsed.error().message;
        EXPECT_EQ(parsed->local, c.local) << c.input;
        EXPECT_EQ(parsed->domain, c.domain) << c.input;
    }
}

TEST(SmtpAddress, RefusesInvalidPaths) {
    const InvalidCase cases[] = {
        {"", R, "enclosed"},
        {"user@example.org", F, "enclosed"},
        {"<user@example.org", F, "'>'"},
        {"<>", F, "empty recipient"},
        {"<postmaster>", R, "missing domain"},
        {"<user>", F, "missing domain"},
        {"<@example.org>", F, "source route"},
        {"<@a.example:>", F, "empty address"},
        {"<@a..example:u@example.org>", F, "source route"},
        {"<@a.example;u@example.org>", F, "source route"},
        {"<user@>", F, "empty domain"},
        {"<@>", F, "source route"},
        {"<user@exa mple.org>", F, "invalid domain"},
        {"<user@example..org>", F, "invalid domain"},
        {"<user@.example.org>", F, "invalid domain"},
        {"<user@example.org.>", F, "invalid domain"},
        {"<user@-example.org>", F, "invalid domain"},
        {"<user@example-.org>", F, "invalid domain"},
        {"<user@exam!ple.org>", F, "invalid domain"},
        {"<us er@example.org>", F, "invalid local part"},
        {"<us(er@example.org>", F, "invalid local part"},
        {"<us,er@example.org>", F, "invalid local part"},
        {"<\"unterminated@example.org>", F, "invalid local part"},
        {"<\"a\"b@example.org>", F, "invalid local part"},
        {"<\"a\x01\"@example.org>", F, "invalid local part"},
        {"<u@[300.1.1.1]>", F, "address literal"},
        {"<u@[1.2.3]>", F, "address literal"},
        {"<u@[IPv6:zz::1]>", F, "IPv6"},
        {"<u@[x400:foo]>", F, "address literal"},
        {"<u@[]>", F, "address literal"},
        {"<j\xc3\xb6rg@example.org>", F, "SMTPUTF8"},
        {"<u@b\xc3\xbc"
         "cher.example>",
         F, "SMTPUTF8"},
    };
    for (const auto& c : cases) {
        const auto parsed = parse_path(c.input, c.kind);
        ASSERT_FALSE(parsed) << c.input;
        EXPECT_EQ(parsed.error().code, core::Errc::parse) << c.input;
        EXPECT_NE(parsed.error().message.find(c.reason), std::string::npos)
            << c.input << ": " << parsed.error().message;
    }
}

TEST(SmtpAddress, EnforcesRfc5321Limits) {
    const std::string local64(64, 'a');
    const std::string local65(65, 'a');
    EXPECT_TRUE(parse_path("<" + local64 + "@example.org>", F));
    EXPECT_FALSE(parse_path("<" + local65 + "@example.org>", F));
    EXPECT_EQ(parse_path("<" + local65 + "@example.org>", F).error().message,
              "local part too long");

    const std::string label(63, 'b');
    const std::string domain255 = label + "." + label + "." + label + "." + std::string(63, 'c');
    ASSERT_EQ(domain255.size(), 255U);
    EXPECT_FALSE(parse_path("<u@" + std::string(64, 'c') + ".org>", F)) << "label over 63";
    // Path limit: "<" + local + "@" + domain + ">" at most 256 octets.
    const std::string domain_for_256 =
        label + "." + label + "." + label + "." + std::string(59, 'd');
    ASSERT_EQ(domain_for_256.size(), 251U);
    EXPECT_TRUE(parse_path("<u@" + domain_for_256 + ">", F));                // 255
    EXPECT_TRUE(parse_path("<uu@" + domain_for_256 + ">", F));               // 256
    EXPECT_FALSE(parse_path("<" + local64 + "@" + domain_for_256 + ">", F)); // 318
    EXPECT_EQ(parse_path("<uuu@" + domain_for_256 + ">", F).error().message, "address too long");
    const std::string domain256 = domain255 + "aaa";
    EXPECT_EQ(parse_path("<u@" + domain256 + ">", F).error().message, "domain too long");
}

TEST(SmtpAddress, Utf8NeedsTheFlagAndMustBeWellFormed) {
    ParseOptions utf8;
    utf8.smtputf8 = true;
    const auto ok = parse_path("<j\xc3\xb6rg@B\xc3\xbc"
                               "cher.Example>",
                               F, utf8);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->local, "j\xc3\xb6rg");
    EXPECT_EQ(ok->domain, "b\xc3\xbc"
                          "cher.example"); // only ASCII is lowercased
    EXPECT_TRUE(parse_path("<\"\xe7\x94\xb0 \xe4\xb8\xad\"@example.jp>", F, utf8));
    const std::string_view bad[] = {
        "<j\xc3@example.org>",         // truncated sequence
        "<j\xc0\xafx@example.org>",    // overlong '/'
        "<j\xed\xa0\x80@example.org>", // surrogate
        "<j\xff@example.org>",
        "<j\xf4\x90\x80\x80@example.org>", // above U+10FFFF
    };
    for (const auto input : bad) {
        EXPECT_FALSE(parse_path(input, F, utf8)) << input;
    }
}

TEST(SmtpAddress, OptionsRelaxBracketsAndDomain) {
    ParseOptions lenient;
    lenient.brackets_optional = true;
    lenient.domain_optional = true;
    const auto bare = parse_path("User@Example.org", F, lenient);
    ASSERT_TRUE(bare);
    EXPECT_EQ(bare->to_string(), "User@example.org");
    const auto local = parse_path("<root>", R, lenient);
    ASSERT_TRUE(local);
    EXPECT_EQ(local->local, "root");
    EXPECT_TRUE(local->domain.empty());
    EXPECT_FALSE(parse_path("<a@b", F, lenient)) << "an opened bracket must be closed";
}

TEST(SmtpAddress, ParsesBareAddresses) {
    const auto plain = parse_address("Alice@Example.ORG");
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->local, "Alice");
    EXPECT_EQ(plain->domain, "example.org");
    EXPECT_TRUE(parse_address("<alice@example.org>"));
    EXPECT_FALSE(parse_address(""));
    EXPECT_FALSE(parse_address("<>"));
    EXPECT_FALSE(parse_address("alice"));
    EXPECT_FALSE(parse_address("postmaster"));
    EXPECT_FALSE(parse_address("@relay:alice@example.org"));
    EXPECT_FALSE(parse_address("alice@example.org extra"));
    ParseOptions local_ok;
    local_ok.domain_optional = true;
    EXPECT_TRUE(parse_address("alice", local_ok));
}

TEST(SmtpAddress, MailboxToString) {
    EXPECT_EQ((Mailbox{"u", "example.org"}).to_string(), "u@example.org");
    EXPECT_EQ((Mailbox{"postmaster", ""}).to_string(), "postmaster");
    EXPECT_EQ(Mailbox{}.to_string(), "");
    EXPECT_TRUE(Mailbox{}.empty());
    EXPECT_FALSE((Mailbox{"postmaster", ""}).empty());
    const auto quoted = parse_path("<\"a b\"@x.org>", F);
    ASSERT_TRUE(quoted);
    EXPECT_EQ(quoted->to_string(), "\"a b\"@x.org");
    // The rendering parses back to the same mailbox.
    EXPECT_EQ(*parse_path("<" + quoted->to_string() + ">", F), *quoted);
}

TEST(SmtpAddress, PathExtentSkipsQuotedBrackets) {
    EXPECT_EQ(path_extent("<a@b> SIZE=1"), 5U);
    EXPECT_EQ(path_extent("<\"x>y\"@b> SIZE=1"), 9U);
    EXPECT_EQ(path_extent("<\"x\\\">y\"@b>"), 11U);
    EXPECT_EQ(path_extent("<a@b"), std::string_view::npos);
    EXPECT_EQ(path_extent("a@b SIZE=1"), 3U);
    EXPECT_EQ(path_extent("<>"), 2U);
}
