// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <sys/types.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

// Appending to an mbox file (mbox(5), the mboxrd variant), for the `mbox` method (the user's
// mailbox in the mail spool, as mail.local does it) and for aliases(5) `/path` targets (as
// OpenSMTPD's mail.mboxfile). Locking is what mail readers expect: a `<mbox>.lock` dotlock and
// an fcntl() write lock, both with a bounded wait.
namespace core::mda {

// How long a delivery waits for the locks of a mailbox before it gives up (temporarily).
inline constexpr std::chrono::seconds k_mbox_lock_timeout{60};
// A dotlock older than this is taken as left behind by a crashed program and removed.
inline constexpr std::chrono::minutes k_mbox_stale_lock{10};

struct MboxOptions {
    // Who must own the mailbox: a delivery running as root (the `mbox` method) creates a missing
    // mailbox 0600 for this user and refuses one that belongs to someone else. Unset, the file
    // is created 0600 for the caller and the kernel checks the permissions.
    struct Owner {
        uid_t uid = 0;
        gid_t gid = 0;
    };

    std::filesystem::path path;
    std::string from; // the envelope sender for the `From ` line; empty: MAILER-DAEMON
    std::optional<Owner> owner;
    std::chrono::milliseconds lock_timeout = k_mbox_lock_timeout;
    std::time_t now = 0; // the date of the `From ` line; 0: the current time
};

// Appends `message` (LF line ends) in mboxrd form. The file is opened with O_APPEND and
// O_NOFOLLOW; a symbolic link, a hard-linked or non-regular file, or a mailbox of another
// owner is refused (Errc::invalid_argument). Errc::temp_failure when the locks are not had in
// time or a system call fails; a failed write or sync truncates the file back to its size
// before, so the mailbox is never left with half a message.
Result<void> deliver_mbox(const MboxOptions& options, std::string_view message);

// `From sender date` with the date in asctime(3) form and a final LF; MAILER-DAEMON for an
// empty sender.
std::string mbox_from_line(std::string_view sender, std::time_t when);

// The message as an mbox entry's body (mboxrd): a '>' before every line that is `From ` after
// any number of '>', a final LF when missing, then the empty line that ends the entry.
std::string mbox_quote(std::string_view message);

} // namespace core::mda
