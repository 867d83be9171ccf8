// SPDX-License-Identifier: ISC
#pragma once

#include "daemon/scheduler/scheduler.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mxd {
struct RuntimeState;
class Workers;
} // namespace mxd

// The delivery agents the scheduler calls: the relay (mta) for `relay` actions and the local
// delivery (mda) for everything else, each mapping its result to a scheduler::Outcome.
namespace mxd::scheduler {

// What the relay client has done on one route, for `mxctl show relays`: an action and its
// relay host, or an action and the destination domain it delivers to by MX.
struct RelayRoute {
    std::string action;
    std::string destination;        // the host URL, or the domain
    std::size_t active = 0;         // transactions in progress
    std::size_t idle = 0;           // connections open, waiting for the next message
    std::uint64_t connections = 0;  // connections opened since start
    std::uint64_t messages = 0;     // attempts made since start, whatever their outcome
    std::int64_t last_connection = 0; // unix time of the last connection opened; 0: none
    std::int64_t last_attempt = 0;    // unix time of the last attempt's end; 0: none
    std::string last_error;           // the last attempt's error; "" when it was delivered
};

// A network route of the relay client, for `mxctl show routes` (OpenSMTPD's mta routes): a
// source address (the `src` bound, or none) and a destination address and port.
struct NetworkRoute {
    std::uint64_t id = 0;          // 1, 2, ... in the order of first use
    std::string source;            // the `src` address bound; "" when the kernel chose
    std::string local;             // the local address of the last connection; "" if none
    std::string address;           // destination IP address, or the UNIX socket path
    std::uint16_t port = 0;
    std::string host;              // the destination's name (MX or relay host); "" if none
    std::size_t active = 0;        // connections carrying a transaction now
    std::size_t idle = 0;          // connections open, waiting for the next message
    std::uint64_t connections = 0; // connections opened since start
    std::uint64_t errors = 0;      // connections that failed or were lost since start
    std::uint64_t penalty = 0;     // failures since the last connection that worked
    std::int64_t last_used = 0;    // unix time of the last connection attempt or transaction
    std::string last_error;        // the last failure; "" when the last connection worked
};

// The relay agent's routes and its cache of open connections. Event loop only.
class RelayActivity {
  public:
    RelayActivity();
    ~RelayActivity();
    RelayActivity(const RelayActivity&) = delete;
    RelayActivity& operator=(const RelayActivity&) = delete;
    // Every route used since start, by action then destination.
    std::vector<RelayRoute> routes() const;
    // The network routes with a connection open, or used in the last 4 hours, by id.
    std::vector<NetworkRoute> network_routes() const;

    struct Impl;
    Impl& impl() { return *m_impl; }

  private:
    std::unique_ptr<Impl> m_impl;
};

// Relays the envelopes of a `relay` action: to the action's `host` URL, else to the MX hosts
// of the recipient's domain (RFC 5321 5.1, with the implicit MX). The envelopes of a message
// the scheduler gathers (same action, and same host or domain) go in one transaction, each
// with its own outcome. DNS failures and unreachable hosts are temporary; a domain that does
// not exist or a null MX (RFC 7505) is permanent.
// `activity` records what it does and holds its open connections.
RelayAgent make_relay_agent(RuntimeState& state, std::shared_ptr<RelayActivity> activity);

// Delivers an envelope of a local action (mbox, maildir, mda, lmtp) or a `|command` or
// `/file` destination from a table, as the recipient's user.
// Fails when the daemon's own executable cannot be opened for the delivery children.
core::Result<Deliver> make_local_agent(RuntimeState& state, Workers& workers);

// Routes the recipient of a bounce through the rules as mail from this machine.
RouteBounce make_bounce_router(RuntimeState& state);

} // namespace mxd::scheduler
