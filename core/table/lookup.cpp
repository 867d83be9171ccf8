// SPDX-License-Identifier: ISC
#include "core/table/lookup.hpp"

#include <algorithm>

#include "core/util/log.hpp"
#include "core/util/strings.hpp"

#include <arpa/inet.h>

#include <array>
#include <cctype>
#include <charconv>
#include <cstring>

namespace core::table {

namespace {

// An IPv4 or IPv6 address in network byte order, and its family.
struct IpAddress {
    int family = 0;
    std::array<unsigned char, 16> bytes{};
};

std::optional<IpAddress> parse_ip(std::string_view text) {
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
        text = text.substr(1, text.size() - 2);
    }
    const std::string s(text);
    IpAddress ip;
    if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) {
        ip.family = AF_INET;
        return ip;
    }
    if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) {
        ip.family = AF_INET6;
        return ip;
    }
    return std::nullopt;
}

Result<std::optional<Match>> get_match(const Table& table, std::string_view key) {
    MXD_TRY_ASSIGN(auto value, table.get(key));
    if (!value) {
        return std::optional<Match>{};
    }
    return std::optional<Match>{Match{std::string(key), std::move(*value)}};
}

// Tries each candidate key in order.
Result<std::optional<Match>> first_of(const Table& table, std::initializer_list<std::string> keys) {
    for (const auto& key : keys) {
        MXD_TRY_ASSIGN(auto found, get_match(table, key));
        if (found) {
            return found;
        }
    }
    return std::optional<Match>{};
}

// Scans every entry; for matching rules that no single get() can answer.
Result<std::optional<Match>> scan(const Table& table,
                                  const std::function<bool(std::string_view)>& matches) {
    std::optional<Match> found;
    MXD_TRY(table.for_each([&](std::string_view k, std::string_view v) {
        if (matches(k)) {
            found = Match{std::string(k), std::string(v)};
            return false;
        }
        return true;
    }));
    return found;
}

} // namespace

bool hostname_match(std::string_view host, std::string_view pattern) {
    // A glob where '*' matches any run of characters, so `*.example.org` matches subdomains at
    // any depth. (OpenSMTPD's hostname_match() stops its '*' at the first '.', so there it
    // matches one label only; the db backend's `*.parent` lookups behave like this glob.)
    auto lower = [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    };
    std::size_t h = 0;
    std::size_t p = 0;
    std::size_t star = std::string_view::npos;
    std::size_t resume = 0;
    while (h < host.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = h;
        } else if (p < pattern.size() && lower(pattern[p]) == lower(host[h])) {
            ++p;
            ++h;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            h = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') {
        ++p;
    }
    return p == pattern.size();
}

bool netaddr_match(std::string_view ip_text, std::string_view network) {
    const auto ip = parse_ip(ip_text);
    if (!ip) {
        return false;
    }
    std::string_view address = network;
    int prefix = -1;
    if (const auto slash = network.rfind('/'); slash != std::string_view::npos) {
        address = network.substr(0, slash);
        const auto digits = network.substr(slash + 1);
        const auto [ptr, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (ec != std::errc{} || ptr != digits.data() + digits.size()) {
            return false;
        }
    }
    const auto net = parse_ip(address);
    if (!net || net->family != ip->family) {
        return false;
    }
    const int bits = ip->family == AF_INET ? 32 : 128;
    if (prefix < 0) {
        prefix = bits;
    }
    if (prefix > bits) {
        return false;
    }
    const int full = prefix / 8;
    if (std::memcmp(ip->bytes.data(), net->bytes.data(), static_cast<std::size_t>(full)) != 0) {
        return false;
    }
    if (const int rest = prefix % 8; rest != 0) {
        const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
        return (ip->bytes[static_cast<std::size_t>(full)] & mask) ==
               (net->bytes[static_cast<std::size_t>(full)] & mask);
    }
    return true;
}

namespace {

// lookup() without its trace line.
Result<std::optional<Match>> lookup_untraced(const Table& table, Service service, std::string_view raw_key);

} // namespace

Result<std::optional<Match>> lookup(const Table& table, Service service, std::string_view key) {
    auto found = lookup_untraced(table, service, key);
    // The key only: a value may be a password hash (credentials), and never goes in a trace.
    MXD_TRACE(Subsystem::table, {}, "lookup",
              {{"source", table.source()}, {"service", service_name(service)}, {"key", key},
               {"result", !found ? "error: " + found.error().message : *found ? std::string("found") : "none"}});
    return found;
}

namespace {

Result<std::optional<Match>> lookup_untraced(const Table& table, Service service, std::string_view raw_key) {
    const std::string key = to_lower(raw_key);
    if (needs_mapping(service) && table.is_list()) {
        return fail(Errc::invalid_argument, "table is a list; the " +
                                                std::string(service_name(service)) +
                                                " service needs a mapping");
    }
    switch (service) {
    case Service::domain: {
        MXD_TRY_ASSIGN(auto exact, get_match(table, key));
        if (exact) {
            return exact;
        }
        if (table.backend() == "db") {
            // A large db is never scanned: try the `*.parent` patterns of each parent domain.
            for (auto dot = key.find('.'); dot != std::string::npos; dot = key.find('.', dot + 1)) {
                MXD_TRY_ASSIGN(auto wild, get_match(table, "*" + key.substr(dot)));
                if (wild) {
                    return wild;
                }
            }
            return std::optional<Match>{};
        }
        return scan(table, [&](std::string_view k) {
            return k.find('*') != std::string_view::npos && hostname_match(key, k);
        });
    }
    case Service::netaddr:
        return scan(table, [&](std::string_view k) { return netaddr_match(key, k); });
    case Service::mailaddr: {
        const auto at = key.rfind('@');
        if (at == std::string::npos) {
            return first_of(table, {key});
        }
        return first_of(table, {key, key.substr(at), key.substr(0, at)});
    }
    case Service::alias:
    case Service::credentials:
    case Service::userinfo:
    case Service::source:
    case Service::addrname:
    case Service::mailaddrmap:
    case Service::relayhost:
    case Service::relayhost_list:
    case Service::string:
    case Service::regex:
        return get_match(table, key);
    }
    return get_match(table, key);
}

} // namespace

Result<std::optional<Match>> lookup_virtual(const Table& table, std::string_view raw_address,
                                            char delimiter) {
    const std::string address = to_lower(raw_address);
    const auto at = address.rfind('@');
    const std::string local = at == std::string::npos ? address : address.substr(0, at);
    const std::string domain = at == std::string::npos ? std::string{} : address.substr(at + 1);
    const auto tag = delimiter != '\0' ? local.find(delimiter) : std::string::npos;
    const std::string user = tag == std::string::npos ? local : local.substr(0, tag);
    std::vector<std::string> keys;
    if (tag != std::string::npos) {
        keys.push_back(local + "@" + domain);
    }
    keys.push_back(user + "@" + domain);
    if (tag != std::string::npos) {
        keys.push_back(local);
    }
    keys.push_back(user);
    keys.push_back("@" + domain);
    keys.push_back("@");
    for (const auto& key : keys) {
        MXD_TRY_ASSIGN(auto found, get_match(table, key));
        if (found) {
            return found;
        }
    }
    return std::optional<Match>{};
}

bool mailaddr_allowed(std::string_view raw_address, std::string_view allowed, char delimiter) {
    const std::string address = to_lower(raw_address);
    const auto at = address.rfind('@');
    const std::string user = at == std::string::npos ? address : address.substr(0, at);
    const std::string domain = at == std::string::npos ? std::string{} : address.substr(at + 1);
    std::string entries(allowed);
    std::replace_if(
        entries.begin(), entries.end(), [](char c) { return c == ' ' || c == '\t'; }, ',');
    for (const auto& raw_entry : split(entries, ',')) {
        const std::string entry = to_lower(trim(raw_entry));
        if (entry.empty()) {
            continue;
        }
        const auto entry_at = entry.rfind('@');
        const std::string entry_user =
            entry_at == std::string::npos ? entry : entry.substr(0, entry_at);
        const std::string entry_domain =
            entry_at == std::string::npos ? std::string{} : entry.substr(entry_at + 1);
        if (!entry_domain.empty() && !hostname_match(domain, entry_domain)) {
            continue;
        }
        if (!entry_user.empty()) {
            std::string_view mine = user;
            // An entry without a sub-address allows the user's tagged addresses too.
            if (delimiter != '\0' && entry_user.find(delimiter) == std::string::npos) {
                mine = mine.substr(0, mine.find(delimiter));
            }
            if (mine != entry_user) {
                continue;
            }
        }
        return true;
    }
    return false;
}

} // namespace core::table
