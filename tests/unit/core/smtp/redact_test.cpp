// SPDX-License-Identifier: ISC
#include "core/smtp/redact.hpp"

#include <gtest/gtest.h>

using core::smtp::redact_client_line;
using core::smtp::SaslResponse;

TEST(RedactClientLine, AuthKeepsVerbAndMechanismOnly) {
    EXPECT_EQ(redact_client_line("AUTH PLAIN AGFsaWNlAHNlY3JldA==", SaslResponse::no), "AUTH PLAIN <redacted>");
    EXPECT_EQ(redact_client_line("auth plain AGFsaWNlAHNlY3JldA==", SaslResponse::no), "auth plain <redacted>");
    EXPECT_EQ(redact_client_line("AUTH LOGIN YWxpY2U=", SaslResponse::no), "AUTH LOGIN <redacted>");
    EXPECT_EQ(redact_client_line("AUTH  PLAIN   =", SaslResponse::no), "AUTH  PLAIN <redacted>");
    EXPECT_EQ(redact_client_line("AUTH\tPLAIN\tAGFsaWNl", SaslResponse::no), "AUTH\tPLAIN <redacted>");
}

TEST(RedactClientLine, AuthWithoutInitialResponseIsUnchanged) {
    EXPECT_EQ(redact_client_line("AUTH LOGIN", SaslResponse::no), "AUTH LOGIN");
    EXPECT_EQ(redact_client_line("AUTH PLAIN ", SaslResponse::no), "AUTH PLAIN");
    EXPECT_EQ(redact_client_line("AUTH", SaslResponse::no), "AUTH");
}

TEST(RedactClientLine, SaslResponsesAreRedactedWhole) {
    EXPECT_EQ(redact_client_line("c2VjcmV0", SaslResponse::yes), "<redacted>");
    EXPECT_EQ(redact_client_line("*", SaslResponse::yes), "<redacted>");
    EXPECT_EQ(redact_client_line("MAIL FROM:<a@b>", SaslResponse::yes), "<redacted>");
}

TEST(RedactClientLine, OtherCommandsAreUnchanged) {
    EXPECT_EQ(redact_client_line("MAIL FROM:<alice@example.org>", SaslResponse::no), "MAIL FROM:<alice@example.org>");
    EXPECT_EQ(redact_client_line("AUTHORIZE me", SaslResponse::no), "AUTHORIZE me");
    EXPECT_EQ(redact_client_line("EHLO client.example.org", SaslResponse::no), "EHLO client.example.org");
    EXPECT_EQ(redact_client_line("", SaslResponse::no), "");
}
