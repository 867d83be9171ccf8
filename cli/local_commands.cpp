// SPDX-License-Identifier: ISC
#include "cli/local_commands.hpp"

#include "cli/exit_status.hpp"
#include "cli/sendmail.hpp"

#include <iostream>

namespace mxctl {

int run_local(const core::protocol::Command& command, const nlohmann::json& args, Output output) {
    switch (command.id) {
    case core::protocol::CommandId::encrypt:
        return run_encrypt(args, output);
    case core::protocol::CommandId::check_config:
        return run_check_config(args, output);
    case core::protocol::CommandId::config_migrate:
        return run_config_migrate(args);
    case core::protocol::CommandId::makemap:
        return run_makemap(args);
    case core::protocol::CommandId::newaliases:
        return run_newaliases(args);
    case core::protocol::CommandId::sendmail:
        return run_sendmail(
            {"mxctl sendmail", "", args.value("argument", std::vector<std::string>{})});
    case core::protocol::CommandId::mailq:
    case core::protocol::CommandId::submit:
    case core::protocol::CommandId::complete:
    case core::protocol::CommandId::show_queue:
    case core::protocol::CommandId::show_tables:
    case core::protocol::CommandId::table_lookup:
    case core::protocol::CommandId::update_table:
    case core::protocol::CommandId::show_status:
    case core::protocol::CommandId::log_verbose:
    case core::protocol::CommandId::log_brief:
    case core::protocol::CommandId::trace:
    case core::protocol::CommandId::untrace:
    case core::protocol::CommandId::trace_follow:
    case core::protocol::CommandId::monitor:
    case core::protocol::CommandId::show_stats:
    case core::protocol::CommandId::stop:
    case core::protocol::CommandId::pause:
    case core::protocol::CommandId::resume:
    case core::protocol::CommandId::show_envelope:
    case core::protocol::CommandId::show_message:
    case core::protocol::CommandId::schedule:
    case core::protocol::CommandId::remove:
    case core::protocol::CommandId::pause_envelope:
    case core::protocol::CommandId::resume_envelope:
    case core::protocol::CommandId::reload:
    case core::protocol::CommandId::expand:
    case core::protocol::CommandId::show_relays:
    case core::protocol::CommandId::show_routes:
        break;  // Runs::daemon
    }
    std::cerr << "mxctl: " << command.words << ": runs in the daemon\n";
    return k_exit_software;
}

} // namespace mxctl
