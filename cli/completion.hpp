// SPDX-License-Identifier: ISC
#pragma once

#include <string>
#include <string_view>
#include <vector>

// Shell completion for mxctl, from the command table (core/protocol/commands.hpp).
namespace mxctl {

// The completion script for `shell` (bash, zsh or fish), as committed under completions/
// (`mxctl __completion SHELL`); empty for another shell.
std::string completion_script(std::string_view shell);

// `mxctl __complete [-s SOCKET] KIND [PREFIX]`: prints the values of KIND (subsystem,
// queue_id, table) that start with PREFIX, one a line. Subsystems and "all" come from the
// binary; queue ids and table names from the running daemon, and nothing from it when it does
// not answer (exit 0 all the same). Exit 64 on a usage error.
int run_complete(const std::vector<std::string>& args);

} // namespace mxctl
