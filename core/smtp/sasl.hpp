// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

// SMTP AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN mechanisms, and base64 (RFC 4648).
// Error messages never contain a password or the base64 that carries one.
namespace core::smtp {

// Longest authzid, authcid or password accepted (RFC 4616 2 requires at least 255 octets).
inline constexpr std::size_t k_sasl_field_max = 1024;

// AUTH LOGIN's 334 prompts: base64 of "Username:" and "Password:".
inline constexpr std::string_view k_login_username_prompt = "VXNlcm5hbWU6";
inline constexpr std::string_view k_login_password_prompt = "UGFzc3dvcmQ6";

// Encodes bytes as base64 with padding (RFC 4648 4).
std::string base64_encode(std::string_view bytes);

// Decodes padded base64 strictly (RFC 4648 4, 3.3 and 3.5): no whitespace, no characters
// outside the alphabet, length a multiple of 4, padding only at the end and zero pad bits.
// Fails with Errc::parse ("invalid base64").
Result<std::string> base64_decode(std::string_view text);

// RFC 4954 4: a client cancels an exchange by answering a challenge with "*".
bool is_cancel(std::string_view line);

// The argument of "AUTH mechanism [initial-response]" (RFC 4954 4).
struct AuthArgument {
    // As given; compare case-insensitively (SASL mechanism names are upper case).
    std::string_view mechanism;
    // The base64 initial response; "" when the client sent "=" (an empty response); nullopt
    // when it sent none.
    std::optional<std::string_view> initial_response;
};

// Splits the argument of an AUTH command. Fails with Errc::parse when the mechanism is
// missing or invalid (RFC 4422 3.1: 1-20 of A-Z, 0-9, '-', '_') or when more follows.
Result<AuthArgument> parse_auth_argument(std::string_view argument);

// The three fields of an AUTH PLAIN message.
struct PlainCredentials {
    std::string authzid; // empty when the client asks to act as itself
    std::string authcid;
    std::string password;
};

// Decodes an AUTH PLAIN response: base64 of authzid NUL authcid NUL passwd (RFC 4616 2).
// Fails with Errc::parse on bad base64, a NUL count other than two, an empty authcid or
// password, or a field longer than k_sasl_field_max. Does not check "*" (use is_cancel).
Result<PlainCredentials> decode_plain(std::string_view base64);

// Builds the base64 AUTH PLAIN response (relay client, tests).
std::string encode_plain(std::string_view authzid, std::string_view authcid,
                         std::string_view password);

// The server side of AUTH LOGIN: it asks for the user name, then the password.
class LoginExchange {
  public:
    // The 334 text to send next (the username or password prompt).
    std::string_view prompt() const;
    // Takes the client's next base64 response (or the initial response of "AUTH LOGIN x").
    // Returns true once the password has arrived, false when the password prompt is due.
    // Fails with Errc::invalid_argument when the client cancelled ("*", reply 501 5.7.0) and
    // Errc::parse on bad base64, a NUL, an empty or over-long field (reply 501 5.5.2).
    Result<bool> respond(std::string_view line);
    // The user name, once received.
    const std::string& username() const { return m_username; }
    // The password, once received.
    const std::string& password() const { return m_password; }

  private:
    std::string m_username;
    std::string m_password;
    bool m_have_username = false;
    bool m_have_password = false;
};

} // namespace core::smtp
