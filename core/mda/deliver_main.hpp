// SPDX-License-Identifier: ISC
#pragma once

#include <string_view>

// The delivery child's side: `mxd __deliver METHOD [OPTIONS] ARG`, which the daemon executes
// (after fork, as the recipient's user) with the message on stdin. It makes one delivery and
// exits with a sysexits(3) status, after one line of explanation on stderr when it fails.
//
//   mxd __deliver maildir [--junk] [--folder TAG] [--hostname NAME] PATH
//   mxd __deliver mbox [--from SENDER] [--owner UID:GID] PATH
//   mxd __deliver file [--from SENDER] PATH
//   mxd __deliver command COMMAND       (its environment is this process's environment)
namespace core::mda {

// argv[1] of the hidden mode.
inline constexpr std::string_view k_deliver_mode = "__deliver";

// Runs the hidden mode; argv[1] is k_deliver_mode. Returns the exit status: 0 delivered,
// EX_TEMPFAIL or EX_OSERR for a temporary failure, another for a permanent one (EX_USAGE for
// bad arguments; EX_NOPERM for maildir, file or command as root, which OpenSMTPD's helpers
// refuse too).
int deliver_main(int argc, char** argv);

} // namespace core::mda
