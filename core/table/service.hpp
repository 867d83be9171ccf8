// SPDX-License-Identifier: ISC
#pragma once

#include <array>
#include <optional>
#include <string_view>

// The lookup services of table(5): what a table is asked for decides how a key matches.
namespace core::table {

enum class Service {
    alias,           // aliases: key -> comma list of targets
    domain,          // domain names, `*.example.org` wildcards
    credentials,     // user -> crypt(3) hash
    netaddr,         // IPv4/IPv6 addresses and CIDR blocks
    userinfo,        // user -> uid:gid:home
    source,          // source addresses for relaying
    mailaddr,        // `user`, `@domain` or `user@domain`
    addrname,        // IP address -> host name (helo-src)
    mailaddrmap,     // user -> addresses the user may send as (senders)
    relayhost,       // key -> relay URL
    relayhost_list,  // a list of relay URLs (backup)
    string,          // plain strings
    regex,           // regular expressions (`match ... regex`)
};

inline constexpr std::array<std::string_view, 13> k_service_names{
    "alias",    "domain",   "credentials", "netaddr",   "userinfo",       "source", "mailaddr",
    "addrname", "mailaddrmap", "relayhost", "relayhost-list", "string", "regex",
};

constexpr std::string_view service_name(Service s) { return k_service_names[static_cast<std::size_t>(s)]; }

// A service by name; nullopt for an unknown one.
constexpr std::optional<Service> parse_service(std::string_view name) {
    for (std::size_t i = 0; i < k_service_names.size(); ++i) {
        if (k_service_names[i] == name) {
            return static_cast<Service>(i);
        }
    }
    return std::nullopt;
}

// True for the services whose entries need a value (a mapping table), false for lists.
constexpr bool needs_mapping(Service service) {
    switch (service) {
    case Service::alias:
    case Service::credentials:
    case Service::userinfo:
    case Service::addrname:
    case Service::mailaddrmap:
    case Service::relayhost:
        return true;
    case Service::domain:
    case Service::netaddr:
    case Service::source:
    case Service::mailaddr:
    case Service::relayhost_list:
    case Service::string:
    case Service::regex:
        return false;
    }
    return false;
}

} // namespace core::table
