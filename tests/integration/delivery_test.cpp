// SPDX-License-Identifier: ISC
// Delivery end to end: mail taken by the real mxd over SMTP leaves the queue for a real
// smarthost (python3-aiosmtpd on loopback), is retried after a 451, and bounces after a 550.
#include "tests/integration/daemon_fixture.hpp"
#include "tests/unit/daemon/mta/test_server.hpp"

#include <gmock/gmock.h>

#include <fstream>

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
}
