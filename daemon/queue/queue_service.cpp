// SPDX-License-Identifier: ISC
#include "daemon/queue/queue_service.hpp"

#include "core/util/log.hpp"

#include <chrono>
#include <optional>

namespace mxd::queue {

namespace {

// The most items (messages, delivery results) one transaction takes; more wait for the next.
constexpr std::size_t k_batch_max = 512;

// Group commit's linger (as PostgreSQL's commit_delay): while messages are on their way
// (QueueService::Incoming) and the previous commit covered more than one item, the committer
// waits, at most its linger (2 ms), until k_linger_batch items are pending or nothing more is
// coming. On a small machine ingest is bound by the CPU each fsync costs (the block layer, the
// virtio round trip, its interrupt) more than by its latency: at 10 sessions an fsync covered
// about 2 messages without the wait and 5 with it, and mxd's CPU per message fell from about
// 200 us to 175 us. A lone client, or one beside an idle transaction, never waits: its
// commits cover one item each.
constexpr std::size_t k_linger_batch = 8;

// How many ids a new message may draw in all when the ones before were taken (commit_new(),
// apply()): with 32 random bits, a second collision in a row is already most unlikely.
constexpr int k_draws = 4;

} // namespace

core::Result<std::unique_ptr<QueueService>> QueueService::open(const std::filesystem::path& spool,
                                                                std::chrono::milliseconds linger) {
    MXD_TRY_ASSIGN(auto writer,
                   core::queue::QueueStore::open(spool, core::queue::QueueStore::Access::writer));
    MXD_TRY_ASSIGN(auto reader,
                   core::queue::QueueStore::open(spool, core::queue::QueueStore::Access::reader));
    return std::unique_ptr<QueueService>(
        new QueueService(std::move(writer), std::move(reader), linger));
}

QueueService::QueueService(core::queue::QueueStore writer, core::queue::QueueStore reader,
                           std::chrono::milliseconds linger)
    : m_writer(std::move(writer)), m_reader(std::move(reader)), m_linger(linger) {
    m_thread = std::thread([this] { run_committer(); });
}

QueueService::~QueueService() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_announced->wake.notify_one();
    m_thread.join();
}

void QueueService::run_committer() {
    std::vector<Pending> batch;
    std::vector<core::queue::QueueChanges> changes;
    std::vector<core::Result<void>> outcomes;
    std::size_t last_batch = 0;
    for (;;) {
        {
            std::unique_lock lock(m_mutex);
            m_announced->wake.wait(lock, [this] { return m_stopping || !m_pending.empty(); });
            if (last_batch > 1 && linger_more()) {
                m_announced->lingering = true;
                m_announced->wake.wait_until(lock, std::chrono::steady_clock::now() + m_linger,
                                             [this] { return m_stopping || !linger_more(); });
                m_announced->lingering = false;
            }
            if (m_pending.empty()) {
                return; // stopping, and everything handed over is committed
            }
            // Everything that arrived while the previous fsync ran goes into this one.
            while (!m_pending.empty() && batch.size() < k_batch_max) {
                batch.push_back(std::move(m_pending.front()));
                m_pending.pop_front();
            }
        }
        last_batch = batch.size();
        changes.clear();
        for (auto& p : batch) {
            changes.push_back(std::move(p.changes));
        }
        // One transaction for the batch. Should it fail, each item is tried again alone, so
        // that one bad item (a msgid that is already queued: ids are random, 32 bits) fails
        // only its own session rather than every session of the batch.
        outcomes.assign(1, m_writer.apply(changes));
        if (!outcomes.front() && changes.size() > 1) {
            outcomes.clear();
            for (const auto& c : changes) {
                outcomes.push_back(m_writer.apply(std::span(&c, 1)));
            }
        }
        const auto outcome = [&](std::size_t i) -> const core::Result<void>& {
            return outcomes.size() == 1 ? outcomes.front() : outcomes[i];
        };
        std::size_t committed = 0;
        std::size_t enqueued = 0;
        std::size_t dequeued = 0;
        std::size_t failed = 0;
        for (std::size_t i = 0; i < changes.size(); ++i) {
            if (outcome(i)) {
                committed += changes[i].messages.size();
                for (const auto& m : changes[i].messages) {
                    enqueued += m.envelopes.size();
                }
                dequeued += changes[i].removals.size();
            } else if (outcome(i).error().code == core::Errc::exists) {
                // A message id drawn twice: commit_new() or apply() draws another and tries again.
                ++failed;
                core::log::info("queue", "id-taken", {{"error", outcome(i).error().message}});
            } else {
                ++failed;
                core::log::error("queue", "commit-failed",
                                 {{"messages", changes[i].messages.size()},
                                  {"error", outcome(i).error().message}});
            }
        }
        MXD_TRACE(core::Subsystem::queue, {}, "commit",
                  {{"items", changes.size()}, {"messages", committed}, {"envelopes", enqueued},
                   {"removed", dequeued}, {"failed", failed}});
        CommittedHook hook;
        {
            std::lock_guard lock(m_mutex);
            ++m_counters.batches;
            m_counters.messages += committed;
            m_counters.envelopes_enqueued += enqueued;
            m_counters.envelopes_dequeued += dequeued;
            hook = m_on_committed;
        }
        // The sessions first: their replies are posted ahead of the scheduler's work, which
        // would otherwise run on the event loop before them.
        for (std::size_t i = 0; i < batch.size(); ++i) {
            batch[i].done(outcome(i));
        }
        if (hook && committed > 0) {
            std::vector<core::queue::Envelope> added;
            for (std::size_t i = 0; i < changes.size(); ++i) {
                if (outcome(i)) {
                    for (const auto& m : changes[i].messages) {
                        added.insert(added.end(), m.envelopes.begin(), m.envelopes.end());
                    }
                }
            }
            hook(added);
        }
        batch.clear();
        // Now that the batch's callers have their answers; what arrives meanwhile waits.
        if (auto checkpointed = m_writer.checkpoint_when_due(); !checkpointed) {
            core::log::warning("queue", "checkpoint-failed",
                               {{"error", checkpointed.error().message}});
        }
    }
}

bool QueueService::linger_more() const {
    return m_pending.size() < k_linger_batch && m_announced->count > 0;
}

asio::awaitable<core::Result<void>> QueueService::commit(core::queue::NewMessage message,
                                                         Incoming arriving) {
    core::queue::QueueChanges changes;
    changes.messages.push_back(std::move(message));
    auto submitting = submit(std::move(changes), std::move(arriving));
    co_return co_await std::move(submitting);
}

asio::awaitable<core::Result<core::queue::MsgId>>
QueueService::commit_new(std::function<core::queue::NewMessage(core::queue::MsgId)> make,
                         Incoming arriving) {
    for (int draw = 1;; ++draw) {
        auto message = make(core::queue::MsgId::random());
        const auto id = message.id;
        auto committing = commit(std::move(message), std::move(arriving));
        auto committed = co_await std::move(committing);
        if (committed) {
            co_return id;
        }
        if (committed.error().code != core::Errc::exists || draw == k_draws) {
            co_return core::fail(std::move(committed).error());
        }
    }
}

asio::awaitable<core::Result<void>> QueueService::apply(core::queue::QueueChanges changes) {
    for (int draw = 1;; ++draw) {
        // Only changes with new messages can be refused for a taken id; only they need a copy
        // to try again with.
        const bool may_retry = !changes.messages.empty() && draw < k_draws;
        auto submitting = submit(may_retry ? changes : std::move(changes));
        auto applied = co_await std::move(submitting);
        if (applied || !may_retry || applied.error().code != core::Errc::exists) {
            co_return applied;
        }
        for (auto& m : changes.messages) {
            const auto taken = m.id;
            core::queue::renumber(m, core::queue::MsgId::random());
            core::log::info("queue", "id-drawn-again", {{"msgid", taken.hex()}, {"new", m.id.hex()}});
        }
    }
}

asio::awaitable<core::Result<void>> QueueService::submit(core::queue::QueueChanges changes,
                                                         Incoming arriving) {
    std::optional<core::Result<void>> outcome;
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [this, &changes, &arriving, &outcome](auto handler) {
            auto home = asio::get_associated_executor(handler);
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            Done done = [&outcome, shared, home](core::Result<void> result) {
                outcome.emplace(std::move(result));
                asio::post(home, std::move(*shared));
            };
            bool wake = false;
            {
                std::lock_guard lock(m_mutex);
                m_pending.push_back(Pending{std::move(changes), std::move(done)});
                arriving.hand_over();
                // A lingering committer needs waking only when its wait is over.
                wake = !m_announced->lingering || !linger_more();
            }
            if (wake) {
                m_announced->wake.notify_one();
            }
        },
        asio::use_awaitable);
    co_return std::move(*outcome);
}

core::Result<std::vector<core::queue::Envelope>>
QueueService::page(std::optional<core::queue::EvpId> after, std::size_t limit) {
    std::lock_guard lock(m_reader_mutex);
    return m_reader.envelopes_after(after, limit);
}

core::Result<std::optional<core::queue::Envelope>> QueueService::envelope(core::queue::EvpId id) {
    std::lock_guard lock(m_reader_mutex);
    return m_reader.envelope(id);
}

core::Result<std::optional<std::string>> QueueService::message_body(core::queue::MsgId id) {
    std::lock_guard lock(m_reader_mutex);
    return m_reader.message_body(id);
}

core::Result<void>
QueueService::for_each_envelope(const std::function<bool(const core::queue::Envelope&)>& visit) {
    std::lock_guard lock(m_reader_mutex);
    return m_reader.for_each_envelope(visit);
}

core::Result<core::queue::QueueStore::IdMatches>
QueueService::ids_with_prefix(std::string_view prefix, std::size_t limit) {
    std::lock_guard lock(m_reader_mutex);
    return m_reader.ids_with_prefix(prefix, limit);
}

core::Result<std::size_t> QueueService::envelope_count() {
    std::lock_guard lock(m_reader_mutex);
    return m_reader.envelope_count();
}

core::Result<std::size_t> QueueService::message_count() {
    std::lock_guard lock(m_reader_mutex);
    return m_reader.message_count();
}

core::Result<std::optional<std::int64_t>> QueueService::oldest_message_created() {
    std::lock_guard lock(m_reader_mutex);
    return m_reader.oldest_message_created();
}

QueueService::Counters QueueService::counters() {
    std::lock_guard lock(m_mutex);
    return m_counters;
}

} // namespace mxd::queue
