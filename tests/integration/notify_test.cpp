// SPDX-License-Identifier: ISC
// mxd under a service manager (systemd's Type=notify): a datagram listener as $NOTIFY_SOCKET
// receives READY=1 once mxd answers on its control socket, and STOPPING=1 when it stops.
#include "tests/integration/daemon_fixture.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

using namespace mxd_test;

namespace {

class Notify : public DaemonFixture {
protected:
    void TearDown() override {
        DaemonFixture::TearDown();
        ::unsetenv("NOTIFY_SOCKET");
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }

    // Binds a datagram socket in the test directory and names it in $NOTIFY_SOCKET, which
    // the daemon inherits.
    bool listen() {
        const auto path = (dir() / "notify").string();
        m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
        if (::bind(m_fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
            return false;
        }
        ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
        return true;
    }

    // The next datagram, or "" when none comes before the deadline.
    std::string receive() const {
        pollfd p{m_fd, POLLIN, 0};
        if (::poll(&p, 1, 10000) != 1) {
            return {};
        }
        char buffer[4096];
        const auto n = ::recv(m_fd, buffer, sizeof buffer, 0);
        return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string{};
    }

private:
    int m_fd = -1;
};

bool has_line(const std::string& datagram, const std::string& line) {
    return ("\n" + datagram + "\n").find("\n" + line + "\n") != std::string::npos;
}

} // namespace

TEST_F(Notify, ReadyWhenListeningAndStoppingAtStop) {
    ASSERT_TRUE(listen());
    ASSERT_TRUE(start());
    const auto ready = receive();
    EXPECT_TRUE(has_line(ready, "READY=1")) << "received: '" << ready << "'";
    // Ready means serving: the control socket answers and the SMTP port is bound.
    EXPECT_GT(smtp_port(), 0);
    EXPECT_EQ(stop(), 0);
    const auto stopping = receive();
    EXPECT_TRUE(has_line(stopping, "STOPPING=1")) << "received: '" << stopping << "'";
}

TEST_F(Notify, NoSocketNoMessageAndNoHarm) {
    ::unsetenv("NOTIFY_SOCKET");
    ASSERT_TRUE(start());
    EXPECT_GT(smtp_port(), 0);
    EXPECT_EQ(stop(), 0);
}
