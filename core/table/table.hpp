// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace core::config {
struct Table;
}

// Tables (table(5)): one interface, one class per backend in table_<backend>.cpp, and one
// registry function, open_table(), that maps a configured backend to its class.
namespace core::table {

// A loaded table. Instances are immutable snapshots: `update table` builds a new one and swaps
// the pointer, so lookups in flight keep the one they started with. Safe to use from several
// threads at once.
class Table {
public:
    virtual ~Table() = default;

    // "inline", "file", "db" or "getpwnam".
    virtual std::string_view backend() const = 0;
    // Where the entries come from: a path, or a description.
    virtual std::string source() const = 0;
    // True for a list (keys only), false for a mapping.
    virtual bool is_list() const = 0;
    // The number of entries; nullopt when the backend cannot count (getpwnam).
    virtual std::optional<std::size_t> size() const = 0;

    // The value stored under exactly `key` (already lowercased): "" for a list entry, nullopt
    // when absent; an error when the backend fails.
    virtual Result<std::optional<std::string>> get(std::string_view key) const = 0;

    // Calls `visit` on each entry until it returns false. Errc::unsupported for backends that
    // cannot enumerate (getpwnam).
    virtual Result<void> for_each(const std::function<bool(std::string_view key, std::string_view value)>& visit) const = 0;

    // A fresh snapshot from the same source; the source's parse error (file:line) on failure.
    virtual Result<std::shared_ptr<const Table>> reload() const = 0;

    // True when every lookup is answered from memory, so that it may run on the event loop;
    // false for backends that read a file or ask the system (db, getpwnam).
    virtual bool in_memory() const { return false; }

    // True when the source was replaced since this snapshot was loaded (makemap renames a new
    // db over the old one); the owner then reloads without being asked.
    virtual bool stale() const { return false; }

    // When this snapshot was loaded.
    std::chrono::system_clock::time_point loaded_at() const { return m_loaded_at; }

private:
    std::chrono::system_clock::time_point m_loaded_at = std::chrono::system_clock::now();
};

using TablePtr = std::shared_ptr<const Table>;

// The registry: opens the table a `table` statement configures. Fails with the backend's
// error (a parse error names file:line; Errc::unsupported for backends mxd lacks).
Result<TablePtr> open_table(const core::config::Table& config);

// Backends, one file each.
TablePtr make_inline_table(std::string name, std::vector<std::pair<std::string, std::string>> entries, bool is_list);
Result<TablePtr> open_file_table(const std::filesystem::path& path);
Result<TablePtr> open_db_table(const std::filesystem::path& path);
TablePtr make_getpwnam_table();

} // namespace core::table
