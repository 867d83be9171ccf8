// SPDX-License-Identifier: ISC
// sendmail(8): messages from programs, to the daemon's `submit` or, with no daemon running,
// to the spool's offline directory; -bs speaks SMTP on stdin and stdout.
#include "cli/sendmail.hpp"

#include "cli/app.hpp"
#include "cli/client.hpp"
#include "cli/exit_status.hpp"
#include "cli/sendmail_args.hpp"
#include "core/config/parser.hpp"
#include "core/queue/ids.hpp"
#include "core/smtp/command.hpp"
#include "core/smtp/reply.hpp"
#include "core/smtp/sasl.hpp"
#include "core/submit/message.hpp"
#include "core/submit/offline.hpp"
#include "core/util/fd.hpp"
#include "core/util/paths.hpp"
#include "mxd_build_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <iostream>

namespace mxctl {

namespace {

using core::Errc;

// Parts of a message per request: their base64 stays well under the control protocol's
// 1 MiB line.
constexpr std::size_t k_part_size = 512 * 1024;

// EX_NOUSER: sendmail's status for a recipient it refuses.
constexpr int k_exit_nouser = 67;

// The set-group-ID group mxctl started with, while it is dropped; -1 when there is none.
gid_t g_setgid_group = static_cast<gid_t>(-1);

// The configuration sendmail reads: -C FILE, else mxd's default file, else the built-in
// default; only for the spool and the size limit, so it is read without opening the files it
// names.
struct Settings {
    std::filesystem::path spool;
    std::size_t max_message_size = 0;
    std::string config_error;   // why the configuration could not be read; the spool is unknown
    bool trusted_config = true; // not -C, or a file only root can change
};

Settings load_settings(const std::string& config_flag) {
    Settings settings;
    settings.max_message_size =
        static_cast<std::size_t>(core::config::SmtpOptions{}.max_message_size);
    const auto defaults = core::paths::defaults_for(0, core::paths::process_environment());
    std::filesystem::path path = config_flag;
    std::error_code ec;
    if (path.empty() && std::filesystem::exists(defaults.config_file, ec)) {
        path = defaults.config_file;
    }
    if (!config_flag.empty()) {
        // As sendmail(8) gives up its privileges for -C: the offline directory's group is kept
        // only for a file that nobody but root can have written.
        struct stat st {};
        settings.trusted_config =
            ::stat(path.c_str(), &st) == 0 && st.st_uid == 0 && (st.st_mode & 022) == 0;
    }
    if (path.empty()) {
        settings.spool = core::config::builtin_default(defaults).queue_directory;
        return settings;
    }
    core::config::LoadOptions options;
    options.check_files = core::config::CheckFiles::no;
    auto loaded = core::config::load_file(path, options);
    if (!loaded.ok()) {
        settings.config_error = path.string() + " has errors (mxd -n says which)";
        for (const auto& d : loaded.diagnostics) {
            if (d.severity == core::config::Severity::error) {
                settings.config_error = core::config::format_diagnostics({d});
                while (!settings.config_error.empty() && settings.config_error.back() == '\n') {
                    settings.config_error.pop_back();
                }
                settings.config_error =
                    settings.config_error.substr(0, settings.config_error.find('\n'));
                break;
            }
        }
        return settings;
    }
    settings.spool =
        loaded.config->queue_directory.empty() ? defaults.spool : loaded.config->queue_directory;
    settings.max_message_size = static_cast<std::size_t>(loaded.config->smtp.max_message_size);
    return settings;
}

// Where a message went.
struct Delivered {
    std::string msgid;             // the queue id; empty when it went offline
    std::filesystem::path offline; // the offline file
    std::vector<std::pair<std::string, std::string>> refused; // recipient, why
};

// What a run needs to hand a message over.
struct Session {
    std::string program;
    std::string socket;
    Settings settings;
};

int fail_with(const Session& session, const std::string& message, int status) {
    std::cerr << session.program << ": " << message << "\n";
    return status;
}

// Takes the set-group-ID group back for the length of `work`, unless the configuration is
// not to be trusted with it.
template <typename F> auto with_setgid(const Settings& settings, F work) {
    const bool take = g_setgid_group != static_cast<gid_t>(-1) && settings.trusted_config;
    if (take) {
        static_cast<void>(::setegid(g_setgid_group));
    }
    auto result = work();
    if (take) {
        static_cast<void>(::setegid(::getgid()));
    }
    return result;
}

core::Result<void> write_all(int fd, std::string_view bytes, const std::string& what) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return core::fail(core::Error::from_errno(errno, "write", what));
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

// Leaves the message in SPOOL/offline: written under a dot name, synced, renamed, and the
// directory synced, so that exit status 0 means it is on disk (the daemon skips dot files).
core::Result<std::filesystem::path> write_offline(const Settings& settings,
                                                  const core::submit::OfflineMessage& m) {
    if (!settings.config_error.empty()) {
        return core::fail(Errc::config, settings.config_error);
    }
    const auto dir = settings.spool / core::submit::k_offline_dir;
    return with_setgid(settings, [&]() -> core::Result<std::filesystem::path> {
        core::UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dir_fd) {
            return core::fail(core::Error::from_errno(errno, "open", dir.string()));
        }
        const std::string name = std::to_string(static_cast<long long>(std::time(nullptr))) + "." +
                                 std::to_string(::getpid()) + "." +
                                 core::queue::MsgId::random().hex();
        const std::string temporary = "." + name;
        core::UniqueFd fd(::openat(dir_fd.get(), temporary.c_str(),
                                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd) {
            return core::fail(core::Error::from_errno(errno, "create", (dir / temporary).string()));
        }
        auto written =
            write_all(fd.get(), core::submit::encode_offline(m), (dir / temporary).string());
        if (written && ::fsync(fd.get()) != 0) {
            written =
                core::fail(core::Error::from_errno(errno, "fsync", (dir / temporary).string()));
        }
        if (written &&
            ::renameat(dir_fd.get(), temporary.c_str(), dir_fd.get(), name.c_str()) != 0) {
            written =
                core::fail(core::Error::from_errno(errno, "rename", (dir / temporary).string()));
        }
        if (!written) {
            static_cast<void>(::unlinkat(dir_fd.get(), temporary.c_str(), 0));
            return core::fail(std::move(written).error());
        }
        if (::fsync(dir_fd.get()) != 0) {
            return core::fail(core::Error::from_errno(errno, "fsync", dir.string()));
        }
        return dir / name;
    });
}

// The daemon, or nullopt when none runs there (the caller then goes offline); other failures
// to connect are errors.
core::Result<std::optional<Client>> connect_daemon(const Session& session) {
    ConnectError error{};
    auto client = Client::connect(session.socket, error);
    if (client) {
        return std::optional<Client>(std::move(client));
    }
    switch (error.kind) {
    case ConnectFailure::unreachable:
        return std::optional<Client>{};
    case ConnectFailure::permission_denied:
        return core::fail(Errc::permission_denied, error.message);
    case ConnectFailure::protocol:
        return core::fail(Errc::unsupported, error.message);
    }
    return std::optional<Client>{};
}

// Sends a request and turns a refusal into an error.
core::Result<nlohmann::json> call(Client& client, const nlohmann::json& args) {
    auto reply = client.call("submit", args);
    if (!reply) {
        // The daemon went away in the middle: nothing was queued, try again later.
        return core::fail(Errc::temp_failure, reply.error().message);
    }
    if (!reply->ok) {
        return core::fail(reply->error);
    }
    return reply->body;
}

nlohmann::json envelope_args(const core::submit::OfflineMessage& m) {
    nlohmann::json args = nlohmann::json::object();
    args["recipient"] = m.recipients;
    if (m.sender) {
        args["sender"] = *m.sender;
    }
    if (!m.full_name.empty()) {
        args["full_name"] = m.full_name;
    }
    return args;
}

// Hands a message to the daemon, in parts, or leaves it offline when no daemon runs.
core::Result<Delivered> deliver(const Session& session, const core::submit::OfflineMessage& m) {
    MXD_TRY_ASSIGN(auto client, connect_daemon(session));
    Delivered delivered;
    if (!client) {
        auto written = write_offline(session.settings, m);
        if (!written) {
            // The caller may try again: the daemon may be back by then.
            const auto code =
                written.error().code == Errc::config ? Errc::config : Errc::temp_failure;
            return core::fail(code,
                              "mxd is not running, and the message cannot wait for it offline: " +
                                  written.error().message);
        }
        delivered.offline = std::move(*written);
        return delivered;
    }
    std::string_view rest = m.message;
    while (rest.size() > k_part_size) {
        nlohmann::json part{{"data", core::smtp::base64_encode(rest.substr(0, k_part_size))},
                            {"more", true}};
        MXD_TRY(call(*client, part));
        rest.remove_prefix(k_part_size);
    }
    auto args = envelope_args(m);
    args["data"] = core::smtp::base64_encode(rest);
    MXD_TRY_ASSIGN(const auto result, call(*client, args));
    delivered.msgid = result.value("msgid", "");
    for (const auto& r : result.value("refused", nlohmann::json::array())) {
        delivered.refused.emplace_back(r.value("recipient", ""), r.value("error", ""));
    }
    return delivered;
}

// Asks the daemon whether it would take `recipient` (RCPT TO of -bs); nullopt when it would,
// or when no daemon runs (the offline queue decides later), else the reason.
core::Result<std::optional<std::string>> check_recipient(const Session& session,
                                                         const std::optional<std::string>& sender,
                                                         const std::string& recipient) {
    MXD_TRY_ASSIGN(auto client, connect_daemon(session));
    if (!client) {
        return std::optional<std::string>{};
    }
    core::submit::OfflineMessage m;
    m.sender = sender;
    m.recipients = {recipient};
    auto args = envelope_args(m);
    args["dry_run"] = true;
    auto result = call(*client, args);
    if (!result) {
        if (result.error().code == Errc::not_found) {
            return std::optional<std::string>(result.error().message);
        }
        return core::fail(std::move(result).error());
    }
    return std::optional<std::string>{};
}

// sendmail's exit status for an error.
int status_for(const core::Error& error) {
    switch (error.code) {
    case Errc::not_found:
        return k_exit_nouser;
    case Errc::io:
    case Errc::temp_failure:
    case Errc::busy:
        return k_exit_tempfail;
    default:
        return exit_status_for(error.code);
    }
}

int run_deliver(const Session& session, const SendmailArgs& args) {
    auto message = core::submit::read_message(
        std::cin, args.dot_ends ? core::submit::DotEnds::yes : core::submit::DotEnds::no,
        session.settings.max_message_size);
    if (!message) {
        return fail_with(session, message.error().message,
                         message.error().code == Errc::io ? k_exit_io : k_exit_data);
    }
    if (const auto rest = core::submit::without_mbox_from_line(*message);
        rest.size() != message->size()) {
        message->erase(0, message->size() - rest.size());
    }
    core::submit::OfflineMessage m;
    m.sender = args.sender;
    m.full_name = args.full_name;
    m.recipients = args.recipients;
    if (args.extract) {
        auto extracted = core::submit::extract_recipients(*message);
        if (!extracted) {
            return fail_with(session, "-t: " + extracted.error().message, k_exit_data);
        }
        for (auto& r : extracted->recipients) {
            m.recipients.push_back(std::move(r));
        }
        m.message = std::move(extracted->message);
    } else {
        m.message = std::move(*message);
    }
    if (m.recipients.empty()) {
        return fail_with(session,
                         args.extract ? "no recipients in the To:, Cc: or Bcc: fields"
                                      : "no recipients given",
                         k_exit_usage);
    }
    auto delivered = deliver(session, m);
    if (!delivered) {
        return fail_with(session, delivered.error().message, status_for(delivered.error()));
    }
    for (const auto& [rcpt, why] : delivered->refused) {
        std::cerr << session.program << ": " << rcpt << ": " << why << "\n";
    }
    if (args.verbose) {
        if (delivered->msgid.empty()) {
            std::cout << "mxd is not running: queued offline as " << delivered->offline.string()
                      << "\n";
        } else {
            std::cout << "queued as " << delivered->msgid << "\n";
        }
    }
    return delivered->refused.empty() ? k_exit_ok : k_exit_nouser;
}

// -bs: an SMTP server on stdin and stdout (RFC 5321), one message per transaction, each
// handed over as sendmail hands one.
class SmtpSession {
  public:
    explicit SmtpSession(const Session& session) : m_session(session) {}

    int run() {
        say(core::smtp::reply::greeting(host()));
        std::string line;
        while (std::getline(std::cin, line)) {
            if (!line.empty() && line.back() == '\r') {
                line.pop_back();
            }
            if (!command(line)) {
                return k_exit_ok;
            }
        }
        return k_exit_ok;
    }

  private:
    static std::string host() {
        char name[256] = {};
        return ::gethostname(name, sizeof name - 1) == 0 && name[0] != '\0' ? name : "localhost";
    }

    void say(const core::smtp::Reply& reply) { std::cout << reply.render() << std::flush; }

    void reset() {
        m_sender.reset();
        m_recipients.clear();
    }

    // Handles one command line; false once the session ends.
    bool command(const std::string& line) {
        namespace reply = core::smtp::reply;
        using core::smtp::Verb;
        core::smtp::CommandOptions options;
        options.brackets_optional = true;
        options.domain_optional = true;
        auto parsed = core::smtp::parse_command(line, options);
        if (!parsed) {
            say(parsed.error().code == Errc::invalid_argument
                    ? reply::line_too_long()
                    : reply::syntax_error(parsed.error().message));
            return true;
        }
        switch (parsed->verb) {
        case Verb::helo:
            reset();
            say(reply::ok(host()));
            return true;
        case Verb::ehlo:
            reset();
            say(core::smtp::Reply{250, "",
                                  host() + "\n8BITMIME\nENHANCEDSTATUSCODES\nSIZE " +
                                      std::to_string(m_session.settings.max_message_size)});
            return true;
        case Verb::mail:
            if (m_sender) {
                say(reply::bad_sequence());
                return true;
            }
            m_sender = parsed->path.to_string();
            say(reply::sender_ok());
            return true;
        case Verb::rcpt:
            rcpt(parsed->path.to_string());
            return true;
        case Verb::data:
            data();
            return true;
        case Verb::rset:
            reset();
            say(reply::ok());
            return true;
        case Verb::noop:
            say(reply::ok());
            return true;
        case Verb::quit:
            say(reply::closing());
            return false;
        case Verb::vrfy:
            say(core::smtp::Reply{252, "2.1.5", "Cannot VRFY user, but will accept message"});
            return true;
        case Verb::help:
            say(core::smtp::Reply{214, "2.0.0",
                                  "mxd sendmail -bs: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT"});
            return true;
        case Verb::expn:
        case Verb::bdat:
        case Verb::starttls:
        case Verb::auth:
            say(reply::not_implemented());
            return true;
        case Verb::unknown:
            say(reply::command_unrecognized());
            return true;
        }
        return true;
    }

    void rcpt(const std::string& recipient) {
        namespace reply = core::smtp::reply;
        if (!m_sender) {
            say(reply::bad_sequence());
            return;
        }
        if (recipient.empty()) {
            say(reply::bad_address("empty recipient"));
            return;
        }
        auto checked = check_recipient(m_session, m_sender, recipient);
        if (!checked) {
            say(reply_for(checked.error()));
            return;
        }
        if (*checked) {
            say(core::smtp::Reply{550, "5.1.1", **checked});
            return;
        }
        m_recipients.push_back(recipient);
        say(reply::recipient_ok());
    }

    void data() {
        namespace reply = core::smtp::reply;
        if (!m_sender || m_recipients.empty()) {
            say(reply::bad_sequence());
            return;
        }
        say(reply::start_data());
        std::string message;
        bool too_big = false;
        bool ended = false;
        std::string line;
        while (std::getline(std::cin, line)) {
            if (!line.empty() && line.back() == '\r') {
                line.pop_back();
            }
            if (line == ".") {
                ended = true;
                break;
            }
            // RFC 5321 4.5.2: a leading dot was doubled by the client.
            const std::string_view text =
                line.starts_with('.') ? std::string_view(line).substr(1) : std::string_view(line);
            if (message.size() + text.size() + 1 > m_session.settings.max_message_size) {
                too_big = true;
                continue;
            }
            message.append(text).push_back('\n');
        }
        if (!ended) {
            reset();
            return; // end of input in the middle: nothing is queued
        }
        if (too_big) {
            reset();
            say(reply::message_too_big());
            return;
        }
        core::submit::OfflineMessage m;
        m.sender = m_sender;
        m.recipients = m_recipients;
        m.message = std::move(message);
        reset();
        auto delivered = deliver(m_session, m);
        if (!delivered) {
            say(reply_for(delivered.error()));
            return;
        }
        for (const auto& [rcpt, why] : delivered->refused) {
            std::cerr << m_session.program << ": " << rcpt << ": " << why << "\n";
        }
        say(delivered->msgid.empty() ? reply::ok("Ok: queued offline")
                                     : reply::message_accepted(delivered->msgid));
    }

    static core::smtp::Reply reply_for(const core::Error& error) {
        switch (error.code) {
        case Errc::not_found:
            return {550, "5.1.1", error.message};
        case Errc::invalid_argument:
            return {554, "5.6.0", error.message};
        case Errc::permission_denied:
            return {550, "5.7.1", error.message};
        default:
            return {451, "4.3.0", error.message};
        }
    }

    const Session& m_session;
    std::optional<std::string> m_sender;
    std::vector<std::string> m_recipients;
};

} // namespace

void drop_setgid_privilege() {
    if (::getegid() != ::getgid()) {
        g_setgid_group = ::getegid();
        static_cast<void>(::setegid(::getgid()));
    }
}

std::string system_socket(const std::string& flag) {
    return core::paths::resolve_socket(flag, 0, core::paths::process_environment()).string();
}

int run_sendmail(const SendmailInvocation& invocation) {
    auto args = parse_sendmail_args(invocation.args);
    if (!args) {
        std::cerr << invocation.program << ": " << args.error().message << "; see "
                  << invocation.program << " --help\n";
        return k_exit_usage;
    }
    switch (args->mode) {
    case SendmailMode::help:
        std::cout << sendmail_help(invocation.program);
        return k_exit_ok;
    case SendmailMode::version:
        std::cout << "mxctl " << MXD_VERSION << "\n";
        return k_exit_ok;
    case SendmailMode::queue_run:
        return k_exit_ok;
    case SendmailMode::print_queue:
        return run_mxctl({"-s", system_socket(invocation.socket), "mailq"});
    case SendmailMode::rebuild_aliases:
        if (!args->config.empty()) {
            return run_mxctl({"newaliases", "-f", args->config});
        }
        return run_mxctl({"newaliases"});
    case SendmailMode::smtp:
    case SendmailMode::deliver:
        break;
    }
    Session session{invocation.program, system_socket(invocation.socket),
                    load_settings(args->config)};
    if (args->mode == SendmailMode::smtp) {
        return SmtpSession(session).run();
    }
    return run_deliver(session, *args);
}

} // namespace mxctl
