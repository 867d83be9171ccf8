// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/log.hpp"
#include "daemon/control/context.hpp"
#include "core/util/result.hpp"
#include "daemon/state.hpp"

#include <nlohmann/json.hpp>

// One handler per command, grouped in handlers_*.cpp. Arguments are already validated against
// the command table; a handler only fails for reasons of state.
namespace mxd::control {

core::Result<nlohmann::json> handle_show_status(RuntimeState& state, const nlohmann::json& args);
// Whether `trace` turns a subsystem on or `untrace` turns it off.
enum class TraceSwitch { on, off };

core::Result<nlohmann::json> handle_log_level(RuntimeState& state, core::log::Level level);
core::Result<nlohmann::json> handle_trace(RuntimeState& state, const nlohmann::json& args, TraceSwitch to);
core::Result<nlohmann::json> handle_stop(RuntimeState& state, const nlohmann::json& args);
// reload: the configuration read, checked and swapped in (daemon/reload.hpp); its error when
// it fails (Errc::config with the diagnostics of mxd -n), and the old one keeps running.
asio::awaitable<core::Result<nlohmann::json>> handle_reload(Context& context, const nlohmann::json& args);
// expand ADDRESS [--from] [--src] [--auth]: the rule, action, expansion steps and deliveries
// of a recipient under the running configuration; fails only when a table lookup fails.
asio::awaitable<core::Result<nlohmann::json>> handle_expand(Context& context, const nlohmann::json& args);
// Whether `pause` holds something or `resume` releases it.
enum class PauseSwitch { pause, resume };

// pause / resume mda|mta|smtp: holds or releases deliveries or new sessions; what is in
// progress finishes. A pause may carry --reason and --for (a timer resumes it and wakes the
// scheduler). Replies with the pauses now in force.
asio::awaitable<core::Result<nlohmann::json>> handle_pause(Context& context, const nlohmann::json& args,
                                                           PauseSwitch to);

// handlers_queue.cpp: show queue, streamed page by page in constant memory; every queue
// command selects envelopes with core::queue::Filter (id, all, --sender, ...).
asio::awaitable<core::Result<nlohmann::json>> handle_show_queue(Context& context, const nlohmann::json& args);
// show envelope: every field of one envelope; not_found when it is not queued.
asio::awaitable<core::Result<nlohmann::json>> handle_show_envelope(Context& context, const nlohmann::json& args);
// show message: the raw message as a stream of base64 parts; not_found when it is not queued.
asio::awaitable<core::Result<nlohmann::json>> handle_show_message(Context& context, const nlohmann::json& args);
// schedule, remove, pause envelope, resume envelope: the selected envelopes, through the
// scheduler; --dry-run streams them as show queue does and changes nothing. A named id that
// is not queued is not_found; a store error fails the whole operation.
asio::awaitable<core::Result<nlohmann::json>> handle_schedule(Context& context, const nlohmann::json& args);
asio::awaitable<core::Result<nlohmann::json>> handle_remove(Context& context, const nlohmann::json& args);
asio::awaitable<core::Result<nlohmann::json>> handle_pause_envelope(Context& context, const nlohmann::json& args,
                                                                    PauseSwitch to);

// handlers_table.cpp: show tables (a stream of one item per table), table lookup, update table.
asio::awaitable<core::Result<nlohmann::json>> handle_show_tables(Context& context, const nlohmann::json& args);
// show relays: one item per route of the relay client (daemon/scheduler/agents.hpp RelayRoute).
asio::awaitable<core::Result<nlohmann::json>> handle_show_relays(Context& context, const nlohmann::json& args);
// show routes: one item per network route of the relay client (agents.hpp NetworkRoute).
asio::awaitable<core::Result<nlohmann::json>> handle_show_routes(Context& context, const nlohmann::json& args);
asio::awaitable<core::Result<nlohmann::json>> handle_table_lookup(Context& context, const nlohmann::json& args);
asio::awaitable<core::Result<nlohmann::json>> handle_update_table(Context& context, const nlohmann::json& args);

// handlers_submit.cpp: submit, a message from a local user (sendmail), in base64 parts that
// the connection keeps until the last one; queued under the peer's uid.
asio::awaitable<core::Result<nlohmann::json>> handle_submit(Context& context,
                                                            const nlohmann::json& args);

// handlers_mailq.cpp: mailq, one item per queued message with its recipients; a peer without
// read access sees only the messages it submitted.
asio::awaitable<core::Result<nlohmann::json>> handle_mailq(Context& context,
                                                           const nlohmann::json& args);

// handlers_observe.cpp: trace --follow (trace.follow), a stream of the trace lines of some
// subsystems, optionally of one message or session, until the client closes; it turns
// nothing on for the log. monitor: a stream of one item of counters a second, until the
// client closes. show stats: one object of every counter (zero ones too), the queue's size and
// its oldest message's age. A store error fails show stats.
asio::awaitable<core::Result<nlohmann::json>> handle_trace_follow(Context& context, const nlohmann::json& args);
asio::awaitable<core::Result<nlohmann::json>> handle_monitor(Context& context, const nlohmann::json& args);
asio::awaitable<core::Result<nlohmann::json>> handle_show_stats(Context& context, const nlohmann::json& args);

// handlers_complete.cpp: __complete, the queue ids (msgids, then evpids) or table names that
// start with a prefix, at most 100 of each kind, for shell completion. A store error fails it.
asio::awaitable<core::Result<nlohmann::json>> handle_complete(Context& context, const nlohmann::json& args);

} // namespace mxd::control
