// SPDX-License-Identifier: ISC
#include "core/queue/ids.hpp"

#include <pthread.h>
#include <sys/random.h>

#include <array>
#include <charconv>
#include <cstdio>

namespace core::queue {

namespace {

// 64 bits from the kernel's CSPRNG, read 32 values at a time: an id is taken for every session,
// message and envelope, and one getrandom(2) each was a visible share of ingest's system calls.
// The buffer is per thread, so no lock; a value is never handed out twice.
constexpr std::size_t k_random_values = 32;
thread_local std::array<std::uint64_t, k_random_values> t_random{};
thread_local std::size_t t_random_next = k_random_values;

std::uint64_t random_bits() {
    // A forked child (the daemon detaching, the privileged process) must not hand out the
    // values its parent still holds: it starts with an empty buffer.
    static const int registered = ::pthread_atfork(nullptr, nullptr, [] { t_random_next = k_random_values; });
    (void)registered;
    auto& buffer = t_random;
    auto& next = t_random_next;
    if (next == k_random_values) {
        // getrandom(2) on up to 256 bytes never returns short once the pool is initialised.
        while (::getrandom(buffer.data(), sizeof buffer, 0) != static_cast<ssize_t>(sizeof buffer)) {
        }
        next = 0;
    }
    const std::uint64_t value = buffer[next];
    buffer[next++] = 0; // not kept in memory once used
    return value;
}

template <typename T> std::optional<T> parse_hex(std::string_view text, std::size_t digits) {
    if (text.size() != digits) {
        return std::nullopt;
    }
    T value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    if (ec != std::errc{} || ptr != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

} // namespace

std::string MsgId::hex() const {
    char buffer[9];
    std::snprintf(buffer, sizeof buffer, "%08x", m_value);
    return buffer;
}

std::optional<MsgId> MsgId::parse(std::string_view text) {
    const auto value = parse_hex<std::uint32_t>(text, 8);
    if (!value || *value == 0) {
        return std::nullopt;
    }
    return MsgId(*value);
}

MsgId MsgId::random() {
    for (;;) {
        if (const auto v = static_cast<std::uint32_t>(random_bits()); v != 0) {
            return MsgId(v);
        }
    }
}

std::string EvpId::hex() const {
    char buffer[17];
    std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(m_value));
    return buffer;
}

std::optional<EvpId> EvpId::parse(std::string_view text) {
    const auto value = parse_hex<std::uint64_t>(text, 16);
    if (!value || (*value >> 32) == 0 || (*value & 0xffffffffu) == 0) {
        return std::nullopt;
    }
    return EvpId(*value);
}

EvpId EvpId::random(MsgId msgid) {
    for (;;) {
        if (const auto low = static_cast<std::uint32_t>(random_bits()); low != 0) {
            return EvpId((static_cast<std::uint64_t>(msgid.value()) << 32) | low);
        }
    }
}

} // namespace core::queue
