// SPDX-License-Identifier: ISC
// trace --follow (trace.follow), monitor and show stats.
#include "daemon/control/handlers.hpp"

#include "core/stats/stats.hpp"
#include "core/util/strings.hpp"
#include "core/util/time.hpp"
#include "core/util/trace.hpp"
#include "daemon/control/trace_hub.hpp"
#include "daemon/queue/queue_service.hpp"
#include "daemon/scheduler/scheduler.hpp"
#include "daemon/stats.hpp"

#include <ctime>

namespace mxd::control {

using core::Errc;
using nlohmann::json;

namespace {

// Ends `follower` when the client's end closes (Ctrl-C on mxctl).
asio::awaitable<void> stop_when_closed(std::shared_ptr<TraceFollower> follower,
                                       std::function<asio::awaitable<void>()> closed) {
    auto waiting = closed();
    co_await std::move(waiting);
    follower->stop();
}

// Sets `*stopped` and wakes `timer` when the client's end closes.
asio::awaitable<void> stop_timer_when_closed(std::shared_ptr<asio::steady_timer> timer,
                                             std::shared_ptr<bool> stopped,
                                             std::function<asio::awaitable<void>()> closed) {
    auto waiting = closed();
    co_await std::move(waiting);
    *stopped = true;
    timer->cancel();
}

// The time with milliseconds, for a trace line: 2024-05-01T10:00:00.123Z.
std::string now_with_millis() {
    const auto now = std::chrono::system_clock::now();
    const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(now);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now - seconds).count();
    auto text = core::format_rfc3339(seconds);  // ...SSZ
    char fraction[8];
    std::snprintf(fraction, sizeof fraction, ".%03lldZ", static_cast<long long>(millis));
    text.pop_back();
    return text + fraction;
}

// The counters behind one monitor line, as totals since the daemon started.
struct MonitorSample {
    std::int64_t clients = 0;
    std::int64_t connected = 0;
    std::int64_t disconnected = 0;
    std::int64_t envelopes = 0;
    std::int64_t enqueued = 0;
    std::int64_t dequeued = 0;
    std::int64_t ok = 0;
    std::int64_t tempfail = 0;
    std::int64_t permfail = 0;
    std::int64_t expired = 0;
    std::int64_t removed = 0;
    std::int64_t bounces = 0;
};

MonitorSample sample(RuntimeState& state) {
    MonitorSample s;
    s.clients = stats::value(stats::Counter::smtp_session);
    s.connected = stats::value(stats::Counter::smtp_session_opened);
    s.disconnected = stats::value(stats::Counter::smtp_session_closed);
    if (state.queue) {
        const auto q = state.queue->counters();
        s.enqueued = static_cast<std::int64_t>(q.envelopes_enqueued);
        s.dequeued = static_cast<std::int64_t>(q.envelopes_dequeued);
    }
    if (state.scheduler) {
        const auto c = state.scheduler->counts();
        s.envelopes = static_cast<std::int64_t>(c.pending + c.inflight);
        s.ok = static_cast<std::int64_t>(c.delivered);
        s.tempfail = static_cast<std::int64_t>(c.temporary);
        s.permfail = static_cast<std::int64_t>(c.permanent);
        s.expired = static_cast<std::int64_t>(c.expired);
        s.removed = static_cast<std::int64_t>(c.removed);
        s.bounces = static_cast<std::int64_t>(c.bounces);
    }
    return s;
}

// smtpctl monitor's columns: the two "current" ones as levels, the others as what changed
// since the previous line (since start for the first).
json monitor_item(const MonitorSample& now, const MonitorSample& last) {
    return json{
        {"time", core::format_rfc3339(std::chrono::system_clock::now())},
        {"client_current", now.clients},
        {"client_connected", now.connected - last.connected},
        {"client_disconnected", now.disconnected - last.disconnected},
        {"envelope_current", now.envelopes},
        {"envelope_enqueued", now.enqueued - last.enqueued},
        {"envelope_dequeued", now.dequeued - last.dequeued},
        {"delivery_ok", now.ok - last.ok},
        {"delivery_tempfail", now.tempfail - last.tempfail},
        {"delivery_permfail", now.permfail - last.permfail},
        {"delivery_loop", 0},  // mxd has no loop counter yet: loops bounce as permfail
        {"envelope_expired", now.expired - last.expired},
        {"envelope_removed", now.removed - last.removed},
        {"bounce", now.bounces - last.bounces},
    };
}

} // namespace

asio::awaitable<core::Result<json>> handle_trace_follow(Context& context, const json& args) {
    TraceFilter filter;
    json names = json::array();
    names.push_back(args.at("subsystem"));
    for (const auto& more : args.value("more", json::array())) {
        names.push_back(more);
    }
    for (const auto& name : names) {
        filter.subsystems.add(*core::parse_subsystem_set(name.get<std::string>()));  // validated
    }
    if (const auto id = args.value("msgid", std::string()); !id.empty() && id != "all") {
        filter.msgid = core::to_lower(id);
    }
    filter.session = core::to_lower(args.value("session", std::string()));
    if (!context.until_closed) {
        co_return core::fail(Errc::invalid_argument, "trace --follow needs a control connection");
    }
    auto executor = co_await asio::this_coro::executor;
    auto follower = TraceHub::instance().follow(executor, filter);
    asio::co_spawn(executor, stop_when_closed(follower, context.until_closed), asio::detached);
    // The first item says the follow is in place: what happens from now on is streamed.
    const json started{{"following", names},
                       {"msgid", filter.msgid.empty() ? json(nullptr) : json(filter.msgid)},
                       {"session", filter.session.empty() ? json(nullptr) : json(filter.session)}};
    auto announcing = context.emit(started);  // built outside co_await: g++ 12 coroutine bug
    if (!co_await std::move(announcing)) {
        follower->stop();
        co_return json{{"dropped", 0}};
    }
    std::uint64_t dropped_total = 0;
    while (!follower->stopped()) {
        // What was emitted goes out before the wait for more: the stream stays live.
        auto flushing = context.flush();
        if (!co_await std::move(flushing)) {
            follower->stop();
            break;
        }
        auto waiting = follower->wait();
        co_await std::move(waiting);
        auto batch = follower->take();
        bool open = true;
        for (auto& line : batch.lines) {
            const json item{{"time", now_with_millis()}, {"line", std::move(line)}};
            auto sending = context.emit(item);
            if (!co_await std::move(sending)) {
                open = false;
                break;
            }
        }
        if (open && batch.dropped > 0) {
            dropped_total += batch.dropped;
            const json item{{"dropped", batch.dropped}};
            auto sending = context.emit(item);
            open = co_await std::move(sending);
        }
        if (!open) {
            follower->stop();
        }
    }
    co_return json{{"dropped", dropped_total}};
}

asio::awaitable<core::Result<json>> handle_monitor(Context& context, const json&) {
    if (!context.until_closed) {
        co_return core::fail(Errc::invalid_argument, "monitor needs a control connection");
    }
    auto executor = co_await asio::this_coro::executor;
    auto timer = std::make_shared<asio::steady_timer>(executor);
    auto stopped = std::make_shared<bool>(false);
    asio::co_spawn(executor, stop_timer_when_closed(timer, stopped, context.until_closed), asio::detached);
    MonitorSample last;
    auto next = std::chrono::steady_clock::now();
    std::uint64_t lines = 0;
    while (!*stopped) {
        const auto now = sample(context.state);
        const json item = monitor_item(now, last);
        last = now;
        auto sending = context.emit(item);
        if (!co_await std::move(sending)) {
            break;
        }
        // Each line goes out before the wait for the next second.
        auto flushing = context.flush();
        if (!co_await std::move(flushing)) {
            break;
        }
        ++lines;
        next += std::chrono::seconds(1);
        timer->expires_at(next);
        asio::error_code ignored;
        co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    co_return json{{"lines", lines}};
}

asio::awaitable<core::Result<json>> handle_show_stats(Context& context, const json&) {
    auto& state = context.state;
    json out = json::object();
    // Every counter is present, zero or not, so that a series never vanishes from a scrape.
    for (const auto& metric : core::stats::metrics()) {
        out[std::string(metric.key)] = 0;
    }
    for (std::size_t i = 0; i < stats::k_counter_count; ++i) {
        const auto counter = static_cast<stats::Counter>(i);
        out[std::string(stats::key(counter))] = stats::value(counter);
    }
    if (state.scheduler) {
        const auto c = state.scheduler->counts();
        out["scheduler.delivery.ok"] = c.delivered;
        out["scheduler.delivery.tempfail"] = c.temporary;
        out["scheduler.delivery.permfail"] = c.permanent;
        out["scheduler.envelope"] = c.pending + c.inflight;
        out["scheduler.envelope.pending"] = c.pending;
        out["scheduler.envelope.inflight"] = c.inflight;
        out["scheduler.envelope.held"] = c.held;
        out["scheduler.envelope.expired"] = c.expired;
        out["scheduler.envelope.removed"] = c.removed;
        out["queue.bounce"] = c.bounces;
    }
    if (state.queue) {
        const auto q = state.queue->counters();
        out["queue.commit.batch"] = q.batches;
        out["queue.commit.message"] = q.messages;
        out["queue.envelope.enqueued"] = q.envelopes_enqueued;
        out["queue.envelope.dequeued"] = q.envelopes_dequeued;
        struct QueueSize {
            std::size_t envelopes = 0;
            std::size_t messages = 0;
            std::optional<std::int64_t> oldest;
        };
        // Counting reads the store: a worker's job, not the event loop's.
        auto queue = state.queue;
        auto work = [queue]() -> core::Result<QueueSize> {
            QueueSize size;
            MXD_TRY_ASSIGN(size.envelopes, queue->envelope_count());
            MXD_TRY_ASSIGN(size.messages, queue->message_count());
            MXD_TRY_ASSIGN(size.oldest, queue->oldest_message_created());
            return size;
        };
        auto counted = co_await context.workers.run(std::move(work));
        if (!counted) {
            co_return core::fail(counted.error());
        }
        out["queue.envelope"] = counted->envelopes;
        out["queue.message"] = counted->messages;
        const auto now = static_cast<std::int64_t>(std::time(nullptr));
        out["queue.oldest.age"] = counted->oldest ? std::max<std::int64_t>(0, now - *counted->oldest) : 0;
    }
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now() - state.started)
                            .count();
    out["uptime"] = uptime;
    out["uptime.human"] = core::format_duration_human(uptime);
    co_return out;
}

} // namespace mxd::control
