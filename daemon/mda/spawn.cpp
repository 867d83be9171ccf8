// SPDX-License-Identifier: ISC
#include "daemon/mda/spawn.hpp"

#include "core/mda/outcome.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <memory>

namespace mxd::mda::spawn {

namespace {

// After the child exited, how long output is still awaited from processes it left behind
// holding the pipe (they are not waited for).
constexpr std::chrono::milliseconds k_output_grace{200};
// Without pidfds (Linux before 5.3), how often the child's exit is checked.
constexpr std::chrono::milliseconds k_poll_interval{20};
// Where the child parks its descriptors while it rearranges 0-3.
constexpr int k_high_fd = 10;

// write(2) of a literal, in the child.
template <std::size_t N> void say(const char (&text)[N]) {
    static_cast<void>(::write(STDERR_FILENO, text, N - 1));
}

template <std::size_t N> [[noreturn]] void die(const char (&text)[N]) {
    say(text);
    ::_exit(EX_OSERR);
}

// Everything between fork() and execveat(): async-signal-safe system calls only, since the
// daemon has other threads whose locks (malloc's among them) the child inherits held.
[[noreturn]] void child_main(int executable_fd, int stdin_fd, int output_fd, char** argv,
                             char** envp, const char* directory, const Identity& identity) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
        static_cast<void>(::sigaction(sig, &dfl, nullptr));
    }
    sigset_t none;
    sigemptyset(&none);
    static_cast<void>(::sigprocmask(SIG_SETMASK, &none, nullptr));
    // Its own process group: a timeout kills the programs it started too.
    static_cast<void>(::setsid());

    // Park the descriptors above 0-3 first: any of them may be one of 0-3 in the daemon.
    const int input = ::fcntl(stdin_fd, F_DUPFD, k_high_fd);
    const int output = ::fcntl(output_fd, F_DUPFD, k_high_fd);
    const int exe = ::fcntl(executable_fd, F_DUPFD, k_high_fd);
    if (input < 0 || output < 0 || exe < 0 || ::dup2(output, STDOUT_FILENO) < 0 ||
        ::dup2(output, STDERR_FILENO) < 0) {
        ::_exit(EX_OSERR);
    }
    if (::dup2(input, STDIN_FILENO) < 0 || ::dup2(exe, 3) < 0 ||
        ::fcntl(3, F_SETFD, FD_CLOEXEC) < 0) {
        die("delivery child: cannot set up its descriptors\n");
    }
    // Nothing else of the daemon's (sockets, the queue database) may reach the delivery.
    if (::syscall(SYS_close_range, 4U, ~0U, 0U) != 0) {
        for (int fd = 4; fd < 65536; ++fd) {
            static_cast<void>(::close(fd));
        }
    }

    if (identity.change) {
        // Raw system calls: in the child only this thread exists, and glibc's set*id
        // wrappers would try to signal the daemon's other threads, which are gone.
        if (::syscall(SYS_setgroups, identity.groups.size(), identity.groups.data()) != 0 ||
            ::syscall(SYS_setresgid, identity.gid, identity.gid, identity.gid) != 0 ||
            ::syscall(SYS_setresuid, identity.uid, identity.uid, identity.uid) != 0) {
            die("delivery child: cannot change to the user's identity\n");
        }
        uid_t ruid = 0, euid = 0, suid = 0;
        gid_t rgid = 0, egid = 0, sgid = 0;
        if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0 ||
            ruid != identity.uid || euid != identity.uid || suid != identity.uid ||
            rgid != identity.gid || egid != identity.gid || sgid != identity.gid) {
            die("delivery child: the identity change did not hold\n");
        }
        if (identity.uid != 0 && ::syscall(SYS_setresuid, 0, 0, 0) == 0) {
            die("delivery child: could become root again after dropping privileges\n");
        }
    }
    if (::chdir(directory) != 0 && ::chdir("/") != 0) {
        die("delivery child: cannot enter a working directory\n");
    }
    ::syscall(SYS_execveat, 3, "", argv, envp, AT_EMPTY_PATH);
    die("delivery child: cannot execute mxd\n");
}

// The shared state of one wait: the reader of the output and the watchdog hold it too.
struct Waiting {
    Waiting(const asio::any_io_executor& executor, int output_fd, std::shared_ptr<Exit> e)
        : exit(std::move(e)), output(executor, output_fd), deadline(executor), drained(executor) {}

    std::shared_ptr<Exit> exit;
    asio::posix::stream_descriptor output;
    asio::steady_timer deadline;
    asio::steady_timer drained; // cancelled when the output reaches its end
    std::string captured;
    bool output_done = false;
    bool exited = false;
    bool timed_out = false;
};

asio::awaitable<void> collect_output(std::shared_ptr<Waiting> w) {
    std::array<char, 4096> buffer{};
    for (;;) {
        asio::error_code ec;
        const std::size_t n = co_await w->output.async_read_some(
            asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
        const std::size_t room =
            core::mda::k_text_max - std::min(core::mda::k_text_max, w->captured.size());
        w->captured.append(buffer.data(), std::min(n, room));
        if (ec) {
            break;
        }
    }
    w->output_done = true;
    w->drained.cancel();
}

asio::awaitable<void> watchdog(std::shared_ptr<Waiting> w) {
    asio::error_code ec;
    co_await w->deadline.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!ec && !w->exited) {
        w->timed_out = true;
        w->exit->kill();
    }
}

// A child of this process.
class LocalExit : public Exit {
  public:
    LocalExit(pid_t pid, core::UniqueFd pidfd) : m_pid(pid), m_pidfd(std::move(pidfd)) {}

    asio::awaitable<std::optional<int>> wait() override {
        const auto executor = co_await asio::this_coro::executor;
        asio::error_code ec;
        int status = 0;
        pid_t reaped = 0;
        if (m_pidfd) {
            // A pidfd becomes readable when the process exits; then waitpid() does not block.
            asio::posix::stream_descriptor exit_event(executor, m_pidfd.release());
            co_await exit_event.async_wait(asio::posix::descriptor_base::wait_read,
                                           asio::redirect_error(asio::use_awaitable, ec));
            do {
                reaped = ::waitpid(m_pid, &status, 0);
            } while (reaped < 0 && errno == EINTR);
        } else {
            asio::steady_timer poll(executor);
            while ((reaped = ::waitpid(m_pid, &status, WNOHANG)) == 0 ||
                   (reaped < 0 && errno == EINTR)) {
                poll.expires_after(k_poll_interval);
                co_await poll.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
        }
        m_reaped = true;
        if (reaped != m_pid) {
            co_return std::nullopt;
        }
        co_return status;
    }

    void kill() override {
        if (m_reaped) {
            return;
        }
        // Not reaped yet, so the pid (and process group) cannot have been reused.
        static_cast<void>(::kill(-m_pid, SIGKILL));
        static_cast<void>(::kill(m_pid, SIGKILL));
    }

  private:
    pid_t m_pid;
    core::UniqueFd m_pidfd;
    bool m_reaped = false;
};

} // namespace

core::Result<Child> start(int executable_fd, const ChildSpec& spec, int stdin_fd) {
    // Built before fork(): the child must not allocate.
    std::vector<std::string> args = spec.argv;
    std::vector<std::string> environment = spec.environment;
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : environment) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    const std::string directory = spec.directory.empty() ? "/" : spec.directory;

    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        return core::fail(core::Error::from_errno(errno, "pipe"));
    }
    core::UniqueFd output(pipe_fds[0]);
    core::UniqueFd output_w(pipe_fds[1]);
    const pid_t pid = ::fork();
    if (pid < 0) {
        return core::fail(core::Error::from_errno(errno, "fork"));
    }
    if (pid == 0) {
        child_main(executable_fd, stdin_fd, output_w.get(), argv.data(), envp.data(),
                   directory.c_str(), spec.identity);
    }
    Child child;
    child.pid = pid;
    child.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (child.pidfd) {
        static_cast<void>(::fcntl(child.pidfd.get(), F_SETFD, FD_CLOEXEC));
    }
    child.output = std::move(output);
    return child;
}

asio::awaitable<Ending> wait(Child child, std::chrono::seconds timeout) {
    auto exit = std::make_shared<LocalExit>(child.pid, std::move(child.pidfd));
    auto supervising = supervise(std::move(exit), std::move(child.output), timeout);
    co_return co_await std::move(supervising);
}

asio::awaitable<Ending> supervise(std::shared_ptr<Exit> exit, core::UniqueFd output,
                                  std::chrono::seconds timeout) {
    const auto executor = co_await asio::this_coro::executor;
    auto w = std::make_shared<Waiting>(executor, output.release(), exit);
    w->output.non_blocking(true);
    w->deadline.expires_after(timeout);
    asio::co_spawn(executor, collect_output(w), asio::detached);
    asio::co_spawn(executor, watchdog(w), asio::detached);

    Ending ending;
    auto waiting = exit->wait();
    const std::optional<int> status = co_await std::move(waiting);
    ending.lost = !status;
    ending.status = status.value_or(0);
    w->exited = true;
    w->deadline.cancel();
    ending.timed_out = w->timed_out;

    asio::error_code ec;
    if (!w->output_done) {
        w->drained.expires_after(k_output_grace);
        co_await w->drained.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    w->output.close(ec);
    ending.output = w->captured;
    co_return ending;
}

} // namespace mxd::mda::spawn
