// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/trace.hpp"

#include <concepts>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

// Logging in key=value lines (DESIGN "Trace, logs, stats"): `<prefix> <subsystem> <event>
// key=value ...`, to stderr in the foreground and to syslog otherwise. core/ only logs at debug
// level and through trace(); the daemon logs where it handles an error.
namespace core::log {

enum class Level { error, warning, notice, info, debug };

// One key=value pair; values with spaces, quotes or control characters are quoted and escaped.
struct Field {
    std::string_view key;
    std::string value;
    Field(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
    Field(std::string_view k, std::string_view v) : key(k), value(v) {}
    Field(std::string_view k, const char* v) : key(k), value(v) {}
    template <std::integral T> Field(std::string_view k, T v) : key(k), value(std::to_string(v)) {}
};

using Fields = std::initializer_list<Field>;

enum class Target { stderr_stream, syslog };

// Where lines go and from which level on. Not thread-safe to change while others log: set it
// at start-up and from the event loop only.
void set_target(Target target);
void set_level(Level level);
Level level();

// Trace switches, checked by every subsystem at run time.
void set_traces(SubsystemSet traces);
SubsystemSet traces();
inline bool tracing(Subsystem s) { return traces().contains(s); }

// Subsystems that a `trace --follow` client streams; separate from the log's trace switches.
void set_followed(SubsystemSet followed);
bool trace_followed(Subsystem s);

// A sink that also receives the trace lines of followed subsystems (for `mxctl trace
// --follow`); may be empty. It is called from any thread that traces: set it once, before
// other threads start.
using TraceSink = std::function<void(Subsystem, std::string_view prefix, const std::string& line)>;
void set_trace_sink(TraceSink sink);

// Formats `prefix subsystem event k=v ...` (prefix omitted when empty).
std::string format_line(std::string_view prefix, std::string_view subsystem, std::string_view event,
                        Fields fields);

// Writes a line at a level (dropped below the configured level).
void write(Level level, std::string_view prefix, std::string_view subsystem, std::string_view event,
           Fields fields);

inline void error(std::string_view subsystem, std::string_view event, Fields fields = {}) {
    write(Level::error, {}, subsystem, event, fields);
}
inline void warning(std::string_view subsystem, std::string_view event, Fields fields = {}) {
    write(Level::warning, {}, subsystem, event, fields);
}
inline void notice(std::string_view subsystem, std::string_view event, Fields fields = {}) {
    write(Level::notice, {}, subsystem, event, fields);
}
inline void info(std::string_view subsystem, std::string_view event, Fields fields = {}) {
    write(Level::info, {}, subsystem, event, fields);
}
inline void debug(std::string_view subsystem, std::string_view event, Fields fields = {}) {
    write(Level::debug, {}, subsystem, event, fields);
}

// A trace line of a subsystem, written when that subsystem is traced (or followed).
void trace(Subsystem subsystem, std::string_view prefix, std::string_view event, Fields fields = {});

} // namespace core::log

// Builds the trace line only when someone listens (ccache LOG).
#define MXD_TRACE(subsystem, ...)                                                                  \
    do {                                                                                           \
        if (::core::log::tracing(subsystem) || ::core::log::trace_followed(subsystem)) {           \
            ::core::log::trace(subsystem, __VA_ARGS__);                                            \
        }                                                                                          \
    } while (false)
