// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/fd.hpp"
#include "core/util/result.hpp"

#include <asio.hpp>

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// Starting one delivery child and waiting for it (internal to daemon/mda).
namespace mxd::mda::spawn {

// Who the child becomes before it executes anything.
struct Identity {
    bool change = false; // false: keep the daemon's identity
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups; // supplementary groups, looked up before fork()
};

// What to execute, in which directory, as whom.
struct ChildSpec {
    std::vector<std::string> argv;
    std::vector<std::string> environment;
    std::string directory; // tried first; "/" when it cannot be entered
    Identity identity;
};

// A running child: its pid (also its process group), a pidfd when the kernel has them, and the
// read end of the pipe that is its stdout and stderr.
struct Child {
    pid_t pid = -1;
    core::UniqueFd pidfd;
    core::UniqueFd output;
};

// Forks and, in the child, resets signals, starts a session, makes `stdin_fd` its stdin and a
// pipe its stdout and stderr, takes the identity, enters the directory and executes
// `executable_fd` (execveat). The child exits EX_OSERR, after a line on stderr, when any step
// fails. An io error when the pipe or fork() fails.
core::Result<Child> start(int executable_fd, const ChildSpec& spec, int stdin_fd);

// How a child ended, and the start of what it wrote (at most core::mda::k_text_max bytes).
struct Ending {
    bool timed_out = false;
    bool lost = false; // waitpid() failed: someone else reaped it
    int status = 0;    // as waitpid() gives it
    std::string output;
};

// Waits for the child without blocking the event loop, reading its output meanwhile. After
// `timeout` its process group is killed (SIGKILL) and the ending says timed_out.
asio::awaitable<Ending> wait(Child child, std::chrono::seconds timeout);

// The end of a child as its waiter sees it: a child of this process (waitpid), or one the
// privileged process started and reports on (daemon/mda/remote.hpp).
class Exit {
  public:
    virtual ~Exit() = default;
    // Waits for the child to end: its waitpid() status, or nullopt when it was lost.
    virtual asio::awaitable<std::optional<int>> wait() = 0;
    // Kills the child and its process group (SIGKILL), for the timeout.
    virtual void kill() = 0;
};

// wait(), for any kind of child: reads `output` until the child ended (and a moment after),
// and calls exit->kill() after `timeout`.
asio::awaitable<Ending> supervise(std::shared_ptr<Exit> exit, core::UniqueFd output,
                                  std::chrono::seconds timeout);

} // namespace mxd::mda::spawn
