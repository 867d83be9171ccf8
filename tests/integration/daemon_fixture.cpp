// SPDX-License-Identifier: ISC
#include "tests/integration/daemon_fixture.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

namespace mxd_test {

bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
        if (ready()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return ready();
}

int connect_unix(const std::filesystem::path& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.string().copy(addr.sun_path, sizeof addr.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

std::string mxd_binary() { return env_or("MXD", "mxd"); }
std::string mxctl_binary() { return env_or("MXCTL", "mxctl"); }

void DaemonFixture::SetUp() {
    char templ[] = "/tmp/mxd-test-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    m_dir = templ;
    // Other users (the access tests run mxctl as nobody) must reach the socket inside.
    ::chmod(m_dir.c_str(), 0755);
    // Tests never depend on the machine's resolver: mxd asks a port where nothing listens, so
    // every lookup fails at once, temporarily. A test that needs DNS points it elsewhere.
    std::ofstream(m_dir / "resolv.conf") << "nameserver 127.0.0.1:1\n";
    ::setenv("MXD_RESOLV_CONF", (m_dir / "resolv.conf").c_str(), 1);
    std::ofstream conf(config_path());
    conf << "# written by DaemonFixture\n"
         << "queue directory \"" << spool().string() << "\"\n"
         << "listen on 127.0.0.1 port 0\n"
         << extra_config();
}

void DaemonFixture::TearDown() {
    if (m_daemon) {
        stop();
    }
    ::unsetenv("MXD_RESOLV_CONF");
    if (HasFailure()) {
        std::cerr << "---- mxd log (" << log_path() << ") ----\n" << slurp(log_path()) << "----\n";
    }
    std::error_code ec;
    std::filesystem::remove_all(m_dir, ec);
}

bool DaemonFixture::start(const std::vector<std::string>& flags) {
    std::vector<std::string> argv{mxd_binary(), "-d", "-f", config_path().string(), "-s", socket_path().string()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    m_daemon = std::make_unique<Background>(argv, log_path());
    const bool up = wait_until(
        [&] {
            const int fd = connect_unix(socket_path());
            if (fd >= 0) {
                ::close(fd);
                return true;
            }
            return m_daemon->wait(std::chrono::milliseconds(0)).has_value();
        },
        std::chrono::seconds(15));
    if (!up || m_daemon->wait(std::chrono::milliseconds(0))) {
        ADD_FAILURE() << "mxd did not come up; log:\n" << slurp(log_path());
        return false;
    }
    return true;
}

int DaemonFixture::stop() {
    if (!m_daemon) {
        return -1;
    }
    if (auto done = m_daemon->wait(std::chrono::milliseconds(0))) {
        return *done;
    }
    mxctl({"stop"});
    auto status = m_daemon->wait(std::chrono::seconds(10));
    if (!status) {
        ADD_FAILURE() << "mxd did not stop within 10 s; killing it";
        m_daemon->kill();
        status = m_daemon->wait(std::chrono::seconds(1));
    }
    return status.value_or(-1);
}

RunResult DaemonFixture::mxctl(const std::vector<std::string>& args, const RunOptions& options) const {
    std::vector<std::string> argv{mxctl_binary(), "-s", socket_path().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, options);
}

nlohmann::json DaemonFixture::status() const {
    const auto r = mxctl({"-j", "show", "status"});
    EXPECT_EQ(r.status, 0) << r.err;
    return nlohmann::json::parse(r.out, nullptr, false);
}

int DaemonFixture::smtp_port() const {
    for (const auto& l : status().value("listeners", nlohmann::json::array())) {
        if (l.value("address", "") == "127.0.0.1") {
            return l.value("port", 0);
        }
    }
    return 0;
}

} // namespace mxd_test
