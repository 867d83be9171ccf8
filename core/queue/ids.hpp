// SPDX-License-Identifier: ISC
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Queue ids as OpenSMTPD has them: a 32-bit message id, printed as 8 hex digits, and a
// 64-bit envelope id whose top half is its message's id, printed as 16 hex digits.
namespace core::queue {

class MsgId {
public:
    constexpr MsgId() = default;
    constexpr explicit MsgId(std::uint32_t value) : m_value(value) {}
    constexpr std::uint32_t value() const { return m_value; }
    constexpr bool valid() const { return m_value != 0; }
    // "0c1d2e3f".
    std::string hex() const;
    // Exactly 8 hex digits, not zero; nullopt otherwise.
    static std::optional<MsgId> parse(std::string_view text);
    // A random, non-zero id (from the kernel's CSPRNG).
    static MsgId random();
    constexpr auto operator<=>(const MsgId&) const = default;

private:
    std::uint32_t m_value = 0;
};

class EvpId {
public:
    constexpr EvpId() = default;
    constexpr explicit EvpId(std::uint64_t value) : m_value(value) {}
    constexpr std::uint64_t value() const { return m_value; }
    constexpr bool valid() const { return m_value != 0; }
    // The message this envelope belongs to (OpenSMTPD evpid_to_msgid).
    constexpr MsgId msgid() const { return MsgId(static_cast<std::uint32_t>(m_value >> 32)); }
    // "0c1d2e3f4a5b6c7d".
    std::string hex() const;
    // Exactly 16 hex digits whose halves are both non-zero; nullopt otherwise.
    static std::optional<EvpId> parse(std::string_view text);
    // A new envelope id of `msgid`, with a random non-zero low half.
    static EvpId random(MsgId msgid);
    constexpr auto operator<=>(const EvpId&) const = default;

private:
    std::uint64_t m_value = 0;
};

} // namespace core::queue
