// SPDX-License-Identifier: ISC
#pragma once

#include "core/config/config.hpp"
#include "core/queue/envelope.hpp"
#include "core/queue/store.hpp"

#include <asio.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mxd {
struct RuntimeState;
class Workers;
} // namespace mxd

// The scheduler of OpenSMTPD (scheduler_ramqueue.c), as a class on the event loop: it knows
// every queued envelope, tries each as soon as it is queued, retries temporary failures with
// backoff until the envelope expires, and turns permanent failures and expiries into bounces.
// An envelope leaves the queue only in the same transaction that records its delivery or
// queues its bounce (DESIGN "Delivery rule").
namespace mxd::scheduler {

// The words of the temporary error of an envelope whose action the configuration no longer has
// (after a reload): it waits, and reconfigure() makes it due when the action is back.
inline constexpr std::string_view k_missing_action = "is not in the configuration";

// What became of one delivery attempt.
struct Outcome {
    enum class Status { delivered, temporary, permanent };
    Status status = Status::temporary;
    std::string text; // the reply or error, for show queue, the log and the bounce
};

// Delivers one envelope (its message's raw text alongside). Never throws; a failure is an
// Outcome. The scheduler runs many at once, up to its limits.
using Deliver = std::function<asio::awaitable<Outcome>(const core::queue::Envelope& envelope,
                                                       std::shared_ptr<const std::string> body)>;

// Relays envelopes of one message that the scheduler gathered (same action, sender and route)
// in one transaction. Returns one Outcome per envelope, in order; a missing one counts as a
// temporary failure. Never throws.
using DeliverBatch = std::function<asio::awaitable<std::vector<Outcome>>(
    std::vector<core::queue::Envelope> envelopes, std::shared_ptr<const std::string> body)>;

// The relay agent as the scheduler sees it: the delivery, and the route of an envelope (its
// relay host or destination domain, with its action), by which envelopes of one message are
// gathered. An empty `route` gathers by action and destination domain.
struct RelayAgent {
    DeliverBatch deliver;
    std::function<std::string(const core::queue::Envelope&)> route;
};

// Routes the recipient of a bounce (the original sender) to envelopes of the bounce message
// `bounce` (id, sender "" and creation time set). Blocking: runs on a worker thread. An
// error, or no envelope, drops the bounce with a log line.
using RouteBounce = std::function<core::Result<std::vector<core::queue::Envelope>>(
    const core::queue::NewMessage& bounce, const std::string& recipient)>;

// Limits and timings; the defaults are OpenSMTPD's where it has one.
struct Settings {
    std::size_t max_inflight = 100;             // attempts (transactions) at once, all kinds
    std::size_t max_inflight_per_domain = 10;   // relay transactions at once to one domain
    std::size_t max_inflight_per_user = 7;      // local deliveries at once to one user
    std::size_t max_recipients = 100;           // envelopes of a message in one relay transaction
    std::chrono::seconds backoff_base{800};     // retry n waits base * n^2 (scheduler_backoff)
    std::chrono::seconds backoff_max{4 * 3600}; // but never more than this
    std::vector<long long> warn_intervals{4LL * 3600}; // `bounce warn-interval`
    std::string hostname;                              // the reporting MTA in bounces
};

// Sets what the configuration decides in `settings`: `bounce warn-interval`, `queue backoff`,
// and `mda limit max-session-per-user`. The rest keeps its value.
void configure(Settings& settings, const core::config::Config& config);

// What a queue operation (schedule, hold, remove) did with the envelopes it was given.
struct Touched {
    std::size_t done = 0;     // changed as asked
    std::size_t inflight = 0; // being delivered: the change applies when the attempt ends
    std::size_t held = 0;     // held, so left alone (schedule)
    std::size_t missing = 0;  // not in the queue
};

class Scheduler : public std::enable_shared_from_this<Scheduler> {
  public:
    Scheduler(asio::io_context& io, RuntimeState& state, Workers& workers, Settings settings,
              Deliver deliver_local, RelayAgent relay, RouteBounce route_bounce);

    // Loads the queue's envelopes (blocking read, at start) and starts scheduling.
    core::Result<void> start();

    // New envelopes, committed; safe from any thread.
    void add(std::vector<core::queue::Envelope> envelopes);

    // Wakes the scheduler (after a resume of mda or mta). On the event loop.
    void wake();

    // Takes a reloaded configuration's `queue backoff` and `bounce warn-interval`, and makes due
    // now the envelopes that waited for an action the old configuration lacked and the new one
    // has. On the event loop.
    void reconfigure(const core::config::Config& config);

    // The queue operations of mxctl; on the event loop.
    // Makes the envelopes due now (held ones stay held). In memory, as smtpctl schedule.
    Touched schedule(const std::vector<core::queue::EvpId>& ids);
    // Sets or clears the hold flag, stored in the queue before it resumes; on a store error
    // nothing changes and the error is returned.
    asio::awaitable<core::Result<Touched>> hold(std::vector<core::queue::EvpId> ids, bool held);
    // Removes envelopes without a bounce, in one transaction; an inflight one is removed when
    // its attempt ends. On a store error nothing is removed and the error is returned.
    asio::awaitable<core::Result<Touched>> remove(std::vector<core::queue::EvpId> ids);

    // Counts for show status and stats.
    struct Counts {
        std::size_t pending = 0; // queued and not being delivered (held ones included)
        std::size_t inflight = 0;
        std::size_t held = 0;
        std::uint64_t delivered = 0;
        std::uint64_t temporary = 0;
        std::uint64_t permanent = 0;
        std::uint64_t bounces = 0;
        std::uint64_t expired = 0;
        std::uint64_t removed = 0;
    };
    Counts counts() const;

    // "pending", "inflight" or "held", for show queue's runstate field.
    std::string runstate(core::queue::EvpId id) const;
    // When a known envelope is next tried, as the scheduler has it now (`schedule` moves it
    // ahead of the time stored in the queue); nullopt for an unknown one.
    std::optional<std::int64_t> next_try(core::queue::EvpId id) const;

  private:
    // Where a known envelope waits. Only `due` and `waiting` ones can start; a `waiting` one
    // is due but its destination (a relay's domain, a local delivery's user) is at its limit,
    // and waits for an attempt to it to end.
    enum class Where { due, waiting, inflight, held };
    struct Entry {
        core::queue::Envelope envelope;
        Where where = Where::due;
        bool remove_after = false;         // removed by mxctl while inflight
        std::optional<bool> hold_after;    // held or released by mxctl while inflight
    };
    // The two kinds of delivery, paused separately: each has its own due set, so a paused
    // kind costs nothing however many envelopes it holds back.
    enum Kind : std::size_t { k_local = 0, k_relay = 1 };
    static Kind kind_of(const core::queue::Envelope& e);

    asio::awaitable<void> loop();
    // One delivery attempt: one local envelope, or relay envelopes of one message together.
    asio::awaitable<void> attempt(std::vector<core::queue::EvpId> ids);
    void insert(core::queue::Envelope envelope);
    // Puts a known, not inflight envelope where its flags and next_try say.
    void place(core::queue::EvpId id, Entry& entry);
    // Takes a known envelope out of its due set or waiting list (not inflight ones).
    void unplace(core::queue::EvpId id, Entry& entry);
    // Starts an attempt for `id`; for a relay, with the other due envelopes of its message that
    // share its action, sender and route, up to max_recipients.
    void start_delivery(core::queue::EvpId id, Entry& entry, std::int64_t now);
    // The due envelopes that may share `leader`'s relay transaction, leader first.
    std::vector<core::queue::EvpId> gather(core::queue::EvpId leader, const Entry& entry,
                                           std::int64_t now);
    std::string route_of(const core::queue::Envelope& e) const;
    bool paused(Kind kind) const;
    // What the per-destination limit counts an envelope under: "mta DOMAIN" for a relay,
    // "mda USER" for a local delivery to a user; "" for none (a command or file of a table).
    static std::string limit_key(const core::queue::Envelope& e);
    std::size_t limit_of(Kind kind) const;
    // An attempt under `key` ended: the first envelope waiting for it becomes due.
    void release_waiting(const std::string& key);
    // The changes that record `outcome` for `envelope`; may queue a bounce or delay notice.
    asio::awaitable<core::queue::QueueChanges> record(core::queue::Envelope envelope,
                                                      Outcome outcome,
                                                      std::shared_ptr<const std::string> body,
                                                      bool& leaves);
    asio::awaitable<std::vector<core::queue::NewMessage>>
    make_report(const core::queue::Envelope& envelope, const std::string& body,
                const Outcome& outcome, bool delay);

    asio::io_context& m_io;
    RuntimeState& m_state;
    Workers& m_workers;
    Settings m_settings;
    Deliver m_deliver_local;
    RelayAgent m_relay;
    RouteBounce m_route_bounce;
    asio::steady_timer m_timer;
    std::map<core::queue::EvpId, Entry> m_entries;
    using DueSet = std::set<std::pair<std::int64_t, core::queue::EvpId>>; // (next_try, id)
    std::array<DueSet, 2> m_due;
    std::map<std::string, std::deque<core::queue::EvpId>> m_waiting; // by limit_key()
    std::map<std::string, std::size_t> m_inflight_per_key;           // attempts, by limit_key()
    std::size_t m_inflight = 0; // envelopes
    std::size_t m_attempts = 0; // attempts in progress: a relay transaction counts once
    std::size_t m_held = 0;
    Counts m_counts;
};

} // namespace mxd::scheduler
