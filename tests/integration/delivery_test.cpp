// SPDX-License-Identifier: ISC
// Delivery end to end: mail taken by the real mxd over SMTP leaves the queue for a real
// smarthost (python3-aiosmtpd on loopback), is retried after a 451, and bounces after a 550.
#include "tests/integration/daemon_fixture.hpp"
#include "tests/integration/system_user.hpp"
#include "tests/unit/daemon/mta/test_server.hpp"

#include <gmock/gmock.h>

#include <sys/stat.h>
#include <unistd.h>

#include <signal.h>

#include <fstream>
#include <map>
#include <set>

using namespace mxd_test;
using ::testing::HasSubstr;

namespace {

class Relay : public DaemonFixture {
  protected:
    // Starts the smarthost with `args`, then mxd relaying everything from local clients to it.
    void start_with_smarthost(const std::vector<std::string>& args) {
        std::filesystem::create_directories(dir() / "smarthost");
        m_smarthost = std::make_unique<mta_test::TestServer>(dir() / "smarthost", args);
        ASSERT_TRUE(m_smarthost->started()) << m_smarthost->error();
        std::ofstream(config_path(), std::ios::app)
            << "queue backoff 1s\n"
            << "action \"out\" relay host smtp://127.0.0.1:" << m_smarthost->port() << "\n"
            << "match from local for any action \"out\"\n";
        ASSERT_TRUE(start({"-T", "scheduler"}));
    }
    // Sends one message from `sender` to `rcpt` with python3 smtplib.
    void send(const std::string& sender, const std::string& rcpt, const std::string& subject) {
        const auto r = run(
            {"python3", "-c",
             "import smtplib, sys\ns = smtplib.SMTP('127.0.0.1', " + std::to_string(smtp_port()) +
                 ", timeout=10)\ns.sendmail(sys.argv[1], [sys.argv[2]], 'Subject: ' + sys.argv[3] "
                 "+ "
                 "'\\r\\nFrom: ' + sys.argv[1] + '\\r\\n\\r\\nhello\\r\\n')\ns.quit()\n",
             sender, rcpt, subject});
        ASSERT_EQ(r.status, 0) << r.err;
    }
    // The messages the smarthost received, in order (1.eml, 1.json, 2.eml...).
    std::vector<std::string> received(const std::string& ext) const {
        std::vector<std::string> out;
        for (int n = 1;; ++n) {
            const auto path = dir() / "smarthost" / (std::to_string(n) + ext);
            if (!std::filesystem::exists(path)) {
                return out;
            }
            out.push_back(slurp(path));
        }
    }
    bool queue_empty() const { return mxctl({"show", "queue"}).out.empty(); }

    std::unique_ptr<mta_test::TestServer> m_smarthost;
};

} // namespace

TEST_F(Relay, OneConnectionCarriesSeveralMessages) {
    start_with_smarthost({});
    ASSERT_EQ(mxctl({"pause", "mta"}).status, 0);
    constexpr int k_messages = 25;
    for (int i = 0; i < k_messages; ++i) {
        send("alice@sender.example", "bob@remote.example", "batch " + std::to_string(i));
    }
    ASSERT_EQ(mxctl({"resume", "mta"}).status, 0);
    ASSERT_TRUE(wait_until([&] { return received(".json").size() == k_messages; }, std::chrono::seconds(30)))
        << slurp(log_path());
    // At most the per-domain limit of connections start together; the rest of the messages
    // follow on the connections they leave open.
    std::set<int> connections;
    for (const auto& meta : received(".json")) {
        connections.insert(nlohmann::json::parse(meta).at("connection").get<int>());
    }
    EXPECT_LE(connections.size(), 10u);
    EXPECT_TRUE(wait_until([&] { return queue_empty(); }, std::chrono::seconds(10)));
    // show relays says what the relay client did on that route.
    const auto relays = mxctl({"-j", "show", "relays"});
    ASSERT_EQ(relays.status, 0) << relays.err;
    const auto route = nlohmann::json::parse(relays.out.substr(0, relays.out.find('\n')));
    EXPECT_EQ(route["action"], "out");
    EXPECT_EQ(route["destination"], "smtp://127.0.0.1:" + std::to_string(m_smarthost->port()));
    EXPECT_EQ(route["messages"], k_messages);
    EXPECT_EQ(route["connections"], connections.size());
    EXPECT_EQ(route["active"], 0);
    EXPECT_EQ(route["last_error"], "");
    EXPECT_THAT(mxctl({"show", "relays"}).out,
                HasSubstr("[relay:smtp://127.0.0.1:" + std::to_string(m_smarthost->port()) +
                          ",action=out] active=0 idle="));
}

TEST_F(Relay, TheSmarthostGetsTheMessageOnTheRetryAfterA451) {
    start_with_smarthost({"--tempfail-once", "bob@remote.example"});
    send("alice@sender.example", "bob@remote.example", "retried");
    ASSERT_TRUE(wait_until([&] { return !received(".eml").empty(); }, std::chrono::seconds(30)))
        << slurp(log_path());
    EXPECT_THAT(received(".eml")[0], HasSubstr("Subject: retried"));
    EXPECT_THAT(received(".json")[0], HasSubstr("bob@remote.example"));
    EXPECT_TRUE(wait_until([&] { return queue_empty(); }, std::chrono::seconds(10)));
    const auto log = slurp(log_path());
    EXPECT_THAT(log, HasSubstr("result=TempFail"));
    EXPECT_THAT(log, HasSubstr("result=Ok"));
}

TEST_F(Relay, A550BouncesToTheSenderWithTheDsnReport) {
    start_with_smarthost({"--permfail", "nobody@remote.example"});
    send("alice@sender.example", "nobody@remote.example", "doomed");
    // The bounce goes back through the rules: here, to the same smarthost, from <>.
    ASSERT_TRUE(wait_until([&] { return !received(".eml").empty(); }, std::chrono::seconds(30)))
        << slurp(log_path());
    const auto report = received(".eml")[0];
    const auto envelope = received(".json")[0];
    EXPECT_THAT(envelope, HasSubstr("\"mail_from\": \"<>\"")); // the null sender
    EXPECT_THAT(envelope, HasSubstr("alice@sender.example"));
    EXPECT_THAT(report, HasSubstr("multipart/report; report-type=delivery-status"));
    EXPECT_THAT(report, HasSubstr("Final-Recipient: rfc822; nobody@remote.example"));
    EXPECT_THAT(report, HasSubstr("Action: failed"));
    EXPECT_THAT(report, HasSubstr("Status: 5.1.1"));
    EXPECT_THAT(report, HasSubstr("Subject: doomed")); // the original headers
    EXPECT_TRUE(wait_until([&] { return queue_empty(); }, std::chrono::seconds(10)));
    EXPECT_EQ(received(".eml").size(), 1u); // one bounce, delivered once
    // The bounce, relayed by the same route, was delivered after the 550: no error stays.
    const auto relays = mxctl({"-j", "show", "relays"});
    ASSERT_EQ(relays.status, 0) << relays.err;
    const auto route = nlohmann::json::parse(relays.out.substr(0, relays.out.find('\n')));
    EXPECT_EQ(route["messages"], 2);
    EXPECT_EQ(route["last_error"], "");
}

namespace {

// Local deliveries run as the recipient, which needs root to set up (CI runs as root).
class LocalDelivery : public Relay {
  protected:
    void SetUp() override {
        Relay::SetUp();
        if (::geteuid() != 0) {
            GTEST_SKIP() << "local delivery tests create system users, which needs root";
        }
        ASSERT_TRUE(m_user.ok());
    }
    // All files under `dir` (a Maildir's new/).
    static std::vector<std::filesystem::path> files_in(const std::filesystem::path& dir) {
        std::vector<std::filesystem::path> out;
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
            out.push_back(entry.path());
        }
        return out;
    }
    SystemUser m_user;
};

} // namespace

TEST_F(LocalDelivery, MaildirOfARealUserAsThatUser) {
    std::ofstream(config_path(), std::ios::app) << "action \"local\" maildir\n"
                                                << "match from any for local action \"local\"\n";
    start_with_smarthost({});
    send("alice@sender.example", m_user.name() + "@localhost", "to the maildir");
    const auto new_dir = m_user.home() / "Maildir" / "new";
    ASSERT_TRUE(wait_until([&] { return !files_in(new_dir).empty(); }, std::chrono::seconds(30)))
        << slurp(log_path());
    const auto file = files_in(new_dir).front();
    EXPECT_THAT(slurp(file), HasSubstr("Subject: to the maildir"));
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, m_user.uid());
    EXPECT_TRUE(wait_until([&] { return queue_empty(); }, std::chrono::seconds(10)));
}

TEST_F(LocalDelivery, MboxOfARealUser) {
    std::ofstream(config_path(), std::ios::app) << "action \"local\" mbox\n"
                                                << "match from any for local action \"local\"\n";
    start_with_smarthost({});
    send("alice@sender.example", m_user.name() + "@localhost", "to the mbox");
    const std::filesystem::path mbox = "/var/mail/" + m_user.name();
    ASSERT_TRUE(wait_until(
        [&] {
            return std::filesystem::exists(mbox) &&
                   slurp(mbox).find("to the mbox") != std::string::npos;
        },
        std::chrono::seconds(30)))
        << slurp(log_path());
    const auto text = slurp(mbox);
    EXPECT_EQ(text.rfind("From alice@sender.example ", 0), 0u) << text.substr(0, 200);
    struct stat st {};
    ASSERT_EQ(::stat(mbox.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, m_user.uid());
}

// Seed 000's Sympa shape: an aliases table sends a list address to a program with the
// recipient as its argument and the message on its stdin.
TEST_F(LocalDelivery, PipeFromAnAliasesTableGetsTheMessageOnStdin) {
    const auto out_dir = dir() / "pipe-out";
    std::filesystem::create_directories(out_dir);
    std::filesystem::permissions(out_dir, std::filesystem::perms::all);
    const auto script = dir() / "queue.sh";
    std::ofstream(script) << "#!/bin/sh\ncat > " << (out_dir / "message").string() << ".tmp\n"
                          << "echo \"$1\" > " << (out_dir / "argument").string() << "\n"
                          << "mv " << (out_dir / "message").string() << ".tmp "
                          << (out_dir / "message").string() << "\n";
    std::filesystem::permissions(
        script, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                    std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                    std::filesystem::perms::others_exec);
    std::ofstream(dir() / "aliases")
        << "sympa-list: \"| " << script.string() << " list@lists.example.org\"\n";
    std::ofstream(config_path(), std::ios::app)
        << "table aliases file:" << (dir() / "aliases").string() << "\n"
        << "action \"lists\" mbox alias <aliases>\n"
        << "match from any for domain \"lists.example.org\" action \"lists\"\n";
    start_with_smarthost({});
    send("alice@sender.example", "sympa-list@lists.example.org", "for the list");
    ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(out_dir / "message"); },
                           std::chrono::seconds(30)))
        << slurp(log_path());
    EXPECT_THAT(slurp(out_dir / "message"), HasSubstr("Subject: for the list"));
    EXPECT_EQ(slurp(out_dir / "argument"), "list@lists.example.org\n");
}

TEST_F(LocalDelivery, ABounceFromTheSmarthostArrivesInTheSendersMaildir) {
    std::ofstream(config_path(), std::ios::app) << "action \"local\" maildir\n"
                                                << "match from any for local action \"local\"\n";
    start_with_smarthost({"--permfail", "nobody@remote.example"});
    send(m_user.name() + "@localhost", "nobody@remote.example", "will bounce");
    const auto new_dir = m_user.home() / "Maildir" / "new";
    ASSERT_TRUE(wait_until([&] { return !files_in(new_dir).empty(); }, std::chrono::seconds(30)))
        << slurp(log_path());
    const auto report = slurp(files_in(new_dir).front());
    EXPECT_THAT(report, HasSubstr("Content-Type: message/delivery-status"));
    EXPECT_THAT(report, HasSubstr("Final-Recipient: rfc822; nobody@remote.example"));
    EXPECT_THAT(report, HasSubstr("Status: 5.1.1"));
    EXPECT_THAT(report, HasSubstr("Subject: will bounce"));
}

TEST_F(LocalDelivery, PauseHoldsDeliveriesAndResumeReleasesThem) {
    std::ofstream(config_path(), std::ios::app) << "action \"local\" maildir\n"
                                                << "match from any for local action \"local\"\n";
    start_with_smarthost({});
    const auto paused = mxctl({"pause", "mda"});
    ASSERT_EQ(paused.status, 0) << paused.err;
    EXPECT_EQ(paused.out, "paused: mda\n");
    send("alice@sender.example", m_user.name() + "@localhost", "held");
    // Held: the envelope waits in the queue, and show status says why.
    EXPECT_THAT(mxctl({"show", "queue"}).out,
                HasSubstr("|mda||alice@sender.example|" + m_user.name() + "@localhost|"));
    EXPECT_EQ(status()["paused"]["mda"], true);
    EXPECT_EQ(mxctl({"resume", "mda"}).out, "paused: nothing\n");
    const auto new_dir = m_user.home() / "Maildir" / "new";
    EXPECT_TRUE(wait_until([&] { return !files_in(new_dir).empty(); }, std::chrono::seconds(30)))
        << slurp(log_path());
    EXPECT_TRUE(wait_until([&] { return queue_empty(); }, std::chrono::seconds(10)));
    EXPECT_EQ(mxctl({"pause", "everything"}).status, 64);
}

// The delivery rule under SIGKILL: a few hundred messages are being relayed when mxd is
// killed; after a restart every one reaches the smarthost at least once. Duplicates are
// allowed (DESIGN "Delivery rule") and reported.
TEST_F(Relay, SigkillDuringDeliveriesLosesNothing) {
    start_with_smarthost({});
    ASSERT_EQ(mxctl({"pause", "mta"}).status, 0);
    constexpr int k_messages = 300;
    const auto sent =
        run({"python3", "-c",
             "import smtplib\ns = smtplib.SMTP('127.0.0.1', " + std::to_string(smtp_port()) +
                 ", timeout=10)\nfor i in range(" + std::to_string(k_messages) +
                 "):\n    s.sendmail('alice@sender.example', ['bob@remote.example'], "
                 "'Subject: crash-%d\\r\\n\\r\\nbody\\r\\n' % i)\n    if i % 90 == 89:\n"
                 "        s.quit(); s = smtplib.SMTP('127.0.0.1', " +
                 std::to_string(smtp_port()) + ", timeout=10)\ns.quit()\n"},
            {.timeout = std::chrono::seconds(60)});
    ASSERT_EQ(sent.status, 0) << sent.err;
    ASSERT_EQ(mxctl({"resume", "mta"}).status, 0);
    // Kill it in the middle of the deliveries.
    ASSERT_TRUE(
        wait_until([&] { return received(".eml").size() >= 30; }, std::chrono::seconds(60)));
    ::kill(daemon()->pid(), SIGKILL);
    ASSERT_EQ(daemon()->wait(std::chrono::seconds(5)), 128 + SIGKILL);
    const auto before = received(".eml").size();
    ASSERT_LT(before, static_cast<std::size_t>(k_messages))
        << "the kill came after the last delivery";

    ASSERT_TRUE(start({"-T", "scheduler"}));
    ASSERT_TRUE(wait_until([&] { return queue_empty(); }, std::chrono::seconds(120)))
        << slurp(log_path());
    std::map<std::string, int> copies;
    for (const auto& message : received(".eml")) {
        const auto at = message.find("Subject: crash-");
        ASSERT_NE(at, std::string::npos);
        copies[message.substr(at + 9, message.find('\r', at) - at - 9)] += 1;
    }
    int duplicates = 0;
    for (int i = 0; i < k_messages; ++i) {
        const auto it = copies.find("crash-" + std::to_string(i));
        EXPECT_NE(it, copies.end()) << "crash-" << i << " was lost";
        if (it != copies.end()) {
            duplicates += it->second - 1;
        }
    }
    std::cerr << "delivery crash test: " << before << " delivered before the kill, "
              << copies.size() << " distinct after the restart, " << duplicates << " duplicates\n";
}

// A smarthost that requires STARTTLS and AUTH: the action's `auth` table gives the login of
// the URL's label, and it is only ever sent over TLS.
TEST_F(Relay, SmarthostWithStarttlsAndAuth) {
    const auto made = run({"openssl", "req", "-new", "-x509", "-nodes", "-newkey", "rsa:2048",
                           "-subj", "/CN=smarthost.example", "-keyout", (dir() / "sh.key").string(),
                           "-out", (dir() / "sh.crt").string(), "-days", "30"});
    ASSERT_EQ(made.status, 0) << made.err;
    std::filesystem::create_directories(dir() / "smarthost");
    m_smarthost = std::make_unique<mta_test::TestServer>(
        dir() / "smarthost",
        std::vector<std::string>{"--starttls", (dir() / "sh.crt").string(),
                                 (dir() / "sh.key").string(), "--auth", "relayuser:relaypass"});
    ASSERT_TRUE(m_smarthost->started()) << m_smarthost->error();
    std::ofstream(config_path(), std::ios::app)
        << "table secrets { bigisp = \"relayuser:relaypass\" }\n"
        << "action \"out\" relay host smtp+tls://bigisp@127.0.0.1:" << m_smarthost->port()
        << " auth <secrets> tls no-verify\n"
        << "match from local for any action \"out\"\n";
    ASSERT_TRUE(start());
    send("alice@sender.example", "bob@remote.example", "over tls");
    ASSERT_TRUE(wait_until([&] { return !received(".eml").empty(); }, std::chrono::seconds(30)))
        << slurp(log_path());
    const auto envelope = received(".json")[0];
    EXPECT_THAT(envelope, HasSubstr("\"tls\": true"));
    EXPECT_THAT(envelope, HasSubstr("\"auth_user\": \"relayuser\""));
    EXPECT_THAT(slurp(log_path()), ::testing::Not(HasSubstr("relaypass")));
}

// Seed 003's `relay via ... as "@foo.bar"`, in the modern grammar: the sender's domain is
// replaced in MAIL FROM.
TEST_F(Relay, MailFromRewritesTheSendersDomain) {
    std::filesystem::create_directories(dir() / "smarthost");
    m_smarthost =
        std::make_unique<mta_test::TestServer>(dir() / "smarthost", std::vector<std::string>{});
    ASSERT_TRUE(m_smarthost->started()) << m_smarthost->error();
    std::ofstream(config_path(), std::ios::app)
        << "action \"out\" relay host smtp://127.0.0.1:" << m_smarthost->port()
        << " mail-from \"@foo.example\"\n"
        << "match from local for any action \"out\"\n";
    ASSERT_TRUE(start());
    send("alice@laptop.home", "bob@remote.example", "masqueraded");
    ASSERT_TRUE(wait_until([&] { return !received(".json").empty(); }, std::chrono::seconds(30)))
        << slurp(log_path());
    EXPECT_THAT(received(".json")[0], HasSubstr("\"mail_from\": \"alice@foo.example\""));
}

// `bounce warn-interval` and `queue ttl`: a recipient that keeps failing temporarily gets its
// sender a delay notice, then, once the envelope expires, a failure report; then it is gone.
TEST_F(Relay, DelayNoticeThenExpiry) {
    std::ofstream(config_path(), std::ios::app) << "bounce warn-interval 1s\nqueue ttl 4s\n";
    start_with_smarthost({"--tempfail", "bob@remote.example"});
    send("alice@sender.example", "bob@remote.example", "slow");
    auto reports = [&] {
        std::string all;
        for (const auto& m : received(".eml")) {
            all += m;
        }
        return all;
    };
    ASSERT_TRUE(wait_until([&] { return reports().find("Action: failed") != std::string::npos; },
                           std::chrono::seconds(60)))
        << slurp(log_path());
    const auto all = reports();
    EXPECT_THAT(all, HasSubstr("Action: delayed"));
    EXPECT_THAT(all, HasSubstr("Envelope expired"));
    EXPECT_TRUE(wait_until([&] { return queue_empty(); }, std::chrono::seconds(10)));
}

// The `lmtp` method: the local user goes to an LMTP server (RCPT TO the user name, or the
// address with `rcpt-to`).
TEST_F(Relay, LmtpMethodHandsLocalMailToAnLmtpServer) {
    std::filesystem::create_directories(dir() / "smarthost");
    m_smarthost = std::make_unique<mta_test::TestServer>(dir() / "smarthost",
                                                         std::vector<std::string>{"--lmtp"});
    ASSERT_TRUE(m_smarthost->started()) << m_smarthost->error();
    std::ofstream(config_path(), std::ios::app)
        << "action \"local\" lmtp \"127.0.0.1:" << m_smarthost->port() << "\" rcpt-to\n"
        << "match from any for local action \"local\"\n";
    ASSERT_TRUE(start());
    send("alice@sender.example", "root@localhost", "by lmtp");
    ASSERT_TRUE(wait_until([&] { return !received(".json").empty(); }, std::chrono::seconds(30)))
        << slurp(log_path());
    EXPECT_THAT(received(".json")[0], HasSubstr("\"rcpt_tos\": [\"root@localhost\"]"));
    EXPECT_THAT(received(".eml")[0], HasSubstr("Subject: by lmtp"));
}
