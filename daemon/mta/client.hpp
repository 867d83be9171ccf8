// SPDX-License-Identifier: ISC
#pragma once

#include "core/mta/commands.hpp"
#include "core/mta/extensions.hpp"
#include "core/mta/relay_url.hpp"
#include "core/queue/ids.hpp"
#include "core/smtp/reply.hpp"
#include "core/util/log.hpp"
#include "core/util/result.hpp"
#include "daemon/mta/tls.hpp"

#include <asio.hpp>
#include <asio/ssl.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// The SMTP and LMTP client that relays mail (OpenSMTPD mta_session.c). The scheduler gives it
// endpoints already resolved and messages held in memory; it returns one status per recipient.
// Name resolution, routing and retries are the caller's.
namespace mxd::mta {

// How long each stage may take. The defaults are RFC 5321 4.5.3.2's; tests shorten them.
struct Timeouts {
    std::chrono::milliseconds connect{std::chrono::seconds(30)};
    std::chrono::milliseconds greeting{std::chrono::minutes(5)};   // 4.5.3.2.1
    std::chrono::milliseconds command{std::chrono::minutes(5)};    // EHLO, STARTTLS and the
                                                                   // handshake, AUTH, RSET, QUIT
    std::chrono::milliseconds mail{std::chrono::minutes(5)};       // 4.5.3.2.2
    std::chrono::milliseconds rcpt{std::chrono::minutes(5)};       // 4.5.3.2.3
    std::chrono::milliseconds data_init{std::chrono::minutes(2)};  // 4.5.3.2.4
    std::chrono::milliseconds data_block{std::chrono::minutes(3)}; // 4.5.3.2.5, per write
    std::chrono::milliseconds data_end{std::chrono::minutes(10)};  // 4.5.3.2.6, per reply
};

// SMTP, or LMTP (RFC 2033: LHLO, one reply per recipient after the data).
enum class Protocol { smtp, lmtp };

// One place to connect to: a TCP address, or a UNIX socket for LMTP.
struct Endpoint {
    std::string name;                // host name for SNI and the certificate check; "" when
                                     // only the address is known (the address is checked then)
    asio::ip::tcp::endpoint address; // unused for a socket
    std::string socket_path;         // LMTP over a UNIX socket when not empty

    // "mx.example.org [192.0.2.1]:25", "[192.0.2.1]:25" or "unix:/path", for logs and statuses.
    std::string to_string() const;
};

// What connect() says of each endpoint it tried, for `show routes`.
struct ConnectReport {
    const Endpoint& endpoint;
    std::string source;        // the `src` address bound, "" when the kernel chose
    std::string local;         // the connection's local address; "" when it failed
    const core::Error* error;  // why it failed; null when it connected
};

// What a relay action asks of its sessions.
struct Options {
    Protocol protocol = Protocol::smtp;
    core::mta::TlsMode tls = core::mta::TlsMode::opportunistic;
    core::mta::Verify verify = core::mta::Verify::no;
    std::shared_ptr<ClientTls> tls_context;            // null: a context trusting the system CAs
    std::string helo;                                  // "" : this machine's host name
    std::vector<asio::ip::address> sources; // `src`: the first of the endpoint's family is
                                            // bound before connecting; none: the kernel's
    std::map<std::string, std::string> helo_by_source; // `helo-src`: the HELO name by the
                                                       // connection's local address, else helo
    std::optional<core::mta::Credentials> credentials; // AUTH, only ever over TLS
    Timeouts timeouts;
    std::function<void(const ConnectReport&)> on_connect; // called by connect() per endpoint
};

// One recipient of a message, and whose envelope it is (returned as given).
struct Recipient {
    std::string address; // forward-path without angle brackets
    core::queue::EvpId envelope;
    core::mta::RcptParameters dsn; // sent when the server offers DSN
};

// A message to send: the envelope and the whole text (headers and body, LF or CRLF).
struct Message {
    std::string sender; // reverse-path without angle brackets; "" for <>
    std::vector<Recipient> recipients;
    std::string body;
    std::string dsn_ret;   // "FULL", "HDRS" or ""; sent when the server offers DSN
    std::string dsn_envid; // decoded ENVID or ""
};

// What became of a recipient: 2xx, or a failure to retry (4xx, timeouts, lost connections,
// TLS), or one to bounce (5xx).
enum class Outcome { delivered, temporary, permanent };

// A recipient's result with the reply that decided it, for `show queue` and bounces.
struct Status {
    Outcome outcome = Outcome::temporary;
    core::smtp::Reply reply; // the server's; made up here (local) when there was none
    bool local = false;      // true when no server reply decided it (timeout, lost connection)
    std::string host;        // the endpoint, as Endpoint::to_string()

    // "host: 550 5.1.1 text" on one line.
    std::string summary() const;
};

// The result of one recipient of a message sent.
struct RecipientResult {
    core::queue::EvpId envelope;
    std::string address;
    Status status;
};

// The outcome a reply code means: 2xx delivered, 5xx permanent, anything else temporary.
Outcome outcome_of(const core::smtp::Reply& reply);

// One connection to a relay host. connect() returns it ready for a transaction; send() runs
// one transaction and leaves the connection ready for the next; quit() ends it. One coroutine
// at a time may use a client. Never throws for network or protocol failures.
class Client : public std::enable_shared_from_this<Client> {
    struct Private {};

  public:
    // Tries the endpoints in order until one gives a greeting and accepts EHLO/LHLO (HELO when
    // EHLO gets 5xx and neither TLS nor AUTH is required), STARTTLS as `options.tls` asks,
    // and AUTH when credentials are given. Fails with Errc::temp_failure or Errc::tls (a TLS
    // requirement not met, a failed handshake or certificate check), naming each endpoint's
    // failure; Errc::invalid_argument when there is no endpoint or the options contradict.
    static asio::awaitable<core::Result<std::shared_ptr<Client>>>
    connect(std::vector<Endpoint> endpoints, Options options);

    // Sends one message: MAIL FROM (SIZE and BODY=8BITMIME when offered), RCPT TO for each
    // recipient, DATA, and the final reply (LMTP: one per accepted recipient). Returns one
    // result per recipient in the message's order. A failed transaction is reset with RSET; a
    // lost connection makes every undecided recipient temporary and the client unusable.
    asio::awaitable<std::vector<RecipientResult>> send(Message message);

    // Sends QUIT, waits for its reply (command timeout) and closes. Failures are ignored.
    asio::awaitable<void> quit();

    // False once the connection is lost or closed: send() then fails every recipient
    // temporarily.
    bool usable() const { return m_usable; }
    // The endpoint this client is connected to.
    const Endpoint& endpoint() const { return m_endpoint; }
    // The extensions of the last EHLO/LHLO reply (none after HELO).
    const core::mta::Extensions& extensions() const { return m_ext; }
    // The `src` address the connection was bound to, or "" when the kernel chose.
    const std::string& source() const { return m_source; }
    // The local address of the connection ("127.0.0.2"), or "" for a UNIX socket.
    const std::string& local_address() const { return m_local; }
    // True when the session is encrypted (STARTTLS or smtps).
    bool encrypted() const { return m_tls != nullptr; }
    // The session id of the trace and log lines.
    const std::string& id() const { return m_id; }

    // For connect() only (make_shared needs it public); closes the socket on destruction.
    Client(Private, asio::any_io_executor executor, Endpoint endpoint,
           std::shared_ptr<const Options> options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Whether a command line carries a secret that traces must not show (AUTH).
    enum class Redact { no, yes };

  private:
    using Socket = asio::generic::stream_protocol::socket;

    // The steps of connect(); each fails with Errc::temp_failure or Errc::tls and a reason.
    // Opens the socket (bound to the source address) and connects, within the connect timeout.
    asio::awaitable<core::Result<void>> open();
    // The TLS handshake with SNI and, when asked, certificate verification.
    asio::awaitable<core::Result<void>> handshake();
    // EHLO (HELO after a 5xx when allowed) or LHLO; records the extensions.
    asio::awaitable<core::Result<void>> hello();
    // STARTTLS as the TLS mode asks, then EHLO again.
    asio::awaitable<core::Result<void>> start_tls();
    // AUTH PLAIN, else LOGIN, when credentials are given; only over TLS.
    asio::awaitable<core::Result<void>> authenticate();
    // Writes all of `data` within `timeout`; Errc::temp_failure on timeout or a socket error.
    asio::awaitable<core::Result<void>> write(const std::string& data,
                                              std::chrono::milliseconds timeout);
    // Reads one whole reply within `timeout`; Errc::temp_failure on timeout, a lost
    // connection, a malformed or over-long reply. `waiting_for` names it in errors.
    asio::awaitable<core::Result<core::smtp::Reply>> read_reply(std::chrono::milliseconds timeout,
                                                                std::string_view waiting_for);
    // Sends one command line (CRLF added), traced unless redacted, and reads its reply.
    asio::awaitable<core::Result<core::smtp::Reply>>
    command(std::string_view line, std::chrono::milliseconds timeout, Redact redact = Redact::no);
    // Arms the stage timer: if it fires before disarm(), the socket is closed and the pending
    // operation fails.
    void arm(std::chrono::milliseconds timeout);
    void disarm();
    // Closes the connection for good; the client is unusable after.
    void close();
    // A status for a failure without a server reply, or from a reply.
    Status local_status(Outcome outcome, int code, std::string_view enhanced,
                        std::string text) const;
    Status reply_status(const core::smtp::Reply& reply) const;
    // The status for a connection-level failure; marks the client unusable.
    Status lost(const core::Error& error);
    void trace(std::string_view event, core::log::Fields fields) const;

    Socket m_socket;
    std::unique_ptr<asio::ssl::stream<Socket&>> m_tls;
    asio::steady_timer m_timer;
    std::uint64_t m_generation = 0;
    bool m_timed_out = false;
    Endpoint m_endpoint;
    std::string m_host;
    std::string m_source; // the `src` address bound, if any
    std::string m_local;  // the connection's local address, once connected
    std::string m_helo;  // the name given in EHLO/HELO/LHLO
    std::shared_ptr<const Options> m_options;
    std::string m_id;
    std::string m_in;
    core::mta::Extensions m_ext;
    bool m_esmtp = false;
    bool m_usable = false;
    bool m_need_rset = false;
    std::optional<Status> m_closed_status; // why the client became unusable
};

} // namespace mxd::mta
