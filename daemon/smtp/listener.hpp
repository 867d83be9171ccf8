// SPDX-License-Identifier: ISC
#pragma once

#include "core/config/config.hpp"
#include "core/util/result.hpp"
#include "daemon/state.hpp"

#include <memory>
#include <vector>

namespace asio {
class io_context;
}

namespace mxd {
class Workers;
}

// The SMTP listening sockets of the configuration's `listen on` statements.
namespace mxd::smtp {

// Resolves a `listen on` target to the IP addresses to bind, without DNS: an address literal,
// `localhost` (127.0.0.1 and ::1), or a network interface's addresses. Errc::not_found for a
// name that is none of these.
core::Result<std::vector<std::string>> listen_addresses(const core::config::Listener& listener);

class Listeners {
public:
    explicit Listeners(asio::io_context& io);
    ~Listeners();
    Listeners(const Listeners&) = delete;
    Listeners& operator=(const Listeners&) = delete;

    // Binds every inet listener (port 0 gets a free port). Fails with the first address that
    // cannot be bound; an IPv6 address of `localhost` on a host without IPv6 is skipped.
    core::Result<std::vector<BoundListener>> open(const std::vector<core::config::Listener>& listeners);

    // Loads the TLS certificates of the listeners that need them; fails naming the file.
    core::Result<void> load_tls(const core::config::Config& config);

    // Starts accepting; each client gets an SMTP session under `state`'s configuration.
    void start(RuntimeState& state, Workers& workers);

    // Closes every listening socket.
    void close();

private:
    struct Impl;
    std::shared_ptr<Impl> m_impl;
};

} // namespace mxd::smtp
