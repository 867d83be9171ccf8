// SPDX-License-Identifier: ISC
// show status, log verbose|brief, trace/untrace, stop.
#include "daemon/control/handlers.hpp"

#include "core/protocol/args.hpp"
#include "core/protocol/version.hpp"
#include "core/util/log.hpp"
#include "core/util/time.hpp"
#include "core/util/trace.hpp"
#include "daemon/scheduler/scheduler.hpp"
#include "mxd_build_config.h"

namespace mxd::control {

using nlohmann::json;

namespace {

json trace_names(core::SubsystemSet set) {
    json names = json::array();
    for (auto name : core::k_subsystem_names) {
        if (set.contains(*core::parse_subsystem(name))) {
            names.push_back(name);
        }
    }
    return names;
}

bool& paused_flag(PauseState& paused, const std::string& what) {
    return what == "mda" ? paused.mda : what == "mta" ? paused.mta : paused.smtp;
}

PauseDetail& pause_detail(PauseState& paused, const std::string& what) {
    return what == "mda" ? paused.mda_detail : what == "mta" ? paused.mta_detail : paused.smtp_detail;
}

// Forgets a pause's reason and end, and disarms its --for timer.
void reset(PauseDetail& detail) {
    const auto next_timer = detail.timer + 1;
    detail = PauseDetail{};
    detail.timer = next_timer;
}

json paused_json(const PauseState& paused) {
    return {{"mda", paused.mda}, {"mta", paused.mta}, {"smtp", paused.smtp}};
}

// What show status says of each pause in force: why, since and until when.
json pause_details(const PauseState& paused) {
    using std::chrono::system_clock;
    const auto now = system_clock::now();
    json out = json::object();
    const std::pair<const char*, std::pair<bool, const PauseDetail*>> all[] = {
        {"mda", {paused.mda, &paused.mda_detail}},
        {"mta", {paused.mta, &paused.mta_detail}},
        {"smtp", {paused.smtp, &paused.smtp_detail}},
    };
    for (const auto& [what, entry] : all) {
        if (!entry.first) {
            continue;
        }
        const auto& d = *entry.second;
        const bool ends = d.until != system_clock::time_point{};
        out[what] = {
            {"reason", d.reason.empty() ? json(nullptr) : json(d.reason)},
            {"since", d.since == system_clock::time_point{} ? json(nullptr) : json(core::format_rfc3339(d.since))},
            {"until", ends ? json(core::format_rfc3339(d.until)) : json(nullptr)},
            {"remaining_seconds",
             ends ? json(std::max<long long>(
                        0, std::chrono::duration_cast<std::chrono::seconds>(d.until - now).count()))
                  : json(nullptr)},
        };
    }
    return out;
}

// Ends a `pause --for` when its time is up, unless a later pause or resume took over.
asio::awaitable<void> end_pause_later(RuntimeState& state, std::string what, std::uint64_t timer,
                                      std::chrono::seconds after) {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer clock(executor, after);
    asio::error_code ec;
    co_await clock.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    auto& detail = pause_detail(state.paused, what);
    if (ec || detail.timer != timer || !paused_flag(state.paused, what)) {
        co_return;
    }
    paused_flag(state.paused, what) = false;
    reset(detail);
    core::log::notice("control", "resume", {{"what", what}, {"reason", "pause --for ended"}});
    if (state.scheduler) {
        state.scheduler->wake();
    }
}

} // namespace

core::Result<json> handle_show_status(RuntimeState& state, const json&) {
    const auto now = std::chrono::system_clock::now();
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(now - state.started).count();
    json listeners = json::array();
    for (const auto& l : state.listeners) {
        listeners.push_back({{"address", l.address}, {"port", l.port}, {"kind", l.kind}});
    }
    return json{
        {"version", MXD_VERSION},
        {"protocol", core::protocol::k_protocol_version},
        {"pid", state.pid},
        {"node", state.node},
        {"started", core::format_rfc3339(state.started)},
        {"uptime_seconds", uptime},
        {"config_file", state.config().source_file.empty() ? json(nullptr) : json(state.config().source_file.string())},
        {"config_generation", state.generation()->number},
        {"config_origin", state.config_origin},
        {"spool", state.spool.string()},
        {"socket", state.socket.string()},
        {"listeners", listeners},
        {"paused", paused_json(state.paused)},
        {"pauses", pause_details(state.paused)},
        {"traces", trace_names(core::log::traces())},
        {"log_level", core::log::level() == core::log::Level::debug ? "verbose" : "brief"},
    };
}

core::Result<json> handle_log_level(RuntimeState&, core::log::Level level) {
    core::log::set_level(level);
    core::log::notice("control", "log-level", {{"level", level == core::log::Level::debug ? "verbose" : "brief"}});
    return json{{"log_level", level == core::log::Level::debug ? "verbose" : "brief"}};
}

core::Result<json> handle_trace(RuntimeState&, const json& args, TraceSwitch to) {
    if (args.contains("msgid") || args.contains("session")) {
        return core::fail(core::Errc::invalid_argument, "--msgid and --session go with --follow");
    }
    std::vector<std::string> names{args.at("subsystem").get<std::string>()};
    for (const auto& more : args.value("more", json::array())) {
        names.push_back(more.get<std::string>());
    }
    auto traces = core::log::traces();
    for (const auto& name : names) {
        const auto set = core::parse_subsystem_set(name);  // validated by the dispatcher
        if (to == TraceSwitch::on) {
            traces.add(*set);
        } else {
            traces.remove(*set);
        }
        core::log::notice("control", to == TraceSwitch::on ? "trace" : "untrace", {{"subsystem", name}});
    }
    core::log::set_traces(traces);
    return json{{"traces", trace_names(traces)}};
}

asio::awaitable<core::Result<json>> handle_pause(Context& context, const json& args, PauseSwitch to) {
    auto& state = context.state;
    const bool pause = to == PauseSwitch::pause;
    const auto what = args.at("what").get<std::string>();  // validated by the dispatcher
    paused_flag(state.paused, what) = pause;
    auto& detail = pause_detail(state.paused, what);
    // A new pause replaces the reason and end of the one in force; its old timer is disarmed.
    reset(detail);
    std::chrono::seconds duration{0};
    if (pause) {
        detail.reason = args.value("reason", "");
        detail.since = std::chrono::system_clock::now();
        if (args.contains("for")) {
            // Validated by the dispatcher.
            duration = std::chrono::seconds(*core::protocol::parse_duration_seconds(args.at("for").get<std::string>()));
            detail.until = detail.since + duration;
            auto executor = co_await asio::this_coro::executor;
            auto ending = end_pause_later(state, what, detail.timer, duration);
            asio::co_spawn(executor, std::move(ending), asio::detached);
        }
    }
    core::log::notice("control", pause ? "pause" : "resume",
                      {{"what", what}, {"reason", detail.reason}, {"for", duration.count()}});
    if (!pause && state.scheduler) {
        state.scheduler->wake();
    }
    co_return json{{"paused", paused_json(state.paused)}, {"pauses", pause_details(state.paused)}};
}

core::Result<json> handle_stop(RuntimeState& state, const json&) {
    core::log::notice("control", "stop", {{"reason", "mxctl stop"}});
    state.request_stop();
    return json{{"stopping", true}};
}

} // namespace mxd::control
