// SPDX-License-Identifier: ISC
#pragma once

#include "core/config/config.hpp"
#include "core/mta/relay_url.hpp"
#include "daemon/mta/client.hpp"

#include <optional>
#include <string>
#include <vector>

// What the scheduler needs around Client: the options of a relay action, endpoints that need
// no DNS, and one call that sends a batch of messages to one host over one connection.
namespace mxd::mta {

// Builds again, from their files, the TLS contexts that options_for() keeps for reuse, so that
// relays after a reload use renewed certificates and CA files. A context whose files cannot be
// read now (a key only root may read, once mxd runs as _mxd) keeps the one loaded before; the
// returned notes name its files. Blocking: call it on a worker.
std::vector<std::string> refresh_tls_contexts();

// The session options of `action` relaying to `url` (for MX delivery, pass a default RelayUrl,
// which is smtp://): protocol, TLS mode and verification from the scheme and the action's
// `tls`, `helo`, and a TLS context from its `ca`, `pki` and `ciphers`. Credentials (the auth
// table entry of url.label) and the source address (`src`) are table lookups the caller does
// on a worker and fills in. Errc::config for an undefined ca or pki, Errc::tls when OpenSSL
// refuses a file.
core::Result<Options> options_for(const core::config::Config& config,
                                  const core::config::Action& action,
                                  const core::mta::RelayUrl& url);

// The endpoint of a URL that needs no resolver: a UNIX socket path or an IP address; nullopt
// for a host name.
std::optional<Endpoint> literal_endpoint(const core::mta::RelayUrl& url);

// Every recipient's status when no endpoint could be reached: temporary, 421 with 4.7.0 for
// a TLS failure and 4.4.1 otherwise, and the connection error as text.
Status connect_failure_status(const core::Error& error);

// Connects to the first endpoint that works, sends the messages one after the other over that
// connection, and quits. Returns one result list per message, in order. When the connection
// fails, or is lost on the way, the messages not sent get a temporary status for each
// recipient.
asio::awaitable<std::vector<std::vector<RecipientResult>>>
relay(std::vector<Endpoint> endpoints, Options options, std::vector<Message> messages);

} // namespace mxd::mta
