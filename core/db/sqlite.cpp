// SPDX-License-Identifier: ISC
#include "core/db/sqlite.hpp"

#include "core/db/wal_vfs.hpp"

#include <sqlite3.h>

namespace core::db {

Error sqlite_error(sqlite3* db, std::string_view what) {
    const Errc code = db != nullptr && sqlite3_errcode(db) == SQLITE_CONSTRAINT ? Errc::exists : Errc::io;
    return Error{code, std::string(what) + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory")};
}

void Database::Closer::operator()(sqlite3* db) const { sqlite3_close_v2(db); }
void Statement::Finalizer::operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }

Result<Database> Database::open(const std::filesystem::path& path, Mode mode, WalWrites wal_writes) {
    const int flags = (mode == Mode::read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                      SQLITE_OPEN_NOMUTEX;
    if (mode == Mode::read_only && !std::filesystem::exists(path)) {
        return fail(Errc::not_found, "open " + path.string() + ": No such file or directory");
    }
    sqlite3* db = nullptr;
    const char* vfs = wal_writes == WalWrites::batched ? wal_batching_vfs() : nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs);
    Database database(db);
    if (rc != SQLITE_OK) {
        return fail(sqlite_error(db, "open " + path.string()));
    }
    // Turns SQLITE_BUSY into a short wait rather than an immediate failure.
    sqlite3_busy_timeout(db, 1000);
    return database;
}

Result<void> Database::exec(std::string_view sql) {
    const std::string text(sql);
    char* message = nullptr;
    if (sqlite3_exec(m_db.get(), text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
        std::string why = message != nullptr ? message : "unknown error";
        sqlite3_free(message);
        return fail(Errc::io, "sqlite: " + why);
    }
    return {};
}

Result<Statement> Database::prepare(std::string_view sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(m_db.get(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                           nullptr) != SQLITE_OK) {
        return fail(sqlite_error(m_db.get(), "prepare"));
    }
    return Statement(stmt, m_db.get());
}

Result<void> Statement::bind(int index, std::string_view text) {
    // An empty string_view may have a null data pointer, which SQLite would bind as NULL.
    const char* data = text.data() != nullptr ? text.data() : "";
    if (sqlite3_bind_text(m_stmt.get(), index, data, static_cast<int>(text.size()), SQLITE_TRANSIENT) != SQLITE_OK) {
        return fail(sqlite_error(m_db, "bind"));
    }
    return {};
}

Result<bool> Statement::step() {
    const int rc = sqlite3_step(m_stmt.get());
    if (rc == SQLITE_ROW) {
        return true;
    }
    if (rc == SQLITE_DONE) {
        return false;
    }
    return fail(sqlite_error(m_db, "step"));
}

std::string_view Statement::column_text(int index) const {
    const auto* text = sqlite3_column_text(m_stmt.get(), index);
    if (text == nullptr) {
        return {};
    }
    return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(sqlite3_column_bytes(m_stmt.get(), index))};
}

void Statement::reset() {
    sqlite3_reset(m_stmt.get());
    sqlite3_clear_bindings(m_stmt.get());
}

} // namespace core::db
