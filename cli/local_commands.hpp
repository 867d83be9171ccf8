// SPDX-License-Identifier: ISC
#pragma once

#include "core/protocol/commands.hpp"

#include <nlohmann/json.hpp>

// Commands that mxctl runs itself, without a daemon (Runs::client rows of the table).
namespace mxctl {

// Global output choice, from -j/--json.
enum class Output { text, json };

// Runs a client-side command with validated arguments; returns the exit status.
int run_local(const core::protocol::Command& command, const nlohmann::json& args, Output output);

// `encrypt [STRING] [--scheme S]`: prints one crypt(3) hash per password, from the argument
// or from stdin, one password per line (not echoed on a terminal).
int run_encrypt(const nlohmann::json& args, Output output);

// `check-config [FILE] [--skip-files] [--strict] [-D NAME=VALUE]`: the check of `mxd -n`.
// Prints the diagnostics (or {"ok","diagnostics"} with -j) on stdout; exit 0, or 78 when the
// file has errors (or warnings, with --strict).
int run_check_config(const nlohmann::json& args, Output output);

// `makemap [-U] [-o OUT] [-t aliases|set] FILE|-`: builds FILE.db (or OUT) atomically,
// keeping the source's mode and owner; -U prints a db back as text. Exit 65 with every bad
// line as `file:line: message` on stderr.
int run_makemap(const nlohmann::json& args);

// `newaliases [-f CONFIG]`: rebuilds the configuration's `aliases` table, prints
// `FILE: N aliases`, and has a running daemon update it.
int run_newaliases(const nlohmann::json& args);

// `config migrate FILE`: prints the file in the modern grammar; exit 78 when it has errors.
int run_config_migrate(const nlohmann::json& args);

} // namespace mxctl
