// SPDX-License-Identifier: ISC
// The generated COMMANDS region of man/mxctl.8 (tests/scripts/generated.sh keeps it fresh).
#include "cli/app.hpp"
#include "core/protocol/commands.hpp"

#include <cctype>
#include <sstream>

namespace mxctl {

namespace {

using core::protocol::ArgSpec;
using core::protocol::ArgType;
using core::protocol::Arity;

std::string value_name(const ArgSpec& arg) {
    if (!arg.value_name.empty()) {
        return std::string(arg.value_name);
    }
    if (arg.type == ArgType::choice) {
        std::string names;
        for (auto c : arg.choices) {
            names += (names.empty() ? "" : "|") + std::string(c);
        }
        return names;
    }
    return core::protocol::wire_key(arg);
}

// One argument in mdoc: `Ar subsystem`, `Op Ar string`, `Op Fl -scheme Ar yescrypt|...`.
std::string mdoc_arg(const ArgSpec& arg) {
    std::string text;
    const std::string_view name = arg.name;
    if (name.starts_with("--")) {
        text = arg.short_name != '\0' ? std::string("Fl ") + arg.short_name : "Fl " + std::string(name.substr(1));
        if (arg.type != ArgType::flag) {
            text += " Ar " + value_name(arg);
        }
    } else {
        text = "Ar " + value_name(arg);
    }
    if (arg.arity == Arity::many && !name.starts_with("--")) {
        text += " ...";
    }
    // Oo/Oc rather than Op: an Op swallows the rest of the line and would nest the next one.
    return arg.arity == Arity::required ? text : "Oo " + text + " Oc";
}

} // namespace

std::string man_command_list() {
    std::ostringstream out;
    out << ".Bl -tag -width Ds\n";
    for (const auto& command : core::protocol::commands()) {
        if (command.visibility == core::protocol::Visibility::hidden) {
            continue;
        }
        out << ".It Cm " << command.words;
        for (const auto& arg : command.args) {
            out << " " << mdoc_arg(arg);
        }
        out << "\n" << command.summary << ".\n";
        bool options = false;
        for (const auto& arg : command.args) {
            if (!std::string_view(arg.name).starts_with("--")) {
                continue;
            }
            if (!options) {
                out << ".Bl -tag -width Ds\n";
                options = true;
            }
            out << ".It " << mdoc_arg(ArgSpec{arg.name, arg.type, Arity::required, arg.help, arg.choices,
                                              arg.short_name, arg.value_name})
                << "\n" << static_cast<char>(std::toupper(arg.help[0])) << arg.help.substr(1) << ".\n";
        }
        if (options) {
            out << ".El\n";
        }
        if (command.runs == core::protocol::Runs::client) {
            out << "Runs in\n.Nm\nitself; no daemon is needed.\n";
        } else {
            out << "Access: " << core::protocol::access_name(command.access) << ".\n";
        }
    }
    out << ".El\n";
    return out.str();
}

} // namespace mxctl
