// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"
#include "daemon/mda/spawn.hpp"

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>

// Delivery children started by the privileged process (daemon/privileged/privileged.hpp) when
// the daemon gave up root: a request with the message's descriptor goes over the link's
// socket; the reply brings the child's output pipe; a later record its exit status.
namespace mxd::mda::remote {

class Launcher : public std::enable_shared_from_this<Launcher> {
  public:
    // `socket` is the link's delivery socket, which the link owns.
    explicit Launcher(int socket) : m_socket(socket) {}

    // Has the privileged process start `spec` with `stdin_fd` as its stdin, then waits for it
    // as spawn::wait does (output, timeout, kill). An error when the request is refused or the
    // process is gone (a temporary failure for the caller).
    asio::awaitable<core::Result<spawn::Ending>> run(const spawn::ChildSpec& spec, int stdin_fd,
                                                     std::chrono::seconds timeout);

  private:
    struct Slot;
    class RemoteExit;
    friend class RemoteExit;

    asio::awaitable<void> read_records(std::shared_ptr<Launcher> self);
    void gone(const std::string& why);
    void kill(std::uint64_t id);

    int m_socket;
    bool m_reading = false;
    bool m_gone = false;
    std::uint64_t m_next_id = 1;
    std::map<std::uint64_t, std::shared_ptr<Slot>> m_slots;
};

} // namespace mxd::mda::remote
