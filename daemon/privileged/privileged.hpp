// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/fd.hpp"
#include "core/util/result.hpp"

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

// Privilege separation (DESIGN "Security"), as OpenSMTPD's parent process: mxd started as root
// forks a small single-threaded process that stays root, then runs everything else as an
// unprivileged user (`_mxd`). The privileged process does only what needs root: it forks local
// delivery children as their users (always `mxd __deliver`, from the executable it opened
// itself, never another program), reaps them and reports how they ended, kills them on a
// timeout, and opens the few files the daemon may no longer read: a user's ~/.forward (as that
// user, in a child of its own) and sendmail's offline files; and it checks system passwords for
// AUTH (shadow(5)), each in a child of its own. It exits when the daemon's end of its sockets
// closes.
namespace mxd::mda::spawn {
struct ChildSpec;
}
namespace mxd::privileged::wire {
struct Received;
}

namespace mxd::privileged {

// The user the daemon becomes, and the environment variable that names another (tests and
// second instances).
inline constexpr std::string_view k_default_user = "_mxd";
inline constexpr std::string_view k_user_variable = "MXD_USER";

// What the privileged process needs to know.
struct Settings {
    std::filesystem::path spool;                    // open_offline reads SPOOL/offline only
    std::filesystem::path socket;                   // the control socket, removed at the end
    std::filesystem::path mail_spool = "/var/mail"; // the one place a root mbox child writes
    bool foreground = true;                         // keep stderr for its log lines, else syslog
    int argc = 0;                                   // the daemon's argv, which the process
    char** argv = nullptr;                          // overwrites with "mxd: privileged"
};

// The daemon's side: the two sockets (deliveries, driven by daemon/mda asynchronously; opens,
// whose requests each carry their own answer socket, synchronous from any thread).
class Link {
  public:
    Link(pid_t pid, core::UniqueFd deliveries, core::UniqueFd opens)
        : m_pid(pid), m_deliveries(std::move(deliveries)), m_opens(std::move(opens)) {}

    pid_t pid() const { return m_pid; }
    // Says the daemon stops cleanly, then shuts both sockets down: the privileged process sees
    // them close.
    void shut_down();
    // The socket of delivery requests (daemon/mda/remote.hpp); owned by the link.
    int deliveries() const { return m_deliveries.get(); }

    // Opens HOME/.forward as user `uid` (home directories may be closed to _mxd), in a child of
    // the privileged process, so that a home on a file system that hangs holds back no other
    // request: nullopt when there is none; an error when it exists but cannot be opened, when
    // no answer comes within 30 s, or when the process is gone. While an open of the same
    // file has waited more than k_forward_slow, or for k_forward_shunned after one was given
    // up on, it fails at once (Errc::temp_failure) instead of holding one more thread.
    core::Result<std::optional<core::UniqueFd>> open_forward(const std::string& home, uid_t uid);
    static constexpr std::chrono::seconds k_forward_slow{2};
    static constexpr std::chrono::seconds k_forward_shunned{60};
    // Opens NAME in the spool's offline directory (files of the users who ran sendmail):
    // O_NOFOLLOW | O_NONBLOCK, read only. An error with the reason when it cannot.
    core::Result<core::UniqueFd> open_offline(const std::string& name);

    // core::auth::verify_system_password() in the privileged process, since shadow(5) is
    // root's: in a child of its own there, so checks from several threads run side by side.
    // Errc::busy when no answer came within 30 s; Errc::temp_failure when it cannot tell
    // otherwise (the process gone, the check failed).
    core::Result<bool> check_password(const std::string& user, const std::string& password);

  private:
    // Sends RECORD with a socket of its own for the answer, and waits for the answer (at
    // most 30 s): Errc::busy, naming WHAT, when none comes in time; Errc::temp_failure when
    // the process is gone or the request's child ended without answering.
    core::Result<wire::Received> ask(const std::string& record, const std::string& what);
    // ask() for an `opened` answer: its descriptor, or the error it carries.
    core::Result<core::UniqueFd> open_request(const std::string& record, const std::string& what);

    pid_t m_pid;
    core::UniqueFd m_deliveries;
    core::UniqueFd m_opens;
    std::mutex m_opens_mutex; // one request written at a time

    // The .forward opens of each home still waiting (when each began), and when one was last
    // given up on. An entry goes when its last open ends, unless that one was given up on:
    // those stay (few: each held a thread for 30 s) until the home's next open.
    struct ForwardWaits {
        std::multiset<std::chrono::steady_clock::time_point> waiting;
        std::optional<std::chrono::steady_clock::time_point> given_up;
    };
    std::mutex m_forward_mutex;
    std::map<std::string, ForwardWaits> m_forward_waits;
};

// Forks the privileged process and keeps the link (see link()). Call it while the process has
// a single thread: Errc::internal when it has more; io when socketpair(), open() or fork() fail.
core::Result<void> start(const Settings& settings);

// The link of this process; null when there is no privileged process (mxd not started as
// root). Set once by start(), before any other thread exists, and never changed after.
Link* link();

// At the daemon's end: shuts the link's sockets down and waits for the privileged process,
// which reaps the deliveries still running and removes the control socket (in a directory
// the daemon may no longer write) before it exits. Nothing without a privileged process.
void finish();

// Why the privileged process refuses to start `spec`, empty when it starts it: only mxd's own
// delivery mode; no delivery but mbox as root, and mbox (which stays root) only into a
// mailbox directly in `mail_spool`.
std::string refusal(const mda::spawn::ChildSpec& spec, const std::filesystem::path& mail_spool);

// The unprivileged user to become.
struct User {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};

// Looks up `name` (the default user, or $MXD_USER). Errc::config with how to create it when
// it does not exist; when it is root.
core::Result<User> find_user();

// Gives the spool to `user` (what root made there, for the unprivileged daemon to use): every
// directory and file, except the submitters' files in SPOOL/offline; the offline directory
// keeps its group. io error with the path when chown fails.
core::Result<void> hand_over(const std::filesystem::path& spool, const User& user);

// setgroups, setgid, setuid to `user`, for every thread, and checks that it held: no thread
// keeps uid or gid 0, and root cannot be regained. internal error when any step fails.
core::Result<void> drop_to(const User& user);

} // namespace mxd::privileged
