// SPDX-License-Identifier: ISC
// Shell completion: the bash, zsh and fish scripts generated from the command table
// (completions/, kept fresh by tests/scripts/generated.sh), and `mxctl __complete`, which they
// run for the values that live in the binary or in the running daemon.
#include "cli/completion.hpp"

#include "cli/client.hpp"
#include "cli/exit_status.hpp"
#include "core/protocol/commands.hpp"
#include "core/util/paths.hpp"
#include "core/util/strings.hpp"
#include "core/util/trace.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <sstream>

namespace mxctl {

namespace {

using core::protocol::ArgSpec;
using core::protocol::ArgType;
using core::protocol::Arity;

// A word that may come next, with what it does.
struct Word {
    std::string word;
    std::string description;
};

// An option of a command: its names ("-D", "--define"), its help, and what its value is
// (value_kind(); empty for a flag).
struct Option {
    std::vector<std::string> names;
    std::string help;
    std::string value;
};

// A listed command as completion sees it: positional argument kinds in order (the last one
// ends in "..." when it repeats) and options.
struct CommandSpec {
    std::string path;
    std::vector<std::string> positional;
    std::vector<Option> options;
};

// The table in the shape the scripts need, listed commands only, in table order.
struct Model {
    std::vector<std::pair<std::string, std::vector<Word>>> next;  // command words so far -> next
    std::vector<CommandSpec> commands;
};

// The mxctl options that come before (or after) any command.
const std::vector<Option> k_global_options{
    {{"-s", "--socket"}, "control socket", "file"},
    {{"-j", "--json"}, "print JSON for scripts", ""},
    {{"-h", "--help"}, "print help and exit", ""},
    {{"--version"}, "print the version and exit", ""},
};

// What an argument's value is, for the scripts: "choice:a,b,c", "file", "text", or a kind that
// `mxctl __complete` completes (subsystem, queue_id, table).
std::string value_kind(const ArgSpec& arg) {
    switch (arg.type) {
    case ArgType::choice: {
        std::vector<std::string> names(arg.choices.begin(), arg.choices.end());
        return "choice:" + core::join(names, ",");
    }
    case ArgType::subsystem:
        return "subsystem";
    case ArgType::queue_id:
        return "queue_id";
    case ArgType::table:
        return "table";
    case ArgType::flag:
        return "";
    case ArgType::string:
        // The table has no path type: these names and value names are files.
        if (arg.name == "file" || arg.value_name == "FILE" || arg.value_name == "OUT") {
            return "file";
        }
        return "text";
    case ArgType::uint:
    case ArgType::duration:
        return "text";
    }
    return "text";
}

std::string capitalized(std::string_view text) {
    std::string out(text);
    if (!out.empty()) {
        out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
    }
    return out;
}

Model model() {
    Model m;
    auto next_of = [&m](const std::string& path) -> std::vector<Word>& {
        for (auto& [p, words] : m.next) {
            if (p == path) {
                return words;
            }
        }
        return m.next.emplace_back(path, std::vector<Word>{}).second;
    };
    const auto listed = [](const core::protocol::Command& c) {
        return c.visibility == core::protocol::Visibility::listed;
    };
    for (const auto& command : core::protocol::commands()) {
        if (!listed(command)) {
            continue;
        }
        const auto words = core::split(command.words, ' ');
        std::string path;
        for (std::size_t i = 0; i < words.size(); ++i) {
            auto& next = next_of(path);
            const std::string word(words[i]);
            const std::string child = path.empty() ? word : path + " " + word;
            bool known = false;
            for (const auto& w : next) {
                known = known || w.word == word;
            }
            if (!known) {
                next.push_back({word, ""});
            }
            if (i + 1 == words.size()) {
                for (auto& w : next) {
                    if (w.word == word) {
                        w.description = std::string(command.summary);
                    }
                }
            }
            path = child;
        }
        CommandSpec spec{std::string(command.words), {}, {}};
        for (const auto& arg : command.args) {
            const std::string_view name = arg.name;
            if (!name.starts_with("--")) {
                spec.positional.push_back(value_kind(arg) + (arg.arity == Arity::many ? "..." : ""));
                continue;
            }
            Option option{{}, capitalized(arg.help), value_kind(arg)};
            if (arg.short_name != '\0') {
                option.names.push_back(std::string("-") + arg.short_name);
            }
            option.names.emplace_back(name);
            spec.options.push_back(std::move(option));
        }
        m.commands.push_back(std::move(spec));
    }
    // A word that only leads to other words says which.
    for (auto& [path, words] : m.next) {
        for (auto& w : words) {
            if (!w.description.empty()) {
                continue;
            }
            const std::string child = path.empty() ? w.word : path + " " + w.word;
            std::vector<std::string> names;
            for (const auto& [p, sub] : m.next) {
                if (p == child) {
                    for (const auto& s : sub) {
                        names.push_back(s.word);
                    }
                }
            }
            w.description = "Subcommands: " + core::join(names, ", ");
        }
    }
    return m;
}

// `text` in single quotes for sh and zsh.
std::string sh_quote(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

// `text` in single quotes for fish (which escapes \ and ' inside them).
std::string fish_quote(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "'";
}

std::string words_of(const std::vector<Word>& words) {
    std::vector<std::string> out;
    for (const auto& w : words) {
        out.push_back(w.word);
    }
    return core::join(out, " ");
}

std::string option_names(const std::vector<Option>& options) {
    std::vector<std::string> out;
    for (const auto& o : options) {
        out.insert(out.end(), o.names.begin(), o.names.end());
    }
    return core::join(out, " ");
}

constexpr std::string_view k_header_tail =
    "from mxctl's command table\n"
    "# (core/protocol/commands.cpp): do not edit. After changing the table, run\n"
    "# `ninja -C BUILDDIR update-generated`; the test generated-fresh fails until then.\n";

// The walk over the words before the cursor, the same in bash and zsh: global options, the
// command words (exact or an unambiguous prefix, as mxctl resolves them), then the command's
// options and positional arguments.
constexpr std::string_view k_bash_main = R"BASH(
# Prints the candidates of kind $1 that start with $2.
_mxctl_values() {
    case $1 in
    choice:*)
        local choices=${1#choice:}
        compgen -W "${choices//,/ }" -- "$2"
        ;;
    file) compgen -f -- "$2" ;;
    text | '') ;;
    *) "$_mxctl_program" __complete "${_mxctl_socket[@]}" "$1" "$2" 2>/dev/null ;;
    esac
}

_mxctl() {
    local cur=${COMP_WORDS[COMP_CWORD]} name=${COMP_WORDS[0]##*/}
    local path='' command='' word kind='' pending='' i n=0 match w
    local -a candidates=()
    _mxctl_program=${COMP_WORDS[0]}
    _mxctl_socket=()
    COMPREPLY=()
    case $name in
    makemap | newaliases)
        path=$name command=$name _mxctl_program=mxctl
        _mxctl_command "$command"
        ;;
    mailq)
        mapfile -t COMPREPLY < <(compgen -W '-j --json -h --help --version' -- "$cur")
        return 0
        ;;
    mxctl) ;;
    *) _mxctl_program=mxctl ;;
    esac
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [ -n "$pending" ]; then
            # --option=value: bash splits it at the '='.
            [ "$word" = = ] && continue
            [ "$pending" = socket ] && _mxctl_socket=(-s "$word")
            pending=''
            continue
        fi
        case $word in
        -s | --socket)
            pending=socket
            continue
            ;;
        -*)
            if [ -n "$command" ] && _mxctl_option "$command" "$word"; then
                pending=value
            fi
            continue
            ;;
        esac
        if [ -z "$command" ] || [ $n -eq 0 ]; then
            _mxctl_next "$path"
            match=''
            for w in $_mxctl_words; do
                if [ "$w" = "$word" ]; then
                    match=$w
                    break
                fi
                if [[ $w == "$word"* ]]; then
                    if [ -n "$match" ]; then match=ambiguous; else match=$w; fi
                fi
            done
            if [ -n "$match" ] && [ "$match" != ambiguous ]; then
                path=${path:+$path }$match
                if _mxctl_command "$path"; then
                    command=$path
                fi
                continue
            fi
            [ -z "$command" ] && return 0
        fi
        n=$((n + 1))
    done
    if [ -n "$pending" ]; then
        if [ "$pending" = socket ]; then
            kind='file'
        else
            kind=$_mxctl_value
        fi
    elif [[ $cur == -* ]]; then
        [ -n "$command" ] && read -ra candidates <<<"$_mxctl_options"
        candidates+=(-s --socket -j --json -h --help)
        [ -z "$path" ] && candidates+=(--version)
        mapfile -t COMPREPLY < <(compgen -W "${candidates[*]}" -- "$cur")
        return 0
    else
        if [ -z "$command" ] || [ $n -eq 0 ]; then
            _mxctl_next "$path"
            mapfile -t COMPREPLY < <(compgen -W "$_mxctl_words" -- "$cur")
        fi
        if [ -n "$command" ]; then
            local -a positional
            read -ra positional <<<"$_mxctl_positional"
            if [ $n -lt ${#positional[@]} ]; then
                kind=${positional[n]}
            elif [ ${#positional[@]} -gt 0 ]; then
                kind=${positional[${#positional[@]} - 1]}
                [[ $kind == *... ]] || kind=''
            fi
            kind=${kind%...}
        fi
    fi
    [ "$kind" = file ] && compopt -o filenames 2>/dev/null
    mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(_mxctl_values "$kind" "$cur")
    return 0
}

complete -F _mxctl mxctl makemap newaliases mailq
)BASH";

std::string bash_script(const Model& m) {
    std::ostringstream out;
    out << "# bash completion for mxctl(8) and its other names makemap and newaliases, and for\n"
           "# mailq. Generated by `mxctl __completion bash` "
        << k_header_tail
        << "\n# Sets _mxctl_words to the words that may follow the command words $1 (\"\" first).\n"
           "_mxctl_next() {\n    case $1 in\n";
    for (const auto& [path, words] : m.next) {
        out << "    " << sh_quote(path) << ") _mxctl_words=" << sh_quote(words_of(words)) << " ;;\n";
    }
    out << "    *) _mxctl_words='' ;;\n    esac\n}\n"
           "\n# Sets _mxctl_positional to the kinds of the positional arguments of the command $1 (a\n"
           "# last one ending in ... repeats) and _mxctl_options to its options; fails when $1 is\n"
           "# not a command.\n"
           "_mxctl_command() {\n    case $1 in\n";
    for (const auto& c : m.commands) {
        std::vector<std::string> kinds(c.positional.begin(), c.positional.end());
        out << "    " << sh_quote(c.path) << ")\n        _mxctl_positional=" << sh_quote(core::join(kinds, " "))
            << "\n        _mxctl_options=" << sh_quote(option_names(c.options)) << "\n        ;;\n";
    }
    out << "    *) return 1 ;;\n    esac\n}\n"
           "\n# Sets _mxctl_value to the kind of value that the option $2 of the command $1 takes; fails\n"
           "# for a flag.\n"
           "_mxctl_option() {\n    case \"$1 $2\" in\n";
    for (const auto& c : m.commands) {
        for (const auto& o : c.options) {
            if (o.value.empty()) {
                continue;
            }
            std::vector<std::string> keys;
            for (const auto& n : o.names) {
                keys.push_back(sh_quote(c.path + " " + n));
            }
            out << "    " << core::join(keys, " | ") << ") _mxctl_value=" << sh_quote(o.value) << " ;;\n";
        }
    }
    out << "    *) return 1 ;;\n    esac\n}\n" << k_bash_main;
    return out.str();
}

constexpr std::string_view k_zsh_main = R"ZSH(
# Adds the candidates of kind $1.
_mxctl_values() {
    local -a values
    case $1 in
    (choice:*) values=(${(s:,:)${1#choice:}}); compadd -a values ;;
    (file) _files ;;
    (text|'') _message 'a value' ;;
    (*)
        values=(${(f)"$($_mxctl_program __complete $_mxctl_socket $1 $PREFIX 2>/dev/null)"})
        compadd -a values
        ;;
    esac
}

_mxctl() {
    # Not `path`: zsh ties it to PATH.
    local name=${words[1]:t} cmdwords='' command='' word kind='' pending='' match w
    local -i i n=0
    local -a candidates positional
    _mxctl_program=${words[1]}
    _mxctl_socket=()
    case $name in
    (makemap|newaliases)
        cmdwords=$name command=$name _mxctl_program=mxctl
        _mxctl_command $command
        ;;
    (mailq)
        candidates=('-j:print JSON for scripts' '--json:print JSON for scripts'
            '-h:print help and exit' '--help:print help and exit'
            '--version:print the version and exit')
        _describe -t options option candidates
        return
        ;;
    (mxctl) ;;
    (*) _mxctl_program=mxctl ;;
    esac
    for (( i = 2; i < CURRENT; i++ )); do
        word=${words[i]}
        if [[ -n $pending ]]; then
            [[ $pending == socket ]] && _mxctl_socket=(-s $word)
            pending=''
            continue
        fi
        case $word in
        (-s|--socket) pending=socket; continue ;;
        (--socket=*) _mxctl_socket=(-s ${word#*=}); continue ;;
        (-*)
            if [[ -n $command ]] && _mxctl_option $command $word; then
                pending=value
            fi
            continue
            ;;
        esac
        if [[ -z $command ]] || (( n == 0 )); then
            _mxctl_next $cmdwords
            match=''
            for w in ${_mxctl_words%%:*}; do
                if [[ $w == $word ]]; then
                    match=$w
                    break
                fi
                if [[ $w == ${word}* ]]; then
                    if [[ -n $match ]]; then match=ambiguous; else match=$w; fi
                fi
            done
            if [[ -n $match && $match != ambiguous ]]; then
                cmdwords=${cmdwords:+$cmdwords }$match
                _mxctl_command $cmdwords && command=$cmdwords
                continue
            fi
            [[ -z $command ]] && return 1
        fi
        (( n++ ))
    done
    if [[ -n $pending ]]; then
        if [[ $pending == socket ]]; then kind=file; else kind=$_mxctl_value; fi
    elif [[ $PREFIX == -* ]]; then
        [[ -n $command ]] && candidates=($_mxctl_options)
        candidates+=('-s:control socket' '--socket:control socket' '-j:print JSON for scripts'
            '--json:print JSON for scripts' '-h:print help and exit' '--help:print help and exit')
        [[ -z $cmdwords ]] && candidates+=('--version:print the version and exit')
        _describe -t options option candidates
        return
    else
        if [[ -z $command ]] || (( n == 0 )); then
            _mxctl_next $cmdwords
            _describe -t commands command _mxctl_words
        fi
        if [[ -n $command ]]; then
            positional=(${=_mxctl_positional})
            if (( n < ${#positional} )); then
                kind=${positional[n + 1]}
            elif (( ${#positional} > 0 )); then
                kind=${positional[-1]}
                [[ $kind == *... ]] || kind=''
            fi
            kind=${kind%...}
        fi
    fi
    if [[ -n $kind ]]; then
        _mxctl_values $kind
    fi
}

_mxctl "$@"
)ZSH";

std::string zsh_script(const Model& m) {
    std::ostringstream out;
    out << "#compdef mxctl makemap newaliases mailq\n"
           "# zsh completion for mxctl(8) and its other names makemap and newaliases, and for mailq.\n"
           "# Generated by `mxctl __completion zsh` "
        << k_header_tail
        << "\n# Sets _mxctl_words to the words (word:description) that may follow the command words $1.\n"
           "_mxctl_next() {\n    case $1 in\n";
    for (const auto& [path, words] : m.next) {
        out << "    (" << sh_quote(path) << ")\n        _mxctl_words=(";
        for (std::size_t i = 0; i < words.size(); ++i) {
            out << (i == 0 ? "" : "\n            ") << sh_quote(words[i].word + ":" + words[i].description);
        }
        out << ")\n        ;;\n";
    }
    out << "    (*) _mxctl_words=() ;;\n    esac\n}\n"
           "\n# Sets _mxctl_positional to the kinds of the positional arguments of the command $1 (a\n"
           "# last one ending in ... repeats) and _mxctl_options to its options (option:help); fails\n"
           "# when $1 is not a command.\n"
           "_mxctl_command() {\n    case $1 in\n";
    for (const auto& c : m.commands) {
        out << "    (" << sh_quote(c.path) << ")\n        _mxctl_positional=" << sh_quote(core::join(c.positional, " "))
            << "\n        _mxctl_options=(";
        bool first = true;
        for (const auto& o : c.options) {
            for (const auto& n : o.names) {
                out << (first ? "" : "\n            ") << sh_quote(n + ":" + o.help);
                first = false;
            }
        }
        out << ")\n        ;;\n";
    }
    out << "    (*) return 1 ;;\n    esac\n}\n"
           "\n# Sets _mxctl_value to the kind of value that the option $2 of the command $1 takes; fails\n"
           "# for a flag.\n"
           "_mxctl_option() {\n    case \"$1 $2\" in\n";
    for (const auto& c : m.commands) {
        for (const auto& o : c.options) {
            if (o.value.empty()) {
                continue;
            }
            std::vector<std::string> keys;
            for (const auto& n : o.names) {
                keys.push_back(sh_quote(c.path + " " + n));
            }
            out << "    (" << core::join(keys, "|") << ") _mxctl_value=" << sh_quote(o.value) << " ;;\n";
        }
    }
    out << "    (*) return 1 ;;\n    esac\n}\n" << k_zsh_main;
    return out.str();
}

// fish: the walk sets globals that the conditions of the `complete` lines below read.
constexpr std::string_view k_fish_main = R"FISH(
# Walks the words before the cursor: sets __mxctl_path (the command words), __mxctl_command
# (the same once they name a command, else empty), __mxctl_n (its positional arguments so
# far) and __mxctl_socket (the -s option given).
function __mxctl_walk
    set -l words (commandline -opc)
    set -g __mxctl_path ''
    set -g __mxctl_command ''
    set -g __mxctl_n 0
    set -g __mxctl_socket
    set -l name (string replace -r '.*/' '' -- $words[1])
    if contains -- $name makemap newaliases
        set __mxctl_path $name
        set __mxctl_command $name
    end
    set -l pending ''
    for word in $words[2..-1]
        if test -n "$pending"
            test "$pending" = socket; and set __mxctl_socket -s $word
            set pending ''
            continue
        end
        switch $word
            case -s --socket
                set pending socket
                continue
            case '--socket=*'
                set __mxctl_socket -s (string replace -- '--socket=' '' $word)
                continue
            case '-*'
                if test -n "$__mxctl_command"; and __mxctl_option_value "$__mxctl_command" $word >/dev/null
                    set pending value
                end
                continue
        end
        if test -z "$__mxctl_command"; or test $__mxctl_n -eq 0
            set -l match ''
            for w in (__mxctl_next "$__mxctl_path")
                if test "$w" = "$word"
                    set match $w
                    break
                end
                if string match -q -- "$word*" $w
                    if test -n "$match"
                        set match ambiguous
                    else
                        set match $w
                    end
                end
            end
            if test -n "$match"; and test "$match" != ambiguous
                set __mxctl_path (string trim -- "$__mxctl_path $match")
                contains -- $__mxctl_path $__mxctl_commands; and set __mxctl_command $__mxctl_path
                continue
            end
            test -z "$__mxctl_command"; and set __mxctl_path '?'
            test -z "$__mxctl_command"; and return
        end
        set __mxctl_n (math $__mxctl_n + 1)
    end
end

# True when the next word may be one of the words after the command words $argv[1].
function __mxctl_at
    __mxctl_walk
    test "$__mxctl_path" = "$argv[1]"; and begin
        test -z "$__mxctl_command"; or test $__mxctl_n -eq 0
    end
end

# True when the command is $argv[1].
function __mxctl_in
    __mxctl_walk
    test "$__mxctl_command" = "$argv[1]"
end

# True when the next word is the positional argument $argv[2] (from 0; N+ for N and after)
# of the command $argv[1].
function __mxctl_arg
    __mxctl_walk
    test "$__mxctl_command" = "$argv[1]"; or return 1
    set -l at (string replace '+' '' -- $argv[2])
    if string match -q -- '*+' $argv[2]
        test $__mxctl_n -ge $at
    else
        test $__mxctl_n -eq $at
    end
end

# Prints the values of kind $argv[1] that start with the word at the cursor.
function __mxctl_values
    set -l program (commandline -opc)[1]
    contains -- (string replace -r '.*/' '' -- $program) mxctl; or set program mxctl
    __mxctl_walk
    $program __complete $__mxctl_socket $argv[1] (commandline -ct) 2>/dev/null
end

complete -c mxctl -f
complete -c makemap -w 'mxctl makemap'
complete -c newaliases -w 'mxctl newaliases'
complete -c mailq -f
complete -c mailq -s j -l json -d 'Print JSON for scripts'
complete -c mailq -s h -l help -d 'Print help and exit'
complete -c mailq -l version -d 'Print the version and exit'
complete -c mxctl -s s -l socket -r -F -d 'Control socket'
complete -c mxctl -s j -l json -d 'Print JSON for scripts'
complete -c mxctl -s h -l help -d 'Print help and exit'
complete -c mxctl -n '__mxctl_at ""' -l version -d 'Print the version and exit'
)FISH";

// The fish arguments that complete a value of `kind`: choices, files, or __complete.
std::string fish_value_args(const std::string& kind) {
    if (kind.starts_with("choice:")) {
        auto choices = kind.substr(7);
        std::replace(choices.begin(), choices.end(), ',', ' ');
        return "-a " + fish_quote(choices);
    }
    if (kind == "file") {
        return "-F";
    }
    if (kind == "text") {
        return "";
    }
    return "-a " + fish_quote("(__mxctl_values " + kind + ")");
}

std::string fish_script(const Model& m) {
    std::ostringstream out;
    out << "# fish completion for mxctl(8) and its other names makemap and newaliases, and for mailq.\n"
           "# Generated by `mxctl __completion fish` "
        << k_header_tail
        << "\n# The words that may follow the command words $argv[1].\n"
           "function __mxctl_next\n    switch $argv[1]\n";
    for (const auto& [path, words] : m.next) {
        out << "        case " << fish_quote(path) << "\n            printf '%s\\n' " << words_of(words) << "\n";
    }
    out << "    end\nend\n\n# Every command.\nset -g __mxctl_commands";
    for (const auto& c : m.commands) {
        out << " " << fish_quote(c.path);
    }
    out << "\n\n# Prints the kind of value that the option $argv[2] of the command $argv[1] takes; fails\n"
           "# for a flag.\n"
           "function __mxctl_option_value\n    switch \"$argv[1] $argv[2]\"\n";
    for (const auto& c : m.commands) {
        for (const auto& o : c.options) {
            if (o.value.empty()) {
                continue;
            }
            std::vector<std::string> keys;
            for (const auto& n : o.names) {
                keys.push_back(fish_quote(c.path + " " + n));
            }
            out << "        case " << core::join(keys, " ") << "\n            echo " << fish_quote(o.value) << "\n";
        }
    }
    out << "        case '*'\n            return 1\n    end\nend\n" << k_fish_main;
    out << "\n# The command words.\n";
    for (const auto& [path, words] : m.next) {
        for (const auto& w : words) {
            out << "complete -c mxctl -n " << fish_quote("__mxctl_at " + fish_quote(path)) << " -a "
                << fish_quote(w.word) << " -d " << fish_quote(w.description) << "\n";
        }
    }
    out << "\n# The arguments and options of each command.\n";
    for (const auto& c : m.commands) {
        for (std::size_t i = 0; i < c.positional.size(); ++i) {
            std::string kind = c.positional[i];
            std::string at = std::to_string(i);
            if (kind.ends_with("...")) {
                kind.resize(kind.size() - 3);
                at += "+";
            }
            const auto args = fish_value_args(kind);
            if (args.empty()) {
                continue;
            }
            out << "complete -c mxctl -n " << fish_quote("__mxctl_arg " + fish_quote(c.path) + " " + at) << " "
                << args << "\n";
        }
        for (const auto& o : c.options) {
            out << "complete -c mxctl -n " << fish_quote("__mxctl_in " + fish_quote(c.path));
            for (const auto& n : o.names) {
                out << (n.starts_with("--") ? " -l " + n.substr(2) : " -s " + n.substr(1));
            }
            if (!o.value.empty()) {
                const auto args = fish_value_args(o.value);
                out << (o.value == "file" ? " -r" : " -x") << (args.empty() || args == "-F" ? "" : " " + args)
                    << (o.value == "file" ? " -F" : "");
            }
            out << " -d " << fish_quote(o.help) << "\n";
        }
    }
    return out.str();
}

void print_matches(const std::vector<std::string>& values, const std::string& prefix) {
    for (const auto& v : values) {
        if (v.starts_with(prefix)) {
            std::cout << v << "\n";
        }
    }
}

} // namespace

std::string completion_script(std::string_view shell) {
    const auto m = model();
    if (shell == "bash") {
        return bash_script(m);
    }
    if (shell == "zsh") {
        return zsh_script(m);
    }
    if (shell == "fish") {
        return fish_script(m);
    }
    return {};
}

int run_complete(const std::vector<std::string>& args) {
    std::string socket_flag;
    std::vector<std::string> rest;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if ((args[i] == "-s" || args[i] == "--socket") && i + 1 < args.size()) {
            socket_flag = args[++i];
        } else if (args[i].starts_with("--socket=")) {
            socket_flag = args[i].substr(9);
        } else if (args[i] == "-j" || args[i] == "--json") {
            continue;  // a global option of mxctl that changes nothing here
        } else {
            rest.push_back(args[i]);
        }
    }
    if (rest.empty() || rest.size() > 2) {
        std::cerr << "mxctl: usage: mxctl __complete [-s SOCKET] subsystem|queue_id|table [PREFIX]\n";
        return k_exit_usage;
    }
    const std::string kind = rest[0];
    const std::string prefix = rest.size() > 1 ? rest[1] : "";
    if (kind == "subsystem") {
        std::vector<std::string> names{"all"};
        names.insert(names.end(), core::k_subsystem_names.begin(), core::k_subsystem_names.end());
        print_matches(names, prefix);
        return k_exit_ok;
    }
    if (kind != "queue_id" && kind != "table") {
        std::cerr << "mxctl: __complete: unknown kind '" << kind << "'\n";
        return k_exit_usage;
    }
    if (kind == "queue_id") {
        print_matches({"all"}, prefix);
    }
    std::cout.flush();
    // A shell waits for this: a daemon that does not answer at once gets no more time than a
    // person would give a Tab key (SIGALRM ends the process, printing nothing more).
    ::alarm(3);
    const auto socket = core::paths::resolve_socket(socket_flag, ::geteuid(), core::paths::process_environment());
    ConnectError error{};
    auto client = Client::connect(socket, error);
    if (!client) {
        return k_exit_ok;  // no daemon: the static values were all there is
    }
    const nlohmann::json request{{"kind", kind}, {"prefix", prefix}};
    auto reply = client->call(core::protocol::wire_name(core::protocol::command(core::protocol::CommandId::complete)),
                              request);
    if (!reply || !reply->ok) {
        return k_exit_ok;
    }
    for (const auto& value : reply->body.value("values", nlohmann::json::array())) {
        if (value.is_string()) {
            std::cout << value.get<std::string>() << "\n";
        }
    }
    return k_exit_ok;
}

} // namespace mxctl
