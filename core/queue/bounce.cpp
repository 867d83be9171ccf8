// SPDX-License-Identifier: ISC
#include "core/queue/bounce.hpp"

#include "core/smtp/headers.hpp"
#include "core/util/log.hpp"

#include <cctype>
#include <random>

namespace core::queue {

namespace {

// A boundary of random hex digits; regenerated in the unlikely case the original contains it.
std::string boundary_for(std::string_view original) {
    std::random_device rd;
    for (;;) {
        std::string b = "mxd-report-";
        for (int i = 0; i < 4; ++i) {
            char hex[9];
            std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(rd()));
            b += hex;
        }
        if (original.find(b) == std::string_view::npos) {
            return b;
        }
    }
}

// The header section of a message, CRLF line ends kept.
std::string_view header_section(std::string_view message) {
    const auto end = message.find("\r\n\r\n");
    return end == std::string_view::npos ? message : message.substr(0, end + 2);
}

// Reply texts come from peers: keep them on one line of printable ASCII.
std::string one_line(std::string_view text) {
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        out.push_back(u >= 0x20 && u < 0x7f ? c : ' ');
    }
    return out;
}

} // namespace

std::string status_of(std::string_view diagnostic, Report::Kind kind) {
    // "550 5.1.1 text", "5.1.1 text" or "host: 550 5.1.1 text": the first of the first words
    // that looks like class.subject.detail.
    std::size_t pos = 0;
    for (int word = 0; word < 4 && pos < diagnostic.size(); ++word) {
        const auto end = diagnostic.find(' ', pos);
        const auto w = diagnostic.substr(pos, end == std::string_view::npos ? std::string_view::npos
                                                                            : end - pos);
        if (w.size() >= 5 && (w[0] == '2' || w[0] == '4' || w[0] == '5') && w[1] == '.') {
            bool ok = true;
            int dots = 0;
            for (const char c : w) {
                dots += c == '.' ? 1 : 0;
                ok = ok && (c == '.' || std::isdigit(static_cast<unsigned char>(c)) != 0);
            }
            if (ok && dots == 2) {
                return std::string(w);
            }
        }
        if (end == std::string_view::npos) {
            break;
        }
        pos = end + 1;
    }
    return kind == Report::Kind::failure ? "5.0.0" : "4.0.0";
}

std::string make_report(const Report& report, std::string_view original) {
    const bool failure = report.kind == Report::Kind::failure;
    MXD_TRACE(Subsystem::bounce, {}, failure ? "failure-report" : "delay-report",
              {{"to", report.to}, {"recipients", report.recipients.size()},
               {"first", report.recipients.empty() ? std::string() : report.recipients.front().recipient},
               {"diagnostic", report.recipients.empty() ? std::string() : report.recipients.front().diagnostic}});
    const std::string boundary = boundary_for(original);
    std::string out;
    out.reserve(original.size() + 2048);
    out += "From: Mail Delivery System <MAILER-DAEMON@" + report.reporting_host + ">\r\n";
    out += "To: " + report.to + "\r\n";
    out +=
        std::string("Subject: ") +
        (failure ? "Undelivered Mail Returned to Sender" : "Delayed Mail (still being retried)") +
        "\r\n";
    out += "Date: " + core::smtp::rfc5322_date(report.now) + "\r\n";
    out += "Message-ID: " + core::smtp::message_id(report.reporting_host) + "\r\n";
    // RFC 3834: an automatic reply, which nothing should answer automatically.
    out += "Auto-Submitted: auto-replied\r\n";
    out += "MIME-Version: 1.0\r\n";
    out += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" +
           boundary + "\"\r\n";
    out += "\r\nThis is a MIME-encapsulated message.\r\n\r\n";

    out += "--" + boundary + "\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
    out += "This is the mail system at host " + report.reporting_host + ".\r\n\r\n";
    out += failure ? "Your message could not be delivered to one or more recipients.\r\n"
                     "It has been returned with this report. The errors were:\r\n\r\n"
                   : "Your message has not been delivered yet to one or more recipients.\r\n"
                     "The mail system will keep trying; you need not resend it. The errors so "
                     "far:\r\n\r\n";
    for (const auto& r : report.recipients) {
        out += "<" + r.recipient + ">: " + one_line(r.diagnostic) + "\r\n";
    }
    out += "\r\n";

    out += "--" + boundary + "\r\nContent-Type: message/delivery-status\r\n\r\n";
    out += "Reporting-MTA: dns; " + report.reporting_host + "\r\n";
    if (!report.envid.empty()) {
        out += "Original-Envelope-Id: " + one_line(report.envid) + "\r\n";
    }
    out += "Arrival-Date: " + core::smtp::rfc5322_date(report.arrival) + "\r\n";
    for (const auto& r : report.recipients) {
        out += "\r\n";
        if (!r.original.empty()) {
            out += "Original-Recipient: " + one_line(r.original) + "\r\n";
        }
        out += "Final-Recipient: rfc822; " + r.recipient + "\r\n";
        out += std::string("Action: ") + (failure ? "failed" : "delayed") + "\r\n";
        out += "Status: " + status_of(r.diagnostic, report.kind) + "\r\n";
        if (!r.diagnostic.empty()) {
            out += "Diagnostic-Code: smtp; " + one_line(r.diagnostic) + "\r\n";
        }
    }
    out += "\r\n";

    if (report.full_message) {
        out += "--" + boundary + "\r\nContent-Type: message/rfc822\r\n\r\n";
        out.append(original);
        if (!original.empty() &&
            original.substr(original.size() - std::min<std::size_t>(2, original.size())) !=
                "\r\n") {
            out += "\r\n";
        }
    } else {
        out += "--" + boundary + "\r\nContent-Type: text/rfc822-headers\r\n\r\n";
        out.append(header_section(original));
    }
    out += "\r\n--" + boundary + "--\r\n";
    return out;
}

} // namespace core::queue
