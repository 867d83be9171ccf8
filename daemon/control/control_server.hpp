// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"
#include "daemon/state.hpp"

#include <filesystem>
#include <memory>

namespace asio {
class io_context;
}

namespace mxd {
class Workers;
}

// The control socket (DESIGN "Control protocol"): a Unix stream socket that speaks
// newline-delimited JSON, with access levels from SO_PEERCRED and limits on line length,
// clients and idle time.
namespace mxd::control {

class ControlServer {
public:
    ControlServer(asio::io_context& io, RuntimeState& state, Workers& workers);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Binds the socket at `path` (mode 0666: access is decided per peer). Errc::busy when a
    // daemon already answers there; a stale socket file is replaced.
    core::Result<void> open(const std::filesystem::path& path);

    // Starts accepting clients on the event loop.
    void start();

    // Stops accepting, closes every client and removes the socket file.
    void close();

private:
    struct Impl;
    std::shared_ptr<Impl> m_impl;
};

} // namespace mxd::control
