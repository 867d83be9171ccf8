// SPDX-License-Identifier: ISC
#include "core/submit/offline.hpp"

#include <gtest/gtest.h>

using namespace core::submit;

TEST(OfflineFile, RoundTripsTheEnvelopeAndTheMessageBytes) {
    OfflineMessage m;
    m.sender = "";
    m.full_name = "Cron Daemon";
    m.recipients = {"root", "a@b"};
    m.message = std::string("Subject: x\n\n\xe9t\xe9\n\0binary\n", 22);
    auto decoded = decode_offline(encode_offline(m));
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(decoded->sender, std::optional<std::string>(""));
    EXPECT_EQ(decoded->full_name, "Cron Daemon");
    EXPECT_EQ(decoded->recipients, m.recipients);
    EXPECT_EQ(decoded->message, m.message);

    m.sender.reset();
    decoded = decode_offline(encode_offline(m));
    ASSERT_TRUE(decoded);
    EXPECT_FALSE(decoded->sender);
}

TEST(OfflineFile, RefusesWhatSendmailDidNotWrite) {
    EXPECT_FALSE(decode_offline(""));
    EXPECT_FALSE(decode_offline("Subject: x\n\nbody\n"));
    EXPECT_FALSE(decode_offline("{\"mxd_offline\":2,\"sender\":null,\"recipients\":[]}\nx"));
    EXPECT_FALSE(decode_offline("{\"mxd_offline\":1,\"sender\":null,\"recipients\":\"root\"}\nx"));
}
