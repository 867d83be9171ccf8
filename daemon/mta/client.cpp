// SPDX-License-Identifier: ISC
#include "daemon/mta/client.hpp"

#include "core/mta/data_writer.hpp"
#include "core/smtp/sasl.hpp"
#include "core/util/strings.hpp"

#include <openssl/ssl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>

// g++ 12 reports asio's coroutine frames (its operator new paired with a sized operator delete)
// as mismatched: a false positive, GCC PR middle-end/109224.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace mxd::mta {

namespace {

using core::smtp::Reply;
using std::chrono::milliseconds;

// RFC 5321 4.5.3.1.5 allows 512 bytes per reply line and asks clients to be liberal;
// OpenSMTPD gives up beyond LINE_MAX (2048), and so does mxd.
constexpr std::size_t k_reply_line_max = 2048;
constexpr std::size_t k_read_chunk = 4096;
// DATA goes out in pieces of this size, each under its own data_block timeout.
constexpr std::size_t k_data_chunk = 64 * 1024;

// A random id for the session's trace and log lines, like the server sessions'.
std::string session_id() {
    return core::queue::EvpId::random(core::queue::MsgId::random()).hex();
}

std::string machine_name() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') {
        return "localhost";
    }
    return name;
}

core::Error temporary(std::string message) {
    return core::Error{core::Errc::temp_failure, std::move(message)};
}

// "550 5.1.1 text" for error messages.
std::string describe(const Reply& reply) {
    std::string out = std::to_string(reply.code);
    if (!reply.enhanced.empty()) {
        out += " " + reply.enhanced;
    }
    const auto text = reply.one_line();
    if (!text.empty()) {
        out += " " + text;
    }
    return out;
}

// The first word of a command, to say which reply was awaited.
std::string verb(std::string_view line) {
    return std::string(line.substr(0, line.find(' ')));
}

// What a trace may show of a command: AUTH arguments and SASL responses carry the password.
std::string traced_command(std::string_view line, Client::Redact redact) {
    if (redact == Client::Redact::no) {
        return std::string(line);
    }
    if (core::starts_with_nocase(line, "AUTH ")) {
        const auto mechanism_end = line.find(' ', 5);
        return std::string(line.substr(0, mechanism_end)) + " <redacted>";
    }
    return "<redacted>";
}

} // namespace

std::string Endpoint::to_string() const {
    if (!socket_path.empty()) {
        return "unix:" + socket_path;
    }
    std::string out = name.empty() ? "" : name + " ";
    return out + "[" + address.address().to_string() + "]:" + std::to_string(address.port());
}

std::string Status::summary() const {
    return (host.empty() ? "" : host + ": ") + describe(reply);
}

Outcome outcome_of(const Reply& reply) {
    if (reply.code >= 200 && reply.code < 300) {
        return Outcome::delivered;
    }
    return reply.permanent() ? Outcome::permanent : Outcome::temporary;
}

Client::Client(Private, asio::any_io_executor executor, Endpoint endpoint,
               std::shared_ptr<const Options> options)
    : m_socket(executor), m_timer(executor), m_endpoint(std::move(endpoint)),
      m_host(m_endpoint.to_string()), m_options(std::move(options)), m_id(session_id()) {}

Client::~Client() {
    close();
}

void Client::trace(std::string_view event, core::log::Fields fields) const {
    MXD_TRACE(core::Subsystem::mta, m_id, event, fields);
}

void Client::arm(milliseconds timeout) {
    m_timed_out = false;
    const auto generation = ++m_generation;
    m_timer.expires_after(timeout);
    // The handler may run after this client is gone, or after the stage ended: it holds a weak
    // reference and checks that its stage is still the current one.
    m_timer.async_wait([weak = weak_from_this(), generation](const asio::error_code& ec) {
        const auto self = weak.lock();
        if (ec || !self || self->m_generation != generation) {
            return;
        }
        self->m_timed_out = true;
        asio::error_code ignored;
        static_cast<void>(self->m_socket.close(ignored));
    });
}

void Client::disarm() {
    ++m_generation;
    m_timer.cancel();
}

void Client::close() {
    m_usable = false;
    disarm();
    asio::error_code ignored;
    // Closing without a TLS close_notify: the session is over either way, and waiting for a
    // peer's shutdown could hang.
    static_cast<void>(m_socket.close(ignored));
}

Status Client::local_status(Outcome outcome, int code, std::string_view enhanced,
                            std::string text) const {
    return Status{outcome, Reply{code, std::string(enhanced), std::move(text)}, true, m_host};
}

Status Client::reply_status(const Reply& reply) const {
    return Status{outcome_of(reply), reply, false, m_host};
}

Status Client::lost(const core::Error& error) {
    // RFC 3463 4.4.2: bad connection.
    auto status = local_status(Outcome::temporary, 421, "4.4.2", error.message);
    if (m_usable) {
        core::log::info("mta", "connection-lost",
                        {{"session", m_id}, {"host", m_host}, {"error", error.message}});
    }
    close();
    m_closed_status = status;
    return status;
}

namespace {

// The IP address of a socket address, as text; "" for another family.
std::string address_text(const asio::generic::stream_protocol::endpoint& endpoint) {
    const sockaddr* sa = endpoint.data();
    if (sa->sa_family == AF_INET && endpoint.size() >= sizeof(sockaddr_in)) {
        sockaddr_in in{};
        std::memcpy(&in, sa, sizeof in);
        asio::ip::address_v4::bytes_type bytes;
        std::memcpy(bytes.data(), &in.sin_addr, bytes.size());
        return asio::ip::address_v4(bytes).to_string();
    }
    if (sa->sa_family == AF_INET6 && endpoint.size() >= sizeof(sockaddr_in6)) {
        sockaddr_in6 in6{};
        std::memcpy(&in6, sa, sizeof in6);
        asio::ip::address_v6::bytes_type bytes;
        std::memcpy(bytes.data(), &in6.sin6_addr, bytes.size());
        return asio::ip::address_v6(bytes).to_string();
    }
    return {};
}

} // namespace

asio::awaitable<core::Result<void>> Client::open() {
    asio::error_code ec;
    asio::generic::stream_protocol::endpoint target;
    if (!m_endpoint.socket_path.empty()) {
        target = asio::local::stream_protocol::endpoint(m_endpoint.socket_path);
        static_cast<void>(m_socket.open(asio::generic::stream_protocol(AF_UNIX, 0), ec));
    } else {
        target = m_endpoint.address;
        const bool inet6 = m_endpoint.address.address().is_v6();
        static_cast<void>(m_socket.open(
            asio::generic::stream_protocol(inet6 ? AF_INET6 : AF_INET, IPPROTO_TCP), ec));
        const auto& sources = m_options->sources;
        if (!ec && !sources.empty()) {
            const auto source = std::find_if(sources.begin(), sources.end(), [&](const auto& a) {
                return a.is_v6() == inet6;
            });
            if (source == sources.end()) {
                co_return core::fail(temporary(std::string("no source address of the endpoint's "
                                                           "family (") +
                                               (inet6 ? "IPv6" : "IPv4") + ")"));
            }
            m_source = source->to_string();
            static_cast<void>(m_socket.bind(asio::ip::tcp::endpoint(*source, 0), ec));
            if (ec) {
                co_return core::fail(temporary("bind " + source->to_string() + ": " + ec.message()));
            }
        }
    }
    if (ec) {
        co_return core::fail(temporary("socket: " + ec.message()));
    }
    trace("connecting", {{"host", m_host}});
    arm(m_options->timeouts.connect);
    co_await m_socket.async_connect(target, asio::redirect_error(asio::use_awaitable, ec));
    disarm();
    if (ec) {
        co_return core::fail(
            temporary(m_timed_out ? "connect: timeout" : "connect: " + ec.message()));
    }
    // A command or the end of DATA often follows a write the server has not acknowledged yet:
    // with Nagle's algorithm it would wait for the server's delayed ACK (40 ms on Linux) each
    // time. The client writes whole commands and large body chunks, so nothing is lost.
    asio::error_code nodelay_error;
    m_socket.set_option(asio::ip::tcp::no_delay(true), nodelay_error);
    // `helo-src`: the name for the address the kernel (or `src`) gave this connection.
    asio::error_code local_error;
    const auto local = m_socket.local_endpoint(local_error);
    if (!local_error) {
        m_local = address_text(local);
    }
    if (!m_local.empty()) {
        if (const auto name = m_options->helo_by_source.find(m_local);
            name != m_options->helo_by_source.end()) {
            m_helo = name->second;
        }
    }
    co_return core::Result<void>{};
}

asio::awaitable<core::Result<void>> Client::handshake() {
    m_tls =
        std::make_unique<asio::ssl::stream<Socket&>>(m_socket, m_options->tls_context->context());
    SSL* ssl = m_tls->native_handle();
    // Without a host name, the certificate must name the address (RFC 6125 does not cover
    // it; OpenSSL checks the iPAddress entries).
    const std::string name = m_endpoint.name.empty() && m_endpoint.socket_path.empty()
                                 ? m_endpoint.address.address().to_string()
                                 : m_endpoint.name;
    if (auto prepared = prepare_connection(ssl, name, m_options->verify); !prepared) {
        co_return core::fail(std::move(prepared).error());
    }
    asio::error_code ec;
    arm(m_options->timeouts.command);
    co_await m_tls->async_handshake(asio::ssl::stream_base::client,
                                    asio::redirect_error(asio::use_awaitable, ec));
    disarm();
    if (ec) {
        co_return core::fail(core::Errc::tls,
                             m_timed_out
                                 ? std::string("TLS handshake: timeout")
                                 : handshake_failure(ssl, "TLS handshake: " + ec.message()));
    }
    const bool verified = m_options->verify == core::mta::Verify::yes;
    trace("tls", {{"version", SSL_get_version(ssl)},
                  {"cipher", SSL_get_cipher_name(ssl)},
                  {"verified", verified ? "yes" : "no"}});
    MXD_TRACE(core::Subsystem::tls, m_id, "handshake",
              {{"side", "client"}, {"host", m_host}, {"version", SSL_get_version(ssl)},
               {"cipher", SSL_get_cipher_name(ssl)}, {"verified", verified ? "yes" : "no"}});
    co_return core::Result<void>{};
}

asio::awaitable<core::Result<void>> Client::write(const std::string& data, milliseconds timeout) {
    asio::error_code ec;
    arm(timeout);
    if (m_tls) {
        co_await asio::async_write(*m_tls, asio::buffer(data),
                                   asio::redirect_error(asio::use_awaitable, ec));
    } else {
        co_await asio::async_write(m_socket, asio::buffer(data),
                                   asio::redirect_error(asio::use_awaitable, ec));
    }
    disarm();
    if (ec) {
        co_return core::fail(
            temporary(m_timed_out ? "timeout while sending" : "send: " + ec.message()));
    }
    co_return core::Result<void>{};
}

asio::awaitable<core::Result<Reply>> Client::read_reply(milliseconds timeout,
                                                        std::string_view waiting_for) {
    core::smtp::ReplyAccumulator reply;
    std::array<char, k_read_chunk> chunk;
    const std::string what(waiting_for);
    // One deadline for the whole reply, so that a server trickling lines cannot stretch it.
    arm(timeout);
    for (;;) {
        for (auto lf = m_in.find('\n'); lf != std::string::npos; lf = m_in.find('\n')) {
            std::string line = m_in.substr(0, lf);
            m_in.erase(0, lf + 1);
            if (!line.empty() && line.back() == '\r') {
                line.pop_back();
            }
            if (line.size() > k_reply_line_max) {
                disarm();
                co_return core::fail(temporary("reply to " + what + ": line too long"));
            }
            trace("<<<", {{"line", line}});
            auto added = reply.add(line);
            if (!added) {
                disarm();
                co_return core::fail(temporary("reply to " + what + ": " + added.error().message));
            }
            if (*added) {
                disarm();
                co_return reply.take();
            }
        }
        if (m_in.size() > k_reply_line_max) {
            disarm();
            co_return core::fail(temporary("reply to " + what + ": line too long"));
        }
        asio::error_code ec;
        std::size_t n = 0;
        if (m_tls) {
            n = co_await m_tls->async_read_some(asio::buffer(chunk),
                                                asio::redirect_error(asio::use_awaitable, ec));
        } else {
            n = co_await m_socket.async_read_some(asio::buffer(chunk),
                                                  asio::redirect_error(asio::use_awaitable, ec));
        }
        if (ec) {
            disarm();
            if (m_timed_out) {
                co_return core::fail(temporary("timeout waiting for the reply to " + what));
            }
            const bool closed = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
            co_return core::fail(temporary(
                "reading the reply to " + what + ": " +
                (closed ? std::string("connection closed by the server") : ec.message())));
        }
        m_in.append(chunk.data(), n);
    }
}

asio::awaitable<core::Result<Reply>> Client::command(std::string_view line, milliseconds timeout,
                                                     Redact redact) {
    const bool secret = redact == Redact::yes;
    trace(">>>", {{"line", traced_command(line, redact)}});
    // g++ 12 destroys some temporaries of a co_await expression twice: every argument below is
    // a named object (and so in the rest of this file).
    const std::string wire = std::string(line) + "\r\n";
    auto sent = co_await write(wire, timeout);
    if (!sent) {
        co_return core::fail(std::move(sent).error());
    }
    const std::string what = secret ? std::string("AUTH") : verb(line);
    auto reply = co_await read_reply(timeout, what);
    co_return reply;
}

asio::awaitable<core::Result<void>> Client::hello() {
    const auto& options = *m_options;
    const bool lmtp = options.protocol == Protocol::lmtp;
    const std::string verb_name = lmtp ? "LHLO" : "EHLO";
    const std::string greeting = verb_name + " " + (m_helo.empty() ? options.helo : m_helo);
    auto reply = co_await command(greeting, options.timeouts.command);
    if (!reply) {
        co_return core::fail(std::move(reply).error());
    }
    if (reply->code / 100 == 2) {
        m_esmtp = true;
        m_ext = core::mta::parse_extensions(*reply);
        co_return core::Result<void>{};
    }
    // RFC 5321 4.1.4 and 3.2: a server that does not know EHLO answers 5xx, and the client
    // falls back to HELO, except when the session needs an extension (STARTTLS, AUTH), as
    // OpenSMTPD does. LMTP has no such fallback (RFC 2033 4.1).
    const bool needs_extensions =
        options.credentials.has_value() || (options.tls == core::mta::TlsMode::required && !m_tls);
    if (lmtp || !reply->permanent() || needs_extensions) {
        co_return core::fail(temporary(verb_name + " refused: " + describe(*reply)));
    }
    const std::string fallback = "HELO " + (m_helo.empty() ? options.helo : m_helo);
    auto helo = co_await command(fallback, options.timeouts.command);
    if (!helo) {
        co_return core::fail(std::move(helo).error());
    }
    if (helo->code / 100 != 2) {
        co_return core::fail(temporary("HELO refused: " + describe(*helo)));
    }
    m_esmtp = false;
    m_ext = {};
    co_return core::Result<void>{};
}

asio::awaitable<core::Result<void>> Client::start_tls() {
    const auto mode = m_options->tls;
    if (m_tls || mode == core::mta::TlsMode::none || mode == core::mta::TlsMode::implicit) {
        co_return core::Result<void>{};
    }
    if (!m_ext.starttls) {
        if (mode == core::mta::TlsMode::required) {
            co_return core::fail(core::Errc::tls,
                                 "TLS required but the server does not offer STARTTLS");
        }
        co_return core::Result<void>{};
    }
    auto reply = co_await command("STARTTLS", m_options->timeouts.command);
    if (!reply) {
        co_return core::fail(std::move(reply).error());
    }
    if (reply->code / 100 != 2) {
        // Opportunistic TLS goes on in clear when the server declines, as OpenSMTPD does.
        if (mode == core::mta::TlsMode::required || reply->code == 421) {
            co_return core::fail(core::Errc::tls, "STARTTLS refused: " + describe(*reply));
        }
        co_return core::Result<void>{};
    }
    // RFC 3207 6 (CVE-2011-0411 on the client side): bytes that arrived with the 220 were
    // sent in clear and must not be read as replies of the protected session.
    if (!m_in.empty()) {
        trace("discarded",
              {{"bytes", m_in.size()}, {"reason", "received with the STARTTLS reply"}});
        m_in.clear();
    }
    auto secured = co_await handshake();
    if (!secured) {
        co_return core::fail(std::move(secured).error());
    }
    // RFC 3207 4.2: forget what the server said before TLS and ask again.
    m_ext = {};
    auto again = co_await hello();
    co_return again;
}

asio::awaitable<core::Result<void>> Client::authenticate() {
    if (!m_options->credentials) {
        co_return core::Result<void>{};
    }
    // Credentials never travel in clear (OpenSMTPD: "Refuse to AUTH over unsecure channel").
    if (!m_tls) {
        co_return core::fail(
            temporary("refusing to send credentials over an unencrypted connection"));
    }
    if (!m_ext.auth_plain && !m_ext.auth_login) {
        co_return core::fail(temporary("the server does not offer AUTH PLAIN or LOGIN"));
    }
    const auto& credentials = *m_options->credentials;
    const auto timeout = m_options->timeouts.command;
    std::optional<Reply> last;
    if (m_ext.auth_plain) {
        // RFC 4954 4: the initial response goes with the command.
        const std::string auth = "AUTH PLAIN " + core::smtp::encode_plain("", credentials.username,
                                                                          credentials.password);
        auto reply = co_await command(auth, timeout, Redact::yes);
        if (!reply) {
            co_return core::fail(std::move(reply).error());
        }
        last = *reply;
    } else {
        auto challenge = co_await command("AUTH LOGIN", timeout);
        if (!challenge) {
            co_return core::fail(std::move(challenge).error());
        }
        if (challenge->code == 334) {
            const std::string user = core::smtp::base64_encode(credentials.username);
            challenge = co_await command(user, timeout, Redact::yes);
            if (!challenge) {
                co_return core::fail(std::move(challenge).error());
            }
        }
        if (challenge->code == 334) {
            const std::string password = core::smtp::base64_encode(credentials.password);
            challenge = co_await command(password, timeout, Redact::yes);
            if (!challenge) {
                co_return core::fail(std::move(challenge).error());
            }
        }
        last = *challenge;
    }
    if (last->code / 100 != 2) {
        co_return core::fail(temporary("AUTH refused: " + describe(*last)));
    }
    trace("authenticated", {{"user", credentials.username}});
    co_return core::Result<void>{};
}

asio::awaitable<core::Result<std::shared_ptr<Client>>>
Client::connect(std::vector<Endpoint> endpoints, Options options) {
    if (endpoints.empty()) {
        co_return core::fail(core::Errc::invalid_argument, "no endpoint to connect to");
    }
    if (options.helo.empty()) {
        options.helo = machine_name();
    }
    if (options.tls != core::mta::TlsMode::none && !options.tls_context) {
        auto tls = ClientTls::create();
        if (!tls) {
            co_return core::fail(std::move(tls).error());
        }
        options.tls_context = *tls;
    }
    const auto shared = std::make_shared<const Options>(std::move(options));
    const auto executor = co_await asio::this_coro::executor;
    std::vector<std::string> failures;
    core::Errc code = core::Errc::temp_failure;
    for (auto& endpoint : endpoints) {
        auto client = std::make_shared<Client>(Private{}, executor, std::move(endpoint), shared);
        auto opened = co_await client->open();
        if (opened && shared->tls == core::mta::TlsMode::implicit) {
            opened = co_await client->handshake();
        }
        if (opened) {
            auto greeting = co_await client->read_reply(shared->timeouts.greeting, "the greeting");
            if (!greeting) {
                opened = core::fail(std::move(greeting).error());
            } else if (greeting->code / 100 != 2) {
                // RFC 5321 3.1: a 554 greeting means no service here; try the next host.
                opened = core::fail(temporary("greeting: " + describe(*greeting)));
            }
        }
        if (opened) {
            opened = co_await client->hello();
        }
        if (opened) {
            opened = co_await client->start_tls();
        }
        if (opened) {
            opened = co_await client->authenticate();
        }
        if (shared->on_connect) {
            shared->on_connect(ConnectReport{client->m_endpoint, client->m_source,
                                             opened ? client->m_local : std::string(),
                                             opened ? nullptr : &opened.error()});
        }
        if (opened) {
            client->m_usable = true;
            core::log::info("mta", "connected",
                            {{"session", client->m_id},
                             {"host", client->m_host},
                             {"protocol", shared->protocol == Protocol::lmtp ? "LMTP"
                                          : client->m_esmtp                  ? "ESMTP"
                                                                             : "SMTP"},
                             {"tls", client->m_tls ? "yes" : "no"}});
            co_return client;
        }
        client->trace("failed", {{"host", client->m_host}, {"error", opened.error().message}});
        code = opened.error().code;
        failures.push_back(client->m_host + ": " + opened.error().message);
        client->close();
    }
    co_return core::fail(code, core::join(failures, "; "));
}

asio::awaitable<std::vector<RecipientResult>> Client::send(Message message) {
    const auto& timeouts = m_options->timeouts;
    std::vector<RecipientResult> results;
    std::vector<bool> decided(message.recipients.size(), false);
    for (const auto& r : message.recipients) {
        results.push_back(RecipientResult{r.envelope, r.address, {}});
    }
    // Gives every recipient not yet decided the same status.
    const auto decide_rest = [&results, &decided](const Status& status) {
        for (std::size_t i = 0; i < results.size(); ++i) {
            if (!decided[i]) {
                results[i].status = status;
                decided[i] = true;
            }
        }
    };
    // A refusal ends the transaction: 421 also ends the session (RFC 5321 3.8), anything else
    // is followed by RSET before the next one.
    const auto refused = [this](const Reply& reply) {
        if (reply.code == 421) {
            close();
            m_closed_status = reply_status(reply);
        } else {
            m_need_rset = true;
        }
    };
    if (!m_usable) {
        decide_rest(m_closed_status.value_or(
            local_status(Outcome::temporary, 421, "4.4.2", "connection closed")));
        co_return results;
    }
    if (auto checked = core::mta::check_path_text(message.sender); !checked) {
        decide_rest(local_status(Outcome::permanent, 553, "5.1.7",
                                 "invalid sender address: " + checked.error().message));
        co_return results;
    }
    for (std::size_t i = 0; i < results.size(); ++i) {
        if (auto checked = core::mta::check_path_text(results[i].address); !checked) {
            results[i].status =
                local_status(Outcome::permanent, 553, "5.1.3",
                             "invalid recipient address: " + checked.error().message);
            decided[i] = true;
        }
    }
    if (std::find(decided.begin(), decided.end(), false) == decided.end()) {
        co_return results;
    }
    if (m_need_rset) {
        auto reset = co_await command("RSET", timeouts.command);
        if (!reset || reset->code / 100 != 2) {
            decide_rest(
                lost(reset ? temporary("RSET refused: " + describe(*reset)) : reset.error()));
            co_return results;
        }
        m_need_rset = false;
    }
    const auto size = core::mta::message_size(message.body);
    // RFC 1870 6.1: a message over the announced limit would only be refused after DATA.
    if (m_ext.size && *m_ext.size > 0 && size > *m_ext.size) {
        decide_rest(local_status(Outcome::permanent, 552, "5.3.4",
                                 "message of " + std::to_string(size) +
                                     " bytes exceeds the server's limit of " +
                                     std::to_string(*m_ext.size)));
        co_return results;
    }
    core::mta::MailParameters params;
    if (m_ext.size) {
        params.size = size;
    }
    // RFC 6152 3: 8-bit data is announced when the server allows it. Without 8BITMIME the
    // message still goes as it is, as OpenSMTPD sends it; most servers take it.
    params.body_8bitmime = m_ext.eightbitmime && core::mta::has_8bit(message.body);
    if (m_ext.dsn) {
        params.ret = message.dsn_ret;
        params.envid = message.dsn_envid;
    }
    const std::string mail_line = core::mta::mail_command(message.sender, params);
    auto mail = co_await command(mail_line, timeouts.mail);
    if (!mail) {
        decide_rest(lost(mail.error()));
        co_return results;
    }
    if (mail->code / 100 != 2) {
        auto status = reply_status(*mail);
        status.outcome = mail->permanent() ? Outcome::permanent : Outcome::temporary;
        decide_rest(status);
        refused(*mail);
        co_return results;
    }
    std::vector<std::size_t> accepted;
    for (std::size_t i = 0; i < results.size(); ++i) {
        if (decided[i]) {
            continue;
        }
        const core::mta::RcptParameters dsn =
            m_ext.dsn ? message.recipients[i].dsn : core::mta::RcptParameters{};
        const std::string rcpt_line = core::mta::rcpt_command(results[i].address, dsn);
        auto rcpt = co_await command(rcpt_line, timeouts.rcpt);
        if (!rcpt) {
            decide_rest(lost(rcpt.error()));
            co_return results;
        }
        if (rcpt->code / 100 == 2) {
            accepted.push_back(i);
            continue;
        }
        results[i].status = reply_status(*rcpt);
        results[i].status.outcome = rcpt->permanent() ? Outcome::permanent : Outcome::temporary;
        decided[i] = true;
        if (rcpt->code == 421) {
            decide_rest(results[i].status);
            refused(*rcpt);
            co_return results;
        }
    }
    if (accepted.empty()) {
        m_need_rset = true;
        co_return results;
    }
    auto data = co_await command("DATA", timeouts.data_init);
    if (!data) {
        decide_rest(lost(data.error()));
        co_return results;
    }
    if (data->code != 354) {
        auto status = reply_status(*data);
        status.outcome = data->permanent() ? Outcome::permanent : Outcome::temporary;
        decide_rest(status);
        refused(*data);
        co_return results;
    }
    trace(">>>", {{"data", std::to_string(size) + " bytes"}});
    core::mta::DataWriter writer(message.body);
    std::string piece;
    for (bool more = true; more;) {
        piece.clear();
        more = writer.next(piece, k_data_chunk);
        auto sent = co_await write(piece, timeouts.data_block);
        if (!sent) {
            decide_rest(lost(sent.error()));
            co_return results;
        }
    }
    // RFC 2033 4.2: after the final dot an LMTP server answers once per accepted recipient,
    // in RCPT order; an SMTP server once for all.
    const std::size_t replies = m_options->protocol == Protocol::lmtp ? accepted.size() : 1;
    for (std::size_t n = 0; n < replies; ++n) {
        auto final_reply = co_await read_reply(timeouts.data_end, "the end of data");
        if (!final_reply) {
            decide_rest(lost(final_reply.error()));
            co_return results;
        }
        const auto status = reply_status(*final_reply);
        if (replies == 1) {
            decide_rest(status);
        } else {
            results[accepted[n]].status = status;
            decided[accepted[n]] = true;
        }
        if (final_reply->code == 421) {
            decide_rest(status);
            close();
            m_closed_status = status;
            co_return results;
        }
    }
    co_return results;
}

asio::awaitable<void> Client::quit() {
    if (m_usable) {
        auto reply = co_await command("QUIT", m_options->timeouts.command);
        // The session is over whatever the server answers (RFC 5321 4.1.1.10).
        static_cast<void>(reply);
        core::log::info("mta", "disconnected", {{"session", m_id}, {"host", m_host}});
    }
    close();
}

} // namespace mxd::mta
