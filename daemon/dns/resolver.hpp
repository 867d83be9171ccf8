// SPDX-License-Identifier: ISC
#pragma once

#include "core/dns/message.hpp"
#include "core/dns/resolv_conf.hpp"
#include "core/util/result.hpp"

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// mxd's stub resolver: asynchronous and bounded in time, so that a dead or slow nameserver
// never stalls an SMTP session or the event loop (OpenSMTPD fell under 4 messages/s when its
// lookups waited on a dead resolver). No getaddrinfo, no blocking socket, no worker thread.
//
// Usage, from a coroutine on the daemon's io_context:
//
//     mxd::dns::Resolver resolver = mxd::dns::Resolver::from_system(io.get_executor());
//     auto hosts = co_await resolver.mx("example.org");      // sorted by preference
//     auto name = co_await resolver.forward_confirmed(peer);  // FCrDNS, for Received: lines
//
// Errors, the same for every lookup:
//   - Errc::not_found: the name does not exist (NXDOMAIN). A permanent answer.
//   - success with an empty vector: the name exists but has no record of that type (NODATA).
//   - Errc::temp_failure: SERVFAIL or REFUSED from every server, timeouts, unreachable
//     servers, malformed or looping answers, or the overall deadline. Try again later.
//   - Errc::invalid_argument: the name cannot be asked for (see core::dns::make_query).
//
// Configuration: /etc/resolv.conf, or the file named by the environment variable
// MXD_RESOLV_CONF (used by tests), read once by from_system(). `nameserver` lines (at most 3,
// tried in turn; mxd also accepts `nameserver 127.0.0.1:5353` and `nameserver [::1]:5353`),
// `options timeout:N` (per try, default 2 s) and `options attempts:N` (rounds over the
// servers, default 2). See core/dns/resolv_conf.hpp.
//
// Each query goes over UDP from a fresh socket (so a fresh kernel-chosen random source port)
// with a random id; a reply counts only if it comes from the server asked, with the same id
// and question. A truncated reply (TC) is asked again over TCP. Whatever the configuration,
// each public lookup ends within the resolver's deadline (default k_lookup_deadline).
//
// Threads: the sockets and timers of lookups live on the resolver's executor, and lookups are
// awaited from coroutines on it; one thread runs it (the daemon's io_context), or it is a
// strand. Lookups only share the configuration, so any number
// can run at once, and the Resolver object may be destroyed while they run.
namespace mxd::dns {

// The upper bound of one public lookup, all servers, tries and the TCP fallback included.
inline constexpr std::chrono::milliseconds k_lookup_deadline{5000};
// forward_confirmed() checks at most this many of the names a PTR lookup gives.
inline constexpr std::size_t k_fcrdns_names_max = 5;

// A mail exchanger (RFC 5321 5.1). An exchange of "." is a null MX (RFC 7505): the domain
// accepts no mail.
struct MxHost {
    std::uint16_t preference = 0;
    std::string exchange;
    bool operator==(const MxHost&) const = default;
};

class Resolver {
  public:
    // A resolver that uses `conf` (its warnings are not logged here) and bounds each lookup by
    // `deadline`.
    Resolver(asio::any_io_executor executor, core::dns::ResolvConf conf,
             std::chrono::milliseconds deadline = k_lookup_deadline);

    // A resolver configured from $MXD_RESOLV_CONF, else /etc/resolv.conf. Reads the file
    // synchronously, so call it at start-up. Logs the lines it ignored; an unreadable file
    // is logged and gives the defaults (127.0.0.1:53), as glibc does.
    static Resolver from_system(asio::any_io_executor executor);

    // The configuration in use.
    const core::dns::ResolvConf& conf() const;

    // The IPv4 and IPv6 addresses of `name` (A and AAAA, asked at once), IPv4 first. When one
    // family fails temporarily and the other has addresses, those are returned; not_found
    // only when both say NXDOMAIN. CNAMEs are followed within the answers.
    asio::awaitable<core::Result<std::vector<asio::ip::address>>> addresses(std::string name) const;

    // The names that a PTR lookup gives for `address` (an IPv4-mapped IPv6 address is looked
    // up as IPv4), in the server's order. The names come escaped as core::dns::parse_response
    // says; they are not verified: see forward_confirmed() before trusting one.
    asio::awaitable<core::Result<std::vector<std::string>>> ptr(asio::ip::address address) const;

    // The mail exchangers of `domain`, sorted by preference (stable among equal ones). An
    // empty vector when the domain has no MX records, in which case RFC 5321 5.1 says to use
    // its address records.
    asio::awaitable<core::Result<std::vector<MxHost>>> mx(std::string domain) const;

    // Forward-confirmed reverse DNS (FCrDNS, RFC 8601 2.7.3 "iprev"): looks up the PTR names
    // of `address`, then the A (or AAAA) records of at most k_fcrdns_names_max of them at
    // once, and returns the first name, in PTR order, whose addresses include `address`.
    // nullopt when no name confirms, including when there is no PTR record (NXDOMAIN or
    // NODATA). temp_failure when the PTR lookup fails temporarily, or when no name confirms
    // and one of the forward lookups failed temporarily.
    asio::awaitable<core::Result<std::optional<std::string>>>
    forward_confirmed(asio::ip::address address) const;

    // The records of `type` for `name`, CNAMEs followed: the building block of the lookups
    // above, for callers that need another type.
    asio::awaitable<core::Result<std::vector<core::dns::RData>>>
    records(std::string name, core::dns::RecordType type) const;

    // What running lookups share with the Resolver (defined in resolver.cpp).
    struct Shared;

  private:
    std::shared_ptr<const Shared> m_shared;
};

} // namespace mxd::dns
