// SPDX-License-Identifier: ISC
#pragma once

#include "core/protocol/message.hpp"
#include "core/protocol/framing.hpp"
#include "core/util/fd.hpp"
#include "core/util/result.hpp"

#include <filesystem>
#include <functional>

// mxctl's side of the control socket: a blocking client that connects, checks the daemon's
// hello, sends requests and reads replies.
namespace mxctl {

// Why a connection failed, for the exit status: the daemon is down, access to the socket was
// denied, or it speaks another protocol version.
enum class ConnectFailure { unreachable, permission_denied, protocol };

struct ConnectError {
    ConnectFailure kind;
    std::string message;
};

class Client {
public:
    // Connects and reads the hello. On failure `error` says why.
    static std::optional<Client> connect(const std::filesystem::path& socket, ConnectError& error);

    // Sends a request and returns the final reply; stream items go to `on_item` in order, or,
    // when `on_item_text` is set, each item's JSON text as the daemon wrote it, unparsed (for
    // -j, which prints it as is). Errc::io when the connection fails or times out, Errc::parse
    // on a garbled reply.
    core::Result<core::protocol::Frame> call(const std::string& cmd, const nlohmann::json& args,
                                             const std::function<void(const nlohmann::json&)>& on_item = {},
                                             const std::function<void(std::string_view)>& on_item_text = {});

    // The daemon's hello object ({"protocol", "version", "node"}).
    const nlohmann::json& hello() const { return m_hello; }

    // Waits for each reply line without a deadline: for streams that run until interrupted
    // (trace --follow, monitor), which may be silent for long.
    void wait_forever() { m_wait_forever = true; }

private:
    explicit Client(core::UniqueFd fd);
    core::Result<std::string> read_line();

    core::UniqueFd m_fd;
    core::protocol::LineBuffer m_lines;
    nlohmann::json m_hello;
    std::int64_t m_next_id = 1;
    bool m_wait_forever = false;
};

} // namespace mxctl
