// SPDX-License-Identifier: ISC
#include "cli/render.hpp"

#include "core/smtp/sasl.hpp"
#include "core/stats/stats.hpp"
#include "core/util/strings.hpp"
#include "core/util/time.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

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

// One line per pause in force that has a reason or an end (show status, pause):
// "mta paused: since T, until T (29m 59s left), reason: upgrade".
void render_pauses(const json& pauses, std::ostream& out) {
    for (const auto& [what, d] : pauses.items()) {
        std::vector<std::string> parts;
        if (d.value("since", json(nullptr)).is_string()) {
            parts.push_back("since " + d["since"].get<std::string>());
        }
        if (d.value("until", json(nullptr)).is_string()) {
            parts.push_back("until " + d["until"].get<std::string>() + " (" +
                            core::format_duration_human(d.value("remaining_seconds", 0LL)) + " left)");
        }
        if (d.value("reason", json(nullptr)).is_string()) {
            parts.push_back("reason: " + d["reason"].get<std::string>());
        }
        // A plain pause (pause mta, -P mta) prints as smtpctl's does: no line of its own.
        if (parts.size() > 1 || (parts.size() == 1 && !parts.front().starts_with("since "))) {
            out << what << " paused: " << core::join(parts, ", ") << "\n";
        }
    }
}

// What a queue operation did: "2 envelopes removed", then what it left alone and why.
void render_queue_op(const json& r, std::ostream& out) {
    const auto command = r.value("command", "");
    const std::string verb = command == "schedule"          ? "scheduled"
                             : command == "remove"          ? "removed"
                             : command == "pause-envelope"  ? "paused"
                             : command == "resume-envelope" ? "resumed"
                                                            : command;
    auto envelopes = [](std::size_t n) { return std::to_string(n) + (n == 1 ? " envelope" : " envelopes"); };
    if (r.value("dry_run", false)) {
        out << envelopes(r.value("matched", std::size_t{0})) << " would be " << verb << " (dry run)\n";
        return;
    }
    std::string line = envelopes(r.value("done", std::size_t{0})) + " " + verb;
    if (const auto n = r.value("inflight", std::size_t{0}); n > 0) {
        line += "; " + std::to_string(n) + " being delivered: " + verb + " when the attempt ends";
    }
    if (const auto n = r.value("held", std::size_t{0}); n > 0) {
        line += "; " + std::to_string(n) + " held, left alone (resume envelope first)";
    }
    if (const auto n = r.value("missing", std::size_t{0}); n > 0) {
        line += "; " + std::to_string(n) + " no longer queued";
    }
    out << line << "\n";
}

// show envelope: `key: value` lines, as smtpctl prints the envelope file; the ids and the
// state first, then the rest in the order below, then any field this mxctl does not know.
void render_envelope(const json& r, std::ostream& out) {
    static constexpr std::string_view k_order[] = {
        "evpid", "msgid", "runstate", "type", "origin", "flags", "sender", "rcpt", "dest", "action",
        "created", "expires", "next_try", "last_try", "retries", "warnings", "last_error", "src",
        "hostname", "helo", "auth_user", "tag", "run_as", "dsn_ret", "dsn_envid", "dsn_notify",
        "dsn_orcpt"};
    auto print = [&](const std::string& key, const json& value) {
        out << key << ": "
            << (value.is_string()  ? value.get<std::string>()
                : value.is_null()  ? std::string()
                : value.is_array() ? joined(value, ",")
                                   : value.dump())
            << "\n";
    };
    for (const auto key : k_order) {
        if (const auto it = r.find(std::string(key)); it != r.end()) {
            print(std::string(key), *it);
        }
    }
    for (const auto& [key, value] : r.items()) {
        if (std::find(std::begin(k_order), std::end(k_order), key) == std::end(k_order)) {
            print(key, value);
        }
    }
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
    render_pauses(r.value("pauses", json::object()), out);
}

// The local time of an RFC 3339 UTC timestamp, as asctime(3) prints it without the year
// ("Tue Jan  2 15:04:05"), the form of mailq's arrival time.
std::string arrival_time(const std::string& rfc3339) {
    std::tm parts{};
    if (std::sscanf(rfc3339.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &parts.tm_year, &parts.tm_mon,
                    &parts.tm_mday, &parts.tm_hour, &parts.tm_min, &parts.tm_sec) != 6) {
        return rfc3339;
    }
    parts.tm_year -= 1900;
    parts.tm_mon -= 1;
    const std::time_t t = ::timegm(&parts);
    std::tm local{};
    ::localtime_r(&t, &local);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%a %b %e %H:%M:%S", &local);
    return buffer;
}

// One message of mailq in the layout of Postfix's (and sendmail's) mailq, which scripts and
// monitoring checks parse: id with `*` when a delivery is under way or `!` when held, size,
// arrival time and sender; then each recipient, under the reason of its last failure.
void render_mailq_item(const json& item, std::size_t index, std::ostream& out) {
    char line[512];
    if (index == 0) {
        out << "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n";
    }
    const std::string id = item.value("msgid", "") + (item.value("active", false) ? "*"
                                                      : item.value("held", false) ? "!"
                                                                                  : "");
    const auto sender = item.value("sender", "");
    std::snprintf(line, sizeof line, "%-11s %8zu %-20.20s %s\n", id.c_str(),
                  item.value("size", std::size_t{0}),
                  arrival_time(item.value("created", "")).c_str(),
                  sender.empty() ? "MAILER-DAEMON" : sender.c_str());
    out << line;
    for (const auto& r : item.value("recipients", json::array())) {
        const auto error = r.value("last_error", "");
        if (!error.empty()) {
            out << "(" << error << ")\n";
        }
        out << std::string(41, ' ') << r.value("rcpt", "") << "\n";
    }
    out << "\n";
}

} // namespace

void render_item_text(const core::protocol::Command& command, const json& item, std::size_t index,
                      std::ostream& out) {
    if (command.id == CommandId::mailq) {
        render_mailq_item(item, index, out);
        return;
    }
    if (command.id == CommandId::show_queue || command.id == CommandId::schedule ||
        command.id == CommandId::remove || command.id == CommandId::pause_envelope ||
        command.id == CommandId::resume_envelope) {
        // The queue operations stream items only under --dry-run: what they would touch.
        out << item.value("line", "") << "\n";
        return;
    }
    if (command.id == CommandId::show_message) {
        // The raw bytes, as received: a message need not be UTF-8.
        const auto data = core::smtp::base64_decode(item.value("data", ""));
        if (data) {
            out.write(data->data(), static_cast<std::streamsize>(data->size()));
        }
        return;
    }
    if (command.id == CommandId::monitor) {
        out << core::stats::monitor_header(index) << core::stats::monitor_line(item);
        return;
    }
    if (command.id == CommandId::trace_follow) {
        // The line as the log would show it; the first item only says the follow is on.
        if (item.contains("line")) {
            out << item.value("time", "") << " " << item.value("line", "") << "\n";
        }
        return;
    }
    if (command.id == CommandId::show_relays) {
        // smtpctl's show relays shape: the relay in brackets, then key=value counters.
        const auto ago = [](const json& at) {
            return at.is_number() ? std::to_string(at.get<long long>()) + "s" : std::string("-");
        };
        const auto error = item.value("last_error", "");
        out << "[relay:" << item.value("destination", "") << ",action=" << item.value("action", "")
            << "] active=" << item.value("active", 0) << " idle=" << item.value("idle", 0)
            << " nconn=" << item.value("connections", 0) << " messages=" << item.value("messages", 0)
            << " lastconn=" << ago(item.value("last_connection_ago", json(nullptr)))
            << " error=" << (error.empty() ? "-" : error) << "\n";
        return;
    }
    if (command.id == CommandId::show_routes) {
        // smtpctl's show routes shape: "<id>. <src|[]> <-> <ip> (<ptr>) <NDQK> nconn=N
        // nerror=N penalty=N timeout=-", then mxd's active and idle counts.
        const auto text = [&](const char* key) {
            const auto it = item.find(key);
            return it != item.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        const auto source = text("source");
        const auto port = item.value("port", 0);
        out << item.value("id", 0) << ". " << (source.empty() ? "[]" : source) << " <-> "
            << text("address") << (port != 0 && port != 25 ? ":" + std::to_string(port) : "")
            << " (" << text("host") << ") " << (item.value("connections", 0) == 0 ? 'N' : '-')
            << (item.value("penalty", 0) > 0 ? 'D' : '-') << '-' << (item.value("idle", 0) > 0 ? 'K' : '-')
            << " nconn=" << item.value("connections", 0) << " nerror=" << item.value("errors", 0)
            << " penalty=" << item.value("penalty", 0) << " timeout=-"
            << " active=" << item.value("active", 0) << " idle=" << item.value("idle", 0) << "\n";
        return;
    }
    if (command.id == CommandId::show_tables) {
        char line[512];
        if (index == 0) {
            std::snprintf(line, sizeof line, "%-16s %-8s %-7s %9s  %-20s  %-16s %s\n", "NAME", "BACKEND", "KIND",
                          "ENTRIES", "LOADED", "USES", "SOURCE");
            out << line;
        }
        const auto entries = item.value("entries", json(nullptr));
        const auto uses = joined(item.value("uses", json::array()), ",");
        std::snprintf(line, sizeof line, "%-16s %-8s %-7s %9s  %-20s  %-16s %s\n", item.value("name", "").c_str(),
                      item.value("backend", "").c_str(), item.value("kind", "").c_str(),
                      entries.is_number() ? std::to_string(entries.get<std::size_t>()).c_str() : "-",
                      item.value("loaded", "").c_str(), uses.empty() ? "-" : uses.c_str(),
                      item.value("source", "").c_str());
        out << line;
        return;
    }
    render_json(item, out);
}

namespace {

// `mxctl expand`, for people: the address, then one indented line per step, like exim -bt.
void render_expand(const json& result, std::ostream& out) {
    out << result.value("address", "") << "\n";
    const auto rule = result.value("rule", json(nullptr));
    if (rule.is_object()) {
        out << "  rule " << rule.value("number", 0) << ": " << rule.value("text", "") << "\n";
    }
    if (result.value("rejected", false)) {
        out << "  rejected: " << (rule.is_object() ? "by this rule" : "no rule matches") << "\n";
        return;
    }
    out << "  action " << result.value("action", "") << "\n";
    for (const auto& step : result.value("steps", json::array())) {
        out << "  expand: " << step.get<std::string>() << "\n";
    }
    for (const auto& d : result.value("deliveries", json::array())) {
        out << "  -> " << d.value("dest", "") << " (" << d.value("type", "") << ", action "
            << d.value("action", "") << ")";
        if (!d.value("run_as", "").empty()) {
            out << " as " << d.value("run_as", "");
        }
        out << "\n";
    }
    if (const auto error = result.value("error", json(nullptr)); error.is_string()) {
        out << "  error: " << error.get<std::string>() << "\n";
    }
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
    case CommandId::expand:
        render_expand(result, out);
        return;
    case CommandId::reload:
        out << "configuration reloaded from " << result.value("config", "") << " (generation "
            << result.value("generation", 0) << ")\n";
        for (const auto& note : result.value("notes", json::array())) {
            out << "  " << note.get<std::string>() << "\n";
        }
        return;
    case CommandId::pause:
    case CommandId::resume: {
        std::vector<std::string> held;
        if (const auto paused = result.find("paused"); paused != result.end() && paused->is_object()) {
            for (const auto* what : {"mda", "mta", "smtp"}) {
                if (paused->value(what, false)) {
                    held.emplace_back(what);
                }
            }
        }
        out << "paused: " << (held.empty() ? std::string("nothing") : core::join(held, " ")) << "\n";
        render_pauses(result.value("pauses", json::object()), out);
        return;
    }
    case CommandId::show_envelope:
        render_envelope(result, out);
        return;
    case CommandId::show_message:
        return;  // the message came as items
    case CommandId::schedule:
    case CommandId::remove:
    case CommandId::pause_envelope:
    case CommandId::resume_envelope:
        render_queue_op(result, out);
        return;
    case CommandId::encrypt:
        out << result.value("hash", "") << "\n";
        return;
    case CommandId::table_lookup:
        // A list entry has no value: the key that matched is the answer.
        if (result.value("found", false)) {
            const auto value = result.value("value", "");
            out << (value.empty() ? result.value("key", "") : value) << "\n";
        }
        return;
    case CommandId::update_table: {
        const auto entries = result.value("entries", json(nullptr));
        out << "table " << result.value("table", "") << " updated from " << result.value("source", "") << ": "
            << (entries.is_number() ? std::to_string(entries.get<std::size_t>()) : std::string("?")) << " entries\n";
        return;
    }
    case CommandId::show_stats:
        out << core::stats::format_text(result);
        return;
    case CommandId::show_tables:
    case CommandId::show_relays:
    case CommandId::show_routes:
    case CommandId::show_queue:
    case CommandId::trace_follow:
    case CommandId::monitor:
        return;  // the rows came as items
    case CommandId::mailq: {
        const auto messages = result.value("messages", std::size_t{0});
        if (messages == 0) {
            out << "Mail queue is empty\n";
        } else {
            out << "-- " << (result.value("bytes", std::size_t{0}) + 1023) / 1024 << " Kbytes in "
                << messages << (messages == 1 ? " Request.\n" : " Requests.\n");
        }
        return;
    }
    case CommandId::submit:
        out << "queued as " << result.value("msgid", "") << "\n";
        return;
    case CommandId::complete:  // mxctl __complete prints the values itself
    case CommandId::sendmail:
    case CommandId::check_config:
    case CommandId::config_migrate:
    case CommandId::makemap:
    case CommandId::newaliases:
        break;  // print their own output
    }
    render_json(result, out);
}

} // namespace mxctl
