// SPDX-License-Identifier: ISC
#include "core/mda/program.hpp"

#include "core/util/fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>

namespace core::mda {

namespace {

using Clock = std::chrono::steady_clock;

// How long output is still read after the program exited, for a background process of its that
// keeps the pipe open.
constexpr std::chrono::milliseconds k_output_grace{200};
// Without pidfds (Linux before 5.3), how often the program's exit is checked.
constexpr int k_poll_interval_ms = 50;

Outcome failed_to_start(int err, const char* what) {
    return Outcome{Status::temporary, EX_OSERR, std::string(what) + ": " + std::strerror(err)};
}

// Between fork() and execve(): only async-signal-safe calls. Signal dispositions and the mask
// of the daemon (SIGPIPE ignored, signals blocked for asio) must not reach the program.
[[noreturn]] void exec_shell(int message_fd, int output_fd, char** argv, char** envp) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
        static_cast<void>(::sigaction(sig, &dfl, nullptr));
    }
    sigset_t none;
    sigemptyset(&none);
    static_cast<void>(::sigprocmask(SIG_SETMASK, &none, nullptr));
    if (message_fd != STDIN_FILENO && ::dup2(message_fd, STDIN_FILENO) < 0) {
        ::_exit(EX_OSERR);
    }
    for (const int target : {STDOUT_FILENO, STDERR_FILENO}) {
        if (output_fd < 0) {
            break;
        }
        // dup2 onto itself would keep O_CLOEXEC.
        const int done =
            output_fd == target ? ::fcntl(target, F_SETFD, 0) : ::dup2(output_fd, target);
        if (done < 0) {
            ::_exit(EX_OSERR);
        }
    }
    ::execve("/bin/sh", argv, envp);
    static constexpr char k_message[] = "cannot execute /bin/sh\n";
    static_cast<void>(::write(STDERR_FILENO, k_message, sizeof k_message - 1));
    ::_exit(EX_OSERR);
}

// Appends what can be read now to `out`, keeping at most k_text_max bytes. True at end of file.
bool read_available(int fd, std::string& out) {
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n > 0) {
            const std::size_t keep = std::min(static_cast<std::size_t>(n),
                                              k_text_max - std::min(k_text_max, out.size()));
            out.append(buffer, keep);
            continue;
        }
        if (n == 0) {
            return true;
        }
        if (errno == EINTR) {
            continue;
        }
        // EAGAIN: nothing more for now. Another error: nothing more ever.
        return errno != EAGAIN;
    }
}

int remaining_ms(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Whether a silent non-zero exit gets a description as its text.
enum class ExitText { describe, none };

Outcome outcome_of(int status, std::string text, ExitText exit_text) {
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        std::string why =
            "command killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
        return Outcome{Status::temporary, EX_TEMPFAIL, text.empty() ? why : why + ": " + text};
    }
    const int code = WEXITSTATUS(status);
    if (text.empty() && code != 0 && exit_text == ExitText::describe) {
        text = "command exited with status " + std::to_string(code);
    }
    return Outcome{status_from_exit(code), code, code == 0 ? std::string() : text};
}

} // namespace

Outcome run_program(const ProgramOptions& options, int message_fd) {
    // Everything the child needs is built before fork(): it must not allocate.
    std::string arg0 = "sh";
    std::string arg1 = "-c";
    std::string command = options.command;
    char* argv[] = {arg0.data(), arg1.data(), command.data(), nullptr};
    std::vector<std::string> environment = options.environment;
    std::vector<char*> envp;
    for (auto& entry : environment) {
        envp.push_back(entry.data());
    }
    envp.push_back(nullptr);

    int pipe_fds[2] = {-1, -1};
    if (options.capture_output && ::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        return failed_to_start(errno, "pipe");
    }
    UniqueFd output(pipe_fds[0]);
    UniqueFd output_w(pipe_fds[1]);
    const pid_t pid = ::fork();
    if (pid < 0) {
        return failed_to_start(errno, "fork");
    }
    if (pid == 0) {
        exec_shell(message_fd, output_w.get(), argv, envp.data());
    }
    output_w.reset();
    if (!options.capture_output) {
        int status = 0;
        pid_t done = -1;
        do {
            done = ::waitpid(pid, &status, 0);
        } while (done < 0 && errno == EINTR);
        if (done != pid) {
            return Outcome{Status::temporary, EX_OSERR,
                           "lost track of the command (waitpid failed)"};
        }
        return outcome_of(status, {}, ExitText::none);
    }
    static_cast<void>(::fcntl(output.get(), F_SETFL, O_NONBLOCK));
    // A pidfd turns the exit into a poll()able event (Linux 5.3).
    const UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

    std::string captured;
    bool eof = false;
    int status = 0;
    bool exited = false;
    bool lost = false;
    while (!exited) {
        struct pollfd fds[2] = {{pidfd.get(), POLLIN, 0}, {eof ? -1 : output.get(), POLLIN, 0}};
        const int ready = ::poll(fds, 2, pidfd ? -1 : k_poll_interval_ms);
        if (ready < 0 && errno != EINTR) {
            break;
        }
        if (!eof && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            eof = read_available(output.get(), captured);
        }
        if (!pidfd || fds[0].revents != 0) {
            const pid_t done = ::waitpid(pid, &status, WNOHANG);
            exited = done == pid;
            lost = done < 0 && errno != EINTR;
            exited = exited || lost;
        }
    }
    const auto deadline = Clock::now() + k_output_grace;
    while (!eof) {
        struct pollfd fd = {output.get(), POLLIN, 0};
        if (::poll(&fd, 1, remaining_ms(deadline)) <= 0) {
            break;
        }
        eof = read_available(output.get(), captured);
    }

    if (lost || !exited) {
        return Outcome{Status::temporary, EX_OSERR, "lost track of the command (waitpid failed)"};
    }
    return outcome_of(status, one_line(captured), ExitText::describe);
}

} // namespace core::mda
