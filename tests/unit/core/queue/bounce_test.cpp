// SPDX-License-Identifier: ISC
#include "core/queue/bounce.hpp"

#include <gmock/gmock.h>

using namespace core::queue;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

Report failure_report() {
    Report r;
    r.reporting_host = "mx.example.org";
    r.to = "alice@example.org";
    r.arrival = 1704207845;
    r.now = 1704207900;
    r.recipients.push_back(
        {"bob@example.net", "rfc822;Bob@example.net", "550 5.1.1 <bob@example.net>: no such user"});
    return r;
}

} // namespace

TEST(Bounce, StatusComesFromTheEnhancedCode) {
    EXPECT_EQ(status_of("550 5.1.1 no such user", Report::Kind::failure), "5.1.1");
    EXPECT_EQ(status_of("4.4.1 connection timed out", Report::Kind::delay), "4.4.1");
    EXPECT_EQ(status_of("mx.example.net [192.0.2.1]:25: 550 5.7.1 refused", Report::Kind::failure), "5.7.1");
    EXPECT_EQ(status_of("550 mailbox unavailable", Report::Kind::failure), "5.0.0");
    EXPECT_EQ(status_of("", Report::Kind::delay), "4.0.0");
}

TEST(Bounce, FailureReportHasTheThreeMimeParts) {
    const std::string original = "Subject: hello\r\nFrom: alice@example.org\r\n\r\nsecret body\r\n";
    const auto text = make_report(failure_report(), original);
    EXPECT_THAT(text, HasSubstr("Content-Type: multipart/report; report-type=delivery-status;"));
    EXPECT_THAT(text, HasSubstr("Auto-Submitted: auto-replied\r\n"));
    EXPECT_THAT(text, HasSubstr("To: alice@example.org\r\n"));
    EXPECT_THAT(
        text,
        HasSubstr(
            "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n"));
    EXPECT_THAT(text,
                HasSubstr("Original-Recipient: rfc822;Bob@example.net\r\nFinal-Recipient: rfc822; "
                          "bob@example.net\r\n"
                          "Action: failed\r\nStatus: 5.1.1\r\n"
                          "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: no such user\r\n"));
    EXPECT_THAT(text, HasSubstr("Content-Type: text/rfc822-headers\r\n\r\nSubject: hello\r\nFrom: "
                                "alice@example.org\r\n"));
    EXPECT_THAT(text, Not(HasSubstr("secret body")));
    // Every line ends in CRLF, and the closing boundary ends the message.
    for (std::size_t i = text.find('\n'); i != std::string::npos; i = text.find('\n', i + 1)) {
        ASSERT_EQ(text[i - 1], '\r') << i;
    }
    EXPECT_THAT(text, ::testing::EndsWith("--\r\n"));
}

TEST(Bounce, FullReturnAndDelayNotices) {
    auto r = failure_report();
    r.full_message = true;
    r.kind = Report::Kind::delay;
    r.recipients[0].diagnostic = "451 4.3.0 try later";
    const auto text = make_report(r, "Subject: x\r\n\r\nsecret body\r\n");
    EXPECT_THAT(text, HasSubstr("Action: delayed\r\nStatus: 4.3.0\r\n"));
    EXPECT_THAT(text,
                HasSubstr("Content-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\nsecret body\r\n"));
    EXPECT_THAT(text, HasSubstr("Subject: Delayed Mail"));
}
