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

class ServerTls;

// The TLS context of each `listen on` statement of `config` that needs one (null for the
// others), in statement order. Blocking (reads certificates); fails naming the file.
core::Result<std::vector<std::shared_ptr<ServerTls>>> load_tls(const core::config::Config& config);

class Listeners {
public:
    explicit Listeners(asio::io_context& io);
    ~Listeners();
    Listeners(const Listeners&) = delete;
    Listeners& operator=(const Listeners&) = delete;

    // Binds every inet listener of `generation` (port 0 gets a free port) with its TLS context
    // (from load_tls). Fails with the first address that cannot be bound; an IPv6 address of
    // `localhost` on a host without IPv6 is skipped.
    core::Result<std::vector<BoundListener>> open(std::shared_ptr<const Generation> generation,
                                                  std::vector<std::shared_ptr<ServerTls>> tls);

    // Starts accepting; each client gets an SMTP session under the generation of open(). Its
    // blocking lookups run on `workers`, its password checks on `password_checks`.
    void start(RuntimeState& state, Workers& workers, Workers& password_checks);

    // Moves to a reloaded configuration: a socket whose address and port are still configured
    // stays open and its next sessions run under `generation`; the others close (their
    // sessions finish under the old one); new ones are bound and started. On a bind failure
    // nothing changes and the error is returned. Event loop only, after start().
    core::Result<std::vector<BoundListener>> reload(std::shared_ptr<const Generation> generation,
                                                    std::vector<std::shared_ptr<ServerTls>> tls);

    // Closes every listening socket.
    void close();

private:
    struct Impl;
    std::shared_ptr<Impl> m_impl;
};

} // namespace mxd::smtp
