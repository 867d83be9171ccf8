// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <span>
#include <string>
#include <string_view>
#include <vector>

// THE command table: one row per control command. The daemon's dispatch, mxctl's CLI11
// subcommands, the shell completions and the command list of mxctl(8) all come from it.
namespace core::protocol {

// Every command. daemon/control/dispatch.cpp switches on it with no default, so that
// -Werror=switch makes a missing handler a compile error.
enum class CommandId {
    show_status,
    log_verbose,
    log_brief,
    trace,
    untrace,
    stop,
    encrypt,
    check_config,
    config_migrate,
    show_tables,
    table_lookup,
    update_table,
    makemap,
    newaliases,
    show_queue,
    pause,
    resume,
    mailq,
    sendmail,
    submit,
    complete,
    trace_follow,
    monitor,
    show_stats,
    show_envelope,
    show_message,
    schedule,
    remove,
    pause_envelope,
    resume_envelope,
    reload,
    expand,
    show_relays,
    show_routes,
};

// Who may run a command, from the peer's credentials (DESIGN "Control protocol").
enum class Access { anyone, read, admin };

// single: one reply. stream: `item` lines, then the final reply.
enum class Reply { single, stream };

// daemon: sent over the control socket. client: mxctl runs it itself, with no daemon.
enum class Runs { daemon, client };

// Whether mxctl's help, the man page and the completions list a command. A hidden command
// is the wire side of another interface: `submit` is what sendmail sends.
enum class Visibility { listed, hidden };

// Whether a command may run with none of its arguments: `required` means at least one argument
// that is not a flag, so that a command that changes queued envelopes never runs on an
// implicit "everything" (`mxctl remove` alone is a usage error; `remove all` is explicit).
enum class Scope { optional, required };

// How an argument's value is checked (and completed).
enum class ArgType {
    string,     // any text
    uint,       // a decimal number
    duration,   // 30s, 5m, 2h, 1d
    subsystem,  // a trace subsystem name or "all"
    choice,     // one of ArgSpec::choices
    table,      // a table name (completed from the running daemon)
    queue_id,   // an evpid (16 hex digits), a msgid (8) or "all" (completed from the daemon)
    flag,       // an option without a value
};

enum class Arity { required, optional, many };

// One argument: a positional one ("subsystem") or an option whose name starts with "--".
// On the wire its key is the name without dashes, with '-' turned into '_'.
struct ArgSpec {
    std::string_view name;
    ArgType type;
    Arity arity;
    std::string_view help;
    std::span<const std::string_view> choices = {};
    char short_name = '\0';  // a one-letter alias of an option, or none
    std::string_view value_name = {};  // shown in help ("NAME=VALUE"); default: the name in capitals
};

// One row of the table.
struct Command {
    CommandId id;
    std::string_view words;  // "show status": the CLI path, and the wire name with dots
    std::span<const ArgSpec> args;
    Access access;
    Reply reply;
    Runs runs;
    std::string_view summary;
    Visibility visibility = Visibility::listed;
    Scope scope = Scope::optional;
};

// Every row, in the order mxctl's help and the man page list them.
std::span<const Command> commands();

// The row of a command id (every id has one).
const Command& command(CommandId id);

// The row whose wire name ("show.status") matches, or nullptr.
const Command* find_by_wire_name(std::string_view name);

// "show status" -> "show.status".
std::string wire_name(const Command& command);

// An argument's key on the wire: "--dry-run" -> "dry_run", "subsystem" -> "subsystem".
std::string wire_key(const ArgSpec& arg);

// The name of an access level ("admin").
std::string_view access_name(Access access);

// The result of matching command-line words against the table, smtpctl style: each word may
// be an unambiguous prefix ("sh st" is ambiguous, "sh sta" is show status).
struct Resolved {
    const Command* command = nullptr;
    std::size_t words_used = 0;        // how many leading words named the command
    std::vector<std::string> words;    // the full words, for messages
};

// Resolves the leading words of `argv`. On failure the error message says what was
// ambiguous or unknown and lists the possibilities ("possibilities are: show status, ...").
Result<Resolved> resolve(const std::vector<std::string>& argv);

// The distinct next words after `prefix` (complete words), for completion and help.
std::vector<std::string> next_words(const std::vector<std::string>& prefix);

} // namespace core::protocol
