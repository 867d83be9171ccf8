// SPDX-License-Identifier: ISC
#pragma once

#include "core/queue/store.hpp"
#include "core/util/result.hpp"

#include <asio.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

// The queue process of OpenSMTPD, as a class: it owns the store's write connection on a
// thread of its own and commits what the SMTP sessions hand it in batches, so that one fsync
// acknowledges many messages (group commit). Nothing is acknowledged before its commit.
namespace mxd::queue {

class QueueService {
  public:
    // How long the committer may wait for messages on their way (see Incoming) before it
    // commits; tests set their own.
    static constexpr std::chrono::milliseconds k_default_linger{2};

    // Opens the store in `spool` (creating it) and starts the committer thread.
    static core::Result<std::unique_ptr<QueueService>>
    open(const std::filesystem::path& spool, std::chrono::milliseconds linger = k_default_linger);
    ~QueueService();
    QueueService(const QueueService&) = delete;
    QueueService& operator=(const QueueService&) = delete;

  private:
    // What the service shares with its Incoming handles, which may outlive it.
    struct Announced {
        std::atomic<std::size_t> count{0};  // messages on their way
        std::atomic<bool> lingering{false}; // the committer waits for them
        std::condition_variable wake;       // the committer's: work to do, or a wait to end
    };

  public:
    // A message being received, announced to the committer: an SMTP session holds one from
    // MAIL FROM until it hands its message to commit_new() or gives up. While any is held,
    // and the last commit covered more than one item, the committer waits for them a little
    // before it commits (at most the linger given to open()), so that one fsync covers more
    // messages. Move-only; given up when destroyed.
    class Incoming {
      public:
        Incoming() = default;
        Incoming(Incoming&& other) noexcept : m_announced(std::exchange(other.m_announced, nullptr)) {}
        Incoming& operator=(Incoming&& other) noexcept {
            if (this != &other) {
                release();
                m_announced = std::exchange(other.m_announced, nullptr);
            }
            return *this;
        }
        Incoming(const Incoming&) = delete;
        Incoming& operator=(const Incoming&) = delete;
        ~Incoming() { release(); }
        // Gives the announcement up: no message is coming (RSET, a new MAIL, a refused DATA,
        // the session's end). The last one given up ends a linger that waited for it, rather
        // than letting it run its time.
        void release() {
            if (auto announced = std::exchange(m_announced, nullptr)) {
                if (announced->count.fetch_sub(1) == 1 && announced->lingering) {
                    announced->wake.notify_one();
                }
            }
        }

      private:
        friend class QueueService;
        explicit Incoming(std::shared_ptr<Announced> announced) : m_announced(std::move(announced)) {
            m_announced->count.fetch_add(1);
        }
        // The message is here, pending: the announcement ends, and submit() wakes whom it must.
        void hand_over() {
            if (auto announced = std::exchange(m_announced, nullptr)) {
                announced->count.fetch_sub(1);
            }
        }
        std::shared_ptr<Announced> m_announced;
    };
    Incoming expect_message() { return Incoming(m_announced); }

    // Stores a message and its envelopes; resumes the caller (on its own executor) once they
    // are on stable storage, or with the store's error, in which case nothing was stored.
    // `arriving` is the message's announcement (see Incoming), if it had one: it ends as the
    // message is handed over.
    asio::awaitable<core::Result<void>> commit(core::queue::NewMessage message,
                                               Incoming arriving = {});

    // commit() for a new message that `make` builds around the id it is given. Ids are random
    // (32 bits, as OpenSMTPD's), so one may already be queued: then `make` is called again
    // with another id, at most 4 times in all. The id committed, or the last error.
    asio::awaitable<core::Result<core::queue::MsgId>>
    commit_new(std::function<core::queue::NewMessage(core::queue::MsgId)> make,
               Incoming arriving = {});

    // Applies delivery results (updates, removals, bounces) in the committer's next transaction;
    // resumes the caller once they are on stable storage, or with the store's error. Should the
    // id of a new message (a bounce, a delay notice: nothing names it yet) be taken, the new
    // messages are given other ids and the whole is applied again, at most 4 times in all, as
    // commit_new() does; on_committed() reports the ids that were stored.
    asio::awaitable<core::Result<void>> apply(core::queue::QueueChanges changes);

    // Called on the committer thread after each successful commit with the new messages, so the
    // scheduler learns of them. Set before any commit.
    using CommittedHook = std::function<void(const std::vector<core::queue::Envelope>&)>;
    void on_committed(CommittedHook hook) {
        std::lock_guard lock(m_mutex);
        m_on_committed = std::move(hook);
    }

    // One envelope, from the reader connection (blocking), nullopt when not queued.
    core::Result<std::optional<core::queue::Envelope>> envelope(core::queue::EvpId id);
    // A message's raw text, from the reader connection (blocking).
    core::Result<std::optional<std::string>> message_body(core::queue::MsgId id);
    // Every envelope, one at a time, from the reader connection (blocking; start-up).
    core::Result<void>
    for_each_envelope(const std::function<bool(const core::queue::Envelope&)>& visit);

    // A page of envelopes after `after`, from a reader connection. Blocking: run it on a
    // worker thread. Safe from any thread.
    core::Result<std::vector<core::queue::Envelope>> page(std::optional<core::queue::EvpId> after,
                                                          std::size_t limit);

    // The msgids and evpids that start with `prefix`, up to `limit` of each, for completion
    // (QueueStore::ids_with_prefix). Blocking: run it on a worker thread.
    core::Result<core::queue::QueueStore::IdMatches> ids_with_prefix(std::string_view prefix,
                                                                     std::size_t limit);

    // Counts, from the reader connection (blocking).
    core::Result<std::size_t> envelope_count();
    core::Result<std::size_t> message_count();
    // The creation time of the oldest queued message, nullopt when empty (blocking).
    core::Result<std::optional<std::int64_t>> oldest_message_created();

    // How many batches and messages were committed, for stats and benchmarks.
    struct Counters {
        std::uint64_t batches = 0;
        std::uint64_t messages = 0;
        std::uint64_t envelopes_enqueued = 0;  // envelopes of committed messages (bounces too)
        std::uint64_t envelopes_dequeued = 0;  // committed removals
    };
    Counters counters();

  private:
    using Done = std::function<void(core::Result<void>)>;
    struct Pending {
        core::queue::QueueChanges changes;
        Done done;
    };
    asio::awaitable<core::Result<void>> submit(core::queue::QueueChanges changes,
                                               Incoming arriving = {});

    QueueService(core::queue::QueueStore writer, core::queue::QueueStore reader,
                 std::chrono::milliseconds linger);
    void run_committer();
    // Whether a lingering committer should wait on: fewer than k_linger_batch items pending
    // and messages still on their way. Under m_mutex.
    bool linger_more() const;

    core::queue::QueueStore m_writer;
    std::mutex m_reader_mutex;
    core::queue::QueueStore m_reader;
    std::mutex m_mutex;
    std::deque<Pending> m_pending;
    const std::chrono::milliseconds m_linger;
    bool m_stopping = false;
    std::shared_ptr<Announced> m_announced = std::make_shared<Announced>();
    Counters m_counters;
    CommittedHook m_on_committed;
    std::thread m_thread;
};

} // namespace mxd::queue
