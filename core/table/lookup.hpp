// SPDX-License-Identifier: ISC
#pragma once

#include "core/table/service.hpp"
#include "core/table/table.hpp"

#include <optional>
#include <string>
#include <string_view>

// Lookups with each service's matching rules (table(5); OpenSMTPD table.c).
namespace core::table {

// What matched: the table key that matched and its value ("" for a list entry).
struct Match {
    std::string key;
    std::string value;
};

// Looks `key` up for `service`: domain keys match `*.example.org` patterns, netaddr keys are
// IP addresses matched against addresses and CIDR blocks, mailaddr keys are addresses matched
// by `user@domain`, `@domain` or `user`; every other service matches the key exactly. Keys are
// compared lowercased. nullopt when nothing matches; an error when the backend fails or the
// service needs a mapping and the table is a list (Errc::invalid_argument).
Result<std::optional<Match>> lookup(const Table& table, Service service, std::string_view key);

// The virtual (alias of a domain) lookup order of table(5): `user+tag@domain`, `user@domain`,
// `user+tag`, `user`, `@domain`, then `@`; `delimiter` separates the tag (smtp
// sub-addr-delim). nullopt when none matches.
Result<std::optional<Match>> lookup_virtual(const Table& table, std::string_view address, char delimiter);

// True when `host` matches the OpenSMTPD hostname pattern `pattern` (`*` matches any run of
// characters), ASCII-case-insensitively.
bool hostname_match(std::string_view host, std::string_view pattern);

// True when the address `ip` lies in `network` (an address or CIDR block, IPv6 maybe in
// brackets). False when either does not parse.
bool netaddr_match(std::string_view ip, std::string_view network);

// True when the address `address` (user@domain) is one that the mailaddrmap value `allowed`
// permits (a `senders` table entry: addresses, `@domain` or `user`, separated by commas or
// spaces), as OpenSMTPD's mailaddr_match does: `@` alone allows any address, and a sub-address
// after `delimiter` is ignored unless the entry names one. Case-insensitive.
bool mailaddr_allowed(std::string_view address, std::string_view allowed, char delimiter);

} // namespace core::table
