// SPDX-License-Identifier: ISC
// makemap and newaliases: building db tables, with no daemon needed (newaliases then tells a
// running one).
#include "cli/client.hpp"
#include "cli/exit_status.hpp"
#include "cli/local_commands.hpp"
#include "core/config/parser.hpp"
#include "core/table/makemap.hpp"
#include "core/table/table_file_format.hpp"
#include "core/util/paths.hpp"
#include "core/util/strings.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

namespace mxctl {

namespace {

using core::table::MakemapType;

// Prints a multi-line error (one `file:line: message` per line) with the command's prefix.
int report(std::string_view what, const core::Error& error) {
    for (auto line : core::split(error.message, '\n')) {
        std::cerr << "mxctl: " << what << ": " << line << "\n";
    }
    return exit_status_for(error.code);
}

// Builds `output` from the text file `source` (or stdin for "-"), keeping the source's mode,
// and its owner when we may.
core::Result<std::size_t> build_from(const std::string& source, const std::filesystem::path& output, MakemapType type) {
    core::table::MakemapOptions options;
    options.type = type;
    if (source == "-") {
        return core::table::build_db(std::cin, "<stdin>", output, options);
    }
    struct stat st{};
    if (::stat(source.c_str(), &st) != 0) {
        return core::fail(core::Error::from_errno(errno, "stat", source));
    }
    options.mode = st.st_mode & 07777;
    if (::geteuid() == 0) {
        options.owner = std::pair{st.st_uid, st.st_gid};
    }
    std::ifstream in(source, std::ios::binary);
    if (!in) {
        return core::fail(core::Error::from_errno(errno, "open", source));
    }
    return core::table::build_db(in, source, output, options);
}

} // namespace

int run_makemap(const nlohmann::json& args) {
    const auto file = args.at("file").get<std::string>();
    if (args.value("dump", false)) {
        auto dumped = core::table::dump_db(file, std::cout);
        return dumped ? k_exit_ok : report("makemap", dumped.error());
    }
    const auto type_name = args.value("type", "");
    const MakemapType type = type_name == "aliases" ? MakemapType::aliases
                             : type_name == "set"   ? MakemapType::set
                                                    : MakemapType::map;
    std::filesystem::path output = args.value("output", "");
    if (output.empty()) {
        if (file == "-") {
            std::cerr << "mxctl: makemap: reading stdin needs -o OUT\n";
            return k_exit_usage;
        }
        output = file + ".db";
    }
    auto built = build_from(file, output, type);
    return built ? k_exit_ok : report("makemap", built.error());
}

int run_newaliases(const nlohmann::json& args) {
    const auto uid = ::geteuid();
    const auto env = core::paths::process_environment();
    const auto defaults = core::paths::defaults_for(uid, env);
    std::filesystem::path config_path = args.value("config", "");
    std::error_code ec;
    if (config_path.empty() && std::filesystem::exists(defaults.config_file, ec)) {
        config_path = defaults.config_file;
    }
    core::config::Config config;
    if (config_path.empty()) {
        config = core::config::builtin_default(defaults);
    } else {
        core::config::LoadOptions options;
        options.check_files = core::config::CheckFiles::no;  // the aliases file may not be built yet
        auto loaded = core::config::load_file(config_path, options);
        if (!loaded.ok()) {
            std::cerr << core::config::format_diagnostics(loaded.diagnostics);
            std::cerr << "mxctl: newaliases: " << config_path.string() << " has errors\n";
            return k_exit_config;
        }
        config = std::move(*loaded.config);
    }
    const auto* table = config.find_table("aliases");
    if (table == nullptr) {
        std::cerr << "mxctl: newaliases: " << (config_path.empty() ? "the built-in default" : config_path.string())
                  << " has no table named aliases\n";
        return k_exit_config;
    }
    std::filesystem::path text = table->source;
    std::size_t count = 0;
    if (table->backend == core::config::Table::Backend::db) {
        // makemap's convention: the db is the text file's name plus ".db".
        if (text.extension() == ".db") {
            text.replace_extension();
        }
        auto built = build_from(text.string(), table->source, MakemapType::aliases);
        if (!built) {
            return report("newaliases", built.error());
        }
        count = *built;
    } else {
        auto parsed = core::table::read_table_file(text);
        if (!parsed) {
            return report("newaliases", parsed.error());
        }
        for (const auto& e : parsed->errors) {
            std::cerr << "mxctl: newaliases: " << text.string() << ":" << e.line << ": " << e.message << "\n";
        }
        bool bad = !parsed->errors.empty();
        for (const auto& entry : parsed->entries) {
            for (const auto& target : core::table::split_alias_value(entry.value)) {
                if (auto ok = core::table::check_alias_target(target); !ok) {
                    std::cerr << "mxctl: newaliases: " << text.string() << ":" << entry.line << ": "
                              << ok.error().message << "\n";
                    bad = true;
                }
            }
        }
        if (bad) {
            return k_exit_data;
        }
        count = parsed->entries.size();
    }
    std::cout << text.string() << ": " << count << " aliases\n";

    // Tell a running daemon; none running is fine, it reads the table when it starts.
    ConnectError error{};
    auto client = Client::connect(core::paths::resolve_socket("", uid, env), error);
    if (!client) {
        return k_exit_ok;
    }
    auto reply = client->call("update.table", {{"table", "aliases"}});
    if (!reply) {
        return report("newaliases", reply.error());
    }
    if (!reply->ok) {
        return report("newaliases: update table aliases", reply->error);
    }
    return k_exit_ok;
}

} // namespace mxctl
