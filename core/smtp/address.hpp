// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <cstddef>
#include <string>
#include <string_view>

// SMTP envelope addresses: the paths of MAIL FROM and RCPT TO (RFC 5321 4.1.2).
namespace core::smtp {

// RFC 5321 4.5.3.1: size limits of an address.
inline constexpr std::size_t k_local_part_max = 64;
inline constexpr std::size_t k_domain_max = 255;
inline constexpr std::size_t k_path_max = 256;

// An envelope mailbox. Both parts empty is the null reverse-path `<>`; an empty domain with a
// local part is `<postmaster>` (or a local user when ParseOptions::domain_optional allowed it).
// The domain is lowercased; the local part keeps its case, and keeps its quotes when it needs
// them (`"a b"`).
struct Mailbox {
    std::string local;
    std::string domain;

    // True for the null path `<>`.
    bool empty() const { return local.empty() && domain.empty(); }
    // `local@domain`, `local` without a domain, "" for the null path (no angle brackets).
    std::string to_string() const;

    bool operator==(const Mailbox&) const = default;
};

// Which path a command carries: MAIL FROM takes a reverse-path, RCPT TO a forward-path.
enum class PathKind { reverse, forward };

// What the parser lets through beyond RFC 5321.
struct ParseOptions {
    // RFC 6531 3.3: UTF-8 in the local part and domain, for SMTPUTF8 transactions only.
    bool smtputf8 = false;
    // Accept `user@domain` without the angle brackets (Postfix's strict_rfc821_envelopes=no).
    // OpenSMTPD refuses it, and so does mxd by default.
    bool brackets_optional = false;
    // Accept a local part alone, `<user>`; OpenSMTPD does and appends its own domain.
    bool domain_optional = false;
};

// Parses a path such as `<user@example.org>`, `<>` (reverse-path only), `<postmaster>`
// (forward-path only, RFC 5321 4.5.1) or `<@relay:user@example.org>` (source route dropped).
// The whole of `text` must be the path. Fails with Errc::parse and a short reason fit for a
// 501/553 reply text ("invalid domain", "local part too long", ...).
Result<Mailbox> parse_path(std::string_view text, PathKind kind, ParseOptions options = {});

// Parses a bare `user@domain` (table values, sendmail arguments); surrounding `<>` are
// tolerated. Fails like parse_path; the null address and source routes are refused.
Result<Mailbox> parse_address(std::string_view text, ParseOptions options = {});

// Where the path that starts `text` ends: the index just past its closing `>` (quoted local
// parts may contain `>`), or past the first space when the path has no brackets. Returns
// std::string_view::npos when `text` starts with `<` and has no matching `>`.
std::size_t path_extent(std::string_view text);

} // namespace core::smtp
