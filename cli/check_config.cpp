// SPDX-License-Identifier: ISC
// check-config and config migrate: the configuration check of `mxd -n`, with no daemon.
#include "cli/exit_status.hpp"
#include "cli/local_commands.hpp"
#include "cli/render.hpp"
#include "core/config/parser.hpp"
#include "core/util/paths.hpp"

#include <unistd.h>

#include <iostream>

namespace mxctl {

namespace {

// The -D NAME=VALUE list as load options; false (with a message) for a malformed one.
bool load_options_from(const nlohmann::json& args, core::config::LoadOptions& options) {
    for (const auto& define : args.value("define", nlohmann::json::array())) {
        const auto text = define.get<std::string>();
        const auto eq = text.find('=');
        if (eq == std::string::npos || eq == 0) {
            std::cerr << "mxctl: -D takes NAME=VALUE, not '" << text << "'\n";
            return false;
        }
        options.macros[text.substr(0, eq)] = text.substr(eq + 1);
    }
    if (args.value("skip_files", false)) {
        options.check_files = core::config::CheckFiles::no;
    }
    return true;
}

std::filesystem::path file_argument(const nlohmann::json& args) {
    if (args.contains("file")) {
        return args.at("file").get<std::string>();
    }
    return core::paths::defaults_for(::geteuid(), core::paths::process_environment()).config_file;
}

} // namespace

int run_check_config(const nlohmann::json& args, Output output) {
    core::config::LoadOptions options;
    if (!load_options_from(args, options)) {
        return k_exit_usage;
    }
    const auto file = file_argument(args);
    const auto result = core::config::load_file(file, options);
    std::size_t errors = 0;
    std::size_t warnings = 0;
    for (const auto& d : result.diagnostics) {
        errors += d.severity == core::config::Severity::error ? 1 : 0;
        warnings += d.severity == core::config::Severity::warning ? 1 : 0;
    }
    const bool strict = args.value("strict", false);
    const bool ok = errors == 0 && (!strict || warnings == 0);
    if (output == Output::json) {
        nlohmann::json diagnostics = nlohmann::json::array();
        for (const auto& d : result.diagnostics) {
            diagnostics.push_back({{"file", d.file.string()},
                                   {"line", d.line},
                                   {"column", d.column},
                                   {"severity", core::config::severity_name(d.severity)},
                                   {"message", d.message},
                                   {"hint", d.hint}});
        }
        render_json({{"ok", ok}, {"file", file.string()}, {"diagnostics", diagnostics}}, std::cout);
    } else {
        std::cout << core::config::format_diagnostics(result.diagnostics);
        if (ok) {
            std::cout << "configuration OK\n";
        }
    }
    if (!ok) {
        std::cerr << "mxctl: check-config: " << file.string() << ": " << errors << " error"
                  << (errors == 1 ? "" : "s") << ", " << warnings << " warning" << (warnings == 1 ? "" : "s")
                  << (strict && errors == 0 ? " (--strict)" : "") << "\n";
        return k_exit_config;
    }
    return k_exit_ok;
}

int run_config_migrate(const nlohmann::json& args) {
    core::config::LoadOptions options;
    if (!load_options_from(args, options)) {
        return k_exit_usage;
    }
    const auto file = file_argument(args);
    auto migrated = core::config::migrate_file(file, options);
    if (!migrated) {
        std::cout << migrated.error().message;
        std::cerr << "mxctl: config migrate: " << file.string() << " has errors\n";
        return k_exit_config;
    }
    std::cout << *migrated;
    return k_exit_ok;
}

} // namespace mxctl
