// SPDX-License-Identifier: ISC
#include "cli/render.hpp"

#include "core/util/time.hpp"

namespace mxctl {

using core::protocol::CommandId;
using nlohmann::json;

namespace {

std::string joined(const json& list, std::string_view separator) {
    std::string out;
    for (const auto& item : list) {
        if (!out.empty()) {
            out += separator;
        }
        out += item.is_string() ? item.get<std::string>() : item.dump();
    }
    return out;
}

// smtpctl's three lines come first, unchanged, so that scripts grepping "MTA paused" keep
// working; the rest is mxd's.
void render_status(const json& r, std::ostream& out) {
    const auto& paused = r.at("paused");
    out << "MDA " << (paused.value("mda", false) ? "paused" : "running") << "\n";
    out << "MTA " << (paused.value("mta", false) ? "paused" : "running") << "\n";
    out << "SMTP " << (paused.value("smtp", false) ? "paused" : "running") << "\n";
    out << "version:    mxd " << r.value("version", "?") << " (control protocol " << r.value("protocol", 0) << ")\n";
    out << "pid:        " << r.value("pid", 0) << "\n";
    out << "uptime:     " << core::format_duration_human(r.value("uptime_seconds", 0LL)) << " (since "
        << r.value("started", "?") << ")\n";
    out << "config:     " << r.value("config_origin", "?") << "\n";
    out << "spool:      " << r.value("spool", "?") << "\n";
    out << "socket:     " << r.value("socket", "?") << "\n";
    std::string listeners;
    for (const auto& l : r.value("listeners", json::array())) {
        if (!listeners.empty()) {
            listeners += ", ";
        }
        const auto address = l.value("address", "?");
        listeners += (address.find(':') != std::string::npos ? "[" + address + "]" : address) + ":" +
                     std::to_string(l.value("port", 0)) + " (" + l.value("kind", "smtp") + ")";
    }
    out << "listening:  " << (listeners.empty() ? "nothing" : listeners) << "\n";
    const auto traces = r.value("traces", json::array());
    out << "traces:     " << (traces.empty() ? "none" : joined(traces, " ")) << "\n";
    out << "log level:  " << r.value("log_level", "?") << "\n";
}

} // namespace

void render_json(const json& result, std::ostream& out) {
    out << result.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
}

void render_text(const core::protocol::Command& command, const json& result, std::ostream& out) {
    switch (command.id) {
    case CommandId::show_status:
        render_status(result, out);
        return;
    case CommandId::log_verbose:
    case CommandId::log_brief:
        out << "log level: " << result.value("log_level", "?") << "\n";
        return;
    case CommandId::trace:
    case CommandId::untrace: {
        const auto traces = result.value("traces", json::array());
        out << "traces: " << (traces.empty() ? "none" : joined(traces, " ")) << "\n";
        return;
    }
    case CommandId::stop:
        out << "mxd is stopping\n";
        return;
    case CommandId::encrypt:
        out << result.value("hash", "") << "\n";
        return;
    case CommandId::check_config:
    case CommandId::config_migrate:
        break;  // print their own output
    }
    render_json(result, out);
}

} // namespace mxctl
