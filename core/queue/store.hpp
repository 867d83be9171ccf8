// SPDX-License-Identifier: ISC
#pragma once

#include "core/db/sqlite.hpp"
#include "core/queue/envelope.hpp"
#include "core/util/result.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// The queue on disk: one SQLite file in the spool (WAL, synchronous=FULL) holding each
// message once and one row per envelope. A commit of many messages is one transaction, so one
// fsync of the WAL covers them all: that is the group commit of the durability rule.
namespace core::queue {

// A received message and its envelopes, to be committed together.
struct NewMessage {
    MsgId id;
    std::int64_t created = 0;
    std::string body;
    std::vector<Envelope> envelopes;
};

// Gives `message` the id `id`: each envelope keeps the random low half of its evpid under the
// new msgid. For a message whose id is taken, when nothing in its body names the id.
void renumber(NewMessage& message, MsgId id);

// Changes to the queue made in one transaction: new messages (a received message, a bounce),
// envelopes whose scheduling fields changed (retries, errors, flags), and envelopes that leave
// the queue (delivered, or bounced in the same transaction). A message goes when its last
// envelope does.
struct QueueChanges {
    std::vector<NewMessage> messages;
    std::vector<Envelope> updates;
    std::vector<EvpId> removals;
    bool empty() const { return messages.empty() && updates.empty() && removals.empty(); }
};

class QueueStore {
public:
    // Opens (creating when needed) `spool/queue.db`. A write connection is meant for one
    // thread at a time; open a reader per thread for queries.
    enum class Access { writer, reader };
    static Result<QueueStore> open(const std::filesystem::path& spool, Access access);

    // Writes the messages and their envelopes in one transaction. When it returns success,
    // they are on stable storage; on failure nothing of the batch is stored.
    Result<void> commit(std::span<const NewMessage> messages);

    // Applies all of `changes` in one transaction: on success they are on stable storage, on
    // failure none is.
    Result<void> apply(std::span<const QueueChanges> changes);

    // A writer's commits leave the WAL to grow: this copies it back into the database once it
    // is past 1000 pages (a passive checkpoint, which waits for no reader), so that it is
    // written from its start again. The writer's owner calls it between commits, after their
    // callers have their answers. The store's error when the checkpoint fails (the WAL then
    // keeps its pages, and a later call tries again).
    Result<void> checkpoint_when_due();

    // One envelope by id, or nullopt when it is not in the queue.
    Result<std::optional<Envelope>> envelope(EvpId id);

    // Calls `visit` for each envelope in id order until it returns false; rows are read one
    // at a time (constant memory).
    Result<void> for_each_envelope(const std::function<bool(const Envelope&)>& visit);

    // Up to `limit` envelopes whose ids come after `after` in the store's order (start with
    // EvpId{}), for reading a large queue page by page.
    Result<std::vector<Envelope>> envelopes_after(std::optional<EvpId> after, std::size_t limit);

    // The number of envelopes and of messages.
    Result<std::size_t> envelope_count();
    Result<std::size_t> message_count();
    // The creation time (unix seconds) of the oldest queued message; nullopt when the queue
    // is empty. A scan of the messages table (no body is read).
    Result<std::optional<std::int64_t>> oldest_message_created();

    // The ids that start with `prefix` (lowercase hex; shell completion), each list in id
    // order: up to `limit` msgids (none when the prefix is longer than a msgid) and up to
    // `limit` evpids. Range queries on the keys, so a large queue costs no more than a small
    // one. Errc::invalid_argument when the prefix is not hex or longer than an evpid.
    struct IdMatches {
        std::vector<MsgId> msgids;
        std::vector<EvpId> evpids;
    };
    Result<IdMatches> ids_with_prefix(std::string_view prefix, std::size_t limit);

    // The raw message, or nullopt when there is no such message.
    Result<std::optional<std::string>> message_body(MsgId id);

private:
    explicit QueueStore(db::Database database) : m_db(std::move(database)) {}
    db::Database m_db;
    std::optional<db::Statement> m_insert_message;
    std::optional<db::Statement> m_insert_envelope;
    std::optional<db::Statement> m_update_envelope;
    std::optional<db::Statement> m_delete_envelope;
    std::optional<db::Statement> m_delete_orphan_message;
    // The WAL's length in pages after the last commit (a writer's; its address is given to
    // SQLite, so it stays put when the store moves).
    std::unique_ptr<int> m_wal_pages;
};

} // namespace core::queue
