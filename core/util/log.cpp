// SPDX-License-Identifier: ISC
#include "core/util/log.hpp"

#include <syslog.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <sys/time.h>

namespace core::log {

namespace {

Target g_target = Target::stderr_stream;
Level g_level = Level::info;
// The two switches are read at every trace point, from any thread (workers, the committer):
// atomics, so that the check costs one relaxed load and a follower's change is seen at once.
std::atomic<unsigned> g_traces{0};
std::atomic<unsigned> g_followed{0};
TraceSink g_trace_sink;

bool needs_quotes(std::string_view v) {
    if (v.empty()) {
        return true;
    }
    for (unsigned char c : v) {
        if (c <= ' ' || c == '"' || c == '\\' || c == '=' || c >= 0x7f) {
            return true;
        }
    }
    return false;
}

void append_value(std::string& out, std::string_view v) {
    if (!needs_quotes(v)) {
        out += v;
        return;
    }
    out += '"';
    for (unsigned char c : v) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < ' ' || c == 0x7f) {
            static constexpr char k_hex[] = "0123456789abcdef";
            out += "\\x";
            out += k_hex[c >> 4];
            out += k_hex[c & 0xf];
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
}

int syslog_priority(Level level) {
    switch (level) {
    case Level::error:
        return LOG_ERR;
    case Level::warning:
        return LOG_WARNING;
    case Level::notice:
        return LOG_NOTICE;
    case Level::info:
        return LOG_INFO;
    case Level::debug:
        return LOG_DEBUG;
    }
    return LOG_INFO;
}

void emit(Level level, const std::string& line) {
    if (g_target == Target::syslog) {
        syslog(LOG_MAIL | syslog_priority(level), "%s", line.c_str());
        return;
    }
    timeval now{};
    gettimeofday(&now, nullptr);
    tm parts{};
    gmtime_r(&now.tv_sec, &parts);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &parts);
    std::fprintf(stderr, "%s.%03ldZ %s\n", stamp, static_cast<long>(now.tv_usec / 1000), line.c_str());
}

} // namespace

void set_target(Target target) {
    g_target = target;
    if (target == Target::syslog) {
        openlog("mxd", LOG_PID | LOG_NDELAY, LOG_MAIL);
    }
}
void set_level(Level level) { g_level = level; }
Level level() { return g_level; }
void set_traces(SubsystemSet traces) { g_traces.store(traces.bits(), std::memory_order_relaxed); }
SubsystemSet traces() { return SubsystemSet::from_bits(g_traces.load(std::memory_order_relaxed)); }
void set_trace_sink(TraceSink sink) { g_trace_sink = std::move(sink); }
bool trace_followed(Subsystem s) { return SubsystemSet::from_bits(g_followed.load(std::memory_order_relaxed)).contains(s); }
void set_followed(SubsystemSet followed) { g_followed.store(followed.bits(), std::memory_order_relaxed); }

std::string format_line(std::string_view prefix, std::string_view subsystem, std::string_view event,
                        Fields fields) {
    std::string line;
    if (!prefix.empty()) {
        line += prefix;
        line += ' ';
    }
    line += subsystem;
    line += ' ';
    line += event;
    for (const auto& f : fields) {
        line += ' ';
        line += f.key;
        line += '=';
        append_value(line, f.value);
    }
    return line;
}

void write(Level level, std::string_view prefix, std::string_view subsystem, std::string_view event,
           Fields fields) {
    if (level > g_level) {
        return;
    }
    emit(level, format_line(prefix, subsystem, event, fields));
}

void trace(Subsystem subsystem, std::string_view prefix, std::string_view event, Fields fields) {
    const auto line = format_line(prefix, subsystem_name(subsystem), event, fields);
    // Traces are debug-level lines in the log, shown whenever the subsystem is traced
    // (smtpd -T behaves the same), whatever the log level.
    if (traces().contains(subsystem)) {
        emit(Level::debug, line);
    }
    if (g_trace_sink && trace_followed(subsystem)) {
        g_trace_sink(subsystem, prefix, line);
    }
}

} // namespace core::log
