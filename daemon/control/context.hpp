// SPDX-License-Identifier: ISC
#pragma once

#include "daemon/control/peer.hpp"
#include "daemon/state.hpp"
#include "daemon/workers.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

namespace mxd::control {

// What a connection keeps from one request to the next: the chunks of a `submit` so far.
// It goes with the connection.
struct ConnectionState {
    std::string submit_data;
};

// What a handler gets besides its arguments: the daemon, the caller, the worker pool for
// blocking work, and, for stream commands, a way to send items as they are produced.
struct Context {
    RuntimeState& state;
    const Peer& peer;
    Workers& workers;
    // Sends one `item` line of a stream and waits until the socket took it (backpressure);
    // false when the client went away and the handler should stop.
    std::function<asio::awaitable<bool>(const nlohmann::json&)> emit;
    ConnectionState& connection;
    // Completes when the client closes its end or sends more: a stream that runs until it is
    // interrupted (trace --follow, monitor) stops then. Never fails.
    std::function<asio::awaitable<void>()> until_closed = {};
};

} // namespace mxd::control
