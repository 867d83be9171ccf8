// SPDX-License-Identifier: ISC
#pragma once

#include "daemon/scheduler/scheduler.hpp"

namespace mxd {
struct RuntimeState;
class Workers;
} // namespace mxd

// The delivery agents the scheduler calls: the relay (mta) for `relay` actions and the local
// delivery (mda) for everything else, each mapping its result to a scheduler::Outcome.
namespace mxd::scheduler {

// Relays an envelope of a `relay` action: to the action's `host` URL, else to the MX hosts
// of the recipient's domain (RFC 5321 5.1, with the implicit MX), one transaction per
// envelope. DNS failures and unreachable hosts are temporary; a domain that does not exist
// or a null MX (RFC 7505) is permanent.
Deliver make_relay_agent(RuntimeState& state);

// Delivers an envelope of a local action (mbox, maildir, mda, lmtp) or a `|command` or
// `/file` destination from a table, as the recipient's user.
// Fails when the daemon's own executable cannot be opened for the delivery children.
core::Result<Deliver> make_local_agent(RuntimeState& state, Workers& workers);

// Routes the recipient of a bounce through the rules as mail from this machine.
RouteBounce make_bounce_router(RuntimeState& state);

} // namespace mxd::scheduler
