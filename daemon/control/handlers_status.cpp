// SPDX-License-Identifier: ISC
// show status, log verbose|brief, trace/untrace, stop.
#include "daemon/control/handlers.hpp"

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
        {"config_file", state.config.source_file.empty() ? json(nullptr) : json(state.config.source_file.string())},
        {"config_origin", state.config_origin},
        {"spool", state.spool.string()},
        {"socket", state.socket.string()},
        {"listeners", listeners},
        {"paused", {{"mda", state.paused.mda}, {"mta", state.paused.mta}, {"smtp", state.paused.smtp}}},
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

core::Result<json> handle_pause(RuntimeState& state, const json& args, bool pause) {
    const auto what = args.at("what").get<std::string>();  // validated by the dispatcher
    (what == "mda" ? state.paused.mda : what == "mta" ? state.paused.mta : state.paused.smtp) = pause;
    core::log::notice("control", pause ? "pause" : "resume", {{"what", what}});
    if (!pause && state.scheduler) {
        state.scheduler->wake();
    }
    return json{{"paused", {{"mda", state.paused.mda}, {"mta", state.paused.mta}, {"smtp", state.paused.smtp}}}};
}

core::Result<json> handle_stop(RuntimeState& state, const json&) {
    core::log::notice("control", "stop", {{"reason", "mxctl stop"}});
    state.request_stop();
    return json{{"stopping", true}};
}

} // namespace mxd::control
