// SPDX-License-Identifier: ISC
#include "tests/unit/daemon/mta/test_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace mta_test {

std::filesystem::path script_path() {
    if (const char* root = std::getenv("MXD_SOURCE_ROOT"); root != nullptr && *root != '\0') {
        return std::filesystem::path(root) / "tests/unit/daemon/mta/smtp_server.py";
    }
    // __FILE__ is relative to the build directory, which holds tests/unit-daemon.
    std::filesystem::path source(__FILE__);
    if (source.is_relative()) {
        std::error_code ec;
        const auto exe = std::filesystem::canonical("/proc/self/exe", ec);
        source = exe.parent_path().parent_path() / source;
    }
    return source.parent_path() / "smtp_server.py";
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

TestServer::TestServer(const std::filesystem::path& spool, const std::vector<std::string>& args)
    : m_spool(spool) {
    std::filesystem::create_directories(spool);
    const auto log = spool / "server.log";
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
        m_error = "pipe failed";
        return;
    }
    std::vector<std::string> argv{"/usr/bin/python3", script_path().string(), "--spool",
                                  spool.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    m_pid = ::fork();
    if (m_pid == 0) {
        const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(out[1], 1);
        ::dup2(err, 2);
        std::vector<char*> cargv;
        for (auto& a : argv) {
            cargv.push_back(a.data());
        }
        cargv.push_back(nullptr);
        ::execv(cargv[0], cargv.data());
        ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (line.find('\n') == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{out[0], POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
            break;
        }
        char buffer[256];
        const ssize_t n = ::read(out[0], buffer, sizeof buffer);
        if (n <= 0) {
            break;
        }
        line.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    if (line.rfind("port ", 0) == 0) {
        m_port = static_cast<std::uint16_t>(std::stoi(line.substr(5)));
    } else {
        m_error = "smtp_server.py did not start: " + read_file(log);
    }
}

TestServer::~TestServer() {
    if (m_pid > 0) {
        ::kill(m_pid, SIGKILL);
        int status = 0;
        ::waitpid(m_pid, &status, 0);
    }
}

} // namespace mta_test
