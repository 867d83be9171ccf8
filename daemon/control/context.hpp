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
    // Adds one `item` line of a stream to the connection's buffer, and when that holds more
    // than 64 KiB writes it and waits until the socket took it (backpressure); false when the
    // client went away and the handler should stop. The buffer is also written before the
    // final reply.
    std::function<asio::awaitable<bool>(const nlohmann::json&)> emit;
    // Like emit, for an item already written as JSON text: one object, the bytes nlohmann's
    // dump would write for it. A long listing saves building a json object per item.
    std::function<asio::awaitable<bool>(std::string_view)> emit_text;
    // Writes what emit buffered and waits until the socket took it; false when the client went
    // away. A stream calls it before it waits for anything else (a worker, a timer, traces), so
    // that what it produced reaches the client at once.
    std::function<asio::awaitable<bool>()> flush;
    ConnectionState& connection;
    // Completes when the client closes its end or sends more: a stream that runs until it is
    // interrupted (trace --follow, monitor) stops then. Never fails.
    std::function<asio::awaitable<void>()> until_closed = {};
};

} // namespace mxd::control
