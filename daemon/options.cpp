// SPDX-License-Identifier: ISC
#include "daemon/options.hpp"

#include "core/util/trace.hpp"
#include "mxd_build_config.h"

#include <CLI/CLI.hpp>

#include <iostream>
#include <sysexits.h>

namespace mxd {

ParsedOptions parse_options(int argc, char** argv) {
    ParsedOptions parsed;
    Options& o = parsed.options;
    CLI::App app{"mxd: mail transfer daemon", "mxd"};
    app.set_version_flag("--version", std::string("mxd ") + MXD_VERSION);
    app.get_formatter()->column_width(26);
    app.add_flag("-d,--foreground", o.foreground, "Stay in the foreground and log to stderr");
    app.add_flag("-v,--verbose", o.verbose, "Log at debug level");
    app.add_flag("-n,--check", o.check_only, "Check the configuration, print OK, and exit");
    app.add_option("-f,--config", o.config_file, "Configuration file")->type_name("FILE");
    std::vector<std::string> macros;
    app.add_option("-D,--define", macros, "Define a configuration macro")
        ->type_name("NAME=VALUE")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_option("-T,--trace", o.traces, "Trace a subsystem from the start")
        ->type_name("SUBSYSTEM")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->check([](const std::string& name) {
            return core::parse_subsystem_set(name) ? std::string{} : "unknown trace subsystem '" + name + "'";
        });
    app.add_option("-P,--pause", o.paused, "Start with mda, mta or smtp paused")
        ->type_name("mda|mta|smtp")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->check([](const std::string& what) {
            return what == "mda" || what == "mta" || what == "smtp" ? std::string{}
                                                                    : "-P takes mda, mta or smtp, not '" + what + "'";
        });
    app.add_option("-s,--socket", o.socket, "Control socket path")->type_name("SOCKET");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::cout << app.help();
        parsed.exit_now = true;
        return parsed;
    } catch (const CLI::CallForVersion&) {
        std::cout << "mxd " << MXD_VERSION << "\n";
        parsed.exit_now = true;
        return parsed;
    } catch (const CLI::ParseError& e) {
        std::cerr << "mxd: " << e.what() << " (see mxd --help)\n";
        parsed.exit_now = true;
        parsed.exit_status = EX_USAGE;
        return parsed;
    }
    for (const auto& m : macros) {
        const auto eq = m.find('=');
        if (eq == std::string::npos || eq == 0) {
            std::cerr << "mxd: -D takes NAME=VALUE, not '" << m << "'\n";
            parsed.exit_now = true;
            parsed.exit_status = EX_USAGE;
            return parsed;
        }
        o.macros[m.substr(0, eq)] = m.substr(eq + 1);
    }
    return parsed;
}

} // namespace mxd
