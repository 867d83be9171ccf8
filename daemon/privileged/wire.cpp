// SPDX-License-Identifier: ISC
#include "daemon/privileged/wire.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <vector>

namespace mxd::privileged::wire {

core::Result<void> send(int socket, const std::string& bytes, int fd, int flags) {
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (fd >= 0) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    ssize_t n = 0;
    do {
        n = ::sendmsg(socket, &msg, flags | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return core::fail(core::Error::from_errno(errno, "sendmsg", "privileged process"));
    }
    return {};
}

core::Result<Received> receive(int socket, int flags) {
    Received out;
    std::vector<char> buffer(k_record_max);
    iovec iov{buffer.data(), buffer.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = 0;
    do {
        n = ::recvmsg(socket, &msg, flags | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return core::fail(core::Errc::busy, "no record yet");
        }
        return core::fail(core::Error::from_errno(errno, "recvmsg", "privileged process"));
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd = -1;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            // One descriptor per record; any more are closed, never leaked.
            if (!out.fd) {
                out.fd.reset(fd);
            } else {
                static_cast<void>(::close(fd));
            }
        }
    }
    if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
        return core::fail(core::Errc::invalid_argument, "privileged process: record truncated");
    }
    out.bytes.assign(buffer.data(), static_cast<std::size_t>(n));
    return out;
}

} // namespace mxd::privileged::wire
