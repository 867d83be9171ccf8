// SPDX-License-Identifier: ISC
#pragma once

#include "core/config/config.hpp"

#include <string>
#include <string_view>

// Printing parts of the model in modern smtpd.conf syntax. to_canonical(), `config migrate`
// and the hints of legacy warnings all print through these, so they always agree.
namespace core::config {

// A value as a config token: bare when it is a plain word, else double-quoted.
std::string quote(std::string_view value);
// A value always double-quoted, with `"` escaped (parse.y keeps other backslashes as they are).
std::string quote_always(std::string_view value);
// Seconds as the largest exact unit: "4d", "90m", "45s".
std::string format_duration(long long seconds);
// Bytes as the largest exact unit: "35M", "1024", "2G".
std::string format_size(long long bytes);

std::string format_table(const Table& table);
std::string format_pki(const Pki& pki); // one to three lines
std::string format_listener(const Listener& listener);
// `action "name" ...`; with an empty name, the method and options only (for comparisons).
std::string format_action(const Action& action);
std::string format_rule(const Rule& rule);

} // namespace core::config
