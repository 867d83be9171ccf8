// SPDX-License-Identifier: ISC
#include "core/smtp/redact.hpp"

#include "core/util/strings.hpp"

namespace core::smtp {

namespace {

constexpr std::string_view k_redacted = "<redacted>";

bool is_space(char c) { return c == ' ' || c == '\t'; }

} // namespace

std::string redact_client_line(std::string_view line, SaslResponse sasl) {
    // RFC 4954 4: after a 334 every line is the client's response, base64 of the user name,
    // the password or both (PLAIN); even "*" is kept out, so that nothing can be inferred.
    if (sasl == SaslResponse::yes) {
        return std::string(k_redacted);
    }
    // "AUTH" [SP mechanism [SP initial-response]]: the verb may be in any case and be followed
    // by more than one space (tolerated by servers, so redacted here too).
    if (line.size() < 4 || !core::starts_with_nocase(line, "AUTH") || (line.size() > 4 && !is_space(line[4]))) {
        return std::string(line);
    }
    std::size_t at = 4;
    while (at < line.size() && is_space(line[at])) {
        ++at;
    }
    const std::size_t mechanism_end = std::min(line.size(), line.find_first_of(" \t", at));
    std::size_t rest = mechanism_end;
    while (rest < line.size() && is_space(line[rest])) {
        ++rest;
    }
    if (rest >= line.size()) {
        return std::string(line.substr(0, mechanism_end));
    }
    return std::string(line.substr(0, mechanism_end)) + " " + std::string(k_redacted);
}

} // namespace core::smtp
