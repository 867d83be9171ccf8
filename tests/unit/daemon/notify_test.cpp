// SPDX-License-Identifier: ISC
// sd_notify without libsystemd: the datagrams that a service manager listening on
// $NOTIFY_SOCKET receives, on a path and on an abstract socket.
#include "daemon/notify.hpp"
#include "tests/unit/temp_dir.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

// A datagram socket bound to `address` (a path, or "@name" for an abstract one) that sets
// $NOTIFY_SOCKET while it lives.
class Listener {
public:
    explicit Listener(const std::string& address) {
        m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::memcpy(a.sun_path, address.data(), address.size());
        socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
        if (address[0] == '@') {
            a.sun_path[0] = '\0';
        } else {
            length += 1;
        }
        m_bound = ::bind(m_fd, reinterpret_cast<const sockaddr*>(&a), length) == 0;
        ::setenv("NOTIFY_SOCKET", address.c_str(), 1);
    }
    ~Listener() {
        ::unsetenv("NOTIFY_SOCKET");
        ::close(m_fd);
    }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    bool bound() const { return m_bound; }
    // The next datagram, or "" when none comes within a generous deadline.
    std::string receive() const {
        pollfd p{m_fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) != 1) {
            return {};
        }
        char buffer[4096];
        const auto n = ::recv(m_fd, buffer, sizeof buffer, 0);
        return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string{};
    }

private:
    int m_fd = -1;
    bool m_bound = false;
};

} // namespace

TEST(Notify, ReadyReloadingAndStoppingReachAPathSocket) {
    unit_test::TempDir dir;
    Listener listener((dir.path() / "notify").string());
    ASSERT_TRUE(listener.bound());
    EXPECT_TRUE(mxd::notify_ready());
    EXPECT_EQ(listener.receive(), "READY=1\nSTATUS=ready");
    EXPECT_TRUE(mxd::notify_reloading());
    const auto reloading = listener.receive();
    EXPECT_EQ(reloading.rfind("RELOADING=1\n", 0), 0u) << reloading;
    const auto at = reloading.find("\nMONOTONIC_USEC=");
    ASSERT_NE(at, std::string::npos) << reloading;
    const auto usec = reloading.substr(at + 16);
    EXPECT_FALSE(usec.empty());
    EXPECT_EQ(usec.find_first_not_of("0123456789"), std::string::npos) << usec;
    EXPECT_TRUE(mxd::notify_stopping());
    EXPECT_EQ(listener.receive(), "STOPPING=1\nSTATUS=stopping");
}

TEST(Notify, AnAbstractSocketStartsWithAnAt) {
    const std::string name = "@mxd-notify-test-" + std::to_string(::getpid());
    Listener listener(name);
    ASSERT_TRUE(listener.bound());
    EXPECT_TRUE(mxd::notify_ready());
    EXPECT_EQ(listener.receive(), "READY=1\nSTATUS=ready");
}

TEST(Notify, NothingWithoutASocket) {
    ::unsetenv("NOTIFY_SOCKET");
    EXPECT_FALSE(mxd::notify_ready());
    ::setenv("NOTIFY_SOCKET", "relative/path", 1);
    EXPECT_FALSE(mxd::notify_ready());
    ::setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1);
    EXPECT_FALSE(mxd::notify_stopping());
    ::unsetenv("NOTIFY_SOCKET");
}
