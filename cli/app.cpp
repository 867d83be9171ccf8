// SPDX-License-Identifier: ISC
#include "cli/app.hpp"

#include "cli/client.hpp"
#include "cli/completion.hpp"
#include "cli/exit_status.hpp"
#include "cli/local_commands.hpp"
#include "cli/render.hpp"
#include "cli/sendmail.hpp"
#include "core/protocol/args.hpp"
#include "core/protocol/commands.hpp"
#include "core/stats/stats.hpp"
#include "core/util/paths.hpp"
#include "core/util/strings.hpp"
#include "mxd_build_config.h"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <iostream>
#include <map>

namespace mxctl {

namespace {

using core::protocol::ArgSpec;
using core::protocol::ArgType;
using core::protocol::Arity;
using core::protocol::Command;

// The value of one argument of one command, bound to a CLI11 option.
struct ArgHolder {
    const Command* command;
    const ArgSpec* spec;
    std::string value;
    std::vector<std::string> values;
    bool flag = false;
    CLI::Option* option = nullptr;
};

struct Invocation {
    std::string socket;
    bool json = false;
    const Command* command = nullptr;
    std::deque<ArgHolder> holders;  // a deque: CLI11 keeps pointers into it
};

// A hidden row whose words extend another command's (trace follow, under trace) is reached
// through that command's options (trace --follow), not as words of its own.
bool nested_under_another(const Command& command) {
    if (command.visibility != core::protocol::Visibility::hidden) {
        return false;
    }
    for (const auto& other : core::protocol::commands()) {
        if (&other != &command && command.words.starts_with(std::string(other.words) + " ")) {
            return true;
        }
    }
    return false;
}

// Builds the CLI11 tree from the command table: one nested subcommand per word.
void build_app(CLI::App& app, Invocation& inv) {
    app.add_option("-s,--socket", inv.socket, "Control socket (default: $MXD_SOCKET, else mxd's)")
        ->type_name("PATH");
    app.add_flag("-j,--json", inv.json, "Print JSON (one object per line) for scripts");
    app.set_version_flag("--version", std::string("mxctl ") + MXD_VERSION);
    app.require_subcommand(1);
    app.get_formatter()->column_width(24);
    std::map<std::string, CLI::App*> nodes;
    for (const auto& command : core::protocol::commands()) {
        if (nested_under_another(command)) {
            continue;
        }
        CLI::App* node = &app;
        std::string path;
        const auto words = core::split(command.words, ' ');
        for (std::size_t i = 0; i < words.size(); ++i) {
            path += (path.empty() ? "" : " ") + std::string(words[i]);
            const bool leaf = i + 1 == words.size();
            auto it = nodes.find(path);
            if (it == nodes.end()) {
                std::string description = leaf ? std::string(command.summary) : "";
                if (!leaf) {
                    std::vector<std::string> prefix;
                    for (std::size_t j = 0; j <= i; ++j) {
                        prefix.emplace_back(words[j]);
                    }
                    description = core::join(core::protocol::next_words(prefix), ", ");
                    // Within 80 columns of --help, beside the 24 of the names.
                    if (description.size() <= 42) {
                        description = "Subcommands: " + description;
                    } else if (description.size() > 56) {
                        description = description.substr(0, description.rfind(", ", 51)) + ", ...";
                    }
                }
                CLI::App* sub = node->add_subcommand(std::string(words[i]), description);
                sub->fallthrough();
                if (leaf && command.visibility == core::protocol::Visibility::hidden) {
                    sub->group(""); // not in --help; it still runs
                }
                if (!leaf) {
                    sub->require_subcommand(1);
                }
                it = nodes.emplace(path, sub).first;
            }
            node = it->second;
        }
        // CLI11 runs a subcommand's callback before its parent's: `pause envelope` is chosen
        // first, and `pause` must not take its place.
        node->callback([&inv, &command] {
            if (inv.command == nullptr) {
                inv.command = &command;
            }
        });
        // A command that another one extends (pause, under pause envelope) cannot make its
        // positional required in CLI11; validate_args still requires it.
        const bool extended = !core::protocol::next_words(std::vector<std::string>(words.begin(), words.end())).empty();
        for (const auto& spec : command.args) {
            auto& h = inv.holders.emplace_back(ArgHolder{&command, &spec, {}, {}, false, nullptr});
            const std::string name(spec.name);
            const std::string flag_names =
                spec.short_name != '\0' ? std::string("-") + spec.short_name + "," + name : name;
            if (spec.type == ArgType::flag) {
                h.option = node->add_flag(flag_names, h.flag, std::string(spec.help));
                continue;
            }
            if (spec.arity == Arity::many) {
                h.option = node->add_option(flag_names, h.values, std::string(spec.help));
                if (name.starts_with("-")) {
                    // One value per occurrence: `-D a=1 -D b=2`, never `-D a=1 b=2`.
                    h.option->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
                }
            } else {
                h.option = node->add_option(flag_names, h.value, std::string(spec.help));
            }
            if (spec.arity == Arity::required && !extended) {
                h.option->required();
            }
            if (spec.type == ArgType::choice) {
                std::vector<std::string> choices(spec.choices.begin(), spec.choices.end());
                h.option->check(CLI::IsMember(choices).description(""));
            } else if (spec.type == ArgType::uint) {
                h.option->check(CLI::NonNegativeNumber);
            }
            if (!spec.value_name.empty()) {
                h.option->type_name(std::string(spec.value_name));
            } else if (spec.type == ArgType::choice) {
                h.option->type_name(core::join(std::vector<std::string>(spec.choices.begin(), spec.choices.end()), "|"));
            } else {
                std::string upper(core::protocol::wire_key(spec));
                for (auto& ch : upper) {
                    ch = static_cast<char>(ch == '_' ? '-' : std::toupper(static_cast<unsigned char>(ch)));
                }
                h.option->type_name(upper);
            }
        }
    }
}

// The request's "args" object from the parsed options of the chosen command.
nlohmann::json collect_args(const Invocation& inv) {
    nlohmann::json args = nlohmann::json::object();
    for (const auto& h : inv.holders) {
        if (h.command != inv.command || h.option->count() == 0) {
            continue;
        }
        const auto key = core::protocol::wire_key(*h.spec);
        if (h.spec->type == ArgType::flag) {
            args[key] = h.flag;
        } else if (h.spec->arity == Arity::many) {
            args[key] = h.values;
        } else if (h.spec->type == ArgType::uint) {
            args[key] = std::stoull(h.value);
        } else {
            args[key] = h.value;
        }
    }
    return args;
}

bool is_help_or_version(const std::string& arg) {
    return arg == "-h" || arg == "--help" || arg == "--version";
}

// Expands abbreviated command words ("sh st" -> "show status") in place, smtpctl style.
// Global options before the command are skipped. Returns an error message when the words are
// ambiguous or unknown and no --help asks for CLI11's own help.
std::string expand_abbreviations(std::vector<std::string>& args) {
    std::size_t first = 0;
    while (first < args.size() && args[first].starts_with("-")) {
        const auto& a = args[first];
        first += (a == "-s" || a == "--socket") ? 2 : 1;
    }
    std::size_t last = first;
    while (last < args.size() && !args[last].starts_with("-")) {
        ++last;
    }
    const std::vector<std::string> words(args.begin() + static_cast<std::ptrdiff_t>(first),
                                         args.begin() + static_cast<std::ptrdiff_t>(last));
    auto resolved = core::protocol::resolve(words);
    if (!resolved) {
        const bool help = std::any_of(args.begin(), args.end(), is_help_or_version);
        return help ? std::string{} : resolved.error().message;
    }
    for (std::size_t i = 0; i < resolved->words_used; ++i) {
        args[first + i] = resolved->words[i];
    }
    return {};
}

// `mxctl [-s SOCKET] [-j] sendmail ARGS`: sendmail's own command line follows the word, which
// CLI11 must not parse (-oi, -FName). Returns the index of the word, or npos, and the socket.
std::size_t find_sendmail(const std::vector<std::string>& args, std::string& socket) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto& a = args[i];
        if ((a == "-s" || a == "--socket") && i + 1 < args.size()) {
            socket = args[++i];
        } else if (a.starts_with("--socket=")) {
            socket = a.substr(9);
        } else if (!a.starts_with("-")) {
            return a == "sendmail" ? i : std::string::npos;
        }
    }
    return std::string::npos;
}

int fail_with(const std::string& what, const std::string& why, int status) {
    std::cerr << "mxctl: " << what << (why.empty() ? "" : ": " + why) << "\n";
    return status;
}

} // namespace

int run_mxctl(const std::vector<std::string>& raw_args) {
    // Hidden generators, for the committed man page region and completions.
    if (!raw_args.empty() && raw_args[0] == "__man-synopsis") {
        std::cout << man_command_list();
        return k_exit_ok;
    }
    if (!raw_args.empty() && raw_args[0] == "__completion") {
        const auto script = completion_script(raw_args.size() == 2 ? raw_args[1] : "");
        if (script.empty()) {
            return fail_with("usage: mxctl __completion bash|zsh|fish", "", k_exit_usage);
        }
        std::cout << script;
        return k_exit_ok;
    }
    // mxctl [-s SOCKET] __complete ...: the shells' question, answered before CLI11 parses.
    for (std::size_t i = 0; i < raw_args.size() && raw_args[i].starts_with("-"); ++i) {
        i += raw_args[i] == "-s" || raw_args[i] == "--socket" ? 1 : 0;
        if (i + 1 < raw_args.size() && raw_args[i + 1] == "__complete") {
            auto rest = raw_args;
            rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(i) + 1);
            return run_complete(rest);
        }
    }
    if (!raw_args.empty() && raw_args[0] == "__complete") {
        return run_complete(std::vector<std::string>(raw_args.begin() + 1, raw_args.end()));
    }
    std::vector<std::string> args = raw_args;
    if (const auto error = expand_abbreviations(args); !error.empty()) {
        return fail_with(error, "", k_exit_usage);
    }
    std::string sendmail_socket;
    if (const auto at = find_sendmail(args, sendmail_socket); at != std::string::npos) {
        return run_sendmail({"mxctl sendmail", sendmail_socket,
                             std::vector<std::string>(
                                 args.begin() + static_cast<std::ptrdiff_t>(at) + 1, args.end())});
    }
    Invocation inv;
    CLI::App app{"mxctl: control the mxd mail transfer daemon", "mxctl"};
    build_app(app, inv);
    try {
        std::vector<std::string> reversed(args.rbegin(), args.rend());
        app.parse(reversed);
    } catch (const CLI::CallForHelp&) {
        std::cout << app.help();
        return k_exit_ok;
    } catch (const CLI::CallForVersion&) {
        std::cout << "mxctl " << MXD_VERSION << "\n";
        return k_exit_ok;
    } catch (const CLI::ParseError& e) {
        // A subcommand's --help arrives here as CallForHelp of that subcommand.
        if (e.get_name() == "CallForHelp") {
            for (auto* sub = &app; sub != nullptr;) {
                auto chosen = sub->get_subcommands();
                if (chosen.empty()) {
                    std::cout << sub->help();
                    break;
                }
                sub = chosen.front();
            }
            return k_exit_ok;
        }
        return fail_with(e.what(), "see mxctl --help", k_exit_usage);
    }
    if (inv.command == nullptr) {
        return fail_with("missing command", "see mxctl --help", k_exit_usage);
    }
    const Command* chosen = inv.command;
    const std::string what(chosen->words);
    nlohmann::json request_args = collect_args(inv);
    if (chosen->id == core::protocol::CommandId::trace) {
        // `trace --follow` is the stream trace.follow; --msgid and --session only filter it.
        if (request_args.value("follow", false)) {
            request_args.erase("follow");
            chosen = &core::protocol::command(core::protocol::CommandId::trace_follow);
        } else if (request_args.contains("msgid") || request_args.contains("session")) {
            return fail_with(what, "--msgid and --session go with --follow", k_exit_usage);
        }
    }
    const auto& command = *chosen;
    if (auto valid = core::protocol::validate_args(command, request_args); !valid) {
        return fail_with(what, valid.error().message, k_exit_usage);
    }
    const std::string format = request_args.value("format", std::string());
    const Output output = inv.json || format == "json" ? Output::json : Output::text;
    // Streams that run until interrupted: no reply deadline, and each line out at once.
    const bool endless = command.id == core::protocol::CommandId::trace_follow ||
                         command.id == core::protocol::CommandId::monitor;
    if (command.runs == core::protocol::Runs::client) {
        return run_local(command, request_args, output);
    }

    const auto socket = core::paths::resolve_socket(inv.socket, ::geteuid(), core::paths::process_environment());
    ConnectError connect_error{};
    auto client = Client::connect(socket, connect_error);
    if (!client) {
        switch (connect_error.kind) {
        case ConnectFailure::unreachable:
            return fail_with(connect_error.message, "", k_exit_unavailable);
        case ConnectFailure::permission_denied:
            return fail_with(connect_error.message, "", k_exit_noperm);
        case ConnectFailure::protocol:
            return fail_with(connect_error.message, "", k_exit_protocol);
        }
    }
    if (endless) {
        client->wait_forever();
    }
    std::size_t items = 0;
    // -j prints each item as the daemon wrote it, which is what parsing and dumping it again
    // would print, without the cost of that for a long listing.
    std::function<void(std::string_view)> print_item_text;
    if (output == Output::json) {
        print_item_text = [&](std::string_view text) {
            std::cout << text << '\n';
            if (endless) {
                std::cout.flush();
            }
        };
    }
    auto reply = client->call(core::protocol::wire_name(command), request_args, [&](const nlohmann::json& item) {
        if (const auto dropped = item.find("dropped"); dropped != item.end() && output == Output::text) {
            // A terminal slower than the traces: the daemon dropped lines rather than wait.
            std::cerr << "mxctl: " << what << ": " << dropped->dump()
                      << " trace lines dropped: the terminal reads slower than the daemon traces\n";
        } else if (output == Output::json) {
            render_json(item, std::cout);
        } else {
            render_item_text(command, item, items, std::cout);
        }
        ++items;
        if (endless) {
            std::cout.flush();
        }
    }, print_item_text);
    if (!reply) {
        return fail_with(what, reply.error().message, exit_status_for(reply.error().code));
    }
    if (!reply->ok) {
        return fail_with(what, reply->error.message, exit_status_for(reply->error.code));
    }
    // A stream's items were its output; its final reply only closes it, but for mailq's
    // totals ("Mail queue is empty", "-- 2 Kbytes in 1 Request.").
    const bool totals = command.id == core::protocol::CommandId::mailq && output == Output::text;
    if (command.id == core::protocol::CommandId::show_stats && format == "prometheus") {
        std::cout << core::stats::format_prometheus(reply->body);
    } else if (command.reply == core::protocol::Reply::single || totals) {
        if (output == Output::json) {
            render_json(reply->body, std::cout);
        } else {
            render_text(command, reply->body, std::cout);
        }
    }
    // Like `exim -bt`: a recipient that would be refused, or whose expansion fails, is 2.
    if (command.id == core::protocol::CommandId::expand && !reply->body.value("deliverable", false)) {
        return 2;
    }
    // Like `postmap -q`: a key that is not there is exit status 1, with nothing printed.
    if (command.id == core::protocol::CommandId::table_lookup && !reply->body.value("found", false)) {
        return 1;
    }
    return k_exit_ok;
}

int main_multicall(int argc, char** argv) {
    drop_setgid_privilege();
    const std::string name = argc > 0 ? std::filesystem::path(argv[0]).filename().string() : "mxctl";
    if (name == "sendmail" || name == "send-mail") {
        return run_sendmail(
            {name, "", std::vector<std::string>(argv + std::min(argc, 1), argv + argc)});
    }
    if (name == "mailq") {
        // sendmail's mailq options (-v, -Ac, -q...) change nothing here; -j is mxctl's.
        std::vector<std::string> args{"-s", system_socket(""), "mailq"};
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            if (a == "--help" || a == "--version" || a == "-j" || a == "--json") {
                args.insert(a.starts_with("-j") || a == "--json" ? args.begin() : args.end(), a);
            }
        }
        return run_mxctl(args);
    }
    std::vector<std::string> args;
    // makemap and newaliases are mxctl's commands of the same name.
    if (name == "makemap" || name == "newaliases") {
        args.push_back(name);
    }
    for (int i = 1; i < argc; ++i) {
        args.emplace_back(argv[i]);
    }
    return run_mxctl(args);
}

} // namespace mxctl
