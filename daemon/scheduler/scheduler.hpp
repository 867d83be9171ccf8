// SPDX-License-Identifier: ISC
#pragma once

#include "core/queue/envelope.hpp"
#include "core/queue/store.hpp"

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
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

// Routes the recipient of a bounce (the original sender) to envelopes of the bounce message
// `bounce` (id, sender "" and creation time set). Blocking: runs on a worker thread. An
// error, or no envelope, drops the bounce with a log line.
using RouteBounce = std::function<core::Result<std::vector<core::queue::Envelope>>(
    const core::queue::NewMessage& bounce, const std::string& recipient)>;

// Limits and timings; the defaults are OpenSMTPD's where it has one.
struct Settings {
    std::size_t max_inflight = 100;             // deliveries at once, all kinds
    std::size_t max_inflight_per_domain = 10;   // relays at once to one destination domain
    std::chrono::seconds backoff_base{800};     // retry n waits base * n^2 (scheduler_backoff)
    std::chrono::seconds backoff_max{4 * 3600}; // but never more than this
    std::vector<long long> warn_intervals{4LL * 3600}; // `bounce warn-interval`
    std::string hostname;                              // the reporting MTA in bounces
};

class Scheduler : public std::enable_shared_from_this<Scheduler> {
  public:
    Scheduler(asio::io_context& io, RuntimeState& state, Workers& workers, Settings settings,
              Deliver deliver_local, Deliver deliver_relay, RouteBounce route_bounce);

    // Loads the queue's envelopes (blocking read, at start) and starts scheduling.
    core::Result<void> start();

    // New envelopes, committed; safe from any thread.
    void add(std::vector<core::queue::Envelope> envelopes);

    // Wakes the scheduler (after a resume of mda or mta).
    void wake();

    // Counts for show status and stats.
    struct Counts {
        std::size_t pending = 0;
        std::size_t inflight = 0;
        std::uint64_t delivered = 0;
        std::uint64_t temporary = 0;
        std::uint64_t permanent = 0;
        std::uint64_t bounces = 0;
        std::uint64_t expired = 0;
    };
    Counts counts() const { return m_counts; }

    // "pending" or "inflight", for show queue's runstate field.
    std::string runstate(core::queue::EvpId id) const;

  private:
    struct Entry {
        core::queue::Envelope envelope;
        bool inflight = false;
    };

    asio::awaitable<void> loop();
    asio::awaitable<void> attempt(core::queue::EvpId id);
    void insert(core::queue::Envelope envelope);
    bool dispatchable(const Entry& entry) const;
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
    Deliver m_deliver_relay;
    RouteBounce m_route_bounce;
    asio::steady_timer m_timer;
    std::map<core::queue::EvpId, Entry> m_entries;
    std::set<std::pair<std::int64_t, core::queue::EvpId>> m_due; // (next_try, id) of pending ones
    std::map<std::string, std::size_t> m_inflight_per_domain;
    std::size_t m_inflight = 0;
    Counts m_counts;
};

} // namespace mxd::scheduler
