// SPDX-License-Identifier: ISC
#include "core/mta/relay_url.hpp"

#include <arpa/inet.h>

#include <array>
#include <utility>

namespace core::mta {

namespace {

constexpr std::array<std::pair<std::string_view, Scheme>, 5> k_schemes{{
    {"smtp", Scheme::smtp},
    {"smtp+tls", Scheme::smtp_tls},
    {"smtp+notls", Scheme::smtp_notls},
    {"smtps", Scheme::smtps},
    {"lmtp", Scheme::lmtp},
}};

bool is_ipv4(const std::string& text) {
    in_addr a{};
    return inet_pton(AF_INET, text.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& text) {
    in6_addr a{};
    return inet_pton(AF_INET6, text.c_str(), &a) == 1;
}

// RFC 1123 2.1 host names: letters, digits, '-' and '.' ('_' tolerated, as resolvers do).
bool is_host_name(std::string_view text) {
    if (text.empty() || text.size() > 255 || text.front() == '.' || text.front() == '-') {
        return false;
    }
    for (const char c : text) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
        if (!ok) {
            return false;
        }
    }
    return text.find("..") == std::string_view::npos;
}

Result<std::uint16_t> parse_port(std::string_view text) {
    if (text.empty() || text.size() > 5) {
        return fail(Errc::parse, "invalid port '" + std::string(text) + "'");
    }
    unsigned value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return fail(Errc::parse, "invalid port '" + std::string(text) + "'");
        }
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) {
        return fail(Errc::parse, "port out of range: " + std::string(text));
    }
    return static_cast<std::uint16_t>(value);
}

// Parses `host[:port]` into url.host and url.port (the scheme's default when absent).
Result<void> parse_host_port(std::string_view text, RelayUrl& url) {
    std::string_view port_text;
    bool has_port = false;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) {
            return fail(Errc::parse, "missing ']' after an IPv6 address");
        }
        url.host = std::string(text.substr(1, close - 1));
        if (!is_ipv6(url.host)) {
            return fail(Errc::parse, "invalid IPv6 address '" + url.host + "'");
        }
        const auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                return fail(Errc::parse, "unexpected text after ']'");
            }
            port_text = rest.substr(1);
            has_port = true;
        }
    } else {
        const auto colon = text.find(':');
        if (colon != std::string_view::npos &&
            text.find(':', colon + 1) != std::string_view::npos) {
            return fail(Errc::parse, "an IPv6 address must be in brackets, as in [::1]:25");
        }
        url.host = std::string(text.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = text.substr(colon + 1);
            has_port = true;
        }
        if (url.host.empty()) {
            return fail(Errc::parse, "missing host");
        }
        if (!is_ipv4(url.host) && !is_host_name(url.host)) {
            return fail(Errc::parse, "invalid host name '" + url.host + "'");
        }
    }
    if (has_port) {
        MXD_TRY_ASSIGN(url.port, parse_port(port_text));
        url.port_given = true;
    } else {
        url.port = default_port(url.scheme);
    }
    return {};
}

} // namespace

std::uint16_t default_port(Scheme scheme) {
    switch (scheme) {
    case Scheme::smtps:
        return 465;
    case Scheme::lmtp:
        return 24;
    case Scheme::smtp:
    case Scheme::smtp_tls:
    case Scheme::smtp_notls:
        return 25;
    }
    return 25;
}

std::string_view scheme_name(Scheme scheme) {
    for (const auto& [name, s] : k_schemes) {
        if (s == scheme) {
            return name;
        }
    }
    return "smtp";
}

std::string RelayUrl::to_string() const {
    std::string out(scheme_name(scheme));
    out += "://";
    if (!socket_path.empty()) {
        return out + socket_path;
    }
    if (!label.empty()) {
        out += label + "@";
    }
    out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return out + ":" + std::to_string(port);
}

Result<RelayUrl> parse_relay_url(std::string_view text) {
    RelayUrl url;
    if (const auto sep = text.find("://"); sep != std::string_view::npos) {
        const auto name = text.substr(0, sep);
        bool known = false;
        for (const auto& [n, s] : k_schemes) {
            if (n == name) {
                url.scheme = s;
                known = true;
            }
        }
        if (!known) {
            return fail(Errc::parse, "unknown scheme '" + std::string(name) + "'");
        }
        text.remove_prefix(sep + 3);
    }
    // The label is everything up to the last '@': a host part never contains one.
    if (const auto at = text.rfind('@'); at != std::string_view::npos) {
        url.label = std::string(text.substr(0, at));
        if (url.label.empty()) {
            return fail(Errc::parse, "empty label before '@'");
        }
        text.remove_prefix(at + 1);
    }
    MXD_TRY(parse_host_port(text, url));
    return url;
}

Result<RelayUrl> parse_lmtp_destination(std::string_view text) {
    RelayUrl url;
    url.scheme = Scheme::lmtp;
    if (!text.empty() && text.front() == '/') {
        url.socket_path = std::string(text);
        url.port = 0;
        return url;
    }
    if (text.rfind("lmtp://", 0) == 0) {
        return parse_relay_url(text);
    }
    MXD_TRY(parse_host_port(text, url));
    return url;
}

TlsPolicy tls_policy(Scheme scheme, config::Action::RelayTls tls) {
    using RelayTls = config::Action::RelayTls;
    const Verify verify = tls == RelayTls::no_verify ? Verify::no : Verify::yes;
    switch (scheme) {
    case Scheme::smtp:
        // smtpd.conf(5) `tls [no-verify]`: mandatory STARTTLS; without it TLS is opportunistic
        // and, as in OpenSMTPD, the certificate of an opportunistic session is not enforced.
        if (tls != RelayTls::default_) {
            return {TlsMode::required, verify};
        }
        return {TlsMode::opportunistic, Verify::no};
    case Scheme::smtp_tls:
        return {TlsMode::required, verify};
    case Scheme::smtps:
        return {TlsMode::implicit, verify};
    case Scheme::smtp_notls:
    case Scheme::lmtp:
        return {TlsMode::none, Verify::no};
    }
    return {TlsMode::opportunistic, Verify::no};
}

Result<Credentials> parse_credentials(std::string_view value) {
    const auto colon = value.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == value.size()) {
        return fail(Errc::parse, "credentials are not of the form user:password");
    }
    return Credentials{std::string(value.substr(0, colon)), std::string(value.substr(colon + 1))};
}

} // namespace core::mta
