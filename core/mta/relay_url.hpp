// SPDX-License-Identifier: ISC
#pragma once

#include "core/config/config.hpp"
#include "core/util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

// Where a relay action sends mail: the relay URL of smtpd.conf(5) `host`
// (`[proto://[label@]]host[:port]`) and the destination of the `lmtp` delivery method
// (`host[:port]` or a UNIX socket path). No I/O: host names are resolved by the caller.
namespace core::mta {

// The protocols of smtpd.conf(5) relay URLs.
enum class Scheme { smtp, smtp_tls, smtp_notls, smtps, lmtp };

// How a session uses TLS: STARTTLS when offered, STARTTLS or fail, never, or from the first
// byte (smtps).
enum class TlsMode { opportunistic, required, none, implicit };

// Whether the server's certificate must verify (chain and host name).
enum class Verify { yes, no };

// A parsed relay URL or LMTP destination.
struct RelayUrl {
    Scheme scheme = Scheme::smtp;
    std::string label;       // names the credentials in the action's auth table; may be empty
    std::string host;        // host name, IPv4 or IPv6 address (no brackets); empty for a socket
    std::uint16_t port = 25; // the given port, or the scheme's default
    bool port_given = false;
    std::string socket_path; // LMTP over a UNIX socket (`lmtp /path`); host is then empty

    // True for LMTP, over TCP or a UNIX socket.
    bool lmtp() const { return scheme == Scheme::lmtp; }
    // The canonical text: "smtp+tls://label@host:port", "lmtp:///path" for a socket.
    std::string to_string() const;
    bool operator==(const RelayUrl&) const = default;
};

// The port a scheme uses when the URL gives none: 25, 465 for smtps, 24 for lmtp.
std::uint16_t default_port(Scheme scheme);

// The scheme's name as written in a URL ("smtp+tls").
std::string_view scheme_name(Scheme scheme);

// Parses `[proto://[label@]]host[:port]`: proto one of smtp, smtp+tls, smtp+notls, smtps,
// lmtp (default smtp); host a name, an IPv4 address or a bracketed IPv6 address. Fails with
// Errc::parse and a reason ("unknown scheme 'x'", "invalid port", ...).
Result<RelayUrl> parse_relay_url(std::string_view text);

// Parses the destination of the `lmtp` delivery method: an absolute UNIX socket path, or
// `host[:port]` (port 24 by default). Fails with Errc::parse like parse_relay_url.
Result<RelayUrl> parse_lmtp_destination(std::string_view text);

// What TLS a session to `scheme` uses, given the action's `tls` option (default_ when the
// action has none; smtpd.conf(5)):
// smtp:// is opportunistic and unverified unless the action says `tls`, smtp+tls:// and
// smtps:// verify unless `tls no-verify`, smtp+notls:// and lmtp:// never use TLS.
struct TlsPolicy {
    TlsMode mode = TlsMode::opportunistic;
    Verify verify = Verify::no;
    bool operator==(const TlsPolicy&) const = default;
};
TlsPolicy tls_policy(Scheme scheme, config::Action::RelayTls tls);

// A relay login: the value of a credentials table entry (table(5): `label user:password`).
struct Credentials {
    std::string username;
    std::string password;
};

// Splits a credentials value at its first ':'. Fails with Errc::parse when the user name or
// the password is empty; the message never contains the password.
Result<Credentials> parse_credentials(std::string_view value);

} // namespace core::mta
