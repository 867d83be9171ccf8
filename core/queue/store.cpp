// SPDX-License-Identifier: ISC
#include "core/queue/store.hpp"

#include <sqlite3.h>

namespace core::queue {

namespace {

// Write cost is what bounds ingest: every page a commit touches is written to the WAL, then
// again at the checkpoint. Ids are random, so rows keyed by them land on random pages. A body
// (usually a page or more) is therefore keyed by an append-only rowid, so that each message
// adds its own page at the end of the table instead of splitting and rebalancing a random one;
// the msgid goes to a small unique index. An evpid is msgid<<32 | random: the envelopes of a
// message are the evpid range of its msgid, so envelopes need no index on msgid.
// Older spools keep their tables; the same statements work on both layouts.
constexpr std::string_view k_schema =
    "CREATE TABLE IF NOT EXISTS messages ("
    " seq INTEGER PRIMARY KEY, msgid INTEGER NOT NULL UNIQUE, created INTEGER NOT NULL,"
    " size INTEGER NOT NULL, body BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS envelopes ("
    " evpid INTEGER PRIMARY KEY, msgid INTEGER NOT NULL, origin INTEGER, type INTEGER, flags "
    "INTEGER,"
    " sender TEXT, rcpt TEXT, dest TEXT, action TEXT, helo TEXT, src TEXT, hostname TEXT, "
    "auth_user TEXT,"
    " tag TEXT, created INTEGER, expires INTEGER, last_try INTEGER, next_try INTEGER, retries "
    "INTEGER,"
    " last_error TEXT, dsn_ret TEXT, dsn_envid TEXT, dsn_notify TEXT, dsn_orcpt TEXT, run_as TEXT,"
    " warnings INTEGER);"
    "DROP INDEX IF EXISTS envelopes_msgid;";

// The WAL's length, in pages, past which the writer copies it back into the database (SQLite's
// default for its automatic checkpoint). After that the WAL is written from its start again.
constexpr int k_checkpoint_pages = 1000;

constexpr std::string_view k_columns =
    "evpid, msgid, origin, type, flags, sender, rcpt, dest, action, helo, src, hostname, "
    "auth_user, tag,"
    " created, expires, last_try, next_try, retries, last_error, dsn_ret, dsn_envid, dsn_notify, "
    "dsn_orcpt, run_as,"
    " warnings";

// SQLite integers are signed 64-bit: ids are stored as their two's complement.
sqlite3_int64 as_row_id(std::uint64_t v) {
    return static_cast<sqlite3_int64>(v);
}


Envelope read_envelope(sqlite3_stmt* s) {
    auto text = [s](int i) {
        const auto* p = sqlite3_column_text(s, i);
        return p != nullptr ? std::string(reinterpret_cast<const char*>(p),
                                          static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
                            : std::string{};
    };
    Envelope e;
    e.id = EvpId(static_cast<std::uint64_t>(sqlite3_column_int64(s, 0)));
    e.origin = static_cast<Origin>(sqlite3_column_int(s, 2));
    e.type = static_cast<DeliveryType>(sqlite3_column_int(s, 3));
    e.flags = static_cast<unsigned>(sqlite3_column_int(s, 4));
    e.sender = text(5);
    e.rcpt = text(6);
    e.dest = text(7);
    e.action = text(8);
    e.helo = text(9);
    e.src = text(10);
    e.hostname = text(11);
    e.auth_user = text(12);
    e.tag = text(13);
    e.created = sqlite3_column_int64(s, 14);
    e.expires = sqlite3_column_int64(s, 15);
    e.last_try = sqlite3_column_int64(s, 16);
    e.next_try = sqlite3_column_int64(s, 17);
    e.retries = sqlite3_column_int64(s, 18);
    e.last_error = text(19);
    e.dsn_ret = text(20);
    e.dsn_envid = text(21);
    e.dsn_notify = text(22);
    e.dsn_orcpt = text(23);
    e.run_as = text(24);
    e.warnings = sqlite3_column_int64(s, 25);
    return e;
}

Result<std::size_t> count_of(db::Database& database, std::string_view table) {
    MXD_TRY_ASSIGN(auto stmt, database.prepare("SELECT count(*) FROM " + std::string(table)));
    MXD_TRY(stmt.step());
    return static_cast<std::size_t>(std::stoull(std::string(stmt.column_text(0))));
}

} // namespace

void renumber(NewMessage& message, MsgId id) {
    message.id = id;
    for (auto& e : message.envelopes) {
        e.id = EvpId(std::uint64_t{id.value()} << 32 | (e.id.value() & 0xffffffffu));
    }
}

Result<QueueStore> QueueStore::open(const std::filesystem::path& spool, Access access) {
    // The writer batches its WAL writes (one write(2) per 124 KiB rather than two per page):
    // that is safe because it syncs every commit (synchronous=FULL, below).
    MXD_TRY_ASSIGN(auto database,
                   db::Database::open(spool / "queue.db", db::Database::Mode::read_write_create,
                                      access == Access::writer ? db::Database::WalWrites::batched
                                                               : db::Database::WalWrites::direct));
    // WAL with synchronous=FULL: a commit returns after the WAL is fsynced, which is what the
    // 250 after DATA waits for. Readers never block the writer.
    MXD_TRY(database.exec(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF;"));
    QueueStore store(std::move(database));
    if (access == Access::writer) {
        // In place of SQLite's automatic checkpoint, which ran inside the COMMIT that took the
        // WAL past 1000 pages, so that the sessions whose messages it carried waited a few
        // milliseconds more for their 250: see checkpoint_when_due().
        store.m_wal_pages = std::make_unique<int>(0);
        sqlite3_wal_hook(
            store.m_db.handle(),
            [](void* pages, sqlite3*, const char*, int count) {
                *static_cast<int*>(pages) = count;
                return SQLITE_OK;
            },
            store.m_wal_pages.get());
        MXD_TRY(store.m_db.exec(k_schema));
        MXD_TRY_ASSIGN(
            auto message,
            store.m_db.prepare(
                "INSERT INTO messages (msgid, created, size, body) VALUES (?1, ?2, ?3, ?4)"));
        MXD_TRY_ASSIGN(
            auto envelope,
            store.m_db.prepare(
                "INSERT INTO envelopes (" + std::string(k_columns) +
                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
                " ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)"));
        MXD_TRY_ASSIGN(
            auto update,
            store.m_db.prepare("UPDATE envelopes SET flags = ?2, last_try = ?3, next_try = ?4,"
                               " retries = ?5, last_error = ?6, warnings = ?7, expires = ?8"
                               " WHERE evpid = ?1"));
        MXD_TRY_ASSIGN(auto remove, store.m_db.prepare("DELETE FROM envelopes WHERE evpid = ?1"));
        MXD_TRY_ASSIGN(
            auto orphan,
            store.m_db.prepare("DELETE FROM messages WHERE msgid = ?1 AND NOT EXISTS"
                               " (SELECT 1 FROM envelopes WHERE evpid BETWEEN ?2 AND ?3)"));
        store.m_insert_message.emplace(std::move(message));
        store.m_insert_envelope.emplace(std::move(envelope));
        store.m_update_envelope.emplace(std::move(update));
        store.m_delete_envelope.emplace(std::move(remove));
        store.m_delete_orphan_message.emplace(std::move(orphan));
    }
    return store;
}

Result<void> QueueStore::commit(std::span<const NewMessage> messages) {
    QueueChanges changes;
    changes.messages.assign(messages.begin(), messages.end());
    return apply(std::span<const QueueChanges>(&changes, 1));
}

Result<void> QueueStore::apply(std::span<const QueueChanges> batch) {
    sqlite3* db = m_db.handle();
    MXD_TRY(m_db.exec("BEGIN IMMEDIATE"));
    auto rollback = [&](Error error) -> Result<void> {
        static_cast<void>(m_db.exec("ROLLBACK")); // the batch's error is the one to report
        return fail(std::move(error));
    };
    sqlite3_stmt* msg = m_insert_message->raw();
    sqlite3_stmt* evp = m_insert_envelope->raw();
    sqlite3_stmt* upd = m_update_envelope->raw();
    sqlite3_stmt* del = m_delete_envelope->raw();
    sqlite3_stmt* orphan = m_delete_orphan_message->raw();
    for (const auto& changes : batch) {
        for (const auto& m : changes.messages) {
            sqlite3_reset(msg);
            sqlite3_bind_int64(msg, 1, m.id.value());
            sqlite3_bind_int64(msg, 2, m.created);
            sqlite3_bind_int64(msg, 3, static_cast<sqlite3_int64>(m.body.size()));
            sqlite3_bind_blob64(msg, 4, m.body.data(), m.body.size(), SQLITE_STATIC);
            if (sqlite3_step(msg) != SQLITE_DONE) {
                return rollback(db::sqlite_error(db, "store message " + m.id.hex()));
            }
            for (const auto& e : m.envelopes) {
                sqlite3_reset(evp);
                int i = 0;
                auto bind_text = [&](const std::string& s) {
                    sqlite3_bind_text(evp, ++i, s.data(), static_cast<int>(s.size()),
                                      SQLITE_STATIC);
                };
                auto bind_int = [&](sqlite3_int64 v) { sqlite3_bind_int64(evp, ++i, v); };
                bind_int(as_row_id(e.id.value()));
                bind_int(e.id.msgid().value());
                bind_int(static_cast<int>(e.origin));
                bind_int(static_cast<int>(e.type));
                bind_int(e.flags);
                for (const auto* s : {&e.sender, &e.rcpt, &e.dest, &e.action, &e.helo, &e.src,
                                      &e.hostname, &e.auth_user, &e.tag}) {
                    bind_text(*s);
                }
                for (auto v : {e.created, e.expires, e.last_try, e.next_try, e.retries}) {
                    bind_int(v);
                }
                for (const auto* s : {&e.last_error, &e.dsn_ret, &e.dsn_envid, &e.dsn_notify,
                                      &e.dsn_orcpt, &e.run_as}) {
                    bind_text(*s);
                }
                bind_int(e.warnings);
                if (sqlite3_step(evp) != SQLITE_DONE) {
                    return rollback(db::sqlite_error(db, "store envelope " + e.id.hex()));
                }
            }
        }
        for (const auto& e : changes.updates) {
            sqlite3_reset(upd);
            sqlite3_bind_int64(upd, 1, as_row_id(e.id.value()));
            sqlite3_bind_int64(upd, 2, e.flags);
            sqlite3_bind_int64(upd, 3, e.last_try);
            sqlite3_bind_int64(upd, 4, e.next_try);
            sqlite3_bind_int64(upd, 5, e.retries);
            sqlite3_bind_text(upd, 6, e.last_error.data(), static_cast<int>(e.last_error.size()),
                              SQLITE_STATIC);
            sqlite3_bind_int64(upd, 7, e.warnings);
            sqlite3_bind_int64(upd, 8, e.expires);
            if (sqlite3_step(upd) != SQLITE_DONE) {
                return rollback(db::sqlite_error(db, "update envelope " + e.id.hex()));
            }
        }
        for (const auto& id : changes.removals) {
            sqlite3_reset(del);
            sqlite3_bind_int64(del, 1, as_row_id(id.value()));
            sqlite3_reset(orphan);
            const std::uint64_t first = static_cast<std::uint64_t>(id.msgid().value()) << 32;
            sqlite3_bind_int64(orphan, 1, id.msgid().value());
            sqlite3_bind_int64(orphan, 2, as_row_id(first));
            sqlite3_bind_int64(orphan, 3, as_row_id(first | 0xffffffffU));
            if (sqlite3_step(del) != SQLITE_DONE || sqlite3_step(orphan) != SQLITE_DONE) {
                return rollback(db::sqlite_error(db, "remove envelope " + id.hex()));
            }
        }
    }
    for (auto* stmt : {msg, evp, upd, del, orphan}) {
        sqlite3_reset(stmt);
    }
    if (auto committed = m_db.exec("COMMIT"); !committed) {
        return rollback(std::move(committed).error());
    }
    return {};
}

Result<void> QueueStore::checkpoint_when_due() {
    if (!m_wal_pages || *m_wal_pages < k_checkpoint_pages) {
        return {};
    }
    *m_wal_pages = 0;
    if (sqlite3_wal_checkpoint_v2(m_db.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                  nullptr) != SQLITE_OK) {
        return fail(db::sqlite_error(m_db.handle(), "checkpoint"));
    }
    return {};
}

Result<void> QueueStore::for_each_envelope(const std::function<bool(const Envelope&)>& visit) {
    MXD_TRY_ASSIGN(auto stmt, m_db.prepare("SELECT " + std::string(k_columns) +
                                           " FROM envelopes ORDER BY evpid"));
    for (;;) {
        MXD_TRY_ASSIGN(const bool row, stmt.step());
        if (!row || !visit(read_envelope(stmt.raw()))) {
            return {};
        }
    }
}

Result<std::vector<Envelope>> QueueStore::envelopes_after(std::optional<EvpId> after,
                                                          std::size_t limit) {
    // Two statements, not "?1 IS NULL OR evpid > ?1": SQLite cannot seek on that OR and would
    // scan the table from its start for every page, which made a listing quadratic.
    MXD_TRY_ASSIGN(auto stmt,
                   m_db.prepare("SELECT " + std::string(k_columns) + " FROM envelopes" +
                                (after ? " WHERE evpid > ?1" : "") + " ORDER BY evpid LIMIT ?2"));
    if (after) {
        sqlite3_bind_int64(stmt.raw(), 1, as_row_id(after->value()));
    }
    sqlite3_bind_int64(stmt.raw(), 2, static_cast<sqlite3_int64>(limit));
    std::vector<Envelope> out;
    for (;;) {
        MXD_TRY_ASSIGN(const bool row, stmt.step());
        if (!row) {
            return out;
        }
        out.push_back(read_envelope(stmt.raw()));
    }
}

Result<std::optional<Envelope>> QueueStore::envelope(EvpId id) {
    MXD_TRY_ASSIGN(auto stmt, m_db.prepare("SELECT " + std::string(k_columns) +
                                           " FROM envelopes WHERE evpid = ?1"));
    sqlite3_bind_int64(stmt.raw(), 1, as_row_id(id.value()));
    MXD_TRY_ASSIGN(const bool row, stmt.step());
    if (!row) {
        return std::optional<Envelope>{};
    }
    return std::optional<Envelope>{read_envelope(stmt.raw())};
}

Result<std::size_t> QueueStore::envelope_count() {
    return count_of(m_db, "envelopes");
}
Result<std::size_t> QueueStore::message_count() {
    return count_of(m_db, "messages");
}

Result<std::optional<std::int64_t>> QueueStore::oldest_message_created() {
    MXD_TRY_ASSIGN(auto stmt, m_db.prepare("SELECT min(created) FROM messages"));
    MXD_TRY(stmt.step());
    if (sqlite3_column_type(stmt.raw(), 0) == SQLITE_NULL) {
        return std::optional<std::int64_t>{};
    }
    return std::optional<std::int64_t>{sqlite3_column_int64(stmt.raw(), 0)};
}

Result<QueueStore::IdMatches> QueueStore::ids_with_prefix(std::string_view prefix,
                                                          std::size_t limit) {
    if (prefix.size() > 16 || prefix.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
        return fail(Errc::invalid_argument, "not the start of a queue id: '" + std::string(prefix) + "'");
    }
    // The ids that start with the prefix are one range of values: the prefix padded with 0s
    // to its lowest, with fs to its highest.
    const auto bounds = [prefix](std::size_t digits) {
        const std::string low = std::string(prefix) + std::string(digits - prefix.size(), '0');
        const std::string high = std::string(prefix) + std::string(digits - prefix.size(), 'f');
        return std::pair{std::stoull(low, nullptr, 16), std::stoull(high, nullptr, 16)};
    };
    IdMatches out;
    const auto limit_arg = static_cast<sqlite3_int64>(limit);
    if (prefix.size() <= 8) {
        const auto [low, high] = bounds(8);
        MXD_TRY_ASSIGN(auto stmt, m_db.prepare("SELECT msgid FROM messages WHERE msgid BETWEEN ?1 AND "
                                               "?2 ORDER BY msgid LIMIT ?3"));
        sqlite3_bind_int64(stmt.raw(), 1, static_cast<sqlite3_int64>(low));
        sqlite3_bind_int64(stmt.raw(), 2, static_cast<sqlite3_int64>(high));
        sqlite3_bind_int64(stmt.raw(), 3, limit_arg);
        for (;;) {
            MXD_TRY_ASSIGN(const bool row, stmt.step());
            if (!row) {
                break;
            }
            out.msgids.emplace_back(static_cast<std::uint32_t>(sqlite3_column_int64(stmt.raw(), 0)));
        }
    }
    // Evpids are stored as signed integers: a range that crosses 2^63 is two signed ranges,
    // read in the unsigned order.
    const auto [low, high] = bounds(16);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
    constexpr std::uint64_t k_sign = 1ULL << 63;
    if ((low & k_sign) == (high & k_sign)) {
        ranges.emplace_back(low, high);
    } else {
        ranges.emplace_back(low, k_sign - 1);
        ranges.emplace_back(k_sign, high);
    }
    MXD_TRY_ASSIGN(auto stmt, m_db.prepare("SELECT evpid FROM envelopes WHERE evpid BETWEEN ?1 AND ?2 "
                                           "ORDER BY evpid LIMIT ?3"));
    for (const auto& [from, to] : ranges) {
        stmt.reset();
        sqlite3_bind_int64(stmt.raw(), 1, as_row_id(from));
        sqlite3_bind_int64(stmt.raw(), 2, as_row_id(to));
        sqlite3_bind_int64(stmt.raw(), 3, static_cast<sqlite3_int64>(limit - out.evpids.size()));
        for (;;) {
            MXD_TRY_ASSIGN(const bool row, stmt.step());
            if (!row) {
                break;
            }
            out.evpids.emplace_back(static_cast<std::uint64_t>(sqlite3_column_int64(stmt.raw(), 0)));
        }
    }
    return out;
}

Result<std::optional<std::string>> QueueStore::message_body(MsgId id) {
    MXD_TRY_ASSIGN(auto stmt, m_db.prepare("SELECT body FROM messages WHERE msgid = ?1"));
    sqlite3_bind_int64(stmt.raw(), 1, id.value());
    MXD_TRY_ASSIGN(const bool row, stmt.step());
    if (!row) {
        return std::optional<std::string>{};
    }
    const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt.raw(), 0));
    return std::optional<std::string>{
        std::string(data != nullptr ? data : "",
                    static_cast<std::size_t>(sqlite3_column_bytes(stmt.raw(), 0)))};
}

} // namespace core::queue
