// SPDX-License-Identifier: ISC
#pragma once

#include "core/smtp/address.hpp"
#include "core/util/result.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

// SMTP command lines (RFC 5321 4.1) and the ESMTP parameters of MAIL and RCPT.
namespace core::smtp {

// RFC 5321 4.5.3.1.4 sets 512 octets per command line, but servers must take more once
// extensions add parameters (DSN's ORCPT alone may be 500), and AUTH initial responses can be
// long. OpenSMTPD reads lines of up to 64 KiB; mxd's default is 4096, configurable.
inline constexpr std::size_t k_command_line_max = 4096;
// Parameters on one MAIL or RCPT line; more is refused (no extension needs that many).
inline constexpr std::size_t k_esmtp_params_max = 16;

// The command verbs mxd knows; anything else is `unknown` (the session answers 500 5.5.1).
enum class Verb {
    helo,
    ehlo,
    mail,
    rcpt,
    data,
    bdat,
    rset,
    noop,
    quit,
    vrfy,
    expn,
    help,
    starttls,
    auth,
    unknown
};

// The verb's canonical upper-case name ("MAIL"); "UNKNOWN" for Verb::unknown.
std::string_view verb_name(Verb verb);

// One `keyword[=value]` ESMTP parameter (RFC 5321 4.1.2 esmtp-param), as views into the line.
struct EsmtpParam {
    std::string_view keyword;
    std::string_view value; // empty when the parameter has no value
    bool has_value = false;
};

// A parsed command line. The string_views point into the line given to parse_command, which
// must outlive the Command.
struct Command {
    Verb verb = Verb::unknown;
    // The verb as the client spelled it.
    std::string_view verb_text;
    // Everything after the verb, trimmed: the HELO domain, the AUTH mechanism and initial
    // response, the VRFY string, the BDAT size. For MAIL and RCPT, the text after "FROM:"/"TO:".
    std::string_view argument;
    // MAIL and RCPT: the path as given (`<a@b>`) and its parsed mailbox.
    std::string_view path_text;
    Mailbox path;
    // MAIL and RCPT: the ESMTP parameters in the order given.
    std::array<EsmtpParam, k_esmtp_params_max> param_storage{};
    std::size_t param_count = 0;

    // The ESMTP parameters.
    std::span<const EsmtpParam> params() const { return {param_storage.data(), param_count}; }
    // The parameter with this keyword (case-insensitive), or nullptr.
    const EsmtpParam* find_param(std::string_view keyword) const;
};

// How parse_command treats what the client may or may not use.
struct CommandOptions {
    // Longest accepted line, CRLF excluded; see k_command_line_max.
    std::size_t max_line = k_command_line_max;
    // The server offers SMTPUTF8 and, for RCPT, the transaction's MAIL carried SMTPUTF8. For
    // MAIL, UTF-8 addresses are allowed only when this is set and the line has SMTPUTF8
    // (RFC 6531 3.4).
    bool smtputf8 = false;
    // Passed to parse_path: `MAIL FROM:user@example.org` without brackets.
    bool brackets_optional = false;
    // Passed to parse_path: `RCPT TO:<user>` without a domain.
    bool domain_optional = false;
};

// Parses one command line (without its CRLF). The verb is case-insensitive and an unknown
// verb is not an error (Verb::unknown). Fails with Errc::invalid_argument when the line is
// longer than options.max_line (reply 500 5.5.2), and with Errc::parse on bad syntax: missing
// or malformed FROM:/TO:, bad path, malformed or duplicate parameter, arguments given to a
// verb that takes none, missing HELO/EHLO domain (reply 501 5.5.4, or 553 5.1.3 for a path).
Result<Command> parse_command(std::string_view line, CommandOptions options = {});

// BODY parameter values (RFC 6152 8BITMIME, RFC 3030 BINARYMIME).
enum class Body { unspecified, seven_bit, eight_bit_mime, binary_mime };
// RET parameter values (RFC 3461 4.3).
enum class Ret { unspecified, full, hdrs };

// The typed parameters of MAIL FROM.
struct MailParams {
    std::optional<std::uint64_t> size; // RFC 1870
    Body body = Body::unspecified;
    Ret ret = Ret::unspecified;
    std::optional<std::string> envid; // RFC 3461 4.4, xtext-decoded
    std::optional<std::string> auth;  // RFC 4954 5, xtext-decoded; "" for AUTH=<>
    bool smtputf8 = false;            // RFC 6531
};

// NOTIFY flags (RFC 3461 4.1), a bit set; none set means the parameter was absent.
enum NotifyFlag : unsigned {
    notify_never = 1,
    notify_success = 2,
    notify_failure = 4,
    notify_delay = 8
};

// The typed parameters of RCPT TO.
struct RcptParams {
    unsigned notify = 0;                   // NotifyFlag bits
    std::optional<std::string> orcpt_type; // RFC 3461 4.2 addr-type, as given ("rfc822")
    std::optional<std::string> orcpt;      // xtext-decoded original recipient
};

// Validates and types the parameters of a MAIL command. Fails with Errc::unsupported for an
// unknown keyword (reply 555 5.5.4) and Errc::parse for a bad value (reply 501 5.5.4).
Result<MailParams> parse_mail_params(const Command& command);

// Validates and types the parameters of a RCPT command; fails like parse_mail_params.
Result<RcptParams> parse_rcpt_params(const Command& command);

// The arguments of BDAT (RFC 3030 2): `chunk-size [LAST]`.
struct BdatArgs {
    std::uint64_t size = 0;
    bool last = false;
};

// Parses the argument of a BDAT command; fails with Errc::parse.
Result<BdatArgs> parse_bdat(std::string_view argument);

// Decodes RFC 3461 4 xtext ("+2B" is '+'); fails with Errc::parse on a bad hexchar or a
// character outside xchar. Lower-case hex digits are tolerated.
Result<std::string> xtext_decode(std::string_view text);

// Encodes bytes as xtext: '+', '=' and bytes outside 33..126 become "+XX".
std::string xtext_encode(std::string_view text);

} // namespace core::smtp
