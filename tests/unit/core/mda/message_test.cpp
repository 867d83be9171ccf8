// SPDX-License-Identifier: ISC
#include "core/mda/message.hpp"
#include "core/mda/outcome.hpp"

#include <gtest/gtest.h>

#include <sysexits.h>
#include <unistd.h>

using namespace core::mda;

namespace {

TEST(MdaMessage, CrlfBecomesLf) {
    EXPECT_EQ(to_unix_lines("a\r\nb\r\n\r\nbody\r\n"), "a\nb\n\nbody\n");
    EXPECT_EQ(to_unix_lines("lone\rcr\n"), "lone\rcr\n");
    EXPECT_EQ(to_unix_lines(""), "");
}

TEST(MdaMessage, DeliveryHeaders) {
    EXPECT_EQ(delivery_headers("a@b.org", "c@d.org"),
              "Return-Path: <a@b.org>\nDelivered-To: c@d.org\n");
    EXPECT_EQ(delivery_headers("", "c@d.org"), "Delivered-To: c@d.org\n");
}

TEST(MdaMessage, LoopIsADeliveredToForTheSameDestinationInTheHeader) {
    const std::string looped = "Received: x\nDelivered-To: Eric@Example.org\nSubject: s\n\nbody\n";
    EXPECT_TRUE(has_delivery_loop(looped, "eric@example.org"));
    EXPECT_FALSE(has_delivery_loop(looped, "other@example.org"));
    EXPECT_FALSE(
        has_delivery_loop("Subject: s\n\nDelivered-To: eric@example.org\n", "eric@example.org"));
    EXPECT_TRUE(has_delivery_loop("Delivered-To: eric@example.org\r\n\r\n", "eric@example.org"));
}

TEST(MdaMessage, JunkIsAnExactXSpamYesHeader) {
    EXPECT_TRUE(is_junk("Subject: s\nX-Spam: yes\n\nbody\n"));
    EXPECT_TRUE(is_junk("X-SPAM: YES\n\n"));
    EXPECT_TRUE(is_junk("X-Spam-Flag: YES\r\n\r\n"));
    EXPECT_FALSE(is_junk("X-Spam: no\n\n"));
    EXPECT_FALSE(is_junk("X-Spam: yes, score=9\n\n"));
    EXPECT_FALSE(is_junk("Subject: s\n\nX-Spam: yes\n"));
}

TEST(MdaMessage, MessageFdHoldsTheBytesFromTheStart) {
    auto fd = make_message_fd("hello\n");
    ASSERT_TRUE(fd) << fd.error().message;
    char buffer[16] = {};
    EXPECT_EQ(::read(fd->get(), buffer, sizeof buffer), 6);
    EXPECT_STREQ(buffer, "hello\n");
}

TEST(MdaOutcome, ExitCodesAsOpenSmtpdReadsThem) {
    EXPECT_EQ(status_from_exit(0), Status::delivered);
    EXPECT_EQ(status_from_exit(EX_TEMPFAIL), Status::temporary);
    EXPECT_EQ(status_from_exit(EX_OSERR), Status::temporary);
    EXPECT_EQ(status_from_exit(1), Status::permanent);
    EXPECT_EQ(status_from_exit(EX_NOPERM), Status::permanent);
}

TEST(MdaOutcome, OneLine) {
    EXPECT_EQ(one_line("  first\n\nsecond \r\n"), "first; second");
    EXPECT_EQ(one_line("a\tb\x01"), "a?b?");
    EXPECT_EQ(one_line(std::string(5000, 'x')).size(), k_text_max);
}

} // namespace
