// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

// resolv.conf(5) as glibc reads it, for the parts mxd uses: `nameserver` and
// `options timeout:N attempts:N`. `domain`, `search`, `sortlist` and other options are
// ignored: mxd only looks up fully qualified names.
namespace core::dns {

inline constexpr char k_resolv_conf_path[] = "/etc/resolv.conf";
// glibc MAXNS: later nameserver lines are ignored.
inline constexpr std::size_t k_nameservers_max = 3;
// glibc RES_MAXRETRANS and RES_MAXRETRY cap the options at these values.
inline constexpr std::chrono::seconds k_timeout_max{30};
inline constexpr int k_attempts_max = 5;
// A resolv.conf larger than this is refused (it is a few lines in practice).
inline constexpr std::size_t k_resolv_conf_size_max = 64 * 1024;

// A server: an IPv4 or IPv6 address in text form (an IPv6 one may carry a "%scope") and a
// port, which only mxd's extension sets to other than 53.
struct Nameserver {
    std::string address;
    std::uint16_t port = 53;
    bool operator==(const Nameserver&) const = default;
    // "192.0.2.1:53" or "[2001:db8::1]:53".
    std::string to_string() const;
};

struct ResolvConf {
    // Never empty after parsing: 127.0.0.1:53 when the file names none, as glibc does.
    std::vector<Nameserver> nameservers;
    // Per try. mxd's default is 2 s, not glibc's 5 s: a lookup has an overall deadline of a
    // few seconds, and a 5 s try would leave no room for a second server.
    std::chrono::seconds timeout{2};
    // Rounds over all nameservers.
    int attempts = 2;
    // Lines that were ignored, "line 3: ...", for the daemon to log.
    std::vector<std::string> warnings;
};

// Parses resolv.conf text. Never fails: like glibc, it skips lines it cannot use, and says
// which in `warnings`. Beyond glibc, mxd accepts a port, so that tests can use a server that
// is not on port 53: `nameserver 127.0.0.1:5353`, `nameserver [::1]:5353`. Options are clamped
// to 1..30 seconds and 1..5 attempts.
ResolvConf parse_resolv_conf(std::string_view text);

// Reads and parses a file. A missing file gives the defaults, as with glibc; another read
// failure is returned (Errc::io, Errc::permission_denied), and a file over
// k_resolv_conf_size_max is Errc::invalid_argument.
Result<ResolvConf> load_resolv_conf(const std::filesystem::path& path);

} // namespace core::dns
