// SPDX-License-Identifier: ISC
#pragma once

#include "core/protocol/message.hpp"
#include "core/util/result.hpp"
#include "daemon/control/context.hpp"

// Routes a control request to its handler, after checking the command exists, runs in the
// daemon, is allowed to the peer, and has well-typed arguments.
namespace mxd::control {

// The result object of a command, or the error to send back. Stream commands send their items
// through context.emit before the result.
asio::awaitable<core::Result<nlohmann::json>> dispatch(Context& context, const core::protocol::Request& request);

} // namespace mxd::control
