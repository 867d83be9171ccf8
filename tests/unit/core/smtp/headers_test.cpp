// SPDX-License-Identifier: ISC
#include "core/smtp/headers.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace core::smtp;

TEST(SmtpHeaders, FormatsRfc5322Dates) {
    const std::pair<std::time_t, std::string_view> cases[] = {
        {0, "Thu, 01 Jan 1970 00:00:00 +0000"},
        {1704207845, "Tue, 02 Jan 2024 15:04:05 +0000"},
        {951782400, "Tue, 29 Feb 2000 00:00:00 +0000"},
        {4102444799, "Thu, 31 Dec 2099 23:59:59 +0000"},
    };
    for (const auto& [when, text] : cases) {
        EXPECT_EQ(rfc5322_date(when, Zone::utc), text);
    }
    // Local time: same shape, whatever the zone of the machine.
    const auto local = rfc5322_date(1704207845);
    ASSERT_EQ(local.size(), 31U) << local;
    EXPECT_EQ(local[3], ',');
    EXPECT_TRUE(local[26] == '+' || local[26] == '-') << local;
}

TEST(SmtpHeaders, NamesTheWithProtocol) {
    struct Case {
        bool esmtp, tls, auth, lmtp;
        std::string_view name;
    };
    const Case cases[] = {
        {false, false, false, false, "SMTP"}, {true, false, false, false, "ESMTP"},
        {true, true, false, false, "ESMTPS"}, {true, false, true, false, "ESMTPA"},
        {true, true, true, false, "ESMTPSA"}, {true, false, false, true, "LMTP"},
        {true, true, false, true, "LMTPS"},   {true, false, true, true, "LMTPA"},
        {true, true, true, true, "LMTPSA"},
    };
    for (const auto& c : cases) {
        ReceivedInfo info;
        info.esmtp = c.esmtp;
        info.tls = c.tls;
        info.authenticated = c.auth;
        info.lmtp = c.lmtp;
        EXPECT_EQ(with_protocol(info), c.name);
    }
}

TEST(SmtpHeaders, BuildsTheReceivedLine) {
    ReceivedInfo info;
    info.helo = "client.example.org";
    info.rdns = "mail.example.org";
    info.ip = "192.0.2.10";
    info.by_host = "mx.example.net";
    info.tls = true;
    info.id = "0c1d2e3f";
    info.recipient = "bob@example.net";
    info.date = 1704207845;
    info.zone = Zone::utc;
    EXPECT_EQ(received_header(info),
              "Received: from client.example.org (mail.example.org [192.0.2.10])\r\n"
              "\tby mx.example.net (mxd) with ESMTPS id 0c1d2e3f\r\n"
              "\tfor <bob@example.net>;\r\n"
              "\tTue, 02 Jan 2024 15:04:05 +0000\r\n");

    info.rdns = {};
    info.ip = "2001:db8::1";
    info.recipient = {};
    info.tls = false;
    info.authenticated = true;
    info.tls_info = "";
    EXPECT_EQ(received_header(info), "Received: from client.example.org ([IPv6:2001:db8::1])\r\n"
                                     "\tby mx.example.net (mxd) with ESMTPA id 0c1d2e3f;\r\n"
                                     "\tTue, 02 Jan 2024 15:04:05 +0000\r\n");

    info.tls = true;
    info.tls_info = "TLSv1.3 TLS_AES_256_GCM_SHA384";
    EXPECT_NE(received_header(info).find("with ESMTPSA (TLSv1.3 TLS_AES_256_GCM_SHA384) id"),
              std::string::npos);
}

TEST(SmtpHeaders, MaskSourceAndReceivedAuth) {
    ReceivedInfo info;
    info.helo = "laptop.home";
    info.ip = "198.51.100.7";
    info.by_host = "mx.example.net";
    info.tls = true;
    info.authenticated = true;
    info.auth_user = "alice";
    info.id = "0c1d2e3f";
    info.date = 1704207845;
    info.zone = Zone::utc;
    info.mask_source = true;
    info.received_auth = true;
    EXPECT_EQ(received_header(info), "Received: by mx.example.net (mxd) with ESMTPSA auth=yes user=alice id 0c1d2e3f;\r\n"
                                     "\tTue, 02 Jan 2024 15:04:05 +0000\r\n");
    info.authenticated = false;
    info.mask_source = false;
    const auto header = received_header(info);
    EXPECT_NE(header.find("from laptop.home ([198.51.100.7])"), std::string::npos) << header;
    EXPECT_NE(header.find("with ESMTPS auth=no id"), std::string::npos) << header;
    EXPECT_EQ(header.find("alice"), std::string::npos) << header;
}

TEST(SmtpHeaders, ReceivedLineResistsInjection) {
    ReceivedInfo info;
    info.helo = "evil\r\nBcc: victim@example.org";
    info.rdns = "a(b)c\\";
    info.ip = "192.0.2.1";
    info.by_host = "mx";
    info.recipient = "x>\r\ny@z";
    info.date = 0;
    info.zone = Zone::utc;
    const auto header = received_header(info);
    EXPECT_NE(header.find("from evil??Bcc:?victim@example.org (a?b?c? [192.0.2.1])"),
              std::string::npos)
        << header;
    EXPECT_NE(header.find("for <x???y@z>"), std::string::npos) << header;
    // Every line break is CRLF followed by a tab (folding) or ends the field.
    for (std::size_t pos = header.find('\n'); pos != std::string::npos;
         pos = header.find('\n', pos + 1)) {
        ASSERT_EQ(header[pos - 1], '\r');
        if (pos + 1 < header.size()) {
            EXPECT_EQ(header[pos + 1], '\t');
        }
    }
    info.helo = {};
    EXPECT_EQ(received_header(info).rfind("Received: from unknown (", 0), 0U);
}

TEST(SmtpHeaders, ScansTheHeaderSection) {
    struct Case {
        std::string_view message;
        bool date, message_id, from;
    };
    const Case cases[] = {
        {"Date: x\r\nMessage-ID: <a@b>\r\nFrom: a@b\r\n\r\nbody\r\n", true, true, true},
        {"DATE: x\r\nmessage-id: <a@b>\r\nfROM: a@b\r\n\r\n", true, true, true},
        {"Subject: hi\r\n\r\nDate: in the body\r\nFrom: body\r\n", false, false, false},
        {"Subject: hi\r\n Date: folded, not a field\r\n\tFrom: folded\r\n\r\n", false, false,
         false},
        {"From : obsolete blank before the colon\r\n\r\n", false, false, true},
        {"From user@example.org Mon Jan  1 00:00:00 2024\r\nSubject: x\r\n\r\n", false, false,
         false},
        {"X-Date: x\r\nFromage: x\r\nMessage-IDs: x\r\n\r\n", false, false, false},
        {"Subject: x\nDate: bare LF\n\nFrom: body\n", true, false, false},
        {"\r\nDate: after the empty line\r\n", false, false, false},
        {"Resent-From: a\r\nResent-Date: b\r\n\r\n", false, false, false},
        {"Date:x\r\n", true, false, false},
        {"", false, false, false},
    };
    for (const auto& c : cases) {
        const auto found = scan_headers(c.message);
        EXPECT_EQ(found.date, c.date) << c.message;
        EXPECT_EQ(found.message_id, c.message_id) << c.message;
        EXPECT_EQ(found.from, c.from) << c.message;
        // Byte by byte gives the same answer.
        HeaderScanner scanner;
        for (const char ch : c.message) {
            scanner.feed(std::string_view(&ch, 1));
        }
        EXPECT_EQ(scanner.presence().date, c.date) << c.message;
        EXPECT_EQ(scanner.presence().message_id, c.message_id) << c.message;
        EXPECT_EQ(scanner.presence().from, c.from) << c.message;
    }
}

TEST(SmtpHeaders, ScannerStopsAtTheEmptyLine) {
    HeaderScanner scanner;
    scanner.feed("From: a\r\n");
    EXPECT_FALSE(scanner.done());
    scanner.feed("\r");
    EXPECT_FALSE(scanner.done());
    scanner.feed("\nDate: x\r\n");
    EXPECT_TRUE(scanner.done());
    EXPECT_TRUE(scanner.presence().from);
    EXPECT_FALSE(scanner.presence().date);
}

TEST(SmtpHeaders, GeneratesUniqueMessageIds) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const auto id = message_id("mx.example.org");
        ASSERT_EQ(id.front(), '<');
        ASSERT_EQ(id.back(), '>');
        ASSERT_NE(id.find("@mx.example.org>"), std::string::npos) << id;
        EXPECT_TRUE(seen.insert(id).second) << id;
    }
    EXPECT_NE(message_id("").find("@localhost>"), std::string::npos);
    EXPECT_EQ(message_id("bad host\r\n").find('\r'), std::string::npos);
}

TEST(SmtpHeaders, MasqueradeRewritesTheFromAddress) {
    const std::string sender = "alice@example.org";
    auto rewritten = masquerade_from("Subject: hi\r\nFrom: \"Alice, A.\" <alice@laptop.home>\r\nTo: bob@x\r\n\r\nFrom: body\r\n", sender);
    ASSERT_TRUE(rewritten);
    EXPECT_EQ(*rewritten, "Subject: hi\r\nFrom: \"Alice, A.\" <alice@example.org>\r\nTo: bob@x\r\n\r\nFrom: body\r\n");
    rewritten = masquerade_from("from: root (Cron Daemon)\r\n\r\nbody\r\n", sender);
    ASSERT_TRUE(rewritten);
    EXPECT_EQ(*rewritten, "from: alice@example.org\r\n\r\nbody\r\n");
    // Folded fields are replaced whole.
    rewritten = masquerade_from("From: Alice\r\n <alice@laptop>\r\nX: y\r\n\r\n", sender);
    ASSERT_TRUE(rewritten);
    EXPECT_EQ(*rewritten, "From: Alice\r\n <alice@example.org>\r\nX: y\r\n\r\n");
    // Lists, groups, no From: field and unbalanced syntax are left alone.
    EXPECT_FALSE(masquerade_from("From: a@x, b@y\r\n\r\n", sender));
    EXPECT_FALSE(masquerade_from("From: team: a@x;\r\n\r\n", sender));
    EXPECT_FALSE(masquerade_from("Subject: no from\r\n\r\nFrom: body\r\n", sender));
    EXPECT_FALSE(masquerade_from("From: \"unterminated <a@x>\r\n\r\n", sender));
}
