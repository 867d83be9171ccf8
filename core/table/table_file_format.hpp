// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The text format of table(5) and aliases(5) files (OpenSMTPD util.c parse_table_line()):
// one entry per line, `#` comment lines, a list or a mapping detected from the first entry
// (or forced to a list by a `# @list` line before it), keys lowercased, IPv6 keys in brackets.
namespace core::table {

enum class FileKind { list, mapping };

// One entry and the line it came from. value is empty in a list.
struct FileEntry {
    std::string key;
    std::string value;
    int line = 0;
};

// One problem in a table file, with its line (1-based).
struct FileError {
    int line = 0;
    std::string message;
};

// The parsed contents. An empty file is an empty list.
struct TableFile {
    FileKind kind = FileKind::list;
    std::vector<FileEntry> entries;
    std::vector<FileError> errors; // the file is unusable when this is not empty
};

// Parses a table file one line at a time, keeping the list-or-mapping state between lines, so
// that makemap can stream files of any size.
class TableLineParser {
public:
    // What one line gave: an entry, an error, or nothing (blank or comment line).
    struct Outcome {
        std::optional<FileEntry> entry;
        std::optional<FileError> error;
    };

    TableLineParser() = default;
    // A parser whose kind is fixed (makemap -t set reads every line as a list entry).
    explicit TableLineParser(FileKind kind) : m_kind(kind), m_kind_known(true) {}

    // Parses one line (without its newline); line_number is used in the entry or error.
    Outcome feed(std::string_view raw_line, int line_number);

    // List or mapping, as detected so far (list until the first entry says otherwise).
    FileKind kind() const { return m_kind; }

private:
    FileKind m_kind = FileKind::list;
    bool m_kind_known = false;
    bool m_forced_list = false;
};

// Parses the text of a table file. Never fails as a whole: problems are in `errors`, and a
// later duplicate key replaces the earlier one as in OpenSMTPD's static backend.
TableFile parse_table_text(std::string_view text);

// Reads and parses a file; fails with an io error (errno text) when it cannot be read.
core::Result<TableFile> read_table_file(const std::filesystem::path& path);

// Splits an aliases(5) value on commas that are outside quotes and not escaped by `\`, and
// trims each element; quotes around a whole element are removed.
std::vector<std::string> split_alias_value(std::string_view value);

} // namespace core::table
