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

TableLineParser::Outcome TableLineParser::feed(std::string_view raw, int line_number) {
    const auto line = trim(raw);
    if (line.empty()) {
        return {};
    }
    if (line.front() == '#') {
        // `# @list` before the first entry forces a list, as in table.5.
        if (!m_kind_known && trim(line.substr(1)) == "@list") {
            m_kind = FileKind::list;
            m_kind_known = true;
            m_forced_list = true;
        }
        return {};
    }
    std::string_view key;
    std::string_view rest;
    if (line.front() == '[') {
        // IPv6 keys are bracketed so that their colons are not taken as the separator.
        const auto close = line.find(']');
        if (close == std::string_view::npos) {
            return {std::nullopt, FileError{line_number, "unterminated '[' in key"}};
        }
        key = line.substr(0, close + 1);
        rest = line.substr(close + 1);
        if (!rest.empty() && rest.front() == '/') {
            // [2001:db8::]/32: the prefix length belongs to the key.
            const auto end = rest.find_first_of(" \t:");
            key = line.substr(0, close + 1 + (end == std::string_view::npos ? rest.size() : end));
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
        return {std::nullopt, FileError{line_number, "key longer than 1023 bytes"}};
    }
    if (!m_kind_known) {
        m_kind = value.empty() ? FileKind::list : FileKind::mapping;
        m_kind_known = true;
    }
    if (m_kind == FileKind::mapping && value.empty()) {
        return {std::nullopt,
                FileError{line_number, "invalid map entry: '" + std::string(key) + "' has no value"}};
    }
    FileEntry entry{to_lower(key), m_kind == FileKind::list ? std::string{} : unquote(value),
                    line_number};
    if (m_forced_list) {
        // Under `# @list` a line is one key even with blanks or colons in it.
        entry.key = to_lower(line);
    }
    return {std::move(entry), std::nullopt};
}

TableFile parse_table_text(std::string_view text) {
    TableFile table;
    TableLineParser parser;
    std::map<std::string, std::size_t> index;
    int line_number = 0;
    for (auto raw : split(text, '\n')) {
        auto outcome = parser.feed(raw, ++line_number);
        if (outcome.error) {
            table.errors.push_back(std::move(*outcome.error));
            continue;
        }
        if (!outcome.entry) {
            continue;
        }
        auto& entry = *outcome.entry;
        const auto it = index.find(entry.key);
        if (it != index.end()) {
            table.entries[it->second] = std::move(entry);
        } else {
            index.emplace(entry.key, table.entries.size());
            table.entries.push_back(std::move(entry));
        }
    }
    table.kind = parser.kind();
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
