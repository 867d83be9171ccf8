// SPDX-License-Identifier: ISC
#pragma once

#include <string>
#include <vector>

// mxctl's command line, built from the command table (core/protocol/commands.hpp).
namespace mxctl {

// Runs mxctl with its arguments (argv without the program name) and returns the exit status.
// Results go to stdout; errors to stderr as one line, `mxctl: what failed: why`.
int run_mxctl(const std::vector<std::string>& args);

// The COMMANDS list of mxctl(8) in mdoc, from the command table (`mxctl __man-synopsis`).
std::string man_command_list();

// The multicall entry: picks the personality from argv[0] (mxctl, sendmail, mailq, ...).
int main_multicall(int argc, char** argv);

} // namespace mxctl
