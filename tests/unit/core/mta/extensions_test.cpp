// SPDX-License-Identifier: ISC
#include "core/mta/extensions.hpp"

#include <gtest/gtest.h>

using namespace core::mta;

TEST(MtaExtensions, ReadsTheKeywordsOfAnEhloReply) {
    const core::smtp::Reply reply{250, "",
                                  "mx.example.org Hello\nPIPELINING\nsize 35882577\n8BITMIME\n"
                                  "STARTTLS\nAUTH LOGIN PLAIN CRAM-MD5\nENHANCEDSTATUSCODES\nDSN\n"
                                  "SMTPUTF8\nCHUNKING"};
    const auto ext = parse_extensions(reply);
    EXPECT_TRUE(ext.pipelining);
    EXPECT_TRUE(ext.eightbitmime);
    EXPECT_TRUE(ext.starttls);
    EXPECT_TRUE(ext.auth_plain);
    EXPECT_TRUE(ext.auth_login);
    EXPECT_TRUE(ext.enhanced_status_codes);
    EXPECT_TRUE(ext.dsn);
    EXPECT_TRUE(ext.smtputf8);
    ASSERT_TRUE(ext.size);
    EXPECT_EQ(*ext.size, 35882577u);
}

TEST(MtaExtensions, TheGreetingLineIsNotAKeyword) {
    const auto ext = parse_extensions({250, "", "STARTTLS says hello"});
    EXPECT_FALSE(ext.starttls);
    EXPECT_FALSE(ext.size);
}

TEST(MtaExtensions, OldAuthFormAndOddSizes) {
    auto ext = parse_extensions({250, "", "host\nAUTH=LOGIN\nSIZE"});
    EXPECT_TRUE(ext.auth_login);
    EXPECT_FALSE(ext.auth_plain);
    ASSERT_TRUE(ext.size);
    EXPECT_EQ(*ext.size, 0u);
    ext = parse_extensions({250, "", "host\nSIZE 12x\nAUTH PLAINISH"});
    EXPECT_EQ(ext.size.value_or(1), 0u);
    EXPECT_FALSE(ext.auth_plain);
}
