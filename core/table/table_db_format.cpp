// SPDX-License-Identifier: ISC
#include "core/table/table_db_format.hpp"

#include "core/util/fd.hpp"

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

namespace core::table {

namespace {

Result<long long> pragma_value(db::Database& database, std::string_view pragma) {
    MXD_TRY_ASSIGN(auto stmt, database.prepare("PRAGMA " + std::string(pragma)));
    MXD_TRY_ASSIGN(const bool row, stmt.step());
    if (!row) {
        return fail(Errc::parse, "no value for PRAGMA " + std::string(pragma));
    }
    return std::stoll(std::string(stmt.column_text(0)));
}

Result<void> fsync_path(const std::filesystem::path& path, int flags) {
    UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
    if (!fd || ::fsync(fd.get()) != 0) {
        return fail(Error::from_errno(errno, "fsync", path.string()));
    }
    return {};
}

} // namespace

Result<DbKind> read_db_kind(db::Database& database, const std::filesystem::path& path) {
    const auto not_ours = [&] {
        return fail(Errc::parse, path.string() + " is not a table built by mxd's makemap; rebuild it with makemap");
    };
    auto application_id = pragma_value(database, "application_id");
    if (!application_id || *application_id != k_db_application_id) {
        return not_ours();
    }
    MXD_TRY_ASSIGN(const auto version, pragma_value(database, "user_version"));
    if (version != static_cast<int>(DbKind::list) && version != static_cast<int>(DbKind::mapping)) {
        return not_ours();
    }
    return static_cast<DbKind>(version);
}

DbWriter::DbWriter(std::filesystem::path final_path, std::filesystem::path temp_path, db::Database database,
                   db::Statement insert)
    : m_final(std::move(final_path)), m_temp(std::move(temp_path)), m_db(std::move(database)),
      m_insert(std::move(insert)) {}

DbWriter::DbWriter(DbWriter&& other) noexcept
    : m_final(std::move(other.m_final)), m_temp(std::move(other.m_temp)), m_db(std::move(other.m_db)),
      m_insert(std::move(other.m_insert)), m_count(other.m_count), m_committed(other.m_committed) {
    other.m_committed = true;  // the moved-from writer owns no file
}

DbWriter::~DbWriter() {
    if (!m_committed) {
        m_insert.reset();
        m_db.reset();
        static_cast<void>(::unlink(m_temp.c_str()));  // nothing to report from a destructor
    }
}

Result<DbWriter> DbWriter::create(const std::filesystem::path& final_path) {
    std::random_device random;
    const auto temp = final_path.parent_path() /
                      ("." + final_path.filename().string() + ".tmp" + std::to_string(random() % 1000000));
    MXD_TRY_ASSIGN(auto database, db::Database::open(temp, db::Database::Mode::read_write_create));
    // The file is private until the rename and is synced once at the end, so SQLite's own
    // journaling and syncing would only slow the build down.
    MXD_TRY(database.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
                          "PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = -16384;"
                          "PRAGMA application_id = " + std::to_string(k_db_application_id) + ";"
                          "CREATE TABLE " + std::string(k_db_table_name) +
                          " (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;"
                          "BEGIN;"));
    MXD_TRY_ASSIGN(auto insert, database.prepare("INSERT OR IGNORE INTO " + std::string(k_db_table_name) +
                                                 " (key, value) VALUES (?1, ?2)"));
    return DbWriter(final_path, temp, std::move(database), std::move(insert));
}

Result<void> DbWriter::add(std::string_view key, std::string_view value) {
    m_insert->reset();
    MXD_TRY(m_insert->bind(1, key));
    MXD_TRY(m_insert->bind(2, value));
    MXD_TRY(m_insert->step());
    if (sqlite3_changes(m_db->handle()) == 0) {
        return fail(Errc::invalid_argument, "duplicate key '" + std::string(key) + "'");
    }
    ++m_count;
    return {};
}

Result<void> DbWriter::commit(DbKind kind, mode_t mode, std::optional<std::pair<uid_t, gid_t>> owner) {
    MXD_TRY(m_db->exec("PRAGMA user_version = " + std::to_string(static_cast<int>(kind)) + "; COMMIT;"));
    m_insert.reset();
    m_db.reset();  // closes the file: every page is written
    MXD_TRY(fsync_path(m_temp, O_RDONLY));
    if (::chmod(m_temp.c_str(), mode) != 0) {
        return fail(Error::from_errno(errno, "chmod", m_temp.string()));
    }
    if (owner && ::chown(m_temp.c_str(), owner->first, owner->second) != 0) {
        return fail(Error::from_errno(errno, "chown", m_temp.string()));
    }
    if (::rename(m_temp.c_str(), m_final.c_str()) != 0) {
        return fail(Error::from_errno(errno, "rename", m_final.string()));
    }
    m_committed = true;
    const auto dir = m_final.has_parent_path() ? m_final.parent_path() : std::filesystem::path(".");
    return fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

} // namespace core::table
