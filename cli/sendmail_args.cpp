// SPDX-License-Identifier: ISC
#include "cli/sendmail_args.hpp"

#include "core/submit/message.hpp"

#include <string_view>

namespace mxctl {

namespace {

using core::Errc;

// How an option letter takes a value, from sendmail(8) and OpenSMTPD's enqueue.c getopt
// string "A:B:b:E::e:F:f:iJ::L:mN:o:p:qr:R:StvV:x".
enum class Takes { nothing, value, optional_attached };

struct OptionSpec {
    char letter;
    Takes takes;
    bool ignored; // accepted for compatibility and has no effect
};

// -A -B -d -E -e -G -h -J -L -m -N -n -O -p -R -U -V -X -x change nothing here: mxd always
// queues (-odi/-odq/-odb), reports errors by exit status (-oem/-oee/-oep), is 8-bit clean
// (-B8BITMIME), and has no DSN parameters for local submissions yet (-N, -R, -V).
constexpr OptionSpec k_options[] = {
    {'A', Takes::value, true},
    {'B', Takes::value, true},
    {'b', Takes::value, false},
    {'C', Takes::value, false},
    {'d', Takes::optional_attached, true},
    {'E', Takes::optional_attached, true},
    {'e', Takes::value, true},
    {'F', Takes::value, false},
    {'f', Takes::value, false},
    {'G', Takes::nothing, true},
    {'h', Takes::value, true},
    {'i', Takes::nothing, false},
    {'J', Takes::optional_attached, true},
    {'L', Takes::value, true},
    {'m', Takes::nothing, true},
    {'N', Takes::value, true},
    {'n', Takes::nothing, true},
    {'O', Takes::value, true},
    {'o', Takes::value, false},
    {'p', Takes::value, true},
    {'q', Takes::optional_attached, false},
    {'R', Takes::value, true},
    {'r', Takes::value, false},
    {'t', Takes::nothing, false},
    {'U', Takes::nothing, true},
    {'V', Takes::value, true},
    {'v', Takes::nothing, false},
    {'X', Takes::value, true},
    {'x', Takes::nothing, true},
};

const OptionSpec* find_option(char letter) {
    for (const auto& o : k_options) {
        if (o.letter == letter) {
            return &o;
        }
    }
    return nullptr;
}

core::Result<void> apply(SendmailArgs& out, char letter, const std::string& value) {
    switch (letter) {
    case 'b':
        if (value == "m") {
            out.mode = SendmailMode::deliver;
        } else if (value == "s") {
            out.mode = SendmailMode::smtp;
        } else if (value == "p") {
            out.mode = SendmailMode::print_queue;
        } else if (value == "i") {
            out.mode = SendmailMode::rebuild_aliases;
        } else {
            return core::fail(Errc::invalid_argument,
                              "-b" + value +
                                  " is not supported by mxd (it has -bm, -bs, -bp, -bi)");
        }
        return {};
    case 'C':
        out.config = value;
        return {};
    case 'F':
        out.full_name = value;
        return {};
    case 'f':
    case 'r':
        out.sender = value;
        return {};
    case 'i':
        out.dot_ends = false;
        return {};
    case 'o':
        // -oi is -i; every other -oX (-oem, -odi, -oQ...) has no use here.
        if (value == "i") {
            out.dot_ends = false;
        } else {
            out.ignored.push_back("-o" + value);
        }
        return {};
    case 'q':
        // mxd runs its queue itself; `mxctl schedule` is the way to hurry it.
        out.mode = SendmailMode::queue_run;
        return {};
    case 't':
        out.extract = true;
        return {};
    case 'v':
        out.verbose = true;
        return {};
    default:
        return {};
    }
}

} // namespace

core::Result<SendmailArgs> parse_sendmail_args(const std::vector<std::string>& args) {
    SendmailArgs out;
    std::size_t i = 0;
    for (; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--") {
            ++i;
            break;
        }
        if (arg == "--help") {
            out.mode = SendmailMode::help;
            return out;
        }
        if (arg == "--version") {
            out.mode = SendmailMode::version;
            return out;
        }
        if (arg.size() < 2 || arg[0] != '-') {
            break; // the first recipient: options end here, as with Postfix's sendmail
        }
        if (arg[1] == '-') {
            return core::fail(Errc::invalid_argument, "unknown option " + arg);
        }
        // Letters without values may be grouped (-ti); a letter that takes a value takes the
        // rest of the word (-FCronDaemon), or the next word.
        for (std::size_t j = 1; j < arg.size(); ++j) {
            const char letter = arg[j];
            const auto* spec = find_option(letter);
            if (spec == nullptr) {
                return core::fail(Errc::invalid_argument, std::string("unknown option -") + letter);
            }
            std::string value;
            if (spec->takes == Takes::value || spec->takes == Takes::optional_attached) {
                if (j + 1 < arg.size()) {
                    value = arg.substr(j + 1);
                } else if (spec->takes == Takes::value) {
                    if (i + 1 >= args.size()) {
                        return core::fail(Errc::invalid_argument,
                                          std::string("option -") + letter + " needs a value");
                    }
                    value = args[++i];
                }
                j = arg.size();
            }
            if (spec->ignored) {
                out.ignored.push_back(std::string("-") + letter + value);
                continue;
            }
            MXD_TRY(apply(out, letter, value));
        }
    }
    for (; i < args.size(); ++i) {
        auto addresses = core::submit::parse_address_list(args[i]);
        if (!addresses) {
            return core::fail(Errc::invalid_argument,
                              "recipient '" + args[i] + "': " + addresses.error().message);
        }
        for (auto& a : *addresses) {
            out.recipients.push_back(std::move(a));
        }
    }
    return out;
}

std::string sendmail_help(const std::string& program) {
    return "Usage: " + program +
           " [options] [recipient ...]\n"
           "Queue the message on standard input for the recipients, through mxd; when mxd\n"
           "is not running, leave it in the spool's offline directory for mxd to queue when\n"
           "it starts.\n"
           "\n"
           "Options:\n"
           "  -t          also send to the To:, Cc: and Bcc: addresses (Bcc: is removed)\n"
           "  -f ADDRESS  envelope sender (-r too); only yours, unless allowed\n"
           "  -F NAME     your name, for the From: added to a message without one\n"
           "  -i, -oi     a line with a single dot does not end the message\n"
           "  -bm         queue a message (the default)\n"
           "  -bs         speak SMTP on standard input and output\n"
           "  -bp         list the queue, as mailq\n"
           "  -bi         rebuild the aliases table, as newaliases\n"
           "  -C FILE     configuration file, for the spool (default: mxd's)\n"
           "  -q          do nothing: mxd runs its queue itself\n"
           "  -v          say what was queued\n"
           "  --help      print this help; --version prints the version\n"
           "\n"
           "Accepted and ignored: -A -B -d -E -e -G -h -J -L -m -N -n -O -o... -p -R -U\n"
           "-V -X -x. Exit status: 0 queued, 64 usage, 65 bad message, 67 recipient\n"
           "refused, 75 try again later, 77 permission denied, 78 configuration error.\n";
}

} // namespace mxctl
