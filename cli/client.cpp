// SPDX-License-Identifier: ISC
#include "cli/client.hpp"

#include "core/protocol/version.hpp"
#include "core/util/limits.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace mxctl {

using core::Errc;

namespace {

// The item of an item frame, `{"id":7,"item":{...}}` as the daemon writes it, without parsing
// the line; nothing when the line has another shape (then it is parsed as usual). Strings are
// skipped so that braces inside them do not count.
std::optional<std::string_view> item_text(std::string_view line) {
    constexpr std::string_view open = "{\"id\":";
    constexpr std::string_view key = ",\"item\":{";
    if (!line.starts_with(open)) {
        return std::nullopt;
    }
    std::size_t i = open.size();
    while (i < line.size() && line[i] >= '0' && line[i] <= '9') {
        ++i;
    }
    if (i == open.size() || line.substr(i, key.size()) != key) {
        return std::nullopt;
    }
    const std::size_t start = i + key.size() - 1;  // the item's "{"
    int depth = 0;
    bool in_string = false;
    for (std::size_t j = start; j < line.size(); ++j) {
        const char c = line[j];
        if (in_string) {
            if (c == '\\') {
                ++j;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if (c == '}' || c == ']') {
            if (--depth == 0) {
                // The item's object ends the frame's: nothing but the closing "}" follows.
                if (j + 2 != line.size() || line[j + 1] != '}') {
                    return std::nullopt;
                }
                return line.substr(start, j + 1 - start);
            }
        }
    }
    return std::nullopt;
}

} // namespace

Client::Client(core::UniqueFd fd) : m_fd(std::move(fd)), m_lines(core::limits::k_control_line_max) {}

std::optional<Client> Client::connect(const std::filesystem::path& socket, ConnectError& error) {
    const std::string where = "cannot connect to " + socket.string();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket.string().size() >= sizeof addr.sun_path) {
        error = {ConnectFailure::unreachable, where + ": socket path too long"};
        return std::nullopt;
    }
    socket.string().copy(addr.sun_path, sizeof addr.sun_path - 1);
    core::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        const int err = errno;
        if (err == EACCES || err == EPERM) {
            error = {ConnectFailure::permission_denied, where + ": " + std::strerror(err)};
        } else if (err == ENOENT || err == ECONNREFUSED) {
            error = {ConnectFailure::unreachable, where + ": daemon not running?"};
        } else {
            error = {ConnectFailure::unreachable, where + ": " + std::strerror(err)};
        }
        return std::nullopt;
    }
    Client client(std::move(fd));
    auto line = client.read_line();
    if (!line) {
        error = {ConnectFailure::unreachable, where + ": " + line.error().message};
        return std::nullopt;
    }
    auto frame = core::protocol::parse_frame(*line);
    if (!frame) {
        error = {ConnectFailure::protocol, where + ": " + frame.error().message};
        return std::nullopt;
    }
    if (frame->kind != core::protocol::Frame::Kind::hello) {
        // A refusal (too many clients) comes instead of the hello.
        error = {ConnectFailure::unreachable,
                 where + ": " + (frame->ok ? std::string("no hello from the daemon") : frame->error.message)};
        return std::nullopt;
    }
    const int version = frame->body.value("protocol", 0);
    if (version != core::protocol::k_protocol_version) {
        error = {ConnectFailure::protocol,
                 "the daemon speaks control protocol " + std::to_string(version) + " (mxd " +
                     frame->body.value("version", "?") + ") and this mxctl speaks " +
                     std::to_string(core::protocol::k_protocol_version) +
                     ": use the mxctl that came with the running mxd"};
        return std::nullopt;
    }
    client.m_hello = std::move(frame->body);
    return client;
}

core::Result<std::string> Client::read_line() {
    const auto deadline = std::chrono::steady_clock::now() + core::limits::k_client_reply_timeout;
    for (;;) {
        if (auto line = m_lines.next_line()) {
            return *line;
        }
        if (m_lines.overflowed()) {
            return core::fail(Errc::parse, "reply line longer than the protocol allows");
        }
        const auto left = m_wait_forever ? std::chrono::milliseconds(-1)
                                         : std::chrono::duration_cast<std::chrono::milliseconds>(
                                               deadline - std::chrono::steady_clock::now());
        if (!m_wait_forever && left.count() <= 0) {
            return core::fail(Errc::temp_failure, "no reply from the daemon within " +
                                                      std::to_string(core::limits::k_client_reply_timeout.count()) + "s");
        }
        pollfd p{m_fd.get(), POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno != EINTR) {
            return core::fail(core::Error::from_errno(errno, "poll"));
        }
        if (ready <= 0) {
            continue;
        }
        char buffer[65536];
        const ssize_t n = ::read(m_fd.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return core::fail(core::Error::from_errno(errno, "read", "control socket"));
        }
        if (n == 0) {
            return core::fail(Errc::io, "the daemon closed the connection");
        }
        m_lines.append(std::string_view(buffer, static_cast<std::size_t>(n)));
    }
}

core::Result<core::protocol::Frame> Client::call(const std::string& cmd, const nlohmann::json& args,
                                                 const std::function<void(const nlohmann::json&)>& on_item,
                                                 const std::function<void(std::string_view)>& on_item_text) {
    core::protocol::Request request;
    request.id = m_next_id++;
    request.cmd = cmd;
    request.args = args;
    const std::string line = core::protocol::encode_request(request);
    std::size_t sent = 0;
    while (sent < line.size()) {
        const ssize_t n = ::send(m_fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return core::fail(core::Error::from_errno(errno, "write", "control socket"));
        }
        sent += static_cast<std::size_t>(n);
    }
    for (;;) {
        MXD_TRY_ASSIGN(const auto reply, read_line());
        if (on_item_text) {
            if (const auto item = item_text(reply)) {
                on_item_text(*item);
                continue;
            }
        }
        MXD_TRY_ASSIGN(auto frame, core::protocol::parse_frame(reply));
        if (frame.kind == core::protocol::Frame::Kind::item) {
            if (on_item_text) {
                // An item of another shape: its text as -j prints any JSON.
                const auto text = frame.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
                on_item_text(text);
            } else if (on_item) {
                on_item(frame.body);
            }
            continue;
        }
        if (frame.kind == core::protocol::Frame::Kind::reply && frame.id == request.id) {
            return frame;
        }
        if (frame.kind == core::protocol::Frame::Kind::reply && frame.id == 0 && !frame.ok) {
            return frame;  // the daemon refused the line itself (too long, unparsable)
        }
    }
}

} // namespace mxctl
