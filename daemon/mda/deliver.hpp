// SPDX-License-Identifier: ISC
#pragma once

#include "core/expand/expand.hpp"
#include "core/mda/outcome.hpp"
#include "core/util/fd.hpp"
#include "core/util/result.hpp"
#include "daemon/workers.hpp"

#include <asio.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

// Local delivery for the daemon (OpenSMTPD's forkmda): each delivery is a child process that
// executes mxd again in its hidden `__deliver` mode (core/mda/deliver_main.hpp), with the
// message on stdin, as the recipient's user when the daemon runs as root. Forking a
// multi-threaded daemon leaves only async-signal-safe calls possible in the child, so the child
// does nothing but drop privileges and execve(); the delivery code runs in a fresh process.
namespace mxd::mda::remote {
class Launcher;
}

namespace mxd::mda {

// After this long a delivery child is killed and the delivery is a temporary failure
// (OpenSMTPD's alarm(300) in forkmda).
inline constexpr std::chrono::seconds k_delivery_timeout{300};

// One message to one local destination.
struct DeliveryRequest {
    enum class Method {
        mbox,    // `action mbox`: the user's mailbox in the mail spool, appended by a root child
        maildir, // `action maildir [path] [junk]`
        command, // `action mda "command"` and the aliases(5) `|command` target
        file,    // the aliases(5) `/path` target, appended in mbox format
    };

    Method method = Method::mbox;
    // maildir: its path (empty: ~/Maildir); command: the command line; file: the path. Format
    // specifiers (smtpd.conf(5)) are expanded. Unused for mbox.
    std::string target;
    bool junk = false;            // maildir `junk`
    std::string wrapper;          // command: an `mda wrapper` command line that runs it as %{mda}
    std::string sender;           // envelope sender, empty for <>
    std::string rcpt;             // the recipient as received (Delivered-To, ORIGINAL_RECIPIENT)
    std::string dest;             // the recipient after expansion (RECIPIENT, the loop check)
    std::string subaddress;       // the recipient's +tag: EXTENSION, and the maildir folder
    core::expand::LocalUser user; // the mailbox owner: %{user.*}, USER, LOGNAME, the mbox name
    // Who the delivery runs as when not `user`: the action's `user`, a .forward's owner, or
    // mxd's own user for alias file and command targets.
    std::optional<core::expand::LocalUser> run_as;
    std::string message; // the message as queued (CRLF or LF line ends)
    std::chrono::seconds timeout = k_delivery_timeout;
    // `mda limit max-session-per-user`: deliveries to one user (by name) at once; the others
    // wait for their turn. 0: no limit.
    std::size_t max_per_user = 0;
};

// How it went. `text` explains a failure in one line (the child's own words when it gave
// some): what goes to the queue's error field and into the bounce.
struct DeliveryResult {
    core::mda::Status status = core::mda::Status::temporary;
    std::string text;
};

struct SpawnerOptions {
    // The mxd binary to execute in delivery mode; /proc/self/exe is the running daemon.
    std::filesystem::path executable = "/proc/self/exe";
    std::filesystem::path mail_spool = "/var/mail"; // where `mbox` mailboxes are
    char subaddress_delimiter = '+';                // for %{...:strip}
};

// Starts delivery children. Create it at start-up: it opens the executable then, so that the
// daemon keeps delivering with the same binary after an upgrade replaced the file.
class Spawner {
  public:
    // Opens the executable. An io error when it cannot be opened.
    static core::Result<Spawner> open(Workers& workers, SpawnerOptions options = {});

    // Makes one delivery and returns its result; never throws for an expected failure. As root
    // the child runs as run_as (or user) with that user's groups, except for mbox, whose child
    // stays root to create the mailbox in the spool (as mail.local); a command, file or maildir
    // delivery as uid 0 is refused (permanent), as smtpd does. When mxd started as root and
    // gave it up, the privileged process starts the child the same way. As another user nothing
    // changes identity. Permanent: a format that does not expand, a message that already has
    // `Delivered-To: dest` (a loop), and what the child reports as permanent. Temporary: the
    // child cannot be started, is killed by a signal or by the timeout, or reports so. The
    // wait never blocks the event loop (a pidfd); NSS group lookups go to `workers`. With
    // max_per_user, a delivery waits while that many run for the same user (the scheduler
    // already keeps envelopes of a user at its limit back without a slot; this catches the
    // deliveries it cannot attribute, such as commands of an alias table).
    asio::awaitable<DeliveryResult> deliver(DeliveryRequest request);

  private:
    Spawner(Workers& workers, SpawnerOptions options, core::UniqueFd executable);

    struct UserTurns;
    class Turn;
    // Waits until `user` has fewer than `max` deliveries running; the turn ends with the Turn.
    asio::awaitable<std::shared_ptr<Turn>> take_turn(std::string user, std::size_t max);

    Workers* m_workers;
    SpawnerOptions m_options;
    core::UniqueFd m_executable;
    // Deliveries running and waiting per user (event loop only).
    std::shared_ptr<std::map<std::string, UserTurns>> m_turns;
    // When mxd gave up root: the privileged process starts the children (remote.hpp).
    std::shared_ptr<remote::Launcher> m_remote;
};

// "mbox", "maildir", "command", "file".
std::string_view method_name(DeliveryRequest::Method method);

} // namespace mxd::mda
