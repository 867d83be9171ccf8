// SPDX-License-Identifier: ISC
#pragma once

#include <string>
#include <vector>

// sendmail, mailq and the set-group-ID privilege of the offline directory.
namespace mxctl {

// One run of sendmail: under that name (argv[0]), or as `mxctl [-s SOCKET] sendmail`.
struct SendmailInvocation {
    std::string program;           // for messages: "sendmail", "mxctl sendmail"
    std::string socket;            // mxctl's -s; empty for $MXD_SOCKET, else the system's
    std::vector<std::string> args; // after the program name or the command word
};

// Runs sendmail (sendmail_args.hpp) and returns its sysexits(3) status. Errors go to stderr,
// one line each, prefixed with the program name.
int run_sendmail(const SendmailInvocation& invocation);

// The control socket of sendmail and mailq: `flag`, then $MXD_SOCKET, then the system
// daemon's (/run/mxd.sock), whoever runs them: a user's cron job mails through the system's
// mxd, not a daemon of their own.
std::string system_socket(const std::string& flag);

// mxctl may be installed set-group-ID to the group of the offline directory (_mxdq): that
// group is for writing there and nothing else. Called first thing in main, this drops it
// until an offline write takes it back.
void drop_setgid_privilege();

} // namespace mxctl
