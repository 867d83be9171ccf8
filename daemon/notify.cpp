// SPDX-License-Identifier: ISC
#include "daemon/notify.hpp"

#include "core/util/fd.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace mxd {

namespace {

// The socket connected by notify_connect(), kept for the process's life; -1 until then.
int g_connected = -1;

} // namespace

bool notify(std::string_view state) {
    if (g_connected >= 0) {
        return ::send(g_connected, state.data(), state.size(), MSG_NOSIGNAL) ==
               static_cast<ssize_t>(state.size());
    }
    const char* name = std::getenv("NOTIFY_SOCKET");
    if (name == nullptr) {
        return false;
    }
    const std::string_view path(name);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    // sd_notify(3): a path, or an abstract socket when it starts with '@' (whose address is
    // the name after a NUL byte, of exactly its length).
    if (path.size() < 2 || path.size() > sizeof address.sun_path || (path.front() != '/' && path.front() != '@')) {
        return false;
    }
    std::memcpy(address.sun_path, path.data(), path.size());
    socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
    if (path.front() == '@') {
        address.sun_path[0] = '\0';
    } else if (path.size() == sizeof address.sun_path) {
        return false;  // no room for the terminating NUL of a path
    } else {
        length += 1;
    }
    const core::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
        return false;
    }
    const auto sent = ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
                               reinterpret_cast<const sockaddr*>(&address), length);
    return sent == static_cast<ssize_t>(state.size());
}

void notify_connect() {
    const char* name = std::getenv("NOTIFY_SOCKET");
    if (name == nullptr || g_connected >= 0) {
        return;
    }
    const std::string_view path(name);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() < 2 || path.size() >= sizeof address.sun_path ||
        (path.front() != '/' && path.front() != '@')) {
        return;
    }
    std::memcpy(address.sun_path, path.data(), path.size());
    socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
    if (path.front() == '@') {
        address.sun_path[0] = '\0';
    } else {
        length += 1;
    }
    core::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd && ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), length) == 0) {
        g_connected = fd.release();
    }
}

bool notify_ready() { return notify("READY=1\nSTATUS=ready"); }

bool notify_reloading() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const auto usec = static_cast<unsigned long long>(now.tv_sec) * 1000000ULL +
                      static_cast<unsigned long long>(now.tv_nsec) / 1000ULL;
    return notify("RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=" + std::to_string(usec));
}

bool notify_stopping() { return notify("STOPPING=1\nSTATUS=stopping"); }

} // namespace mxd
