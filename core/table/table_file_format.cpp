// SPDX-License-Identifier: ISC
#include "core/table/table_file_format.hpp"

#include "core/util/limits.hpp"
#include "core/util/strings.hpp"

#include <cerrno>
#include <fstream>
#include <map>
#include <sstream>

namespace core::table {

namespace {

// OpenSMTPD refuses lookup keys of 1024 bytes and more (LINE_MAX-sized buffers).
constexpr std::size_t k_key_max = 1023;

std::string unquote(std::string_view value) {
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
        return std::string(value.substr(1, value.size() - 2));
    }
    return std::string(value);
}

} // namespace

TableFile parse_table_text(std::string_view text) {
    TableFile table;
    bool kind_known = false;
    bool forced_list = false;
    std::map<std::string, std::size_t> index;
    int line_number = 0;
    for (auto raw : split(text, '\n')) {
        ++line_number;
        const auto line = trim(raw);
        if (line.empty()) {
            continue;
        }
        if (line.front() == '#') {
            // `# @list` before the first entry forces a list, as in table.5.
            if (!kind_known && trim(line.substr(1)) == "@list") {
                table.kind = FileKind::list;
                kind_known = true;
                forced_list = true;
            }
            continue;
        }
        std::string_view key;
        std::string_view rest;
        if (line.front() == '[') {
            // IPv6 keys are bracketed so that their colons are not taken as the separator.
            const auto close = line.find(']');
            if (close == std::string_view::npos) {
                table.errors.push_back({line_number, "unterminated '[' in key"});
                continue;
            }
            key = line.substr(0, close + 1);
            rest = line.substr(close + 1);
            if (!rest.empty() && rest.front() == '/') {
                // [2001:db8::]/32: the prefix length belongs to the key.
                const auto end = rest.find_first_of(" \t:");
                key =
                    line.substr(0, close + 1 + (end == std::string_view::npos ? rest.size() : end));
                rest = line.substr(key.size());
            }
        } else {
            const auto sep = line.find_first_of(" \t:");
            key = line.substr(0, sep == std::string_view::npos ? line.size() : sep);
            rest = sep == std::string_view::npos ? std::string_view{} : line.substr(sep);
        }
        if (!rest.empty() && (rest.front() == ':' || rest.front() == ' ' || rest.front() == '\t')) {
            rest = rest.substr(1);
        }
        const auto value = trim(rest);
        if (key.size() > k_key_max) {
            table.errors.push_back({line_number, "key longer than 1023 bytes"});
            continue;
        }
        if (!kind_known) {
            table.kind = value.empty() ? FileKind::list : FileKind::mapping;
            kind_known = true;
        }
        if (table.kind == FileKind::mapping && value.empty()) {
            table.errors.push_back(
                {line_number, "invalid map entry: '" + std::string(key) + "' has no value"});
            continue;
        }
        FileEntry entry{to_lower(key),
                        table.kind == FileKind::list ? std::string{} : unquote(value), line_number};
        if (forced_list) {
            // Under `# @list` a line is one key even with blanks or colons in it.
            entry.key = to_lower(line);
        }
        const auto it = index.find(entry.key);
        if (it != index.end()) {
            table.entries[it->second] = std::move(entry);
        } else {
            index.emplace(entry.key, table.entries.size());
            table.entries.push_back(std::move(entry));
        }
    }
    return table;
}

core::Result<TableFile> read_table_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return core::fail(core::Error::from_errno(errno, "open", path.string()));
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) {
        return core::fail(core::Error::from_errno(errno, "read", path.string()));
    }
    const std::string text = buffer.str();
    if (text.size() > core::limits::k_config_file_max) {
        return core::fail(core::Errc::invalid_argument, path.string() + ": file too large");
    }
    return parse_table_text(text);
}

std::vector<std::string> split_alias_value(std::string_view value) {
    std::vector<std::string> out;
    std::string current;
    char quote = 0;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (c == '\\' && i + 1 < value.size()) {
            current += c;
            current += value[++i];
            continue;
        }
        if (quote != 0) {
            if (c == quote) {
                quote = 0;
            }
            current += c;
            continue;
        }
        if (c == '"' || c == '\'') {
            quote = c;
            current += c;
            continue;
        }
        if (c == ',') {
            out.push_back(unquote(trim(current)));
            current.clear();
            continue;
        }
        current += c;
    }
    if (!trim(current).empty() || !out.empty()) {
        out.push_back(unquote(trim(current)));
    }
    return out;
}

} // namespace core::table
