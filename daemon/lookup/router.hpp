// SPDX-License-Identifier: ISC
#pragma once

#include "core/expand/expand.hpp"
#include "core/queue/envelope.hpp"
#include "core/rules/ruleset.hpp"
#include "core/util/result.hpp"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mxd {
struct Generation;
}

// Routing a recipient (OpenSMTPD's lka): the rules choose an action, expansion turns the
// recipient into final destinations. The SMTP session uses it at RCPT, the scheduler for the
// recipient of a bounce. Blocking (tables, .forward files): call it on a worker thread.
namespace mxd::lookup {

// One final destination of a recipient, as an envelope stores it.
struct Destination {
    std::string dest;   // a user name, `|command`, `/file`, or user@domain for relays
    std::string action; // the action that delivers it
    std::string run_as; // `|command` and `/file` from a .forward: its owner's name
    core::queue::DeliveryType type = core::queue::DeliveryType::mda;
};

// Expands `address` with `action` (chosen by the rules for `facts`); addresses that expansion
// produces go through the rules again with the same facts. Errors as core::expand::expand().
// With `steps_on_failure`, the steps taken up to a failure are kept there.
core::Result<core::expand::Expansion> expand_recipient(const Generation& gen,
                                                       const core::rules::Facts& facts,
                                                       const core::config::Action& action,
                                                       const std::string& address,
                                                       std::vector<std::string>* steps_on_failure = nullptr);

// expand_recipient() when everything it needs is in memory: tables held in memory, and the
// user database's answers and .forward files read a moment ago (ExpansionCache). nullopt when
// it would have to read a file or ask the system; then call expand_recipient() on a worker,
// which fills the cache for the next recipient. Does not block: event loop safe.
std::optional<core::Result<core::expand::Expansion>>
expand_recipient_in_memory(const Generation& gen, const core::rules::Facts& facts,
                           const core::config::Action& action, const std::string& address);

// The destinations of an expansion; deliveries without an action of their own use
// `default_action`. Kind::error deliveries are left out (the caller refuses the recipient
// with Expansion::first_error() before it gets here).
std::vector<Destination> destinations_of(const Generation& gen,
                                         const core::expand::Expansion& expansion,
                                         const std::string& default_action);

// What the router does with one recipient, step by step: the rule, the action, the
// expansion's steps and deliveries (`mxctl expand`).
struct Explanation {
    std::optional<std::size_t> rule;        // index of the rule that matched; nullopt: none
    bool rejected = false;                  // no rule matched, or a `reject` rule did
    std::string action;                     // the matching rule's action
    core::expand::Expansion expansion;      // its steps and deliveries
    std::optional<core::Error> error;       // why the expansion failed, if it did
    std::vector<Destination> destinations;  // what would be queued
};

// Routes `facts.rcpt_to` as a session or a submission would. Fails only when a table lookup
// of the rules fails; a refusal or a failed expansion is part of the explanation.
core::Result<Explanation> explain(const Generation& gen, const core::rules::Facts& facts);

// The machine's own names, which `for local` matches: its host name, localhost, and the
// names its listeners announce.
std::set<std::string> local_names(const Generation& gen);

// What is known of mail from this machine beyond its recipient: the `listen on socket` tag
// and the envelope sender, which `match tag` and `match mail-from` rules test.
struct LocalOrigin {
    std::string tag;
    std::string sender; // user@domain, "" for <>
};

// Routes `address` as mail from this machine (a bounce, a local submission): the rules with
// `from local` facts, then expansion. Errc::not_found when the rules refuse it.
core::Result<std::vector<Destination>> route_local(const Generation& gen,
                                                   const std::string& address);
core::Result<std::vector<Destination>>
route_local(const Generation& gen, const std::string& address, const LocalOrigin& origin);

} // namespace mxd::lookup
