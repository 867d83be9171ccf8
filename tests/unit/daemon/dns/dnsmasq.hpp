// SPDX-License-Identifier: ISC
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

// A real dnsmasq (package dnsmasq-base) for resolver tests: in the foreground, on 127.0.0.1
// at a free port, answering only from the records given on its command line.
namespace unit_test {

class Dnsmasq {
  public:
    static constexpr const char* k_program = "/usr/sbin/dnsmasq";

    // True when dnsmasq is installed; tests skip otherwise.
    static bool available() { return ::access(k_program, X_OK) == 0; }

    // Starts dnsmasq with `records` (such as "--host-record=a.example,192.0.2.1"), its output
    // in `log`, and waits until it answers. running() says whether that worked.
    Dnsmasq(const std::filesystem::path& log, const std::vector<std::string>& records)
        : m_log(log) {
        // The port is free when probed; another process may take it before dnsmasq binds,
        // so try a few.
        for (int round = 0; round < 5 && !running(); ++round) {
            m_port = free_port();
            if (m_port != 0 && start(records)) {
                if (wait_ready()) {
                    return;
                }
                stop();
            }
        }
    }
    ~Dnsmasq() { stop(); }
    Dnsmasq(const Dnsmasq&) = delete;
    Dnsmasq& operator=(const Dnsmasq&) = delete;

    bool running() const { return m_pid > 0; }
    std::uint16_t port() const { return m_port; }
    // "nameserver 127.0.0.1:PORT", for a resolv.conf.
    std::string nameserver_line() const {
        return "nameserver 127.0.0.1:" + std::to_string(m_port) + "\n";
    }
    // What dnsmasq printed, for failure messages.
    std::string log() const {
        std::ifstream in(m_log);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

  private:
    static std::uint16_t free_port() {
        const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof sa;
        std::uint16_t port = 0;
        if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
            port = ntohs(sa.sin_port);
        }
        if (fd >= 0) {
            ::close(fd);
        }
        return port;
    }

    bool start(const std::vector<std::string>& records) {
        std::vector<std::string> args{
            k_program,
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--port=" + std::to_string(m_port),
            "--pid-file=",
            "--log-facility=-",
            "--log-queries",
        };
        // As root, dnsmasq switches to "nobody" unless told otherwise; as another user it
        // cannot switch at all.
        if (::geteuid() == 0) {
            args.push_back("--user=root");
        }
        args.insert(args.end(), records.begin(), records.end());
        std::vector<char*> argv;
        for (auto& arg : args) {
            argv.push_back(arg.data());
        }
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, m_log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                         0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        pid_t pid = -1;
        const int rc = ::posix_spawn(&pid, k_program, &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) {
            return false;
        }
        m_pid = pid;
        return true;
    }

    // Sends a query until dnsmasq answers, up to 10 s; false when it exits or stays silent.
    bool wait_ready() {
        const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            return false;
        }
        timeval tv{0, 20 * 1000};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = htons(m_port);
        // "ready.invalid A", id 0x5245.
        const unsigned char query[] = {0x52, 0x45, 1,   0,   0,   1,   0,   0, 0,   0,   0,
                                       0,    5,    'r', 'e', 'a', 'd', 'y', 7, 'i', 'n', 'v',
                                       'a',  'l',  'i', 'd', 0,   0,   1,   0, 1};
        const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        bool ready = false;
        while (!ready && std::chrono::steady_clock::now() < limit) {
            int status = 0;
            if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
                m_pid = -1; // it exited: the port was taken, or a bad option
                break;
            }
            ::sendto(fd, query, sizeof query, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
            unsigned char reply[512];
            ready = ::recv(fd, reply, sizeof reply, 0) >= 2 && reply[0] == 0x52 && reply[1] == 0x45;
        }
        ::close(fd);
        return ready;
    }

    void stop() {
        if (m_pid <= 0) {
            return;
        }
        ::kill(m_pid, SIGTERM);
        const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        int status = 0;
        while (::waitpid(m_pid, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() >= limit) {
                ::kill(m_pid, SIGKILL);
                ::waitpid(m_pid, &status, 0);
                break;
            }
            // Polling a child's exit: there is no deadline-aware waitpid.
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        m_pid = -1;
    }

    std::filesystem::path m_log;
    std::uint16_t m_port = 0;
    pid_t m_pid = -1;
};

} // namespace unit_test
