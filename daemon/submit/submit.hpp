// SPDX-License-Identifier: ISC
#pragma once

#include "core/protocol/commands.hpp"
#include "core/queue/ids.hpp"
#include "core/util/result.hpp"

#include <asio/awaitable.hpp>

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace mxd {
struct RuntimeState;
class Workers;
} // namespace mxd

// Local submission (OpenSMTPD's enqueue through the `listen on socket` listener): a message
// from a program on this machine, by the `submit` control command or from the offline
// directory, routed as mail `from local` and queued.
namespace mxd::submit {

// The submitting user, from the control socket's peer credentials or an offline file's
// owner: never from what the client says.
struct Identity {
    uid_t uid = 0;
    core::protocol::Access access = core::protocol::Access::anyone; // admin may pick any sender
};

// Which way the message came, for the log.
enum class Via { socket, offline };

// What sendmail hands over.
struct Submission {
    std::optional<std::string> sender; // -f: nullopt for the user's own address, "" for <>
    std::string full_name;             // -F, for an added From:
    std::vector<std::string> recipients;
    std::string message; // as the program wrote it: any line ends
};

// Whether to queue, or only to route the recipients (`sendmail -bs` checks each RCPT TO).
enum class DryRun { no, yes };

// A recipient that was not routed, and why.
struct Refusal {
    std::string recipient;
    std::string error;
};

// What became of a submission.
struct Outcome {
    std::optional<core::queue::MsgId> msgid; // nullopt for a dry run
    std::string user;                        // the submitting user's login name
    std::string sender;                      // the envelope sender used ("" for <>)
    bool sender_forced = false;              // the requested sender was not allowed
    std::vector<std::string> accepted;       // recipients, qualified with the host name
    std::vector<Refusal> refused;
    std::size_t envelopes = 0;
    std::size_t size = 0;
};

// Routes and queues a submission, resuming once it is on stable storage. The sender is the
// user's own address (user@host) unless the user has admin access, or the `senders` table of
// `listen on socket` allows the one asked for, or it is the user's own address. Recipients
// without a domain get the host name. Refused recipients are reported and the others queued;
// fails with Errc::not_found when none is left, Errc::invalid_argument for a submission over
// the limits (smtp max-message-size, max-rcpt) or without recipients, Errc::permission_denied
// for a uid without a passwd entry, and the queue's or a table's error otherwise.
asio::awaitable<core::Result<Outcome>> enqueue(RuntimeState& state, Workers& workers, Identity who,
                                               Via via, Submission submission, DryRun dry_run);

} // namespace mxd::submit
