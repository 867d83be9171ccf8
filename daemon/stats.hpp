// SPDX-License-Identifier: ISC
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

// The daemon's live counters, bumped where things happen, as OpenSMTPD's stat_increment and
// stat_decrement are; `show stats` and `monitor` read them together with the scheduler's and
// the queue's counts. Atomic (relaxed): any thread may bump them. Each change is a trace line
// of the `stat` subsystem when that is traced or followed.
namespace mxd::stats {

enum class Counter : std::size_t {
    control_session,         // gauge: control clients connected
    control_trace_follower,  // gauge: trace --follow clients
    mda_envelope,            // gauge: local deliveries running
    mta_envelope,            // gauge: envelopes being relayed
    mta_session,             // gauge: outgoing connections
    smtp_session,            // gauge: incoming sessions
    smtp_session_inet4,      // gauge
    smtp_session_inet6,      // gauge
    smtp_session_opened,     // counter
    smtp_session_closed,     // counter
    smtp_smtps,              // gauge: sessions on an smtps listener
    smtp_tls,                // gauge: sessions in TLS after STARTTLS
    smtp_message,            // counter: messages accepted
    smtp_auth_ok,            // counter
    smtp_auth_failed,        // counter
};

inline constexpr std::size_t k_counter_count = static_cast<std::size_t>(Counter::smtp_auth_failed) + 1;

// The `show stats` key of a counter ("smtp.session.inet4").
std::string_view key(Counter counter);

// Adds `delta` (negative for a gauge going down). Never fails.
void add(Counter counter, std::int64_t delta = 1);

// The current value.
std::int64_t value(Counter counter);

// Holds a gauge one higher for its lifetime (a session, a delivery). Movable, not copyable.
class Held {
public:
    Held() = default;
    explicit Held(Counter counter, std::int64_t amount = 1);
    ~Held();
    Held(Held&& other) noexcept;
    Held& operator=(Held&& other) noexcept;
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;

private:
    Counter m_counter = Counter::control_session;
    std::int64_t m_amount = 0;
};

} // namespace mxd::stats
