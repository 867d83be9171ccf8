// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/trace.hpp"

#include <asio.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

// `mxctl trace --follow`: fans trace lines out to the control clients that follow them. The
// hub is the log's trace sink, and it sets the log's "followed" switches to the union of what
// its followers ask for, so a subsystem nobody traces or follows costs one relaxed atomic load
// per trace point and builds no line. The log's own trace switches (`mxctl trace X`) are never
// touched: following turns nothing on for the log, and when the last follower leaves, nothing
// stays on.
namespace mxd::control {

// What one follower asked for: subsystems, and optionally one message or one session.
struct TraceFilter {
    core::SubsystemSet subsystems;
    // A msgid (8 hex digits) or an evpid (16): lines whose prefix is that message or one of
    // its envelopes, or that carry msgid=/evpid= of it. Empty: any.
    std::string msgid;
    // A session id: lines whose prefix is that session or that carry session=ID. Empty: any.
    std::string session;

    // Whether a line of `subsystem` with that prefix passes.
    bool matches(core::Subsystem subsystem, std::string_view prefix, std::string_view line) const;
};

// One follower's queue of lines, bounded: when its client reads slower than lines come, new
// lines are dropped and counted, and the daemon never waits for it.
class TraceFollower : public std::enable_shared_from_this<TraceFollower> {
public:
    // The most lines and bytes a follower keeps waiting for its client.
    static constexpr std::size_t k_lines_max = 10000;
    static constexpr std::size_t k_bytes_max = 4 * 1024 * 1024;

    TraceFollower(asio::any_io_executor executor, TraceFilter filter);

    // Waits on the follower's executor until lines are queued or stop() was called.
    asio::awaitable<void> wait();

    // What wait() found: the queued lines and how many were dropped since the last take.
    struct Batch {
        std::vector<std::string> lines;
        std::uint64_t dropped = 0;
    };
    Batch take();

    // Ends wait() for good (the client went away). Safe from the follower's executor only.
    void stop();
    bool stopped() const;

    const TraceFilter& filter() const { return m_filter; }

    // Queues a line (or counts it dropped); from any thread. Called by the hub.
    void push(std::string line);

private:
    asio::any_io_executor m_executor;
    TraceFilter m_filter;
    asio::steady_timer m_signal;  // waited on until cancelled by push() or stop()
    mutable std::mutex m_mutex;
    std::deque<std::string> m_lines;
    std::size_t m_bytes = 0;
    std::uint64_t m_dropped = 0;
    bool m_notified = false;
    bool m_stopped = false;
};

// The daemon's one hub. follow() registers a follower until the returned handle goes; the
// sink it installs in the log lives as long as the process.
class TraceHub {
public:
    // The process's hub (installs the log's trace sink on first use).
    static TraceHub& instance();

    // Registers a follower of `filter` whose wake-ups run on `executor`; it is unregistered
    // (and the followed switches recomputed) when the last copy of the handle goes.
    std::shared_ptr<TraceFollower> follow(asio::any_io_executor executor, TraceFilter filter);

    // How many followers there are now.
    std::size_t followers() const;

private:
    TraceHub() = default;
    void publish(core::Subsystem subsystem, std::string_view prefix, const std::string& line);
    void forget(TraceFollower* follower);
    void update_followed();  // with m_mutex held

    mutable std::mutex m_mutex;
    std::vector<TraceFollower*> m_followers;
};

} // namespace mxd::control
