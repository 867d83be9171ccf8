// SPDX-License-Identifier: ISC
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

// The counters of `show stats` and `monitor` (DESIGN "Trace, logs, stats"): their names, kinds
// and help texts, and their three printed forms. The daemon fills a JSON object keyed by these
// names; mxctl prints it. Key names are smtpctl's where it has the same counter.
namespace core::stats {

// counter: only grows while the daemon runs. gauge: a level that goes up and down.
enum class Kind { counter, gauge };

// One counter of `show stats`.
struct Metric {
    std::string_view key;         // "smtp.session", as smtpctl names it where it has one
    Kind kind;
    std::string_view prometheus;  // "mxd_smtp_sessions"
    std::string_view help;        // one sentence, for # HELP
};

// Every counter the daemon reports, sorted by key.
std::span<const Metric> metrics();

// The metric of a key, or nullptr (a key of a newer daemon, or "uptime.human").
const Metric* find_metric(std::string_view key);

// smtpctl's `show stats` form: one `key=value` line per member, in strcmp order of the keys.
// Numbers print as numbers, strings as they are. Never fails; a non-object prints nothing.
std::string format_text(const nlohmann::json& stats);

// The Prometheus text exposition format that node_exporter's textfile collector reads: for
// each numeric member, `# HELP` and `# TYPE` lines and the sample; a key this table does not
// know becomes an `untyped` metric named mxd_<key with '.' and '-' as '_'>. Strings (such as
// uptime.human) are left out. Never fails.
std::string format_prometheus(const nlohmann::json& stats);

// The fields of one `monitor` item, in the order of smtpctl monitor's columns.
std::span<const std::string_view> monitor_fields();

// smtpctl monitor's two header lines; printed before the first line and every 25th after,
// with a blank line before a repeat (`index` counts the lines printed so far).
std::string monitor_header(std::size_t index);

// One `monitor` line: the item's columns as smtpctl prints them (width 4, right-aligned);
// a missing field prints as 0.
std::string monitor_line(const nlohmann::json& item);

} // namespace core::stats
