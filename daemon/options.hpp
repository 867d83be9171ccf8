// SPDX-License-Identifier: ISC
#pragma once

#include <map>
#include <string>
#include <vector>

// mxd's command line, with smtpd(8)'s flags.
namespace mxd {

struct Options {
    bool foreground = false;                    // -d: stay in the foreground, log to stderr
    int verbose = 0;                            // -v: debug logging (repeatable)
    bool check_only = false;                    // -n: check the configuration and exit
    std::string config_file;                    // -f FILE
    std::map<std::string, std::string> macros;  // -D name=value
    std::vector<std::string> traces;            // -T subsystem
    std::vector<std::string> paused;            // -P mda|mta|smtp
    std::string socket;                         // -s SOCKET
};

// The outcome of parsing argv: run with options, or exit now with a status (after --help,
// --version, or a usage error, which has been printed to stderr).
struct ParsedOptions {
    Options options;
    bool exit_now = false;
    int exit_status = 0;
};

// Parses mxd's argv. Usage errors print `mxd: ...` on stderr and give exit status 64.
ParsedOptions parse_options(int argc, char** argv);

} // namespace mxd
