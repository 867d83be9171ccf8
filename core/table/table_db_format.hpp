// SPDX-License-Identifier: ISC
#pragma once

#include "core/db/sqlite.hpp"
#include "core/util/result.hpp"

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string_view>

// The file format of `db:` tables, written by makemap and read by the db backend: a SQLite
// file with one key/value table. The application id marks it as mxd's, and user_version says
// whether it is a list or a mapping.
namespace core::table {

inline constexpr std::string_view k_db_table_name = "entries";
inline constexpr int k_db_application_id = 0x6d786474;  // "mxdt"

enum class DbKind { list = 1, mapping = 2 };

// The kind of an opened db; Errc::parse when the file is not a table made by mxd's makemap
// (for example a Berkeley DB file from OpenSMTPD's makemap).
Result<DbKind> read_db_kind(db::Database& database, const std::filesystem::path& path);

// Builds a db file next to its final path and renames it into place on commit, so that a
// reader never sees half a table. Dropped without commit, it removes its temporary file.
class DbWriter {
public:
    static Result<DbWriter> create(const std::filesystem::path& final_path);
    DbWriter(DbWriter&&) noexcept;
    DbWriter& operator=(DbWriter&&) = delete;
    ~DbWriter();

    // Adds an entry; Errc::invalid_argument "duplicate key" when the key is already there.
    Result<void> add(std::string_view key, std::string_view value);

    // Writes the kind, syncs the file to disk, gives it `mode` (and `owner` when set), renames
    // it over the final path and syncs the directory.
    Result<void> commit(DbKind kind, mode_t mode, std::optional<std::pair<uid_t, gid_t>> owner);

    std::size_t count() const { return m_count; }

private:
    DbWriter(std::filesystem::path final_path, std::filesystem::path temp_path, db::Database database,
             db::Statement insert);
    std::filesystem::path m_final;
    std::filesystem::path m_temp;
    std::optional<db::Database> m_db;
    std::optional<db::Statement> m_insert;
    std::size_t m_count = 0;
    bool m_committed = false;
};

} // namespace core::table
