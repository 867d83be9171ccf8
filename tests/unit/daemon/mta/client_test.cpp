// SPDX-License-Identifier: ISC
#include "daemon/mta/client.hpp"
#include "daemon/mta/relay.hpp"

#include "core/mta/data_writer.hpp"
#include "core/smtp/sasl.hpp"
#include "core/util/log.hpp"
#include "tests/unit/daemon/mta/test_server.hpp"
#include "tests/unit/temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

using namespace mxd::mta;
using asio::ip::tcp;
using mta_test::TestServer;

namespace {

// The servers the tests talk to, each started once for the whole suite.
enum class Kind { plain, tls_auth, smtps, lmtp, login_only, no_ehlo };

constexpr std::string_view k_user = "joe@example.org";
constexpr std::string_view k_password = "s3cr:t pass";

class MtaClient : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        s_dir = std::make_unique<unit_test::TempDir>();
        const auto cert = s_dir->path() / "cert.pem";
        const auto key = s_dir->path() / "key.pem";
        // A self-signed certificate for "localhost" and 127.0.0.1, which the client trusts as
        // its CA file.
        const std::string command =
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
            "-nodes -days 2 -subj /CN=localhost "
            "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '" +
            key.string() + "' -out '" + cert.string() + "' 2>/dev/null";
        s_cert_ok = std::system(command.c_str()) == 0;
    }
    static void TearDownTestSuite() {
        s_servers.clear();
        s_dir.reset();
    }

    static std::filesystem::path cert() { return s_dir->path() / "cert.pem"; }
    static std::filesystem::path key() { return s_dir->path() / "key.pem"; }
    static std::filesystem::path lmtp_socket() { return s_dir->path() / "lmtp.sock"; }

    // The server of a kind, started on first use.
    static TestServer& server(Kind kind) {
        auto& slot = s_servers[kind];
        if (!slot) {
            const auto spool = s_dir->path() / ("spool" + std::to_string(static_cast<int>(kind)));
            std::vector<std::string> args;
            switch (kind) {
            case Kind::plain:
                args = {"--size",     "200000",
                        "--tempfail", "later@example.org",
                        "--permfail", "nobody@example.org"};
                break;
            case Kind::tls_auth:
                args = {"--starttls", cert().string(), key().string(), "--auth",
                        std::string(k_user) + ":" + std::string(k_password)};
                break;
            case Kind::smtps:
                args = {"--smtps", cert().string(), key().string()};
                break;
            case Kind::lmtp:
                args = {"--lmtp",
                        "--lmtp-fail",
                        "full@example.org",
                        "--permfail",
                        "nobody@example.org",
                        "--unix",
                        lmtp_socket().string()};
                break;
            case Kind::login_only:
                args = {"--starttls",   cert().string(),
                        key().string(), "--auth-login-only",
                        "--auth",       std::string(k_user) + ":" + std::string(k_password)};
                break;
            case Kind::no_ehlo:
                args = {"--no-ehlo"};
                break;
            }
            slot = std::make_unique<TestServer>(spool, args);
        }
        return *slot;
    }

    void SetUp() override { ASSERT_TRUE(s_cert_ok) << "openssl req failed"; }

    static inline std::unique_ptr<unit_test::TempDir> s_dir;
    static inline bool s_cert_ok = false;
    static inline std::map<Kind, std::unique_ptr<TestServer>> s_servers;
};

// Short timeouts: every server here is local and answers at once.
Options test_options() {
    Options options;
    options.helo = "client.test";
    options.tls = core::mta::TlsMode::opportunistic;
    options.verify = core::mta::Verify::no;
    auto& t = options.timeouts;
    t.connect = t.greeting = t.command = t.mail = t.rcpt = t.data_init = t.data_block = t.data_end =
        std::chrono::seconds(10);
    return options;
}

// The options with a TLS context that trusts the test certificate.
Options verifying_options(const std::filesystem::path& ca) {
    auto options = test_options();
    ClientTlsSettings settings;
    settings.ca_file = ca;
    auto tls = ClientTls::create(settings);
    EXPECT_TRUE(tls) << tls.error().message;
    options.tls_context = tls ? *tls : nullptr;
    options.verify = core::mta::Verify::yes;
    return options;
}

Endpoint local(std::uint16_t port, std::string name = "localhost") {
    return Endpoint{std::move(name), tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ""};
}

Message make_message(std::string sender, const std::vector<std::string>& rcpts, std::string body) {
    Message m;
    m.sender = std::move(sender);
    const auto msgid = core::queue::MsgId::random();
    for (const auto& r : rcpts) {
        m.recipients.push_back(Recipient{r, core::queue::EvpId::random(msgid), {}});
    }
    m.body = std::move(body);
    return m;
}

// Runs a test's coroutine to its end on its own io_context (assertions inside a coroutine
// can only be EXPECT_*, since ASSERT_* returns).
template <typename F> void run(F& body) {
    asio::io_context io;
    bool finished = false;
    std::exception_ptr error;
    asio::co_spawn(io, body, [&](std::exception_ptr e) {
        error = e;
        finished = true;
    });
    io.run_for(std::chrono::seconds(60));
    ASSERT_TRUE(finished) << "the test coroutine did not finish in time";
    if (error) {
        std::rethrow_exception(error);
    }
}

// The number the test server put in "250 2.0.0 Ok: queued as N", which names its spool files.
std::string queued_as(const Status& status) {
    const auto& text = status.reply.text;
    const auto at = text.rfind(' ');
    return at == std::string::npos ? "" : text.substr(at + 1);
}

nlohmann::json envelope(const TestServer& server, const std::string& n) {
    return nlohmann::json::parse(mta_test::read_file(server.spool() / (n + ".json")));
}

std::string received(const TestServer& server, const std::string& n) {
    return mta_test::read_file(server.spool() / (n + ".eml"));
}

std::vector<Outcome> outcomes(const std::vector<RecipientResult>& results) {
    std::vector<Outcome> out;
    for (const auto& r : results) {
        out.push_back(r.status.outcome);
    }
    return out;
}

// Collects the mta trace lines while alive.
class TraceCapture {
  public:
    TraceCapture() {
        core::SubsystemSet followed;
        followed.add(core::Subsystem::mta);
        core::log::set_followed(followed);
        core::log::set_trace_sink(
            [this](core::Subsystem, std::string_view, const std::string& line) {
                const std::lock_guard lock(m_mutex);
                m_text += line + "\n";
            });
    }
    ~TraceCapture() {
        core::log::set_trace_sink({});
        core::log::set_followed({});
    }
    std::string text() {
        const std::lock_guard lock(m_mutex);
        return m_text;
    }

  private:
    std::mutex m_mutex;
    std::string m_text;
};

} // namespace

TEST_F(MtaClient, DeliversTwoMessagesOverOneConnection) {
    auto& srv = server(Kind::plain);
    ASSERT_TRUE(srv.started()) << srv.error();
    std::vector<std::vector<RecipientResult>> results;
    bool usable_between = false;
    bool usable_after_quit = true;
    auto body = [&]() -> asio::awaitable<void> {
        std::vector<Endpoint> endpoints{local(srv.port())};
        auto opts = test_options();
        auto client = co_await Client::connect(std::move(endpoints), std::move(opts));
        if (!client) {
            ADD_FAILURE() << client.error().message;
            co_return;
        }
        auto first = make_message("sender@example.org", {"a@example.org", "b@example.org"},
                                  "Subject: one\n\nfirst\n");
        results.push_back(co_await (*client)->send(std::move(first)));
        usable_between = (*client)->usable();
        auto second = make_message("", {"c@example.org"}, "Subject: two\r\n\r\nsecond\r\n");
        results.push_back(co_await (*client)->send(std::move(second)));
        co_await (*client)->quit();
        usable_after_quit = (*client)->usable();
    };
    run(body);
    ASSERT_EQ(results.size(), 2u);
    EXPECT_TRUE(usable_between);
    EXPECT_FALSE(usable_after_quit);
    ASSERT_EQ(outcomes(results[0]), (std::vector{Outcome::delivered, Outcome::delivered}));
    ASSERT_EQ(outcomes(results[1]), (std::vector{Outcome::delivered}));
    EXPECT_EQ(results[0][1].address, "b@example.org");
    EXPECT_EQ(results[0][0].status.reply.code, 250);
    EXPECT_FALSE(results[0][0].status.local);
    EXPECT_NE(results[0][0].status.summary().find("[127.0.0.1]:"), std::string::npos);

    const auto one = queued_as(results[0][0].status);
    const auto two = queued_as(results[1][0].status);
    EXPECT_EQ(received(srv, one), "Subject: one\r\n\r\nfirst\r\n");
    EXPECT_EQ(received(srv, two), "Subject: two\r\n\r\nsecond\r\n");
    const auto e1 = envelope(srv, one);
    const auto e2 = envelope(srv, two);
    EXPECT_EQ(e1["mail_from"], "sender@example.org");
    EXPECT_EQ(e1["rcpt_tos"], (nlohmann::json{"a@example.org", "b@example.org"}));
    EXPECT_EQ(e1["helo"], "client.test");
    EXPECT_EQ(e1["mail_options"], (nlohmann::json{"SIZE=23"}));
    EXPECT_EQ(e2["mail_from"], "<>");
    EXPECT_EQ(e1["connection"], e2["connection"]) << "both messages over one connection";
}

TEST_F(MtaClient, StartTlsWithVerificationThenAuthPlainNeverTraced) {
    auto& srv = server(Kind::tls_auth);
    ASSERT_TRUE(srv.started()) << srv.error();
    TraceCapture trace;
    std::vector<RecipientResult> results;
    bool encrypted = false;
    auto body = [&]() -> asio::awaitable<void> {
        auto options = verifying_options(cert());
        options.tls = core::mta::TlsMode::required;
        options.credentials = core::mta::Credentials{std::string(k_user), std::string(k_password)};
        std::vector<Endpoint> endpoints{local(srv.port())};
        auto client = co_await Client::connect(std::move(endpoints), std::move(options));
        if (!client) {
            ADD_FAILURE() << client.error().message;
            co_return;
        }
        encrypted = (*client)->encrypted();
        auto message = make_message("sender@example.org", {"a@example.org"}, "Subject: tls\n\nx\n");
        results = co_await (*client)->send(std::move(message));
        co_await (*client)->quit();
    };
    run(body);
    EXPECT_TRUE(encrypted);
    ASSERT_EQ(outcomes(results), (std::vector{Outcome::delivered}));
    const auto e = envelope(srv, queued_as(results[0].status));
    EXPECT_EQ(e["tls"], true);
    EXPECT_EQ(e["auth_user"], k_user);

    const auto lines = trace.text();
    EXPECT_NE(lines.find("STARTTLS"), std::string::npos);
    EXPECT_NE(lines.find("AUTH PLAIN <redacted>"), std::string::npos);
    EXPECT_EQ(lines.find(k_password), std::string::npos);
    EXPECT_EQ(lines.find(core::smtp::encode_plain("", k_user, k_password)), std::string::npos);
}

TEST_F(MtaClient, AuthLoginWhenPlainIsNotOffered) {
    auto& srv = server(Kind::login_only);
    ASSERT_TRUE(srv.started()) << srv.error();
    TraceCapture trace;
    std::vector<RecipientResult> results;
    auto body = [&]() -> asio::awaitable<void> {
        auto options = test_options();
        options.credentials = core::mta::Credentials{std::string(k_user), std::string(k_password)};
        std::vector<Endpoint> endpoints{local(srv.port())};
        auto client = co_await Client::connect(std::move(endpoints), std::move(options));
        if (!client) {
            ADD_FAILURE() << client.error().message;
            co_return;
        }
        auto message = make_message("sender@example.org", {"a@example.org"}, "x\n");
        results = co_await (*client)->send(std::move(message));
        co_await (*client)->quit();
    };
    run(body);
    ASSERT_EQ(outcomes(results), (std::vector{Outcome::delivered}));
    EXPECT_EQ(envelope(srv, queued_as(results[0].status))["auth_user"], k_user);
    const auto lines = trace.text();
    EXPECT_NE(lines.find("AUTH LOGIN"), std::string::npos);
    EXPECT_EQ(lines.find(core::smtp::base64_encode(k_password)), std::string::npos);
    EXPECT_EQ(lines.find(core::smtp::base64_encode(k_user)), std::string::npos);
}

TEST_F(MtaClient, WrongPasswordFailsTheConnectionTemporarily) {
    auto& srv = server(Kind::tls_auth);
    ASSERT_TRUE(srv.started()) << srv.error();
    std::optional<core::Error> error;
    auto body = [&]() -> asio::awaitable<void> {
        auto options = test_options();
        options.credentials = core::mta::Credentials{std::string(k_user), "wrong"};
        std::vector<Endpoint> endpoints{local(srv.port())};
        auto client = co_await Client::connect(std::move(endpoints), std::move(options));
        if (!client) {
            error = client.error();
        }
    };
    run(body);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code, core::Errc::temp_failure);
    EXPECT_NE(error->message.find("AUTH refused: 535"), std::string::npos) << error->message;
}

TEST_F(MtaClient, CredentialsAreNeverSentInClear) {
    auto& srv = server(Kind::tls_auth);
    ASSERT_TRUE(srv.started()) << srv.error();
    std::optional<core::Error> error;
    auto body = [&]() -> asio::awaitable<void> {
        auto options = test_options();
        options.tls = core::mta::TlsMode::none;
        options.credentials = core::mta::Credentials{std::string(k_user), std::string(k_password)};
        std::vector<Endpoint> endpoints{local(srv.port())};
        auto client = co_await Client::connect(std::move(endpoints), std::move(options));
        if (!client) {
            error = client.error();
        }
    };
    run(body);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code, core::Errc::temp_failure);
    EXPECT_NE(error->message.find("unencrypted"), std::string::npos) << error->message;
}

TEST_F(MtaClient, RequiredTlsAgainstAServerWithoutStartTlsFailsTemporarily) {
    auto& srv = server(Kind::plain);
    ASSERT_TRUE(srv.started()) << srv.error();
    std::vector<std::vector<RecipientResult>> results;
    auto body = [&]() -> asio::awaitable<void> {
        // smtp+tls:// as an action would ask for it.
        auto url = core::mta::parse_relay_url("smtp+tls://127.0.0.1:" + std::to_string(srv.port()));
        core::config::Config config;
        core::config::Action action;
        auto options = options_for(config, action, *url);
        if (!options) {
            ADD_FAILURE() << options.error().message;
            co_return;
        }
        options->timeouts = test_options().timeouts;
        auto endpoint = literal_endpoint(*url);
        std::vector<Endpoint> endpoints{*endpoint};
        std::vector<Message> messages{
            make_message("s@example.org", {"a@example.org", "b@example.org"}, "x\n")};
        results = co_await relay(std::move(endpoints), std::move(*options), std::move(messages));
    };
    run(body);
    ASSERT_EQ(results.size(), 1u);
    ASSERT_EQ(outcomes(results[0]), (std::vector{Outcome::temporary, Outcome::temporary}));
    const auto& status = results[0][1].status;
    EXPECT_TRUE(status.local);
    EXPECT_EQ(status.reply.code, 421);
    EXPECT_EQ(status.reply.enhanced, "4.7.0");
    EXPECT_NE(status.summary().find("TLS required"), std::string::npos) << status.summary();
}

TEST_F(MtaClient, CertificateForAnotherNameFailsUnlessNoVerify) {
    auto& srv = server(Kind::tls_auth);
    ASSERT_TRUE(srv.started()) << srv.error();
    std::optional<core::Error> error;
    bool no_verify_connected = false;
    auto body = [&]() -> asio::awaitable<void> {
        auto options = verifying_options(cert());
        options.tls = core::mta::TlsMode::required;
        std::vector<Endpoint> endpoints{local(srv.port(), "mx.example.org")};
        auto client = co_await Client::connect(endpoints, options);
        if (!client) {
            error = client.error();
        }
        options.verify = core::mta::Verify::no;
        auto unverified = co_await Client::connect(endpoints, options);
        no_verify_connected = unverified && (*unverified)->encrypted();
        if (unverified) {
            co_await (*unverified)->quit();
        }
    };
    run(body);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code, core::Errc::tls);
    EXPECT_NE(error->message.find("certificate verification failed"), std::string::npos)
        << error->message;
    EXPECT_TRUE(no_verify_connected);
}

TEST_F(MtaClient, SmtpsSpeaksTlsFromTheFirstByte) {
    auto& srv = server(Kind::smtps);
    ASSERT_TRUE(srv.started()) << srv.error();
    std::vector<std::vector<RecipientResult>> results;
    auto body = [&]() -> asio::awaitable<void> {
        auto options = verifying_options(cert());
        options.tls = core::mta::TlsMode::implicit;
        // No host name: the certificate must name the address.
        std::vector<Endpoint> endpoints{local(srv.port(), "")};
        std::vector<Message> messages{make_message("s@example.org", {"a@example.org"}, "smtps\n")};
        results = co_await relay(std::move(endpoints), std::move(options), std::move(messages));
    };
    run(body);
    ASSERT_EQ(results.size(), 1u);
    ASSERT_EQ(outcomes(results[0]), (std::vector{Outcome::delivered}))
        << results[0][0].status.summary();
    const auto n = queued_as(results[0][0].status);
    EXPECT_EQ(envelope(srv, n)["tls"], true);
    EXPECT_EQ(received(srv, n), "smtps\r\n");
}

TEST_F(MtaClient, EachRecipientGetsItsOwnResultAndTheConnectionCarriesOn) {
    auto& srv = server(Kind::plain);
    ASSERT_TRUE(srv.started()) << srv.error();
    std::vector<RecipientResult> mixed;
    std::vector<RecipientResult> all_refused;
    std::vector<RecipientResult> after_reset;
    auto body = [&]() -> asio::awaitable<void> {
        std::vector<Endpoint> endpoints{local(srv.port())};
        auto opts = test_options();
        auto client = co_await Client::connect(std::move(endpoints), std::move(opts));
        if (!client) {
            ADD_FAILURE() << client.error().message;
            co_return;
        }
        auto m1 = make_message(
            "s@example.org", {"ok@example.org", "later@example.org", "nobody@example.org"}, "1\n");
        mixed = co_await (*client)->send(std::move(m1));
        auto m2 = make_message("s@example.org", {"later@example.org", "nobody@example.org"}, "2\n");
        all_refused = co_await (*client)->send(std::move(m2));
        // After a transaction without an accepted recipient comes RSET, then the next message.
        auto m3 = make_message("s@example.org", {"again@example.org"}, "3\n");
        after_reset = co_await (*client)->send(std::move(m3));
        co_await (*client)->quit();
    };
    run(body);
    ASSERT_EQ(outcomes(mixed),
              (std::vector{Outcome::delivered, Outcome::temporary, Outcome::permanent}));
    EXPECT_EQ(mixed[1].status.reply.code, 451);
    EXPECT_EQ(mixed[1].status.reply.enhanced, "4.3.0");
    EXPECT_EQ(mixed[1].status.reply.text, "Try again later");
    EXPECT_EQ(mixed[2].status.reply.code, 550);
    EXPECT_NE(mixed[2].status.summary().find("550 5.1.1 No such user here"), std::string::npos);
    EXPECT_EQ(envelope(srv, queued_as(mixed[0].status))["rcpt_tos"],
              (nlohmann::json{"ok@example.org"}));
    ASSERT_EQ(outcomes(all_refused), (std::vector{Outcome::temporary, Outcome::permanent}));
    ASSERT_EQ(outcomes(after_reset), (std::vector{Outcome::delivered}));
    EXPECT_EQ(received(srv, queued_as(after_reset[0].status)), "3\r\n");
}

TEST_F(MtaClient, LmtpAnswersOncePerAcceptedRecipient) {
    auto& srv = server(Kind::lmtp);
    ASSERT_TRUE(srv.started()) << srv.error();
    std::vector<std::vector<RecipientResult>> tcp_results;
    std::vector<std::vector<RecipientResult>> unix_results;
    auto body = [&]() -> asio::awaitable<void> {
        auto options = test_options();
        options.protocol = Protocol::lmtp;
        options.tls = core::mta::TlsMode::none;
        std::vector<Endpoint> endpoints{local(srv.port())};
        std::vector<Message> messages{make_message(
            "s@example.org",
            {"a@example.org", "full@example.org", "nobody@example.org", "b@example.org"},
            "lmtp\n")};
        tcp_results = co_await relay(std::move(endpoints), options, std::move(messages));
        // `lmtp /path`: the same over a UNIX socket.
        auto url = core::mta::parse_lmtp_destination(lmtp_socket().string());
        std::vector<Endpoint> socket{*literal_endpoint(*url)};
        std::vector<Message> again{make_message("s@example.org", {"c@example.org"}, "unix\n")};
        unix_results = co_await relay(std::move(socket), options, std::move(again));
    };
    run(body);
    ASSERT_EQ(tcp_results.size(), 1u);
    const auto& r = tcp_results[0];
    ASSERT_EQ(outcomes(r), (std::vector{Outcome::delivered, Outcome::temporary, Outcome::permanent,
                                        Outcome::delivered}));
    EXPECT_EQ(r[1].status.reply.code, 452);
    EXPECT_EQ(r[1].status.reply.text, "Mailbox full");
    EXPECT_EQ(r[2].status.reply.code, 550);
    EXPECT_EQ(r[3].status.reply.text, "Delivered");
    ASSERT_EQ(unix_results.size(), 1u);
    ASSERT_EQ(outcomes(unix_results[0]), (std::vector{Outcome::delivered}))
        << unix_results[0][0].status.summary();
    EXPECT_EQ(unix_results[0][0].status.host, "unix:" + lmtp_socket().string());
}

TEST_F(MtaClient, DotStuffingAndEightBitSurviveTheRoundTrip) {
    auto& srv = server(Kind::plain);
    ASSERT_TRUE(srv.started()) << srv.error();
    const std::string text =
        "Subject: dots\n\n.\n.leading dot\n..two dots\nend.\n.\ncaf\xc3\xa9\nlast";
    std::vector<RecipientResult> results;
    auto body = [&]() -> asio::awaitable<void> {
        std::vector<Endpoint> endpoints{local(srv.port())};
        std::vector<Message> messages{make_message("s@example.org", {"a@example.org"}, text)};
        auto opts = test_options();
        auto all = co_await relay(std::move(endpoints), std::move(opts), std::move(messages));
        results = all.at(0);
    };
    run(body);
    ASSERT_EQ(outcomes(results), (std::vector{Outcome::delivered}));
    const auto n = queued_as(results[0].status);
    EXPECT_EQ(received(srv, n), "Subject: dots\r\n\r\n.\r\n.leading dot\r\n..two "
                                "dots\r\nend.\r\n.\r\ncaf\xc3\xa9\r\nlast\r\n");
    const auto size = "SIZE=" + std::to_string(core::mta::message_size(text));
    EXPECT_EQ(envelope(srv, n)["mail_options"], (nlohmann::json{size, "BODY=8BITMIME"}));
}

TEST_F(MtaClient, LargeMessagesGoInPiecesAndOversizedOnesAreRefusedBeforeSending) {
    auto& srv = server(Kind::plain);
    ASSERT_TRUE(srv.started()) << srv.error();
    std::string large = "Subject: large\n\n";
    while (large.size() < 150000) {
        large += "0123456789 abcdefghijklmnopqrstuvwxyz 0123456789 abcdefghijklmnopqrstuvwxyz\n";
    }
    const std::string oversized(300000, 'x');
    std::vector<RecipientResult> fits;
    std::vector<RecipientResult> too_big;
    auto body = [&]() -> asio::awaitable<void> {
        std::vector<Endpoint> endpoints{local(srv.port())};
        std::vector<Message> messages{make_message("s@example.org", {"a@example.org"}, large),
                                      make_message("s@example.org", {"a@example.org"}, oversized)};
        auto opts = test_options();
        auto all = co_await relay(std::move(endpoints), std::move(opts), std::move(messages));
        fits = all.at(0);
        too_big = all.at(1);
    };
    run(body);
    ASSERT_EQ(outcomes(fits), (std::vector{Outcome::delivered}));
    EXPECT_EQ(received(srv, queued_as(fits[0].status)).size(), core::mta::message_size(large));
    ASSERT_EQ(outcomes(too_big), (std::vector{Outcome::permanent}));
    EXPECT_TRUE(too_big[0].status.local);
    EXPECT_EQ(too_big[0].status.reply.code, 552);
}

TEST_F(MtaClient, HeloWhenEhloIsRefused) {
    auto& srv = server(Kind::no_ehlo);
    ASSERT_TRUE(srv.started()) << srv.error();
    std::vector<RecipientResult> results;
    std::optional<core::Error> tls_error;
    auto body = [&]() -> asio::awaitable<void> {
        std::vector<Endpoint> endpoints{local(srv.port())};
        std::vector<Message> messages{make_message("s@example.org", {"a@example.org"}, "helo\n")};
        auto opts = test_options();
        auto all = co_await relay(endpoints, std::move(opts), std::move(messages));
        results = all.at(0);
        // TLS needs EHLO: no fallback then.
        auto options = test_options();
        options.tls = core::mta::TlsMode::required;
        auto client = co_await Client::connect(endpoints, std::move(options));
        if (!client) {
            tls_error = client.error();
        }
    };
    run(body);
    ASSERT_EQ(outcomes(results), (std::vector{Outcome::delivered}));
    EXPECT_EQ(envelope(srv, queued_as(results[0].status))["helo"], "client.test");
    ASSERT_TRUE(tls_error);
    EXPECT_NE(tls_error->message.find("EHLO refused: 500"), std::string::npos)
        << tls_error->message;
}

TEST_F(MtaClient, ConnectionRefusedIsTemporaryAndTheNextEndpointIsTried) {
    auto& srv = server(Kind::plain);
    ASSERT_TRUE(srv.started()) << srv.error();
    // A port nobody listens on: bound, then closed again.
    std::uint16_t closed_port = 0;
    {
        asio::io_context io;
        tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        closed_port = acceptor.local_endpoint().port();
    }
    std::optional<core::Error> refused;
    std::string connected_to;
    auto body = [&]() -> asio::awaitable<void> {
        std::vector<Endpoint> dead{local(closed_port)};
        auto opts = test_options();
        auto client = co_await Client::connect(dead, opts);
        if (!client) {
            refused = client.error();
        }
        std::vector<Endpoint> both{local(closed_port), local(srv.port())};
        auto second = co_await Client::connect(both, opts);
        if (second) {
            connected_to = (*second)->endpoint().to_string();
            co_await (*second)->quit();
        }
    };
    run(body);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->code, core::Errc::temp_failure);
    EXPECT_NE(refused->message.find("Connection refused"), std::string::npos) << refused->message;
    EXPECT_EQ(connect_failure_status(*refused).outcome, Outcome::temporary);
    EXPECT_EQ(connected_to, local(srv.port()).to_string());
}

TEST_F(MtaClient, AServerThatNeverAnswersTimesOutTemporarily) {
    // Listening but never accepting: the kernel completes the handshake, no greeting comes.
    asio::io_context listener_io;
    tcp::acceptor silent(listener_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = silent.local_endpoint().port();
    std::vector<std::vector<RecipientResult>> results;
    auto body = [&]() -> asio::awaitable<void> {
        auto options = test_options();
        options.timeouts.greeting = std::chrono::milliseconds(300);
        std::vector<Endpoint> endpoints{local(port)};
        std::vector<Message> messages{make_message("s@example.org", {"a@example.org"}, "x\n")};
        results = co_await relay(std::move(endpoints), std::move(options), std::move(messages));
    };
    run(body);
    ASSERT_EQ(results.size(), 1u);
    ASSERT_EQ(outcomes(results[0]), (std::vector{Outcome::temporary}));
    EXPECT_NE(results[0][0].status.reply.text.find("timeout waiting for the reply to the greeting"),
              std::string::npos)
        << results[0][0].status.summary();
}

TEST_F(MtaClient, BindsToTheSourceAddress) {
    auto& srv = server(Kind::plain);
    ASSERT_TRUE(srv.started()) << srv.error();
    std::vector<RecipientResult> results;
    std::vector<RecipientResult> second;
    std::optional<core::Error> mismatch;
    auto body = [&]() -> asio::awaitable<void> {
        // Any 127/8 address is local on Linux: 127.0.0.2 shows that `src` was used.
        auto options = test_options();
        options.sources = {asio::ip::make_address("127.0.0.2")};
        std::vector<Endpoint> endpoints{local(srv.port())};
        std::vector<Message> messages{make_message("s@example.org", {"a@example.org"}, "src\n")};
        auto all = co_await relay(endpoints, options, std::move(messages));
        results = all.at(0);
        // The first source of the endpoint's family, and the HELO name `helo-src` gives it.
        options.sources = {asio::ip::make_address("::1"), asio::ip::make_address("127.0.0.3")};
        options.helo_by_source = {{"127.0.0.2", "two.example"}, {"127.0.0.3", "three.example"}};
        std::vector<Message> more{make_message("s@example.org", {"b@example.org"}, "src\n")};
        auto again = co_await relay(endpoints, options, std::move(more));
        second = again.at(0);
        options.sources = {asio::ip::make_address("::1")};
        auto client = co_await Client::connect(endpoints, options);
        if (!client) {
            mismatch = client.error();
        }
    };
    run(body);
    ASSERT_EQ(outcomes(results), (std::vector{Outcome::delivered})) << results[0].status.summary();
    const auto first = envelope(srv, queued_as(results[0].status));
    EXPECT_EQ(first["peer"], "127.0.0.2");
    EXPECT_NE(first["helo"], "two.example") << "no helo-src given";
    ASSERT_EQ(outcomes(second), (std::vector{Outcome::delivered})) << second[0].status.summary();
    const auto other = envelope(srv, queued_as(second[0].status));
    EXPECT_EQ(other["peer"], "127.0.0.3");
    EXPECT_EQ(other["helo"], "three.example");
    ASSERT_TRUE(mismatch);
    EXPECT_NE(mismatch->message.find("no source address of the endpoint's family"),
              std::string::npos)
        << mismatch->message;
}

TEST_F(MtaClient, NoEndpointIsAnInvalidArgument) {
    std::optional<core::Error> error;
    auto body = [&]() -> asio::awaitable<void> {
        auto opts = test_options();
        std::vector<Endpoint> none;
        auto client = co_await Client::connect(std::move(none), std::move(opts));
        if (!client) {
            error = client.error();
        }
    };
    run(body);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code, core::Errc::invalid_argument);
}
