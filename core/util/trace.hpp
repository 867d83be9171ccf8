// SPDX-License-Identifier: ISC
#pragma once

#include <array>
#include <optional>
#include <string_view>

// The trace subsystems of DESIGN "Trace, logs, stats". Each subsystem checks its own bit at
// run time, so `mxctl trace X` takes effect without a restart.
namespace core {

enum class Subsystem {
    smtp,
    io,
    tls,
    expand,
    lookup,
    table,
    rules,
    queue,
    scheduler,
    mta,
    mda,
    bounce,
    control,
    stat,
};

inline constexpr std::array<std::string_view, 14> k_subsystem_names{
    "smtp",  "io",    "tls",   "expand",    "lookup", "table",  "rules",
    "queue", "scheduler", "mta", "mda", "bounce", "control", "stat",
};

// The name of a subsystem ("smtp").
constexpr std::string_view subsystem_name(Subsystem s) {
    return k_subsystem_names[static_cast<std::size_t>(s)];
}

// A subsystem by name; nullopt for an unknown name (and for "all", which is a set, not one).
std::optional<Subsystem> parse_subsystem(std::string_view name);

// A set of subsystems, as a bit mask.
class SubsystemSet {
public:
    static SubsystemSet all() {
        SubsystemSet s;
        s.m_bits = (1u << k_subsystem_names.size()) - 1;
        return s;
    }
    bool contains(Subsystem s) const { return (m_bits & bit(s)) != 0; }
    void add(Subsystem s) { m_bits |= bit(s); }
    void remove(Subsystem s) { m_bits &= ~bit(s); }
    void add(SubsystemSet other) { m_bits |= other.m_bits; }
    void remove(SubsystemSet other) { m_bits &= ~other.m_bits; }
    bool empty() const { return m_bits == 0; }
    bool operator==(const SubsystemSet&) const = default;
    // The bit mask (bit n is Subsystem n), to keep the set in an atomic.
    unsigned bits() const { return m_bits; }
    static SubsystemSet from_bits(unsigned bits) {
        SubsystemSet s;
        s.m_bits = bits & all().m_bits;
        return s;
    }

private:
    static unsigned bit(Subsystem s) { return 1u << static_cast<unsigned>(s); }
    unsigned m_bits = 0;
};

// "all" or one subsystem name as a set; nullopt for an unknown name.
std::optional<SubsystemSet> parse_subsystem_set(std::string_view name);

} // namespace core
