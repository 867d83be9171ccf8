// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

// RAII over SQLite: a connection, prepared statements, and errors as core::Error values.
namespace core::db {

class Statement;

// The last error of `db` as an Error: "what: SQLite's message". A constraint that refused a
// row is Errc::exists (the caller may draw another key); anything else is Errc::io.
Error sqlite_error(sqlite3* db, std::string_view what);

class Database {
public:
    enum class Mode { read_only, read_write_create };
    // How the connection's WAL writes reach the kernel: as SQLite makes them (two write(2) per
    // page), or gathered at each sync, one write per 124 KiB (wal_vfs.hpp). `batched` is only for a
    // connection that sets synchronous=FULL before it writes: frames must reach the file
    // before other connections are told of them, and only FULL syncs at every commit.
    enum class WalWrites { direct, batched };

    // Opens a database file. Errc::not_found when a read-only open finds no file, Errc::io for
    // anything else SQLite refuses, with SQLite's message.
    static Result<Database> open(const std::filesystem::path& path, Mode mode,
                                 WalWrites wal_writes = WalWrites::direct);

    // Runs statements that return no rows ("PRAGMA ...; CREATE TABLE ...").
    Result<void> exec(std::string_view sql);

    // Compiles one statement.
    Result<Statement> prepare(std::string_view sql);

    // The connection, for the rare call this wrapper does not cover.
    sqlite3* handle() const { return m_db.get(); }

private:
    struct Closer {
        void operator()(sqlite3* db) const;
    };
    explicit Database(sqlite3* db) : m_db(db) {}
    std::unique_ptr<sqlite3, Closer> m_db;
};

// A prepared statement: bind, step, read columns, reset.
class Statement {
public:
    // Binds text to a 1-based parameter (copied by SQLite).
    Result<void> bind(int index, std::string_view text);
    // Steps once: true when a row is ready, false when done.
    Result<bool> step();
    // Column text of the current row ("" for NULL).
    std::string_view column_text(int index) const;
    // Resets for the next use and clears the bindings.
    void reset();

    // The statement, for hot loops that bind many columns through the C API.
    sqlite3_stmt* raw() const { return m_stmt.get(); }

private:
    friend class Database;
    struct Finalizer {
        void operator()(sqlite3_stmt* s) const;
    };
    Statement(sqlite3_stmt* s, sqlite3* db) : m_stmt(s), m_db(db) {}
    std::unique_ptr<sqlite3_stmt, Finalizer> m_stmt;
    sqlite3* m_db;
};

} // namespace core::db
