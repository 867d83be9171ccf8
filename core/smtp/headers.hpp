// SPDX-License-Identifier: ISC
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

// What the server adds to or checks in a message's header section (RFC 5321 4.4, RFC 5322).
namespace core::smtp {

// The time zone a date is written in.
enum class Zone { utc, local };

// An RFC 5322 3.3 date-time, "Tue, 02 Jan 2024 15:04:05 +0100", with English names whatever
// the locale.
std::string rfc5322_date(std::time_t when, Zone zone = Zone::local);

// What a Received: line says about a transaction.
struct ReceivedInfo {
    std::string_view helo;      // the HELO/EHLO argument
    std::string_view rdns;      // the client's verified reverse DNS name; empty when unknown
    std::string_view ip;        // the client's address, "192.0.2.1" or "2001:db8::1"
    std::string_view by_host;   // this server's name
    bool esmtp = true;          // EHLO rather than HELO
    bool tls = false;           // STARTTLS or SMTPS
    bool authenticated = false; // AUTH succeeded
    bool lmtp = false;          // LMTP (LHLO)
    std::string_view tls_info;  // a comment such as "TLSv1.3 TLS_AES_256_GCM_SHA384"; optional
    std::string_view id;        // the message id in the queue
    std::string_view recipient; // set only when the message has a single recipient
    bool mask_source = false;   // `mask-src`: leave out the `from` clause
    bool received_auth = false; // `received-auth`: say whether and as whom the client authenticated
    std::string_view auth_user; // the authenticated user, for received_auth
    std::time_t date = 0;
    Zone zone = Zone::local;
};

// The RFC 3848 "with" keyword for a transaction: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA, LMTP,
// LMTPS, LMTPA or LMTPSA.
std::string_view with_protocol(const ReceivedInfo& info);

// The Received: header field, folded, ending in CRLF (RFC 5321 4.4):
//   Received: from HELO (rdns [ip])
//   \tby host (mxd) with ESMTPS (tls_info) id ID
//   \tfor <rcpt>;
//   \tdate
// Client-supplied text is made safe: controls, spaces and non-ASCII become '?', and parentheses
// and backslashes inside comments too, so no client can inject a header or break the comment.
std::string received_header(const ReceivedInfo& info);

// Which header fields a message has (RFC 5322 3.6: Date and From are required, Message-ID
// should be there); the server adds those a submission lacks.
struct HeaderPresence {
    bool date = false;
    bool message_id = false;
    bool from = false;
};

// Scans the header section incrementally, as the body arrives: field names are matched
// case-insensitively at the start of a line (folded continuation lines are skipped, and
// "From :" with blanks before the colon counts, RFC 5322 4.5), up to the first empty line.
class HeaderScanner {
  public:
    // Consumes the next bytes of the message; stops looking once the header section ended.
    void feed(std::string_view bytes);
    // True once the empty line that ends the header section was seen.
    bool done() const { return m_state == State::done; }
    // What was found so far.
    const HeaderPresence& presence() const { return m_presence; }

  private:
    enum class State { line_start, empty_cr, name, name_blank, skip_line, done };

    void field_name_complete();

    State m_state = State::line_start;
    HeaderPresence m_presence;
    char m_name[16] = {};
    std::size_t m_name_length = 0; // may exceed sizeof(m_name): the name is then no match
};

// Scans a whole message (or its start) in one call.
HeaderPresence scan_headers(std::string_view message);

// A new globally unique Message-ID with its angle brackets: "<time.random@host>".
std::string message_id(std::string_view host);

// `senders <table> masquerade` (smtpd.conf(5)): the message `message` (CRLF lines, header
// section first) with the address of its From: field replaced by `sender`. A display name and
// comments are kept. nullopt when there is nothing to rewrite: no From: field, or one that
// names a group or several addresses, or one that does not parse (it is then left alone).
std::optional<std::string> masquerade_from(std::string_view message, std::string_view sender);

} // namespace core::smtp
