// SPDX-License-Identifier: ISC
#pragma once

#include "core/config/config.hpp"
#include "core/rules/ruleset.hpp"
#include "core/util/result.hpp"

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Recipient expansion, as OpenSMTPD's lka_session.c lka_expand() does it: the action that the
// rules chose for a recipient expands it through its `alias` or `virtual` table, the users'
// ~/.forward files and `:include:` files into the deliveries that the queue stores
// (smtpd.conf(5) `action`, aliases(5), table(5)). Pure logic: files and rules come in through
// callbacks.
namespace core::expand {

// OpenSMTPD's EXPAND_DEPTH (lka_session.c): a node this deep fails the whole expansion. The
// recipient address is depth 0 and its user name depth 1, so aliases can chain about 8 deep.
inline constexpr int k_expand_depth_max = 10;
// At most this many deliveries from one recipient (OpenSMTPD has no limit; one list in a
// table must not fill the queue with thousands of envelopes from one RCPT).
inline constexpr std::size_t k_expand_deliveries_max = 1000;
// At most this many nodes visited for one recipient, so that wide tables stay cheap.
inline constexpr std::size_t k_expand_nodes_max = 10000;

// A system user or a userbase entry (table(5) userinfo `uid:gid:home`).
struct LocalUser {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string home;
};

// One result of an expansion.
struct Delivery {
    enum class Kind {
        user,    // a local user: `action`'s mbox / maildir / mda / lmtp method delivers to it
        address, // an address that must go through the rules again (the caller matches it)
        relay,   // an address the router sent to the relay action `action`
        command, // `|command`: `command` runs with the message on its stdin
        file,    // `/path`: the message is appended to `path` in mbox format
        error,   // `error:NNN text`: the recipient is refused with this reply
    };

    Kind kind = Kind::user;
    std::string action;     // the action that delivers it; empty for Kind::address and error
    std::string recipient;  // the address it was expanded from (the envelope's destination)
    LocalUser user;         // Kind::user: the mailbox owner
    std::string subaddress; // Kind::user: the `+tag` of the recipient, without the delimiter
    std::string address;    // Kind::address and Kind::relay: user@domain
    std::string target;     // Kind::command: the command line; Kind::file: the path
    std::optional<LocalUser> run_as; // command/file from a .forward: its owner; nullopt: the
                                     // action's `user`, else mxd's unprivileged user
    int code = 0;                    // Kind::error: 4xx or 5xx
    std::string text;                // Kind::error: the reply text after the code

    // The delivery in one line, for logs and tests: `user roger`, `command "|/bin/foo" as
    // roger`, `address a@b`, `relay a@b (action relay)`, `file /var/x`, `error 550 gone`.
    std::string describe() const;
};

// What an expansion gives: the deliveries in the order found, and a log of each step, for
// `mxctl expand` and `trace expand` (`alias root -> admin, |/usr/bin/foo`).
struct Expansion {
    std::vector<Delivery> deliveries;
    std::vector<std::string> steps;

    // The first Kind::error delivery, or nullptr. OpenSMTPD refuses the whole recipient with
    // it when expansion reaches one (lka_session.c EXPAND_ERROR); the session must do the same.
    const Delivery* first_error() const;
};

// Reads ~/.forward in `home` as user `uid`: its text, nullopt when there is none; an error
// (the caller then answers with a temporary failure) when it exists but cannot be read.
using ForwardReader =
    std::function<Result<std::optional<std::string>>(const std::string& home, uid_t uid)>;
// Reads an `:include:` file: its text, nullopt when it does not exist.
using IncludeReader = std::function<Result<std::optional<std::string>>(const std::string& path)>;
// Matches an address produced by expansion against the rules: the action of the matching
// rule, nullptr when the rules refuse it.
using Router = std::function<Result<const core::config::Action*>(const std::string& address)>;

// What an expansion needs from outside. `route` is optional: without it, addresses produced
// by expansion come back as Delivery::Kind::address for the caller to route.
struct Context {
    const core::config::Config& config;
    core::rules::TableResolver tables;
    ForwardReader read_forward;
    IncludeReader read_include;
    Router route;
    // When set, receives the steps taken up to a failure (`mxctl expand` shows them).
    std::vector<std::string>* steps_on_failure = nullptr;
};

// Expands `recipient` (user@domain) with the action its rule chose. Fails with
// Errc::not_found for an unknown user, an address no virtual entry matches, or an address the
// router refuses; Errc::invalid_argument (a 5xx) for a loop that leaves nothing to deliver, an
// empty result, the depth and size limits, and a user without a .forward on an expand-only
// action; Errc::temp_failure (a 4xx) for table and file errors, invalid table entries, and what
// OpenSMTPD defers: a user without a .forward on a forward-only action, a command, file or
// error target on a forward-only action, a command or file in root's .forward.
Result<Expansion> expand(const Context& context, const core::config::Action& action,
                         std::string_view recipient);

// A userinfo value `uid:gid:home` (table(5)) for the user `name`; nullopt when malformed.
std::optional<LocalUser> parse_userinfo(const std::string& name, std::string_view value);

// One alias target (aliases(5)), parsed.
struct Target {
    enum class Kind { include, command, file, address, user, error };
    Kind kind = Kind::user;
    std::string value; // include/file path, command line, address, user name, or error text
    int code = 0;      // Kind::error
};

// Parses one element of an alias value, already split on commas and unquoted. nullopt when it
// is none of the forms of aliases(5). An address with an empty domain (`postmaster@`) keeps
// its trailing '@': expand() completes it with the recipient's domain.
std::optional<Target> parse_target(std::string_view text);

} // namespace core::expand
