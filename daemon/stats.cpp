// SPDX-License-Identifier: ISC
#include "daemon/stats.hpp"

#include "core/util/log.hpp"

#include <array>
#include <atomic>
#include <utility>

namespace mxd::stats {

namespace {

constexpr std::array<std::string_view, k_counter_count> k_keys{
    "control.session",     "control.trace.follower", "mda.envelope",     "mta.envelope",
    "mta.session",         "smtp.session",           "smtp.session.inet4", "smtp.session.inet6",
    "smtp.session.opened", "smtp.session.closed",    "smtp.smtps",       "smtp.tls",
    "smtp.message",        "smtp.auth.ok",           "smtp.auth.failed",
};

std::array<std::atomic<std::int64_t>, k_counter_count> g_values{};

} // namespace

std::string_view key(Counter counter) { return k_keys[static_cast<std::size_t>(counter)]; }

void add(Counter counter, std::int64_t delta) {
    const auto now = g_values[static_cast<std::size_t>(counter)].fetch_add(delta, std::memory_order_relaxed) + delta;
    MXD_TRACE(core::Subsystem::stat, {}, delta >= 0 ? "increment" : "decrement",
              {{"key", key(counter)}, {"delta", delta}, {"value", now}});
}

std::int64_t value(Counter counter) {
    return g_values[static_cast<std::size_t>(counter)].load(std::memory_order_relaxed);
}

Held::Held(Counter counter, std::int64_t amount) : m_counter(counter), m_amount(amount) {
    add(m_counter, m_amount);
}

Held::~Held() {
    if (m_amount != 0) {
        add(m_counter, -m_amount);
    }
}

Held::Held(Held&& other) noexcept
    : m_counter(other.m_counter), m_amount(std::exchange(other.m_amount, 0)) {}

Held& Held::operator=(Held&& other) noexcept {
    if (this != &other) {
        if (m_amount != 0) {
            add(m_counter, -m_amount);
        }
        m_counter = other.m_counter;
        m_amount = std::exchange(other.m_amount, 0);
    }
    return *this;
}

} // namespace mxd::stats
