// SPDX-License-Identifier: ISC
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

// Delivery status notifications (RFC 3464): the multipart/report message that tells a sender
// that mail failed for good, or is delayed, with the original message's headers (or the whole
// message when the client asked RET=FULL).
namespace core::queue {

// One recipient the report is about.
struct ReportRecipient {
    std::string recipient;  // the final recipient, user@domain
    std::string original;   // ORCPT from the client, "rfc822;addr" or "" when none
    std::string diagnostic; // the reply or error text, "550 5.1.1 no such user"
};

// What a report says.
struct Report {
    enum class Kind { failure, delay };
    Kind kind = Kind::failure;
    std::string reporting_host; // this server, Reporting-MTA and the From: domain
    std::string to;             // the original sender
    std::string envid;          // ENVID from the client, or ""
    std::time_t arrival = 0;    // when the original message was queued
    std::time_t now = 0;
    std::vector<ReportRecipient> recipients;
    bool full_message = false; // RET=FULL: attach the whole message, else its headers
};

// The enhanced status code (RFC 3463) in a reply text ("550 5.1.1 ..." gives "5.1.1"), or a
// generic one for the kind: 5.0.0 for a failure, 4.0.0 for a delay.
std::string status_of(std::string_view diagnostic, Report::Kind kind);

// The whole report message, CRLF lines, with Date:, Message-ID:, Auto-Submitted: and a
// boundary that does not occur in the original. `original` is the queued message's raw text.
std::string make_report(const Report& report, std::string_view original);

} // namespace core::queue
