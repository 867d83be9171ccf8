// SPDX-License-Identifier: ISC
#include "core/smtp/sasl.hpp"

#include <array>

namespace core::smtp {

namespace {

constexpr std::string_view k_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<signed char, 256> make_decode_table() {
    std::array<signed char, 256> table{};
    for (auto& entry : table) {
        entry = -1;
    }
    for (std::size_t i = 0; i < k_alphabet.size(); ++i) {
        table[static_cast<unsigned char>(k_alphabet[i])] = static_cast<signed char>(i);
    }
    return table;
}

constexpr auto k_decode = make_decode_table();

// RFC 4422 3.1: sasl-mech = 1*20mech-char, mech-char = UPPER-ALPHA / DIGIT / "-" / "_". Lower
// case is tolerated: mechanism names are compared case-insensitively by servers in practice.
bool valid_mechanism(std::string_view name) {
    if (name.empty() || name.size() > 20) {
        return false;
    }
    for (const char c : name) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

} // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const auto n = static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16 |
                       static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                       static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 2]));
        out.push_back(k_alphabet[n >> 18 & 63]);
        out.push_back(k_alphabet[n >> 12 & 63]);
        out.push_back(k_alphabet[n >> 6 & 63]);
        out.push_back(k_alphabet[n & 63]);
    }
    const auto rest = bytes.size() - i;
    if (rest > 0) {
        auto n = static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16;
        if (rest == 2) {
            n |= static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8;
        }
        out.push_back(k_alphabet[n >> 18 & 63]);
        out.push_back(k_alphabet[n >> 12 & 63]);
        out.push_back(rest == 2 ? k_alphabet[n >> 6 & 63] : '=');
        out.push_back('=');
    }
    return out;
}

Result<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return fail(Errc::parse, "invalid base64");
    }
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        int values[4];
        std::size_t padding = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            const auto c = static_cast<unsigned char>(text[i + k]);
            if (c == '=' && last && k >= 2) {
                values[k] = 0;
                ++padding;
                continue;
            }
            // Data after padding ("ab=c") is refused like any other stray character.
            if (padding > 0 || k_decode[c] < 0) {
                return fail(Errc::parse, "invalid base64");
            }
            values[k] = k_decode[c];
        }
        const unsigned n = static_cast<unsigned>(values[0]) << 18 |
                           static_cast<unsigned>(values[1]) << 12 |
                           static_cast<unsigned>(values[2]) << 6 | static_cast<unsigned>(values[3]);
        // RFC 4648 3.5: pad bits must be zero, so that each text has one decoding.
        if ((padding == 1 && (n & 0xff) != 0) || (padding == 2 && (n & 0xffff) != 0)) {
            return fail(Errc::parse, "invalid base64");
        }
        out.push_back(static_cast<char>(n >> 16 & 0xff));
        if (padding < 2) {
            out.push_back(static_cast<char>(n >> 8 & 0xff));
        }
        if (padding < 1) {
            out.push_back(static_cast<char>(n & 0xff));
        }
    }
    return out;
}

bool is_cancel(std::string_view line) {
    return line == "*";
}

Result<AuthArgument> parse_auth_argument(std::string_view argument) {
    const auto space = argument.find(' ');
    AuthArgument out;
    out.mechanism = argument.substr(0, space);
    if (!valid_mechanism(out.mechanism)) {
        return fail(Errc::parse, "invalid mechanism");
    }
    if (space == std::string_view::npos) {
        return out;
    }
    auto response = argument.substr(space + 1);
    if (response.empty() || response.find(' ') != std::string_view::npos) {
        return fail(Errc::parse, "syntax: AUTH mechanism [initial-response]");
    }
    // RFC 4954 4: "=" stands for an empty initial response.
    if (response == "=") {
        response = {};
    }
    out.initial_response = response;
    return out;
}

Result<PlainCredentials> decode_plain(std::string_view base64) {
    // Three fields of k_sasl_field_max and two NULs, in base64.
    if (base64.size() > (3 * k_sasl_field_max + 2 + 2) / 3 * 4) {
        return fail(Errc::parse, "AUTH PLAIN response too long");
    }
    auto decoded = base64_decode(base64);
    if (!decoded) {
        return fail(Errc::parse, "invalid base64 in AUTH PLAIN response");
    }
    const std::string_view message = *decoded;
    const auto first = message.find('\0');
    const auto second = first == std::string_view::npos ? first : message.find('\0', first + 1);
    if (second == std::string_view::npos ||
        message.find('\0', second + 1) != std::string_view::npos) {
        return fail(Errc::parse, "malformed AUTH PLAIN response");
    }
    PlainCredentials out;
    out.authzid = message.substr(0, first);
    out.authcid = message.substr(first + 1, second - first - 1);
    out.password = message.substr(second + 1);
    if (out.authcid.empty() || out.password.empty()) {
        return fail(Errc::parse, "empty user name or password in AUTH PLAIN response");
    }
    if (out.authzid.size() > k_sasl_field_max || out.authcid.size() > k_sasl_field_max ||
        out.password.size() > k_sasl_field_max) {
        return fail(Errc::parse, "AUTH PLAIN field too long");
    }
    return out;
}

std::string encode_plain(std::string_view authzid, std::string_view authcid,
                         std::string_view password) {
    std::string message;
    message.reserve(authzid.size() + authcid.size() + password.size() + 2);
    message.append(authzid).append(1, '\0').append(authcid).append(1, '\0').append(password);
    return base64_encode(message);
}

std::string_view LoginExchange::prompt() const {
    return m_have_username ? k_login_password_prompt : k_login_username_prompt;
}

Result<bool> LoginExchange::respond(std::string_view line) {
    if (is_cancel(line)) {
        return fail(Errc::invalid_argument, "authentication cancelled");
    }
    if (m_have_password) {
        return fail(Errc::parse, "AUTH LOGIN exchange already complete");
    }
    const char* field = m_have_username ? "password" : "user name";
    if (line.size() > (k_sasl_field_max + 2) / 3 * 4) {
        return fail(Errc::parse, std::string(field) + " too long");
    }
    auto decoded = base64_decode(line);
    if (!decoded) {
        return fail(Errc::parse, "invalid base64 in AUTH LOGIN " + std::string(field));
    }
    if (decoded->size() > k_sasl_field_max) {
        return fail(Errc::parse, std::string(field) + " too long");
    }
    if (decoded->empty() || decoded->find('\0') != std::string::npos) {
        return fail(Errc::parse, "invalid AUTH LOGIN " + std::string(field));
    }
    if (!m_have_username) {
        m_username = std::move(*decoded);
        m_have_username = true;
        return false;
    }
    m_password = std::move(*decoded);
    m_have_password = true;
    return true;
}

} // namespace core::smtp
