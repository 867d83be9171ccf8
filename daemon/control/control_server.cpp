// SPDX-License-Identifier: ISC
#include "daemon/control/control_server.hpp"

#include "core/protocol/framing.hpp"
#include "core/protocol/message.hpp"
#include "core/protocol/redact.hpp"
#include "core/util/fd.hpp"
#include "core/util/limits.hpp"
#include "core/util/log.hpp"
#include "daemon/control/dispatch.hpp"
#include "daemon/control/peer.hpp"
#include "daemon/stats.hpp"
#include "daemon/workers.hpp"
#include "mxd_build_config.h"

#include <asio.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <set>

namespace mxd::control {

using asio::local::stream_protocol;
using core::Errc;
using Clock = std::chrono::steady_clock;

namespace {

// One connected client.
struct Connection {
    explicit Connection(stream_protocol::socket s) : socket(std::move(s)), idle_timer(socket.get_executor()) {}
    stream_protocol::socket socket;
    asio::steady_timer idle_timer;
    Clock::time_point deadline = Clock::now() + core::limits::k_control_idle_timeout;
    Peer peer;
    ConnectionState state;
    // Set while a request is handled: a client waiting for its reply, or reading a stream
    // that runs until interrupted, is not idle.
    bool busy = false;
    // Stream items not written yet: emit gathers them so that a long listing goes out in
    // large writes rather than one send() per item.
    std::string pending;
    stats::Held session{stats::Counter::control_session};
};

// Past this many buffered bytes, emit writes them: few large writes, memory stays bounded.
constexpr std::size_t k_stream_batch = 64 * 1024;

// Writes `conn`'s buffered stream items and waits until the socket took them; false when the
// client went away (the buffer is dropped then).
asio::awaitable<bool> write_pending(std::shared_ptr<Connection> conn) {
    if (conn->pending.empty()) {
        co_return true;
    }
    asio::error_code ec;
    co_await asio::async_write(conn->socket, asio::buffer(conn->pending),
                               asio::redirect_error(asio::use_awaitable, ec));
    conn->pending.clear();
    // A client that reads its stream is not idle.
    conn->deadline = Clock::now() + core::limits::k_control_idle_timeout;
    co_return !ec;
}

// Writes `conn`'s buffered stream items when they are past k_stream_batch; false when the
// client went away.
asio::awaitable<bool> write_if_full(std::shared_ptr<Connection> conn) {
    if (conn->pending.size() < k_stream_batch) {
        co_return true;
    }
    auto writing = write_pending(conn);
    co_return co_await std::move(writing);
}

// True when something accepts connections on `path`: another daemon owns it.
bool socket_answers(const std::filesystem::path& path) {
    core::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return false;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.string().copy(addr.sun_path, sizeof addr.sun_path - 1);
    return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

// Completes when the client's end has something to read: its close, or another request.
asio::awaitable<void> wait_readable(std::shared_ptr<Connection> conn) {
    asio::error_code ignored;
    co_await conn->socket.async_wait(stream_protocol::socket::wait_read,
                                     asio::redirect_error(asio::use_awaitable, ignored));
}

} // namespace

struct ControlServer::Impl : std::enable_shared_from_this<ControlServer::Impl> {
    Impl(asio::io_context& io_, RuntimeState& state_, Workers& workers_)
        : io(io_), state(state_), workers(workers_), acceptor(io_) {}

    asio::io_context& io;
    RuntimeState& state;
    Workers& workers;
    stream_protocol::acceptor acceptor;
    std::filesystem::path path;
    std::set<std::shared_ptr<Connection>> connections;
    std::map<uid_t, std::size_t> per_uid;
    bool closed = false;

    asio::awaitable<void> accept_loop();
    asio::awaitable<void> serve(std::shared_ptr<Connection> conn);
    asio::awaitable<void> watchdog(std::shared_ptr<Connection> conn);
    void refuse(stream_protocol::socket& socket, const std::string& why);
    void forget(const std::shared_ptr<Connection>& conn);
};

ControlServer::ControlServer(asio::io_context& io, RuntimeState& state, Workers& workers)
    : m_impl(std::make_shared<Impl>(io, state, workers)) {}

ControlServer::~ControlServer() { close(); }

core::Result<void> ControlServer::open(const std::filesystem::path& path) {
    if (path.string().size() >= sizeof(sockaddr_un::sun_path)) {
        return core::fail(Errc::invalid_argument, "control socket path is too long: " + path.string());
    }
    if (socket_answers(path)) {
        return core::fail(Errc::busy, "another mxd is already listening on " + path.string());
    }
    // A socket file nobody answers on is left over from a daemon that died: replace it.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return core::fail(core::Error::from_errno(errno, "unlink", path.string()));
    }
    asio::error_code ec;
    auto& acceptor = m_impl->acceptor;
    acceptor.open(stream_protocol(), ec);
    if (!ec) {
        acceptor.bind(stream_protocol::endpoint(path.string()), ec);
    }
    if (!ec) {
        acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        return core::fail(Errc::io, "cannot listen on " + path.string() + ": " + ec.message());
    }
    if (::chmod(path.c_str(), 0666) != 0) {
        return core::fail(core::Error::from_errno(errno, "chmod", path.string()));
    }
    m_impl->path = path;
    return {};
}

void ControlServer::start() {
    asio::co_spawn(m_impl->io, m_impl->accept_loop(), asio::detached);
}

void ControlServer::close() {
    auto& impl = *m_impl;
    if (impl.closed) {
        return;
    }
    impl.closed = true;
    asio::error_code ignored;
    if (impl.acceptor.is_open()) {
        static_cast<void>(impl.acceptor.close(ignored));
        static_cast<void>(::unlink(impl.path.c_str()));
    }
    for (const auto& conn : impl.connections) {
        static_cast<void>(conn->socket.close(ignored));
        conn->idle_timer.cancel();
    }
}

void ControlServer::Impl::refuse(stream_protocol::socket& socket, const std::string& why) {
    // Best effort and non-blocking: a client we refuse gets one error line if its buffer has
    // room, then the close.
    const auto line = core::protocol::encode_error(0, core::Error{Errc::busy, why});
    asio::error_code ignored;
    socket.non_blocking(true, ignored);
    static_cast<void>(socket.write_some(asio::buffer(line), ignored));
    static_cast<void>(socket.close(ignored));
}

void ControlServer::Impl::forget(const std::shared_ptr<Connection>& conn) {
    if (connections.erase(conn) > 0) {
        if (auto it = per_uid.find(conn->peer.uid); it != per_uid.end() && --it->second == 0) {
            per_uid.erase(it);
        }
    }
    asio::error_code ignored;
    static_cast<void>(conn->socket.close(ignored));
    conn->idle_timer.cancel();
}

asio::awaitable<void> ControlServer::Impl::accept_loop() {
    auto self = shared_from_this();
    while (!closed) {
        asio::error_code ec;
        auto socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            if (closed || ec == asio::error::operation_aborted) {
                co_return;
            }
            // EMFILE and friends: log, wait a little so as not to spin, and go on.
            core::log::warning("control", "accept-failed", {{"error", ec.message()}});
            asio::steady_timer pause(io, std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        auto conn = std::make_shared<Connection>(std::move(socket));
        if (!read_peer_credentials(conn->socket.native_handle(), conn->peer)) {
            refuse(conn->socket, "cannot read peer credentials");
            continue;
        }
        conn->peer.access = access_for(conn->peer, ::geteuid(), state.read_gids, state.admin_gids);
        if (connections.size() >= core::limits::k_control_clients_max) {
            core::log::warning("control", "refused", {{"uid", conn->peer.uid}, {"reason", "too many clients"}});
            refuse(conn->socket, "too many control clients (" +
                                     std::to_string(core::limits::k_control_clients_max) + ")");
            continue;
        }
        if (per_uid[conn->peer.uid] >= core::limits::k_control_clients_per_uid_max) {
            core::log::warning("control", "refused", {{"uid", conn->peer.uid}, {"reason", "too many clients for uid"}});
            refuse(conn->socket, "too many control clients for uid " + std::to_string(conn->peer.uid));
            continue;
        }
        ++per_uid[conn->peer.uid];
        connections.insert(conn);
        MXD_TRACE(core::Subsystem::control, {}, "connect",
                  {{"uid", conn->peer.uid}, {"pid", conn->peer.pid},
                   {"access", core::protocol::access_name(conn->peer.access)}});
        asio::co_spawn(io, watchdog(conn), asio::detached);
        asio::co_spawn(io, serve(conn), asio::detached);
    }
}

asio::awaitable<void> ControlServer::Impl::watchdog(std::shared_ptr<Connection> conn) {
    auto self = shared_from_this();
    while (conn->socket.is_open()) {
        conn->idle_timer.expires_at(conn->deadline);
        asio::error_code ec;
        co_await conn->idle_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!conn->socket.is_open()) {
            co_return;
        }
        if (Clock::now() >= conn->deadline && conn->busy) {
            conn->deadline = Clock::now() + core::limits::k_control_idle_timeout;
            continue;
        }
        if (Clock::now() >= conn->deadline) {
            MXD_TRACE(core::Subsystem::control, {}, "idle-close", {{"uid", conn->peer.uid}});
            forget(conn);
            co_return;
        }
    }
}

asio::awaitable<void> ControlServer::Impl::serve(std::shared_ptr<Connection> conn) {
    auto self = shared_from_this();
    asio::error_code ec;
    const auto hello = core::protocol::encode_hello(MXD_VERSION, state.node);
    co_await asio::async_write(conn->socket, asio::buffer(hello), asio::redirect_error(asio::use_awaitable, ec));
    core::protocol::LineBuffer lines(core::limits::k_control_line_max);
    std::array<char, 65536> chunk;
    while (!ec) {
        const auto n = co_await conn->socket.async_read_some(asio::buffer(chunk),
                                                             asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            break;
        }
        lines.append(std::string_view(chunk.data(), n));
        while (auto line = lines.next_line()) {
            if (line->empty()) {
                continue;
            }
            conn->deadline = Clock::now() + core::limits::k_control_idle_timeout;
            std::int64_t id = 0;
            std::string reply;
            auto request = core::protocol::parse_request(*line, &id);
            if (!request) {
                reply = core::protocol::encode_error(id, request.error());
            } else {
                MXD_TRACE(core::Subsystem::control, {}, "request",
                          {{"uid", conn->peer.uid}, {"id", request->id}, {"cmd", request->cmd},
                           {"args", core::protocol::redact_args(request->cmd, request->args).dump()}});
                Context context{
                    state, conn->peer, workers,
                    [conn,
                     stream_id = request->id](const nlohmann::json& item) -> asio::awaitable<bool> {
                        conn->pending += core::protocol::encode_item(stream_id, item);
                        auto writing = write_if_full(conn);
                        co_return co_await std::move(writing);
                    },
                    [conn, stream_id = request->id](std::string_view item) -> asio::awaitable<bool> {
                        // encode_item's bytes: its keys in nlohmann's (sorted) order, "id" then "item".
                        conn->pending += "{\"id\":";
                        conn->pending += std::to_string(stream_id);
                        conn->pending += ",\"item\":";
                        conn->pending += item;
                        conn->pending += "}\n";
                        auto writing = write_if_full(conn);
                        co_return co_await std::move(writing);
                    },
                    [conn]() -> asio::awaitable<bool> {
                        auto writing = write_pending(conn);
                        co_return co_await std::move(writing);
                    },
                    conn->state,
                    [conn] { return wait_readable(conn); }};
                conn->busy = true;
                auto result = co_await dispatch(context, *request);
                conn->busy = false;
                reply = result ? core::protocol::encode_ok(request->id, *result)
                               : core::protocol::encode_error(request->id, result.error());
            }
            // The stream's last items and the reply, in one write.
            conn->pending += reply;
            co_await asio::async_write(conn->socket, asio::buffer(conn->pending),
                                       asio::redirect_error(asio::use_awaitable, ec));
            conn->pending.clear();
            if (ec) {
                break;
            }
        }
        if (lines.overflowed()) {
            const auto reply = core::protocol::encode_error(
                0, core::Error{Errc::invalid_argument, "request line longer than " +
                                                           std::to_string(core::limits::k_control_line_max) +
                                                           " bytes; closing"});
            co_await asio::async_write(conn->socket, asio::buffer(reply),
                                       asio::redirect_error(asio::use_awaitable, ec));
            break;
        }
    }
    MXD_TRACE(core::Subsystem::control, {}, "disconnect", {{"uid", conn->peer.uid}});
    forget(conn);
}

} // namespace mxd::control
