// SPDX-License-Identifier: ISC
#include "daemon/control/dispatch.hpp"

#include "core/protocol/args.hpp"
#include "core/protocol/commands.hpp"
#include "daemon/control/handlers.hpp"

namespace mxd::control {

using core::Errc;
using core::protocol::CommandId;

asio::awaitable<core::Result<nlohmann::json>> dispatch(Context& context, const core::protocol::Request& request) {
    auto& state = context.state;
    const auto& peer = context.peer;
    const auto* command = core::protocol::find_by_wire_name(request.cmd);
    if (command == nullptr) {
        co_return core::fail(Errc::not_found, "unknown command '" + request.cmd + "'");
    }
    if (command->runs == core::protocol::Runs::client) {
        co_return core::fail(Errc::invalid_argument,
                             "'" + std::string(command->words) + "' runs in mxctl, not in the daemon");
    }
    if (!allows(peer.access, command->access)) {
        co_return core::fail(Errc::permission_denied,
                          "'" + std::string(command->words) + "' needs " +
                              std::string(core::protocol::access_name(command->access)) +
                              " access; uid " + std::to_string(peer.uid) + " has " +
                              std::string(core::protocol::access_name(peer.access)));
    }
    if (auto valid = core::protocol::validate_args(*command, request.args); !valid) {
        co_return core::fail(std::move(valid).error());
    }
    const auto& args = request.args;
    switch (command->id) {
    case CommandId::show_status:
        co_return handle_show_status(state, args);
    case CommandId::log_verbose:
        co_return handle_log_level(state, core::log::Level::debug);
    case CommandId::log_brief:
        co_return handle_log_level(state, core::log::Level::info);
    case CommandId::trace:
        if (args.value("follow", false)) {
            co_return co_await handle_trace_follow(context, args);
        }
        co_return handle_trace(state, args, TraceSwitch::on);
    case CommandId::trace_follow:
        co_return co_await handle_trace_follow(context, args);
    case CommandId::monitor:
        co_return co_await handle_monitor(context, args);
    case CommandId::show_stats:
        co_return co_await handle_show_stats(context, args);
    case CommandId::untrace:
        co_return handle_trace(state, args, TraceSwitch::off);
    case CommandId::stop:
        co_return handle_stop(state, args);
    case CommandId::reload:
        co_return co_await handle_reload(context, args);
    case CommandId::expand:
        co_return co_await handle_expand(context, args);
    case CommandId::pause:
        co_return co_await handle_pause(context, args, PauseSwitch::pause);
    case CommandId::resume:
        co_return co_await handle_pause(context, args, PauseSwitch::resume);
    case CommandId::show_envelope:
        co_return co_await handle_show_envelope(context, args);
    case CommandId::show_message:
        co_return co_await handle_show_message(context, args);
    case CommandId::schedule:
        co_return co_await handle_schedule(context, args);
    case CommandId::remove:
        co_return co_await handle_remove(context, args);
    case CommandId::pause_envelope:
        co_return co_await handle_pause_envelope(context, args, PauseSwitch::pause);
    case CommandId::resume_envelope:
        co_return co_await handle_pause_envelope(context, args, PauseSwitch::resume);
    case CommandId::show_queue:
        co_return co_await handle_show_queue(context, args);
    case CommandId::show_tables:
        co_return co_await handle_show_tables(context, args);
    case CommandId::show_relays:
        co_return co_await handle_show_relays(context, args);
    case CommandId::show_routes:
        co_return co_await handle_show_routes(context, args);
    case CommandId::table_lookup:
        co_return co_await handle_table_lookup(context, args);
    case CommandId::update_table:
        co_return co_await handle_update_table(context, args);
    case CommandId::mailq:
        co_return co_await handle_mailq(context, args);
    case CommandId::submit:
        co_return co_await handle_submit(context, args);
    case CommandId::complete:
        co_return co_await handle_complete(context, args);
    case CommandId::sendmail:
    case CommandId::encrypt:
    case CommandId::check_config:
    case CommandId::config_migrate:
    case CommandId::makemap:
    case CommandId::newaliases:
        break;  // Runs::client, refused above
    }
    co_return core::fail(Errc::internal, "no handler for '" + request.cmd + "'");
}

} // namespace mxd::control
