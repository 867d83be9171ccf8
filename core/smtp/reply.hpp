// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <cstddef>
#include <string>
#include <string_view>

// SMTP replies (RFC 5321 4.2) with enhanced status codes (RFC 2034, RFC 3463): the ones the
// server sends, and the parser the relay client uses for the ones it receives.
namespace core::smtp {

// A reply: a three-digit code, an optional enhanced status code ("2.1.0"), and text. A text
// with '\n' in it is sent as a multi-line reply, one line per '\n'-separated part.
struct Reply {
    int code = 0;
    std::string enhanced;
    std::string text;

    // Appends the wire form to `out`: "250-first\r\n250 last\r\n", each line prefixed with the
    // enhanced code when there is one. CRs in the text are dropped.
    void render_to(std::string& out) const;
    // The wire form as a new string.
    std::string render() const;
    // The text as one line (parts joined by a space), for logs and DSNs.
    std::string one_line() const;
    // True for 2xx and 3xx, false for 4xx and 5xx.
    bool positive() const { return code >= 200 && code < 400; }
    // True for 4xx.
    bool transient() const { return code >= 400 && code < 500; }
    // True for 5xx.
    bool permanent() const { return code >= 500 && code < 600; }

    bool operator==(const Reply&) const = default;
};

// The replies the server sends. Texts are short and fixed; callers that need details build a
// Reply themselves. Enhanced codes follow RFC 3463 and the RFC 5248 registry.
namespace reply {

// 250 2.0.0 Ok (or the given text).
Reply ok(std::string_view text = "Ok");
// 220 greeting: "220 host ESMTP mxd" (no enhanced code, RFC 2034 3).
Reply greeting(std::string_view host);
// 221 2.0.0 Bye.
Reply closing();
// 250 2.1.0 sender ok.
Reply sender_ok();
// 250 2.1.5 recipient ok.
Reply recipient_ok();
// 354 Start mail input; end with <CRLF>.<CRLF>
Reply start_data();
// 250 2.0.0 <id> Message accepted for delivery.
Reply message_accepted(std::string_view msgid);
// 220 2.0.0 Ready to start TLS.
Reply starttls_ready();
// 235 2.7.0 Authentication successful.
Reply auth_ok();
// 334 with a base64 challenge (possibly empty).
Reply auth_challenge(std::string_view base64);
// 421 4.3.0 host Service not available, closing channel (text can be replaced).
Reply unavailable(std::string_view host,
                  std::string_view text = "Service not available, closing channel");
// 421 4.4.2 host Timeout, closing channel.
Reply timeout(std::string_view host);
// 451 4.3.0 Temporary local error (queue or table failure).
Reply local_error();
// 452 4.5.3 Too many recipients.
Reply too_many_recipients();
// 452 4.3.1 Insufficient system storage.
Reply insufficient_storage();
// 500 5.5.2 Syntax error, command unrecognized.
Reply command_unrecognized();
// 500 5.5.2 Line too long.
Reply line_too_long();
// 501 5.5.4 Syntax error in parameters (text can be replaced by the parser's reason).
Reply syntax_error(std::string_view text = "Syntax error in parameters or arguments");
// 502 5.5.1 Command not implemented.
Reply not_implemented();
// 503 5.5.1 Bad sequence of commands.
Reply bad_sequence();
// 504 5.5.4 Unrecognized authentication type.
Reply auth_mechanism_unsupported();
// 501 5.7.0 Authentication cancelled (RFC 4954 4).
Reply auth_cancelled();
// 530 5.7.0 Authentication required.
Reply auth_required();
// 535 5.7.8 Authentication credentials invalid.
Reply auth_failed();
// 538 5.7.11 Encryption required for requested authentication mechanism.
Reply encryption_required();
// 530 5.7.0 Must issue a STARTTLS command first (RFC 3207 4: a tls-require listener).
Reply starttls_required();
// 550 5.1.1 Invalid recipient.
Reply no_such_user();
// 553 5.1.3 Invalid address syntax, with the parser's reason.
Reply bad_address(std::string_view reason);
// 552 5.3.4 Message too big for system.
Reply message_too_big();
// 554 5.7.1 Relay denied.
Reply relay_denied();
// 555 5.5.4 Parameters not recognized (RFC 5321 4.1.1.11).
Reply parameters_unrecognized(std::string_view text = "Unsupported parameter");
// 550 5.6.0 Message content rejected (bare LF or over-long line, after the final dot).
Reply content_rejected(std::string_view text);

} // namespace reply

// Longest reply the relay client accepts from a server, in lines and in bytes.
inline constexpr std::size_t k_reply_lines_max = 128;
inline constexpr std::size_t k_reply_bytes_max = 64 * 1024;

// One line of a reply received from a server, as views into the line.
struct ReplyLine {
    int code = 0;
    bool last = false; // "250 " ends the reply, "250-" continues it
    std::string_view text;
};

// Parses "250-text", "250 text" or "250" (without CRLF). Fails with Errc::parse when the line
// does not start with a valid reply code (2xx..5xx, second digit 0..5) and a separator.
Result<ReplyLine> parse_reply_line(std::string_view line);

// Splits an enhanced status code ("5.1.1 ") off the start of `text` when it is one of class
// `reply_class` (2, 4 or 5, the first digit of the reply code). Returns the code and leaves the
// rest of the text in `text`; returns an empty view when there is none.
std::string_view take_enhanced_code(std::string_view& text, int reply_class);

// Collects the lines of a multi-line reply from a server.
class ReplyAccumulator {
  public:
    // Adds one line (without CRLF). Returns true when the reply is complete (take() it), false
    // when more lines are expected. Fails with Errc::parse on a malformed line or a code that
    // changes between lines, and when the reply exceeds k_reply_lines_max or k_reply_bytes_max;
    // the accumulator is reset after a failure.
    Result<bool> add(std::string_view line);
    // The completed reply: the enhanced code of the first line, stripped from every line that
    // repeats it, and the texts joined by '\n'. Resets the accumulator.
    Reply take();
    // True when no line of a new reply has been added.
    bool empty() const { return m_lines == 0; }

  private:
    Reply m_reply;
    std::size_t m_lines = 0;
    bool m_complete = false;
};

} // namespace core::smtp
