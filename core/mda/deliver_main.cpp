// SPDX-License-Identifier: ISC
#include "core/mda/deliver_main.hpp"

#include "core/mda/maildir.hpp"
#include "core/mda/mbox.hpp"
#include "core/mda/outcome.hpp"
#include "core/mda/program.hpp"

#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <string>
#include <vector>

extern char** environ;

namespace core::mda {

namespace {

// One line on stderr (the daemon keeps it as the delivery's error text), then the status.
int report(int exit_code, std::string_view text) {
    std::string line(text);
    line += '\n';
    static_cast<void>(::write(STDERR_FILENO, line.data(), line.size()));
    return exit_code;
}

int report(const Error& error) {
    return report(exit_code_for(error), error.message);
}

struct Arguments {
    std::string method;
    std::map<std::string, std::string, std::less<>> options; // --name value; flags map to ""
    std::string operand;
};

// METHOD [--option [value]]... OPERAND. Flags take no value; every other option takes one.
Result<Arguments> parse(const std::vector<std::string_view>& args) {
    static const std::map<std::string_view, std::vector<std::string_view>> k_options = {
        {"maildir", {"--junk", "--folder", "--hostname"}},
        {"mbox", {"--from", "--owner"}},
        {"file", {"--from"}},
        {"command", {}},
    };
    if (args.empty()) {
        return fail(Errc::invalid_argument, "usage: mxd __deliver maildir|mbox|file|command ...");
    }
    const auto known = k_options.find(args[0]);
    if (known == k_options.end()) {
        return fail(Errc::invalid_argument,
                    "unknown delivery method '" + std::string(args[0]) + "'");
    }
    Arguments parsed;
    parsed.method = args[0];
    std::size_t i = 1;
    for (; i < args.size() && args[i].substr(0, 2) == "--"; ++i) {
        if (args[i] == "--") {
            ++i;
            break;
        }
        const auto& allowed = known->second;
        if (std::find(allowed.begin(), allowed.end(), args[i]) == allowed.end()) {
            return fail(Errc::invalid_argument,
                        parsed.method + ": unknown option " + std::string(args[i]));
        }
        if (args[i] == "--junk") {
            parsed.options.emplace(args[i], "");
            continue;
        }
        if (i + 1 >= args.size()) {
            return fail(Errc::invalid_argument,
                        parsed.method + ": " + std::string(args[i]) + " needs a value");
        }
        parsed.options.emplace(args[i], args[i + 1]);
        ++i;
    }
    if (args.size() - i != 1) {
        return fail(Errc::invalid_argument,
                    parsed.method + ": expected exactly one path or command");
    }
    parsed.operand = args[i];
    return parsed;
}

std::string option(const Arguments& args, std::string_view name) {
    const auto it = args.options.find(name);
    return it == args.options.end() ? std::string() : it->second;
}

Result<std::string> read_stdin() {
    std::string message;
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
        if (n > 0) {
            message.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0) {
            return message;
        } else if (errno != EINTR) {
            Error error = Error::from_errno(errno, "read", "the message");
            error.code = Errc::temp_failure;
            return fail(std::move(error));
        }
    }
}

// "UID:GID".
Result<MboxOptions::Owner> parse_owner(std::string_view text) {
    MboxOptions::Owner owner;
    const auto colon = text.find(':');
    const auto number = [](std::string_view s, auto& out) {
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
    };
    if (colon == std::string_view::npos || !number(text.substr(0, colon), owner.uid) ||
        !number(text.substr(colon + 1), owner.gid)) {
        return fail(Errc::invalid_argument,
                    "--owner wants UID:GID, not '" + std::string(text) + "'");
    }
    return owner;
}

int run(const Arguments& args) {
    // As OpenSMTPD's mail.maildir and mail.mboxfile, and smtpd's refusal to run an MDA as root:
    // only the mbox method, which must create files in the mail spool, runs as root.
    if (args.method != "mbox" && ::geteuid() == 0) {
        return report(EX_NOPERM, "refusing to deliver with method " + args.method + " as root");
    }
    if (args.method == "command") {
        ProgramOptions program;
        program.command = args.operand;
        for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
            program.environment.emplace_back(*entry);
        }
        // The program talks to the daemon directly; only a death by signal needs our words.
        program.capture_output = false;
        const Outcome outcome = run_program(program, STDIN_FILENO);
        return outcome.text.empty() ? outcome.exit_code : report(outcome.exit_code, outcome.text);
    }
    const auto message = read_stdin();
    if (!message) {
        return report(message.error());
    }
    if (args.method == "maildir") {
        MaildirOptions maildir;
        maildir.path = args.operand;
        maildir.junk = args.options.count("--junk") != 0;
        maildir.folder = option(args, "--folder");
        maildir.hostname = option(args, "--hostname");
        const auto delivered = deliver_maildir(maildir, *message);
        return delivered ? 0 : report(delivered.error());
    }
    MboxOptions mbox;
    mbox.path = args.operand;
    mbox.from = option(args, "--from");
    if (const auto owner = option(args, "--owner"); !owner.empty()) {
        auto parsed = parse_owner(owner);
        if (!parsed) {
            return report(EX_USAGE, parsed.error().message);
        }
        mbox.owner = *parsed;
    }
    const auto delivered = deliver_mbox(mbox, *message);
    return delivered ? 0 : report(delivered.error());
}

} // namespace

int deliver_main(int argc, char** argv) {
    std::vector<std::string_view> args;
    for (int i = 2; i < argc; ++i) {
        args.emplace_back(argv[i]);
    }
    if (argc < 2 || argv[1] != k_deliver_mode) {
        return report(EX_USAGE, "usage: mxd __deliver METHOD ...");
    }
    const auto parsed = parse(args);
    if (!parsed) {
        return report(EX_USAGE, parsed.error().message);
    }
    return run(*parsed);
}

} // namespace core::mda
