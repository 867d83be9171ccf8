// SPDX-License-Identifier: ISC
#include "daemon/control/dispatch.hpp"

#include "core/protocol/args.hpp"
#include "core/protocol/commands.hpp"
#include "daemon/control/handlers.hpp"

namespace mxd::control {

using core::Errc;
using core::protocol::CommandId;

core::Result<nlohmann::json> dispatch(RuntimeState& state, const Peer& peer,
                                      const core::protocol::Request& request) {
    const auto* command = core::protocol::find_by_wire_name(request.cmd);
    if (command == nullptr) {
        return core::fail(Errc::not_found, "unknown command '" + request.cmd + "'");
    }
    if (command->runs == core::protocol::Runs::client) {
        return core::fail(Errc::invalid_argument,
                          "'" + std::string(command->words) + "' runs in mxctl, not in the daemon");
    }
    if (!allows(peer.access, command->access)) {
        return core::fail(Errc::permission_denied,
                          "'" + std::string(command->words) + "' needs " +
                              std::string(core::protocol::access_name(command->access)) +
                              " access; uid " + std::to_string(peer.uid) + " has " +
                              std::string(core::protocol::access_name(peer.access)));
    }
    MXD_TRY(core::protocol::validate_args(*command, request.args));
    const auto& args = request.args;
    switch (command->id) {
    case CommandId::show_status:
        return handle_show_status(state, args);
    case CommandId::log_verbose:
        return handle_log_level(state, core::log::Level::debug);
    case CommandId::log_brief:
        return handle_log_level(state, core::log::Level::info);
    case CommandId::trace:
        return handle_trace(state, args, TraceSwitch::on);
    case CommandId::untrace:
        return handle_trace(state, args, TraceSwitch::off);
    case CommandId::stop:
        return handle_stop(state, args);
    case CommandId::encrypt:
    case CommandId::check_config:
    case CommandId::config_migrate:
        break;  // Runs::client, refused above
    }
    return core::fail(Errc::internal, "no handler for '" + request.cmd + "'");
}

} // namespace mxd::control
