// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// The transaction commands a relay client sends (RFC 5321 4.1.1.2, 4.1.1.3) with the
// parameters of SIZE (RFC 1870), 8BITMIME (RFC 6152) and DSN (RFC 3461).
namespace core::mta {

// MAIL FROM parameters; each is sent only when set, so the caller leaves out what the server
// did not announce.
struct MailParameters {
    std::optional<std::uint64_t> size; // SIZE=n
    bool body_8bitmime = false;        // BODY=8BITMIME
    std::string ret;                   // RET=FULL or RET=HDRS; "" for none
    std::string envid;                 // ENVID, decoded (sent as xtext); "" for none
};

// RCPT TO parameters (DSN); empty strings are not sent.
struct RcptParameters {
    std::string notify; // "NEVER" or a list such as "SUCCESS,FAILURE"
    std::string orcpt;  // original recipient, decoded (sent as xtext)
    std::string orcpt_type = "rfc822";
};

// Checks that an address taken from the queue can go between angle brackets: no control
// character, no '<' or '>', at most 256 bytes (RFC 5321 4.5.3.1.3). Fails with Errc::parse;
// this is what keeps a stored address from injecting a command.
Result<void> check_path_text(std::string_view address);

// "MAIL FROM:<sender> SIZE=n BODY=8BITMIME RET=FULL ENVID=x"; sender "" gives "<>". Invalid
// RET or NOTIFY values are left out. The caller has checked the address with check_path_text.
std::string mail_command(std::string_view sender, const MailParameters& params);

// "RCPT TO:<rcpt> NOTIFY=... ORCPT=rfc822;x".
std::string rcpt_command(std::string_view rcpt, const RcptParameters& params);

} // namespace core::mta
