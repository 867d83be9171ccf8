// SPDX-License-Identifier: ISC
#include "core/smtp/sasl.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace core::smtp;

TEST(SmtpSasl, Base64MatchesRfc4648Vectors) {
    // RFC 4648 10.
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
        {"Username:", "VXNlcm5hbWU6"},
        {"Password:", "UGFzc3dvcmQ6"},
        {std::string_view("\0\xff\xfe", 3), "AP/+"},
    };
    for (const auto& [raw, encoded] : cases) {
        EXPECT_EQ(base64_encode(raw), encoded);
        const auto decoded = base64_decode(encoded);
        ASSERT_TRUE(decoded) << encoded;
        EXPECT_EQ(*decoded, raw) << encoded;
    }
    std::string all;
    for (int i = 0; i < 256; ++i) {
        all.push_back(static_cast<char>(i));
    }
    EXPECT_EQ(*base64_decode(base64_encode(all)), all);
}

TEST(SmtpSasl, Base64DecodingIsStrict) {
    for (const std::string_view bad :
         {"Zg", "Zg=", "Zg===", "Z===", "====", "Zm9v YmFy", "Zm9v\r\n", "Zm9-", "Zm9_",
          "Zh==", "Zm9=", "Zm=v", "Zg==Zg==", "Zm9vYg=\n", "*"}) {
        const auto decoded = base64_decode(bad);
        EXPECT_FALSE(decoded) << bad;
        if (!decoded) {
            EXPECT_EQ(decoded.error().code, core::Errc::parse);
        }
    }
}

TEST(SmtpSasl, ParsesAuthArguments) {
    const auto plain = parse_auth_argument("PLAIN");
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->mechanism, "PLAIN");
    EXPECT_FALSE(plain->initial_response);
    const auto initial = parse_auth_argument("plain AGEAYg==");
    ASSERT_TRUE(initial);
    EXPECT_EQ(initial->mechanism, "plain");
    EXPECT_EQ(initial->initial_response, "AGEAYg==");
    const auto empty = parse_auth_argument("PLAIN =");
    ASSERT_TRUE(empty);
    ASSERT_TRUE(empty->initial_response);
    EXPECT_EQ(*empty->initial_response, "");
    EXPECT_TRUE(parse_auth_argument("SCRAM-SHA-256"));
    for (const std::string_view bad :
         {"", "PL@IN", "PLAIN a b", "PLAIN ", "ABCDEFGHIJKLMNOPQRSTU"}) {
        EXPECT_FALSE(parse_auth_argument(bad)) << bad;
    }
}

TEST(SmtpSasl, DecodesAuthPlain) {
    struct Case {
        std::string_view authzid;
        std::string_view authcid;
        std::string_view password;
    };
    const Case cases[] = {
        {"", "alice", "secret"},
        {"admin", "alice", "pa ss:w\xc3\xb6rd"},
        {"", std::string_view("x"), std::string_view("y")},
    };
    for (const auto& c : cases) {
        const auto decoded = decode_plain(encode_plain(c.authzid, c.authcid, c.password));
        ASSERT_TRUE(decoded) << decoded.error().message;
        EXPECT_EQ(decoded->authzid, c.authzid);
        EXPECT_EQ(decoded->authcid, c.authcid);
        EXPECT_EQ(decoded->password, c.password);
    }
    // RFC 4616 4 example: "\0tim\0tanstaaftanstaaf".
    const auto rfc = decode_plain("AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
    ASSERT_TRUE(rfc);
    EXPECT_EQ(rfc->authcid, "tim");
    EXPECT_EQ(rfc->password, "tanstaaftanstaaf");
}

TEST(SmtpSasl, RefusesBadAuthPlainWithoutLeakingThePassword) {
    const std::string password = "hunter2-very-secret";
    const std::string bad[] = {
        base64_encode("alice" + password),                                            // no NUL
        base64_encode(std::string("\0alice", 6) + password),                          // one NUL
        base64_encode(std::string("\0alice\0", 7) + password + std::string("\0", 1)), // three
        base64_encode(std::string("\0\0", 2) + password), // empty authcid
        base64_encode(std::string("\0alice\0", 7)),       // empty password
        base64_encode(std::string("\0alice\0", 7) + std::string(k_sasl_field_max + 1, 'p')),
        base64_encode(std::string(k_sasl_field_max + 1, 'z') + std::string("\0a\0", 3) + password),
        "not base64!" + password,
        base64_encode(std::string("\0alice\0", 7) + password) + "=",
    };
    for (const auto& input : bad) {
        const auto decoded = decode_plain(input);
        ASSERT_FALSE(decoded) << input;
        EXPECT_EQ(decoded.error().code, core::Errc::parse);
        EXPECT_EQ(decoded.error().message.find(password), std::string::npos);
        EXPECT_EQ(decoded.error().message.find("hunter"), std::string::npos);
        EXPECT_EQ(decoded.error().message.find(input), std::string::npos);
    }
    EXPECT_FALSE(decode_plain(std::string(5000, 'A')));
    // At the limit, all three fields are accepted.
    const std::string max(k_sasl_field_max, 'm');
    EXPECT_TRUE(decode_plain(encode_plain(max, max, max)));
}

TEST(SmtpSasl, LoginExchangeAsksForUserThenPassword) {
    LoginExchange login;
    EXPECT_EQ(login.prompt(), k_login_username_prompt);
    EXPECT_EQ(login.respond(base64_encode("alice")).value_or(true), false);
    EXPECT_EQ(login.prompt(), k_login_password_prompt);
    const auto done = login.respond(base64_encode("s3cret"));
    ASSERT_TRUE(done);
    EXPECT_TRUE(*done);
    EXPECT_EQ(login.username(), "alice");
    EXPECT_EQ(login.password(), "s3cret");
    EXPECT_FALSE(login.respond(base64_encode("again")));
}

TEST(SmtpSasl, LoginExchangeCancelsAndRefuses) {
    EXPECT_TRUE(is_cancel("*"));
    EXPECT_FALSE(is_cancel("**"));
    EXPECT_FALSE(is_cancel(""));
    {
        LoginExchange login;
        const auto cancelled = login.respond("*");
        ASSERT_FALSE(cancelled);
        EXPECT_EQ(cancelled.error().code, core::Errc::invalid_argument);
    }
    {
        LoginExchange login;
        ASSERT_TRUE(login.respond(base64_encode("alice")));
        const auto cancelled = login.respond("*");
        ASSERT_FALSE(cancelled);
        EXPECT_EQ(cancelled.error().code, core::Errc::invalid_argument);
    }
    const std::string secret = "top secret";
    const std::string bad[] = {"", "%%%%", base64_encode(std::string("a\0b", 3)),
                               base64_encode(std::string(k_sasl_field_max + 1, 'u')), secret + "="};
    for (const auto& input : bad) {
        LoginExchange login;
        ASSERT_TRUE(login.respond(base64_encode("alice")));
        const auto refused = login.respond(input);
        ASSERT_FALSE(refused) << input;
        EXPECT_EQ(refused.error().code, core::Errc::parse);
        EXPECT_EQ(refused.error().message.find(secret), std::string::npos);
    }
}
