// SPDX-License-Identifier: ISC
#include "tests/integration/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace mxd_test {

namespace {

std::vector<std::string> with_user(const std::vector<std::string>& argv, const RunOptions& options) {
    if (!options.user) {
        return argv;
    }
    // The user's own primary and supplementary groups, as a login would give them.
    const passwd* pw = ::getpwnam(options.user->c_str());
    const std::string gid = pw != nullptr ? std::to_string(pw->pw_gid) : *options.user;
    std::vector<std::string> wrapped{"setpriv", "--reuid=" + *options.user, "--regid=" + gid, "--init-groups", "--"};
    wrapped.insert(wrapped.end(), argv.begin(), argv.end());
    return wrapped;
}

// execvpe with the merged environment; only returns on failure (in the child).
[[noreturn]] void exec_child(const std::vector<std::string>& argv, const RunOptions& options) {
    for (const auto& [k, v] : options.env) {
        ::setenv(k.c_str(), v.c_str(), 1);
    }
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::perror(args[0]);
    ::_exit(127);
}

int decode(int status) {
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return -1;
}

} // namespace

std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : fallback;
}

std::string slurp(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

RunResult run(const std::vector<std::string>& raw_argv, const RunOptions& options) {
    const auto argv = with_user(raw_argv, options);
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
        return {};
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(in[0], 0);
        ::dup2(out[1], 1);
        ::dup2(err[1], 2);
        exec_child(argv, options);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    // Feed stdin from a thread so that a child writing much output cannot deadlock us.
    std::thread feeder([fd = in[1], input = options.input] {
        std::size_t sent = 0;
        while (sent < input.size()) {
            const ssize_t n = ::write(fd, input.data() + sent, input.size() - sent);
            if (n <= 0) {
                break;
            }
            sent += static_cast<std::size_t>(n);
        }
        ::close(fd);
    });
    RunResult result;
    const auto deadline = std::chrono::steady_clock::now() + options.timeout;
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    bool timed_out = false;
    while (open_fds > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        if (::poll(fds, 2, static_cast<int>(left.count())) <= 0) {
            continue;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
                char buffer[65536];
                const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
                if (n <= 0) {
                    ::close(fds[i].fd);
                    fds[i].fd = -1;
                    --open_fds;
                } else {
                    (i == 0 ? result.out : result.err).append(buffer, static_cast<std::size_t>(n));
                }
            }
        }
    }
    if (timed_out) {
        ::kill(pid, SIGKILL);
    }
    for (auto& f : fds) {
        if (f.fd >= 0) {
            ::close(f.fd);
        }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    feeder.join();
    result.status = timed_out ? -1 : decode(status);
    return result;
}

Background::Background(const std::vector<std::string>& raw_argv, const std::filesystem::path& log,
                       const RunOptions& options) {
    const auto argv = with_user(raw_argv, options);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    m_pid = ::fork();
    if (m_pid == 0) {
        const int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, 0);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        exec_child(argv, options);
    }
    ::close(fd);
}

Background::~Background() {
    if (!m_status) {
        kill();
    }
}

std::optional<int> Background::wait(std::chrono::milliseconds timeout) {
    if (m_status) {
        return m_status;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(m_pid, &status, WNOHANG);
        if (r == m_pid) {
            m_status = decode(status);
            return m_status;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

void Background::kill() {
    if (m_status || m_pid <= 0) {
        return;
    }
    ::kill(m_pid, SIGKILL);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_status = decode(status);
}

} // namespace mxd_test
