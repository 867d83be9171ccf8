// SPDX-License-Identifier: ISC
#pragma once

#include "core/config/config.hpp"
#include "core/rules/ruleset.hpp"
#include "daemon/smtp/tls.hpp"
#include "daemon/state.hpp"
#include "daemon/workers.hpp"

#include <asio.hpp>

#include <memory>
#include <string>

// One SMTP server session (OpenSMTPD smtp_session.c): the ESMTP dialogue of RFC 5321 with
// PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES and DSN, rules checked at RCPT, and the
// message committed to the queue before the 250 that ends DATA.
namespace mxd::smtp {

// What every session of a listener shares.
struct SessionEnvironment {
    RuntimeState& state;
    std::shared_ptr<const Generation> generation;  // the configuration the session runs under
    const core::config::Listener& listener;        // in generation's configuration
    std::string hostname;                 // the name in the greeting and Received lines
    std::set<std::string> local_names;    // domains that `for local` matches
    std::shared_ptr<ServerTls> tls;       // for `tls`, `tls-require` and `smtps`; else null
    Workers& workers;                     // blocking lookups (tables, .forward) run there
    Workers& password_checks;             // AUTH's crypt(3) runs there, apart
};

// Serves one client until QUIT, a timeout, an error or shutdown. `peer` is the client's
// address as accept() gave it (asked once per connection). Never throws.
asio::awaitable<void> run_session(asio::ip::tcp::socket socket, asio::ip::address peer,
                                  std::shared_ptr<const SessionEnvironment> env);

} // namespace mxd::smtp
