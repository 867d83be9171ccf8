// SPDX-License-Identifier: ISC
#pragma once

#include "daemon/control/peer.hpp"
#include "daemon/state.hpp"
#include "daemon/workers.hpp"

#include <nlohmann/json.hpp>

#include <functional>

namespace mxd::control {

// What a handler gets besides its arguments: the daemon, the caller, the worker pool for
// blocking work, and, for stream commands, a way to send items as they are produced.
struct Context {
    RuntimeState& state;
    const Peer& peer;
    Workers& workers;
    // Sends one `item` line of a stream and waits until the socket took it (backpressure);
    // false when the client went away and the handler should stop.
    std::function<asio::awaitable<bool>(const nlohmann::json&)> emit;
};

} // namespace mxd::control
