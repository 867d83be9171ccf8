// SPDX-License-Identifier: ISC
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace core {

// Removes leading and trailing spaces, tabs, CR and LF.
std::string_view trim(std::string_view text);

// Splits on every occurrence of `separator`; empty fields are kept.
std::vector<std::string_view> split(std::string_view text, char separator);

// ASCII lowercase copy (mail addresses and keywords are ASCII-insensitive).
std::string to_lower(std::string_view text);

// True when `text` starts with `prefix`, compared ASCII-case-insensitively.
bool starts_with_nocase(std::string_view text, std::string_view prefix);

// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is close enough to be a likely typo, else empty.
std::string_view closest_match(std::string_view word, const std::vector<std::string_view>& candidates);

// Joins with a separator.
std::string join(const std::vector<std::string>& parts, std::string_view separator);

} // namespace core
