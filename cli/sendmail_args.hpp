// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <optional>
#include <string>
#include <vector>

// sendmail(8)'s command line, as programs pass it: cron, mail(1), Sympa, scripts.
namespace mxctl {

// What sendmail is asked to do: -bm (the default), -bs, -bp, -bi, -q; --help, --version.
enum class SendmailMode { deliver, smtp, print_queue, rebuild_aliases, queue_run, help, version };

struct SendmailArgs {
    SendmailMode mode = SendmailMode::deliver;
    std::optional<std::string> sender; // -f or -r: the envelope sender
    std::string full_name;             // -F: the name of an added From:
    bool extract = false;              // -t: recipients from To:, Cc: and Bcc:
    bool dot_ends = true;              // false with -i or -oi
    bool verbose = false;              // -v
    std::string config;                // -C FILE
    std::vector<std::string> recipients;
    std::vector<std::string> ignored; // options accepted for compatibility, as given
};

// Parses the arguments (argv without the program name) as sendmail and OpenSMTPD's enqueue
// do, getopt style (`-FName` or `-F Name`, `-oi`, `-odi`, `-B8BITMIME`), stopping at the
// first recipient or `--`. A recipient argument may hold several addresses separated by
// commas. Fails with Errc::invalid_argument for an unknown option, a missing value, a -b mode
// mxd does not have, or a bad address.
core::Result<SendmailArgs> parse_sendmail_args(const std::vector<std::string>& args);

// The --help text, for `program` (sendmail, or mxctl sendmail).
std::string sendmail_help(const std::string& program);

} // namespace mxctl
