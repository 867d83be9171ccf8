// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <cstddef>
#include <string>
#include <string_view>

// The format specifiers of smtpd.conf(5) ("FORMAT SPECIFIERS"), expanded per delivery in
// maildir paths, mda commands, wrappers and alias targets, as OpenSMTPD's mda_variables.c does.
namespace core::mda {

// The longest expansion, as OpenSMTPD's EXPAND_BUFFER.
inline constexpr std::size_t k_format_max = 1024;

// What the specifiers stand for in one delivery.
struct FormatContext {
    std::string sender;    // %{sender}: user@domain, empty for the null sender <>
    std::string rcpt;      // %{rcpt}: the recipient as the client gave it
    std::string dest;      // %{dest}: the recipient after expansion
    std::string username;  // %{user.username}
    std::string directory; // %{user.directory}, and what a leading `~/` stands for
    std::string mda;       // %{mda}: the command a wrapper runs; empty (refused) elsewhere
    char subaddress_delimiter = '+'; // what `:strip` cuts at
};

// Expands `format`: `~/` at the start, `%%`, and `%{name[range]:modifier|modifier}` where name
// is sender, sender.user, sender.domain, rcpt, rcpt.user, rcpt.domain, dest, dest.user,
// dest.domain, user.username, user.directory, mbox.from or mda; range is `[n]` or `[n:m]`
// (inclusive, negative counts from the end); modifiers are lowercase, uppercase, strip and raw.
// Characters that a shell or a path would interpret become ':' (raw keeps all but '/'), and
// a value that starts with '.' is refused, so that no address can climb out of a directory.
// Fails with Errc::invalid_argument, saying which specifier and why, on an unknown name or
// modifier, a bad or out-of-range range, an unterminated `%{`, such a value, or a result longer
// than k_format_max.
Result<std::string> expand_format(std::string_view format, const FormatContext& context);

} // namespace core::mda
