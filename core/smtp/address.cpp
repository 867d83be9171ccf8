// SPDX-License-Identifier: ISC
#include "core/smtp/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace core::smtp {

namespace {

bool is_alpha(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}
bool is_non_ascii(unsigned char c) {
    return c >= 0x80;
}

// RFC 5322 3.2.3 atext.
bool is_atext(unsigned char c) {
    if (is_alpha(c) || is_digit(c)) {
        return true;
    }
    return std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr && c != '\0';
}

// RFC 3629: well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool is_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t extra = 0;
        unsigned char min2 = 0x80;
        unsigned char max2 = 0xbf;
        if (c < 0x80) {
            ++i;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            min2 = c == 0xe0 ? 0xa0 : 0x80;
            max2 = c == 0xed ? 0x9f : 0xbf;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            min2 = c == 0xf0 ? 0x90 : 0x80;
            max2 = c == 0xf4 ? 0x8f : 0xbf;
        } else {
            return false;
        }
        if (i + extra >= text.size()) {
            return false;
        }
        for (std::size_t k = 1; k <= extra; ++k) {
            const auto b = static_cast<unsigned char>(text[i + k]);
            const unsigned char lo = k == 1 ? min2 : 0x80;
            const unsigned char hi = k == 1 ? max2 : 0xbf;
            if (b < lo || b > hi) {
                return false;
            }
        }
        i += extra + 1;
    }
    return true;
}

// Unquoted local part. Deliberately lenient on dots: RFC 5321's Dot-string forbids leading,
// trailing and doubled dots, but real mailboxes such as "john..doe" exist (some Japanese
// mobile carriers issued them) and OpenSMTPD's valid_localpart() accepts them too.
bool valid_dot_string(std::string_view text, bool utf8) {
    if (text.empty()) {
        return false;
    }
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (!(is_atext(c) || c == '.' || (utf8 && is_non_ascii(c)))) {
            return false;
        }
    }
    return true;
}

// Strict RFC 5321 Dot-string, used to decide whether quotes can be dropped.
bool strict_dot_string(std::string_view text) {
    if (text.empty() || text.front() == '.' || text.back() == '.' ||
        text.find("..") != std::string_view::npos) {
        return false;
    }
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (!(is_atext(c) || c == '.')) {
            return false;
        }
    }
    return true;
}

// RFC 5321 4.1.2 Quoted-string: qtextSMTP and quoted-pairSMTP; RFC 6531 adds UTF-8.
// Returns the unescaped content through `content`.
bool valid_quoted_string(std::string_view text, bool utf8, std::string& content) {
    if (text.size() < 2 || text.front() != '"' || text.back() != '"') {
        return false;
    }
    content.clear();
    for (std::size_t i = 1; i + 1 < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '\\') {
            if (i + 2 >= text.size()) {
                return false;
            }
            const auto next = static_cast<unsigned char>(text[++i]);
            if (next < 32 || next > 126) {
                return false;
            }
            content.push_back(static_cast<char>(next));
        } else if (c == '"') {
            return false;
        } else if ((c >= 32 && c <= 126) || (utf8 && is_non_ascii(c))) {
            content.push_back(static_cast<char>(c));
        } else {
            return false;
        }
    }
    return true;
}

// RFC 5321 4.1.2 Domain: sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str].
// Lenient on '_', which appears in real host names. RFC 6531 allows U-labels (UTF-8).
bool valid_domain(std::string_view text, bool utf8) {
    if (text.empty() || text.size() > k_domain_max) {
        return false;
    }
    std::size_t label_start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i < text.size() && text[i] != '.') {
            const auto c = static_cast<unsigned char>(text[i]);
            if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '_' ||
                  (utf8 && is_non_ascii(c)))) {
                return false;
            }
            continue;
        }
        const auto label = text.substr(label_start, i - label_start);
        // RFC 1035 2.3.4: labels are 63 octets or less.
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
            return false;
        }
        label_start = i + 1;
    }
    return true;
}

// RFC 5321 4.1.3 address literals: `[1.2.3.4]` and `[IPv6:...]`. General literals with other
// tags are refused: nothing can deliver to them. Returns the normalized literal.
Result<std::string> parse_address_literal(std::string_view text) {
    if (text.size() < 3 || text.front() != '[' || text.back() != ']') {
        return fail(Errc::parse, "invalid address literal");
    }
    const auto inner = text.substr(1, text.size() - 2);
    char buffer[64];
    if (inner.size() >= sizeof(buffer)) {
        return fail(Errc::parse, "invalid address literal");
    }
    constexpr std::string_view k_v6 = "ipv6:";
    if (inner.size() > k_v6.size() && (inner[0] == 'I' || inner[0] == 'i')) {
        std::string tag(inner.substr(0, k_v6.size()));
        for (auto& c : tag) {
            c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        }
        if (tag != k_v6) {
            return fail(Errc::parse, "unsupported address literal");
        }
        const auto ip = inner.substr(k_v6.size());
        std::memcpy(buffer, ip.data(), ip.size());
        buffer[ip.size()] = '\0';
        in6_addr addr6{};
        if (inet_pton(AF_INET6, buffer, &addr6) != 1) {
            return fail(Errc::parse, "invalid IPv6 address literal");
        }
        char canonical[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &addr6, canonical, sizeof(canonical));
        return "[IPv6:" + std::string(canonical) + "]";
    }
    std::memcpy(buffer, inner.data(), inner.size());
    buffer[inner.size()] = '\0';
    in_addr addr4{};
    // inet_pton accepts only the dotted-quad form, which is RFC 5321's IPv4-address-literal.
    if (inet_pton(AF_INET, buffer, &addr4) != 1) {
        return fail(Errc::parse, "invalid address literal");
    }
    return std::string(text);
}

void lowercase_ascii(std::string& text) {
    for (auto& c : text) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
}

// Finds the '@' that separates local part and domain: the last one outside a quoted string.
std::size_t find_at(std::string_view mailbox) {
    if (!mailbox.empty() && mailbox.front() == '"') {
        // The quoted string ends at the first unescaped quote.
        for (std::size_t i = 1; i < mailbox.size(); ++i) {
            if (mailbox[i] == '\\') {
                ++i;
            } else if (mailbox[i] == '"') {
                return i + 1 < mailbox.size() && mailbox[i + 1] == '@' ? i + 1
                                                                       : std::string_view::npos;
            }
        }
        return std::string_view::npos;
    }
    return mailbox.rfind('@');
}

Result<std::string> parse_local_part(std::string_view text, bool utf8) {
    if (text.empty()) {
        return fail(Errc::parse, "empty local part");
    }
    if (text.size() > k_local_part_max) {
        return fail(Errc::parse, "local part too long");
    }
    if (text.front() == '"') {
        std::string content;
        if (!valid_quoted_string(text, utf8, content)) {
            return fail(Errc::parse, "invalid local part");
        }
        // RFC 5321 4.1.2: a quoted form that is also a valid Dot-string means the same mailbox,
        // so the quotes are dropped and lookups see one spelling.
        if (strict_dot_string(content)) {
            return content;
        }
        return std::string(text);
    }
    if (!valid_dot_string(text, utf8)) {
        return fail(Errc::parse, "invalid local part");
    }
    return std::string(text);
}

Result<std::string> parse_domain(std::string_view text, bool utf8) {
    if (text.empty()) {
        return fail(Errc::parse, "empty domain");
    }
    if (text.size() > k_domain_max) {
        return fail(Errc::parse, "domain too long");
    }
    if (text.front() == '[') {
        return parse_address_literal(text);
    }
    if (!valid_domain(text, utf8)) {
        return fail(Errc::parse, "invalid domain");
    }
    std::string domain(text);
    lowercase_ascii(domain);
    return domain;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto x = a[i];
        auto y = b[i];
        x = static_cast<char>(x >= 'A' && x <= 'Z' ? x - 'A' + 'a' : x);
        y = static_cast<char>(y >= 'A' && y <= 'Z' ? y - 'A' + 'a' : y);
        if (x != y) {
            return false;
        }
    }
    return true;
}

enum class Context { path, bare };

Result<Mailbox> parse_mailbox(std::string_view text, PathKind kind, Context context,
                              const ParseOptions& options) {
    const bool utf8 = options.smtputf8;
    if (!utf8) {
        for (const char c : text) {
            if (is_non_ascii(static_cast<unsigned char>(c))) {
                return fail(Errc::parse, "non-ASCII address without SMTPUTF8");
            }
        }
    } else if (!is_utf8(text)) {
        return fail(Errc::parse, "invalid UTF-8 in address");
    }
    const auto at = find_at(text);
    if (at == std::string_view::npos && !text.empty() && text.front() == '"') {
        return fail(Errc::parse, "invalid local part");
    }
    if (at == std::string_view::npos) {
        // RFC 5321 4.5.1: <postmaster> without a domain MUST be accepted as a recipient.
        if (kind == PathKind::forward && context == Context::path && iequals(text, "postmaster")) {
            return Mailbox{std::string(text), {}};
        }
        if (!options.domain_optional) {
            return fail(Errc::parse, text.empty() ? "empty address" : "missing domain");
        }
        MXD_TRY_ASSIGN(auto local, parse_local_part(text, utf8));
        return Mailbox{std::move(local), {}};
    }
    MXD_TRY_ASSIGN(auto local, parse_local_part(text.substr(0, at), utf8));
    MXD_TRY_ASSIGN(auto domain, parse_domain(text.substr(at + 1), utf8));
    // RFC 5321 4.5.3.1.3: the path, brackets included, is at most 256 octets. The source
    // route is not counted: it is dropped, and the command line limit bounds it.
    if (local.size() + 1 + domain.size() + 2 > k_path_max) {
        return fail(Errc::parse, "address too long");
    }
    return Mailbox{std::move(local), std::move(domain)};
}

} // namespace

std::string Mailbox::to_string() const {
    if (domain.empty()) {
        return local;
    }
    std::string out;
    out.reserve(local.size() + 1 + domain.size());
    out.append(local).append(1, '@').append(domain);
    return out;
}

std::size_t path_extent(std::string_view text) {
    if (text.empty() || text.front() != '<') {
        const auto space = text.find_first_of(" \t");
        return space == std::string_view::npos ? text.size() : space;
    }
    bool quoted = false;
    for (std::size_t i = 1; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted && c == '\\') {
            ++i;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (!quoted && c == '>') {
            return i + 1;
        }
    }
    return std::string_view::npos;
}

Result<Mailbox> parse_path(std::string_view text, PathKind kind, ParseOptions options) {
    std::string_view inner;
    if (text.size() >= 2 && text.front() == '<' && text.back() == '>') {
        inner = text.substr(1, text.size() - 2);
    } else if (!text.empty() && text.front() == '<') {
        return fail(Errc::parse, "missing '>'");
    } else if (options.brackets_optional && !text.empty()) {
        inner = text;
    } else {
        return fail(Errc::parse, "path must be enclosed in <>");
    }
    if (text.size() > k_path_max + k_domain_max) {
        // Source routes aside, nothing this long can be valid; refuse before any work.
        return fail(Errc::parse, "path too long");
    }
    if (inner.empty()) {
        if (kind == PathKind::reverse) {
            return Mailbox{};
        }
        return fail(Errc::parse, "empty recipient");
    }
    // RFC 5321 4.1.1.3 and appendix C: a source route `@a,@b:` MUST be accepted and SHOULD be
    // ignored. Its domains are checked for syntax only.
    if (inner.front() == '@') {
        const auto colon = inner.find(':');
        if (colon == std::string_view::npos) {
            return fail(Errc::parse, "invalid source route");
        }
        for (std::size_t start = 0; start < colon;) {
            auto end = inner.find(',', start);
            if (end == std::string_view::npos || end > colon) {
                end = colon;
            }
            const auto hop = inner.substr(start, end - start);
            if (hop.size() < 2 || hop.front() != '@' ||
                !parse_domain(hop.substr(1), options.smtputf8)) {
                return fail(Errc::parse, "invalid source route");
            }
            start = end + 1;
        }
        inner.remove_prefix(colon + 1);
    }
    return parse_mailbox(inner, kind, Context::path, options);
}

Result<Mailbox> parse_address(std::string_view text, ParseOptions options) {
    if (text.size() >= 2 && text.front() == '<' && text.back() == '>') {
        text = text.substr(1, text.size() - 2);
    }
    if (text.empty()) {
        return fail(Errc::parse, "empty address");
    }
    if (text.front() == '@') {
        return fail(Errc::parse, "source route not allowed");
    }
    return parse_mailbox(text, PathKind::forward, Context::bare, options);
}

} // namespace core::smtp
