// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"
#include "daemon/state.hpp"

#include <memory>

// The running daemon: owns the event loop, the spool lock, the control socket, the listeners
// and the signal handling, and the lifetimes of the subsystems.
namespace mxd {

class Server {
public:
    explicit Server(RuntimeState& state);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Creates and locks the spool, opens the control socket and binds the listeners. Fails
    // with Errc::busy when another mxd holds the spool or the socket.
    core::Result<void> open();

    // Serves until SIGTERM, SIGINT or `mxctl stop`; returns the exit status.
    int run();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// mxd's main(): parses argv, checks or loads the configuration, and serves.
int run(int argc, char** argv);

} // namespace mxd
