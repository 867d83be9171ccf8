// SPDX-License-Identifier: ISC
#include "daemon/smtp/session.hpp"

#include "core/auth/password.hpp"
#include "core/expand/expand.hpp"
#include "core/util/fs.hpp"
#include "core/queue/store.hpp"
#include "core/smtp/sasl.hpp"
#include "core/table/lookup.hpp"
#include "core/smtp/command.hpp"
#include "core/smtp/data_reader.hpp"
#include "core/smtp/headers.hpp"
#include "core/smtp/redact.hpp"
#include "core/smtp/reply.hpp"
#include "core/util/log.hpp"
#include "core/util/strings.hpp"
#include "daemon/dns/resolver.hpp"
#include "daemon/lookup/router.hpp"
#include "daemon/privileged/privileged.hpp"
#include "daemon/queue/queue_service.hpp"
#include "daemon/stats.hpp"

#include <sys/stat.h>

#include <ctime>

namespace mxd::smtp {

namespace {

namespace reply = core::smtp::reply;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// RFC 5321 4.5.3.2.7: a server should wait at least 5 minutes for the next command.
constexpr std::chrono::minutes k_command_timeout{5};
constexpr std::size_t k_read_chunk = 16384;
// Refused AUTH attempts one session may make: the last refusal is followed by a 421 and the
// end of the session, so a client guessing passwords must connect again every few tries (and
// `max-sessions-per-client` bounds how many connections it holds at once). Five lets a user
// mistype twice with clients that try PLAIN, then LOGIN, after each refusal.
constexpr int k_auth_failures_max = 5;

// A random id for the session's log lines (an EvpId's hex form, which is random and 64 bits).
std::string session_id() { return core::queue::EvpId::random(core::queue::MsgId::random()).hex(); }

// The reply to a MAIL or RCPT parameter that parse_*_params refused: 555 for an unknown
// keyword (RFC 5321 4.1.1.11), 501 for a bad value.
core::smtp::Reply parameter_error(const core::Error& error) {
    return error.code == core::Errc::unsupported ? reply::parameters_unrecognized(error.message)
                                                 : reply::syntax_error(error.message);
}

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket socket, const asio::ip::address& peer, std::shared_ptr<const SessionEnvironment> env)
        : m_socket(std::move(socket)), m_timer(m_socket.get_executor()), m_env(std::move(env)), m_id(session_id()),
          m_hostname(m_env->hostname), m_src(peer.to_string()), m_inet6(peer.is_v6()) {
        m_family_gauge = stats::Held(m_inet6 ? stats::Counter::smtp_session_inet6 : stats::Counter::smtp_session_inet4);
        stats::add(stats::Counter::smtp_session_opened);
    }
    ~Session() { stats::add(stats::Counter::smtp_session_closed); }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    asio::awaitable<void> run();

private:
    struct Recipient {
        core::smtp::Mailbox address;
        core::smtp::RcptParams params;
        std::vector<lookup::Destination> destinations; // one envelope each
    };
    struct Transaction {
        core::smtp::Mailbox sender;
        core::smtp::MailParams params;
        std::vector<Recipient> rcpts;
        queue::QueueService::Incoming incoming; // tells the committer a message is on its way
    };

    // What the read loop does after a line: go on, end the session, or an asynchronous step.
    enum class After { carry_on, close, start_tls, check_password, expand_recipient, await_rdns };

    // Handles one line: a command, or a SASL response during AUTH.
    After handle_line(std::string_view line);
    After on_auth(std::string_view argument);
    After on_auth_response(std::string_view line);
    // Checks the credentials AUTH gave and answers; false when the session must end (too many
    // refusals).
    asio::awaitable<bool> check_password();
    asio::awaitable<void> expand_recipient();
    asio::awaitable<bool> start_tls();
    // The client's forward-confirmed host name, looked up in the background from the start of
    // the session when a rule needs it (`from rdns`); bounded by the resolver's deadline.
    asio::awaitable<void> lookup_rdns();
    enum class RdnsState { not_needed, pending, done };
    RdnsState m_rdns_state = RdnsState::not_needed;
    std::optional<std::string> m_rdns;
    std::unique_ptr<asio::steady_timer> m_rdns_ready; // cancelled when the lookup ends
    bool tls_offered() const {
        return !m_tls && m_env->tls && (m_env->listener.tls == core::config::Listener::Tls::starttls ||
                                        m_env->listener.tls == core::config::Listener::Tls::require);
    }
    bool auth_offered() const { return m_tls && m_env->listener.auth != core::config::Listener::Auth::none; }
    void on_helo(const core::smtp::Command& command, bool extended);
    void on_mail(const core::smtp::Command& command);
    // `hostnames <table>`: the name for the address the client connected to, if listed.
    void use_hostnames_table();
    // `senders <table>`: whether the authenticated user may use `sender`; a reply when not.
    std::optional<core::smtp::Reply> check_sender(const core::smtp::Mailbox& sender);
    After on_rcpt(const core::smtp::Command& command);
    // What the rules know of this session and transaction, for recipient `rcpt_to`.
    core::rules::Facts rule_facts(std::string rcpt_to) const;
    asio::awaitable<void> finish_data();
    // The queued form of `txn` with `content` (the client's message) as message `id`: the
    // Received line on top, one envelope per final recipient.
    core::queue::NewMessage make_message(const Transaction& txn, const std::string& content, std::int64_t now,
                                         core::queue::MsgId id) const;
    void say(const core::smtp::Reply& r) { m_out += r.render(); }
    asio::awaitable<bool> flush();
    asio::awaitable<void> watchdog();
    void trace(std::string_view event, core::log::Fields fields) {
        MXD_TRACE(core::Subsystem::smtp, m_id, event, fields);
    }
    // Whether smtp traces are wanted: a caller whose fields cost something to build asks first.
    static bool tracing() {
        return core::log::tracing(core::Subsystem::smtp) || core::log::trace_followed(core::Subsystem::smtp);
    }

    tcp::socket m_socket;
    asio::steady_timer m_timer;
    Clock::time_point m_deadline = Clock::now() + k_command_timeout;
    std::shared_ptr<const SessionEnvironment> m_env;
    std::string m_id;
    std::string m_hostname;  // the listener's name, or the `hostnames` table's for our address
    std::string m_src;
    bool m_inet6 = false;
    std::string m_helo;
    bool m_esmtp = false;
    std::optional<Transaction> m_txn;
    std::size_t m_messages = 0;
    std::string m_out;
    core::smtp::LineSplitter m_lines;
    std::optional<core::smtp::DataReader> m_data;  // set while receiving DATA
    std::string m_body;
    std::unique_ptr<asio::ssl::stream<tcp::socket&>> m_tls;  // after STARTTLS, or from the start (smtps)
    // AUTH in progress: which mechanism waits for a response, and what the client sent.
    enum class AuthStep { none, plain, login };
    AuthStep m_auth_step = AuthStep::none;
    core::smtp::LoginExchange m_login;
    std::string m_auth_try_user;
    std::string m_auth_try_password;
    std::optional<std::string> m_auth_user;
    int m_auth_failures = 0; // refused AUTH attempts, up to k_auth_failures_max
    // RCPT accepted by the rules, waiting for its expansion (on a worker thread).
    std::optional<Recipient> m_pending_rcpt;
    std::string m_pending_action;
    // show stats: this session in smtp.session and its family's gauge, and in smtp.tls or
    // smtp.smtps once its TLS is up.
    stats::Held m_session_gauge{stats::Counter::smtp_session};
    stats::Held m_family_gauge;
    stats::Held m_tls_gauge;
};

asio::awaitable<bool> Session::flush() {
    if (m_out.empty()) {
        co_return true;
    }
    if (tracing()) {
        for (std::size_t at = 0; at < m_out.size();) {
            const auto end = std::min(m_out.find("\r\n", at), m_out.size());
            trace(">>>", {{"line", std::string_view(m_out).substr(at, end - at)}});
            at = end + 2;
        }
    }
    MXD_TRACE(core::Subsystem::io, m_id, "write", {{"bytes", m_out.size()}, {"tls", m_tls ? "yes" : "no"}});
    asio::error_code ec;
    if (m_tls) {
        co_await asio::async_write(*m_tls, asio::buffer(m_out), asio::redirect_error(asio::use_awaitable, ec));
    } else {
        co_await asio::async_write(m_socket, asio::buffer(m_out), asio::redirect_error(asio::use_awaitable, ec));
    }
    m_out.clear();
    co_return !ec;
}

asio::awaitable<void> Session::watchdog() {
    auto self = shared_from_this();
    while (m_socket.is_open()) {
        m_timer.expires_at(m_deadline);
        asio::error_code ec;
        co_await m_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (m_socket.is_open() && Clock::now() >= m_deadline) {
            core::log::info("smtp", "timeout", {{"session", m_id}, {"src", m_src}});
            // Best effort: a client that stopped reading does not get to hold the session.
            const auto text = reply::timeout(m_hostname).render();
            m_socket.non_blocking(true, ec);
            static_cast<void>(m_socket.write_some(asio::buffer(text), ec));
            static_cast<void>(m_socket.close(ec));
        }
    }
}

asio::awaitable<void> Session::run() {
    auto self = shared_from_this();
    asio::co_spawn(m_socket.get_executor(), watchdog(), asio::detached);
    core::log::info("smtp", "connected", {{"session", m_id}, {"address", m_src}});
    if (m_env->state.paused.smtp) {
        say(reply::unavailable(m_hostname));
        co_await flush();
        m_socket.close();
        co_return;
    }
    use_hostnames_table();
    if (m_env->generation->rules->uses_rdns() && m_env->state.resolver) {
        m_rdns_state = RdnsState::pending;
        m_rdns_ready = std::make_unique<asio::steady_timer>(m_socket.get_executor(), asio::steady_timer::time_point::max());
        asio::co_spawn(m_socket.get_executor(), lookup_rdns(), asio::detached);
    }
    if (m_env->listener.tls == core::config::Listener::Tls::smtps && !co_await start_tls()) {
        m_socket.close();
        co_return;
    }
    say(reply::greeting(m_hostname));
    std::array<char, k_read_chunk> chunk;
    bool open = true;
    while (open) {
        // Answer everything already received before reading more: with PIPELINING the
        // replies to a batch go out together (RFC 2920 3.1).
        for (;;) {
            if (m_data) {
                const auto used = m_data->feed(m_lines.pending(), m_body);
                m_lines.consume_pending(used);
                if (!m_data->done()) {
                    break;
                }
                co_await finish_data();
                continue;
            }
            const auto line = m_lines.next();
            if (line.status == core::smtp::LineStatus::incomplete) {
                break;
            }
            if (line.status == core::smtp::LineStatus::too_long) {
                say(reply::line_too_long());
                continue;
            }
            auto after = handle_line(line.text);
            if (after == After::await_rdns) {
                // RCPT needs the host name: wait for the lookup (bounded), then take the line again.
                const std::string again(line.text);
                while (m_rdns_state == RdnsState::pending) {
                    asio::error_code ignored;
                    co_await m_rdns_ready->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
                }
                after = handle_line(again);
            }
            if (after == After::close) {
                open = false;
                break;
            }
            if (after == After::check_password) {
                if (!co_await check_password()) {
                    open = false;
                    break;
                }
            } else if (after == After::expand_recipient) {
                co_await expand_recipient();
            } else if (after == After::start_tls) {
                open = co_await start_tls();
                break;
            }
        }
        if (!co_await flush() || !open) {
            break;
        }
        asio::error_code ec;
        std::size_t n = 0;
        if (m_tls) {
            n = co_await m_tls->async_read_some(asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
        } else {
            n = co_await m_socket.async_read_some(asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
        }
        if (ec) {
            MXD_TRACE(core::Subsystem::io, m_id, "closed", {{"reason", ec.message()}});
            break;
        }
        MXD_TRACE(core::Subsystem::io, m_id, "read", {{"bytes", n}, {"tls", m_tls ? "yes" : "no"}});
        m_deadline = Clock::now() + k_command_timeout;
        m_lines.append(std::string_view(chunk.data(), n));
    }
    asio::error_code ignored;
    static_cast<void>(m_socket.close(ignored));
    m_timer.cancel();
    core::log::info("smtp", "disconnected", {{"session", m_id}, {"messages", m_messages}});
}

Session::After Session::handle_line(std::string_view line) {
    // AUTH payloads and SASL responses never reach a trace or a log.
    const auto sasl = m_auth_step != AuthStep::none ? core::smtp::SaslResponse::yes : core::smtp::SaslResponse::no;
    if (tracing()) {
        trace("<<<", {{"line", core::smtp::redact_client_line(line, sasl)}});
    }
    if (sasl == core::smtp::SaslResponse::yes) {
        return on_auth_response(line);
    }
    auto parsed = core::smtp::parse_command(line);
    if (!parsed) {
        if (parsed.error().code == core::Errc::invalid_argument) {
            say(reply::line_too_long());
        } else {
            say(reply::syntax_error(parsed.error().message));
        }
        return After::carry_on;
    }
    const auto& command = *parsed;
    using core::smtp::Verb;
    switch (command.verb) {
    case Verb::helo:
        on_helo(command, false);
        return After::carry_on;
    case Verb::ehlo:
        on_helo(command, true);
        return After::carry_on;
    case Verb::mail:
        on_mail(command);
        return After::carry_on;
    case Verb::rcpt:
        return on_rcpt(command);
    case Verb::data: {
        if (!m_txn || m_txn->rcpts.empty()) {
            say(reply::bad_sequence());
            return After::carry_on;
        }
        say(reply::start_data());
        core::smtp::DataOptions options;
        options.max_size = static_cast<std::uint64_t>(m_env->generation->config.smtp.max_message_size);
        m_data.emplace(options);
        m_body.clear();
        return After::carry_on;
    }
    case Verb::rset:
        m_txn.reset();
        say(reply::ok());
        return After::carry_on;
    case Verb::noop:
        say(reply::ok());
        return After::carry_on;
    case Verb::help:
        say(core::smtp::Reply{214, "2.0.0", "This is mxd; see https://www.rfc-editor.org/rfc/rfc5321"});
        return After::carry_on;
    case Verb::vrfy:
        // RFC 5321 3.5.3: 252 says "cannot verify, but will accept and try".
        say(core::smtp::Reply{252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery"});
        return After::carry_on;
    case Verb::quit:
        say(reply::closing());
        return After::close;
    case Verb::starttls:
        if (!tls_offered()) {
            say(m_tls ? reply::bad_sequence() : reply::not_implemented());
            return After::carry_on;
        }
        say(reply::starttls_ready());
        return After::start_tls;
    case Verb::auth:
        return on_auth(command.argument);
    case Verb::expn:
    case Verb::bdat:
        say(reply::not_implemented());
        return After::carry_on;
    case Verb::unknown:
        say(reply::command_unrecognized());
        return After::carry_on;
    }
    return After::carry_on;
}

void Session::on_helo(const core::smtp::Command& command, bool extended) {
    m_helo = std::string(command.argument);
    m_esmtp = extended;
    m_txn.reset();
    const std::string hello = m_hostname + " Hello " + m_helo + " [" + m_src + "], pleased to meet you";
    if (!extended) {
        say(core::smtp::Reply{250, "", hello});
        return;
    }
    std::string lines = hello + "\n8BITMIME\nENHANCEDSTATUSCODES\nSIZE " +
                        std::to_string(m_env->generation->config.smtp.max_message_size) + "\nPIPELINING";
    if (!m_env->listener.no_dsn) {
        lines += "\nDSN";
    }
    if (tls_offered()) {
        lines += "\nSTARTTLS";
    }
    if (auth_offered() && !m_auth_user) {
        lines += "\nAUTH PLAIN LOGIN";
    }
    lines += "\nHELP";
    say(core::smtp::Reply{250, "", lines});
}

void Session::on_mail(const core::smtp::Command& command) {
    if (m_helo.empty()) {
        say(core::smtp::Reply{503, "5.5.1", "Polite people say HELO first"});
        return;
    }
    if (m_txn) {
        say(reply::bad_sequence());
        return;
    }
    if (m_env->listener.tls == core::config::Listener::Tls::require && !m_tls) {
        say(reply::starttls_required());
        return;
    }
    if (m_env->listener.auth == core::config::Listener::Auth::required && !m_auth_user) {
        say(reply::auth_required());
        return;
    }
    if (m_messages >= static_cast<std::size_t>(m_env->generation->config.smtp.max_mails)) {
        say(core::smtp::Reply{452, "4.5.3", "Too many messages for this session"});
        return;
    }
    auto params = core::smtp::parse_mail_params(command);
    if (!params) {
        say(parameter_error(params.error()));
        return;
    }
    if (params->size && *params->size > static_cast<std::uint64_t>(m_env->generation->config.smtp.max_message_size)) {
        say(reply::message_too_big());
        return;
    }
    if (auto refused = check_sender(command.path)) {
        say(*refused);
        return;
    }
    m_txn = Transaction{command.path, *params, {}, m_env->state.queue->expect_message()};
    say(reply::sender_ok());
}

void Session::use_hostnames_table() {
    const auto& name = m_env->listener.hostnames_table;
    if (name.empty()) {
        return;
    }
    asio::error_code ec;
    const auto local = m_socket.local_endpoint(ec);
    auto table = m_env->generation->tables->get(name);
    if (ec || !table) {
        return;
    }
    auto found = core::table::lookup(*table, core::table::Service::addrname, local.address().to_string());
    if (!found) {
        core::log::warning("smtp", "hostnames-failed", {{"session", m_id}, {"table", name}, {"error", found.error().message}});
    } else if (*found && !(*found)->value.empty()) {
        m_hostname = (*found)->value;
    }
}

std::optional<core::smtp::Reply> Session::check_sender(const core::smtp::Mailbox& sender) {
    const auto& name = m_env->listener.senders_table;
    // OpenSMTPD checks senders for authenticated sessions only.
    if (name.empty() || !m_auth_user) {
        return std::nullopt;
    }
    auto table = m_env->generation->tables->get(name);
    if (!table) {
        return reply::local_error();
    }
    auto found = core::table::lookup(*table, core::table::Service::mailaddrmap, *m_auth_user);
    if (!found) {
        core::log::warning("smtp", "senders-failed", {{"session", m_id}, {"table", name}, {"error", found.error().message}});
        return reply::local_error();
    }
    if (!*found || !core::table::mailaddr_allowed(sender.to_string(), (*found)->value,
                                                  m_env->generation->config.smtp.sub_addr_delim)) {
        core::log::info("smtp", "sender-refused", {{"session", m_id}, {"user", *m_auth_user}, {"sender", sender.to_string()}});
        return core::smtp::Reply{553, "5.7.1", "Sender address rejected: not owned by user " + *m_auth_user};
    }
    return std::nullopt;
}

core::rules::Facts Session::rule_facts(std::string rcpt_to) const {
    core::rules::Facts facts;
    facts.src = m_src;
    facts.helo = m_helo;
    facts.tag = m_env->listener.tag;
    facts.tls = m_tls != nullptr;
    facts.auth_user = m_auth_user;
    facts.mail_from = m_txn ? m_txn->sender.to_string() : std::string{};
    facts.rcpt_to = std::move(rcpt_to);
    facts.local_names = m_env->local_names;
    facts.rdns = m_rdns;
    return facts;
}

Session::After Session::on_rcpt(const core::smtp::Command& command) {
    if (!m_txn) {
        say(reply::bad_sequence());
        return After::carry_on;
    }
    if (m_rdns_state == RdnsState::pending) {
        return After::await_rdns;
    }
    if (m_txn->rcpts.size() >= static_cast<std::size_t>(m_env->generation->config.smtp.max_rcpt)) {
        say(reply::too_many_recipients());
        return After::carry_on;
    }
    auto params = core::smtp::parse_rcpt_params(command);
    if (!params) {
        say(parameter_error(params.error()));
        return After::carry_on;
    }
    auto facts = rule_facts(command.path.to_string());
    auto& tables = *m_env->generation->tables;
    auto matched = m_env->generation->rules->match(facts, [&tables](const std::string& name) { return tables.get(name); });
    if (!matched) {
        core::log::warning("smtp", "rules-failed", {{"session", m_id}, {"error", matched.error().message}});
        say(reply::local_error());
        return After::carry_on;
    }
    MXD_TRACE(core::Subsystem::rules, m_id, "match",
              {{"rcpt", facts.rcpt_to}, {"from", facts.mail_from}, {"src", facts.src},
               {"rule", *matched ? core::rules::Ruleset::describe(m_env->generation->rules->rule(**matched))
                                 : std::string("no rule matched")}});
    if (!*matched || m_env->generation->rules->rule(**matched).reject) {
        trace("rcpt-refused", {{"rcpt", facts.rcpt_to},
                               {"rule", *matched ? core::rules::Ruleset::describe(m_env->generation->rules->rule(**matched))
                                                 : std::string("no rule matched")}});
        say(reply::relay_denied());
        return After::carry_on;
    }
    m_pending_rcpt = Recipient{command.path, *params, {}};
    m_pending_action = m_env->generation->rules->rule(**matched).action;
    return After::expand_recipient;
}


asio::awaitable<void> Session::expand_recipient() {
    auto recipient = std::move(*m_pending_rcpt);
    m_pending_rcpt.reset();
    const auto& config = m_env->generation->config;
    const auto* action = config.find_action(m_pending_action);
    if (action == nullptr || !m_txn) {
        say(reply::local_error());
        co_return;
    }
    const auto facts = rule_facts({});
    auto env = m_env;
    const std::string address = recipient.address.to_string();
    // Table lookups and .forward files are blocking: unless all the expansion needs is in
    // memory (the common case: a user seen a moment ago), it runs on a worker.
    auto expanded = lookup::expand_recipient_in_memory(*env->generation, facts, *action, address);
    if (!expanded) {
        auto work = [env, action, facts, address]() {
            return lookup::expand_recipient(*env->generation, facts, *action, address);
        };
        auto on_worker = co_await m_env->workers.run(std::move(work));
        expanded.emplace(std::move(on_worker));
    }
    const auto& expansion = *expanded;
    if (!expansion) {
        const auto& e = expansion.error();
        trace("expand-failed", {{"rcpt", address}, {"error", e.message}});
        switch (e.code) {
        case core::Errc::not_found:
            say(core::smtp::Reply{550, "5.1.1", "Recipient rejected: " + e.message});
            break;
        case core::Errc::invalid_argument:
            say(core::smtp::Reply{524, "5.2.4", "Mailing list expansion problem: " + e.message});
            break;
        default:
            say(core::smtp::Reply{451, "4.2.4", "Temporary failure in expansion, try again later"});
        }
        co_return;
    }
    for (const auto& step : expansion->steps) {
        MXD_TRACE(core::Subsystem::expand, m_id, "step", {{"rcpt", address}, {"step", step}});
    }
    if (const auto* error = expansion->first_error()) {
        say(core::smtp::Reply{error->code, "", error->text});
        co_return;
    }
    recipient.destinations = lookup::destinations_of(*m_env->generation, *expansion, m_pending_action);
    if (recipient.destinations.empty()) {
        say(core::smtp::Reply{550, "5.1.1", "Recipient rejected: nothing to deliver"});
        co_return;
    }
    if (!m_txn) {
        say(reply::bad_sequence());
        co_return;
    }
    m_txn->rcpts.push_back(std::move(recipient));
    say(reply::recipient_ok());
}


asio::awaitable<void> Session::lookup_rdns() {
    auto self = shared_from_this();
    asio::error_code ec;
    const auto peer = asio::ip::make_address(m_src, ec);
    if (!ec) {
        auto name = co_await m_env->state.resolver->forward_confirmed(peer);
        if (name && *name) {
            m_rdns = **name;
        }
        trace("rdns", {{"address", m_src},
                       {"name", name ? name->value_or("<none>") : "<" + name.error().message + ">"}});
    }
    m_rdns_state = RdnsState::done;
    m_rdns_ready->cancel();
}

asio::awaitable<bool> Session::start_tls() {
    if (!co_await flush()) {
        co_return false;
    }
    // RFC 3207 6 (and CVE-2011-0411): anything the client pipelined after STARTTLS was sent in
    // clear and must not be taken as a command of the protected session.
    m_lines.reset();
    m_tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(m_socket, m_env->tls->context());
    asio::error_code ec;
    co_await m_tls->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        core::log::info("smtp", "tls-failed", {{"session", m_id}, {"src", m_src}, {"error", ec.message()}});
        MXD_TRACE(core::Subsystem::tls, m_id, "handshake-failed", {{"error", ec.message()}});
        co_return false;
    }
    trace("tls", {{"version", SSL_get_version(m_tls->native_handle())},
                  {"cipher", SSL_get_cipher_name(m_tls->native_handle())}});
    MXD_TRACE(core::Subsystem::tls, m_id, "handshake",
              {{"side", "server"}, {"version", SSL_get_version(m_tls->native_handle())},
               {"cipher", SSL_get_cipher_name(m_tls->native_handle())},
               {"listener", m_env->listener.tls == core::config::Listener::Tls::smtps ? "smtps" : "starttls"}});
    m_tls_gauge = stats::Held(m_env->listener.tls == core::config::Listener::Tls::smtps ? stats::Counter::smtp_smtps
                                                                                        : stats::Counter::smtp_tls);
    // RFC 3207 4.2: the session starts over; the client must say EHLO again.
    m_helo.clear();
    m_txn.reset();
    co_return true;
}

Session::After Session::on_auth(std::string_view argument) {
    if (!auth_offered() || m_auth_user || m_txn) {
        say(m_tls || m_env->listener.auth == core::config::Listener::Auth::none ? reply::bad_sequence()
                                                                                 : reply::encryption_required());
        return After::carry_on;
    }
    auto parsed = core::smtp::parse_auth_argument(argument);
    if (!parsed) {
        say(reply::syntax_error("Invalid AUTH argument"));
        return After::carry_on;
    }
    const auto mechanism = core::to_lower(parsed->mechanism);
    if (mechanism == "plain") {
        if (!parsed->initial_response) {
            m_auth_step = AuthStep::plain;
            say(reply::auth_challenge(""));
            return After::carry_on;
        }
        return on_auth_response(*parsed->initial_response == "" ? "=" : *parsed->initial_response);
    }
    if (mechanism == "login") {
        m_login = core::smtp::LoginExchange{};
        m_auth_step = AuthStep::login;
        if (parsed->initial_response) {
            return on_auth_response(*parsed->initial_response);
        }
        say(reply::auth_challenge(m_login.prompt()));
        return After::carry_on;
    }
    say(reply::auth_mechanism_unsupported());
    return After::carry_on;
}

Session::After Session::on_auth_response(std::string_view line) {
    const auto step = m_auth_step == AuthStep::none ? AuthStep::plain : m_auth_step;
    m_auth_step = AuthStep::none;
    if (core::smtp::is_cancel(line)) {
        say(reply::auth_cancelled());
        return After::carry_on;
    }
    if (step == AuthStep::plain) {
        auto credentials = core::smtp::decode_plain(line == "=" ? std::string_view{} : line);
        if (!credentials) {
            say(reply::syntax_error("Invalid AUTH PLAIN response"));
            return After::carry_on;
        }
        m_auth_try_user = credentials->authcid;
        m_auth_try_password = credentials->password;
        return After::check_password;
    }
    auto done = m_login.respond(line);
    if (!done) {
        say(done.error().code == core::Errc::invalid_argument ? reply::auth_cancelled()
                                                              : reply::syntax_error("Invalid AUTH LOGIN response"));
        return After::carry_on;
    }
    if (!*done) {
        m_auth_step = AuthStep::login;
        say(reply::auth_challenge(m_login.prompt()));
        return After::carry_on;
    }
    m_auth_try_user = m_login.username();
    m_auth_try_password = m_login.password();
    return After::check_password;
}

asio::awaitable<bool> Session::check_password() {
    const auto& table_name = m_env->listener.auth_table;
    auto table = table_name.empty() ? nullptr : m_env->generation->tables->get(table_name);
    auto user = std::move(m_auth_try_user);
    auto password = std::move(m_auth_try_password);
    m_auth_try_user.clear();
    m_auth_try_password.clear();
    // crypt(3) is slow by design: never on the event loop, nor on the workers that lookups
    // need.
    auto work = [table, table_name, user, password]() -> core::Result<bool> {
        if (table_name.empty()) {
            // shadow(5) is root's: once mxd gave root up, its privileged process checks.
            if (auto* link = privileged::link()) {
                return link->check_password(user, password);
            }
            return core::auth::verify_system_password(user, password);
        }
        if (!table) {
            return false;
        }
        auto found = core::table::lookup(*table, core::table::Service::credentials, user);
        if (!found || !*found) {
            return false;
        }
        // A credentials value is `hash`, or `user:hash` (table(5)).
        std::string_view hash = (*found)->value;
        if (const auto colon = hash.find(':'); colon != std::string_view::npos && hash.front() != '$') {
            hash = hash.substr(colon + 1);
        }
        return core::auth::verify_password(password, hash);
    };
    const auto checked = co_await m_env->password_checks.run(std::move(work));
    if (!checked) {
        core::log::warning("smtp", "auth-error", {{"session", m_id}, {"user", user}, {"error", checked.error().message}});
        say(core::smtp::Reply{454, "4.7.0", "Temporary authentication failure"});
        co_return true;
    }
    if (!*checked) {
        stats::add(stats::Counter::smtp_auth_failed);
        core::log::info("smtp", "auth-failed", {{"session", m_id}, {"src", m_src}, {"user", user}});
        say(reply::auth_failed());
        if (++m_auth_failures >= k_auth_failures_max) {
            // RFC 5321 3.8: a server may close with 421 at any time; this one follows the 535.
            core::log::warning("smtp", "auth-failures", {{"session", m_id}, {"src", m_src}, {"failures", m_auth_failures}});
            say(core::smtp::Reply{421, "4.7.0", m_hostname + " Too many failed authentication attempts, closing channel"});
            co_return false;
        }
        co_return true;
    }
    stats::add(stats::Counter::smtp_auth_ok);
    core::log::info("smtp", "authenticated", {{"session", m_id}, {"user", user}});
    m_auth_user = std::move(user);
    say(reply::auth_ok());
    co_return true;
}

asio::awaitable<void> Session::finish_data() {
    auto data = std::move(*m_data);
    m_data.reset();
    auto txn = std::move(*m_txn);
    m_txn.reset();
    if (data.status() == core::smtp::DataStatus::too_big) {
        say(reply::message_too_big());
        co_return;
    }
    if (data.status() != core::smtp::DataStatus::ok) {
        say(reply::content_rejected("Message refused: malformed lines"));
        co_return;
    }
    if (m_env->listener.masquerade && m_auth_user && !txn.sender.to_string().empty()) {
        if (auto rewritten = core::smtp::masquerade_from(m_body, txn.sender.to_string())) {
            m_body = std::move(*rewritten);
        }
    }
    const auto content = std::move(m_body);
    m_body.clear();
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    auto queue = m_env->state.queue;
    std::size_t size = 0;
    std::size_t rcpts = 0;
    auto make = [&](core::queue::MsgId id) {
        auto message = make_message(txn, content, now, id);
        size = message.body.size();
        rcpts = message.envelopes.size();
        return message;
    };
    // The message is no longer on its way: its announcement ends as it is handed over.
    auto committing = queue->commit_new(make, std::move(txn.incoming));
    auto committed = co_await std::move(committing);
    if (!committed) {
        say(reply::local_error());
        co_return;
    }
    const auto msgid = committed->hex();
    ++m_messages;
    stats::add(stats::Counter::smtp_message);
    core::log::info("smtp", "message", {{"session", m_id}, {"msgid", msgid}, {"size", size}, {"nrcpt", rcpts},
                                        {"proto", m_esmtp ? "ESMTP" : "SMTP"}});
    say(reply::message_accepted(msgid));
}

core::queue::NewMessage Session::make_message(const Transaction& txn, const std::string& content,
                                              std::int64_t now, core::queue::MsgId id) const {
    const auto& config = m_env->generation->config;
    core::queue::NewMessage message;
    message.id = id;
    message.created = now;
    // RFC 5321 4.4: the trace line goes on top of what the client sent.
    const auto hex = message.id.hex();
    const auto single = txn.rcpts.size() == 1 ? txn.rcpts[0].address.to_string() : std::string{};
    core::smtp::ReceivedInfo received;
    received.helo = m_helo;
    received.ip = m_src;
    received.rdns = m_rdns ? std::string_view(*m_rdns) : std::string_view{};
    received.by_host = m_hostname;
    received.esmtp = m_esmtp;
    received.tls = m_tls != nullptr;
    received.authenticated = m_auth_user.has_value();
    received.id = hex;
    received.mask_source = m_env->listener.mask_src;
    received.received_auth = m_env->listener.received_auth;
    received.auth_user = m_auth_user ? std::string_view(*m_auth_user) : std::string_view{};
    std::string tls_info;
    if (m_tls) {
        tls_info = std::string(SSL_get_version(m_tls->native_handle())) + " " + SSL_get_cipher_name(m_tls->native_handle());
        received.tls_info = tls_info;
    }
    received.recipient = single;
    received.date = static_cast<std::time_t>(now);
    message.body = core::smtp::received_header(received);
    message.body += content;
    for (const auto& r : txn.rcpts) {
        for (const auto& d : r.destinations) {
            core::queue::Envelope e;
            e.id = core::queue::EvpId::random(message.id);
            e.origin = m_inet6 ? core::queue::Origin::inet6 : core::queue::Origin::inet4;
            const auto* action = config.find_action(d.action);
            e.type = d.type;
            e.run_as = d.run_as;
            e.sender = txn.sender.to_string();
            e.rcpt = r.address.to_string();
            e.dest = d.dest;
            e.action = d.action;
            e.helo = m_helo;
            e.src = m_src;
            e.tag = m_env->listener.tag;
            if (m_auth_user) {
                e.flags |= core::queue::k_flag_auth;
                e.auth_user = *m_auth_user;
            }
            e.created = now;
            e.expires = now + (action != nullptr && action->ttl ? *action->ttl : config.queue.ttl);
            e.next_try = now;
            e.dsn_ret = txn.params.ret == core::smtp::Ret::full ? "FULL"
                        : txn.params.ret == core::smtp::Ret::hdrs ? "HDRS"
                                                                  : "";
            e.dsn_envid = txn.params.envid.value_or("");
            e.dsn_orcpt = r.params.orcpt.value_or("");
            // RFC 3461 4.1: NOTIFY as the relay client sends it again and bounces read it.
            if ((r.params.notify & core::smtp::notify_never) != 0) {
                e.dsn_notify = "NEVER";
            } else {
                for (const auto& [bit, word] :
                     {std::pair{core::smtp::notify_success, "SUCCESS"},
                      std::pair{core::smtp::notify_failure, "FAILURE"},
                      std::pair{core::smtp::notify_delay, "DELAY"}}) {
                    if ((r.params.notify & bit) != 0) {
                        e.dsn_notify += (e.dsn_notify.empty() ? "" : ",") + std::string(word);
                    }
                }
            }
            message.envelopes.push_back(std::move(e));
        }
    }
    return message;
}

} // namespace

asio::awaitable<void> run_session(tcp::socket socket, asio::ip::address peer,
                                  std::shared_ptr<const SessionEnvironment> env) {
    auto session = std::make_shared<Session>(std::move(socket), peer, std::move(env));
    try {
        co_await session->run();
    } catch (const std::exception& e) {
        // One session's failure never reaches the others (STYLE: nothing escapes a handler).
        core::log::error("smtp", "session-failed", {{"error", e.what()}});
    }
}

} // namespace mxd::smtp
