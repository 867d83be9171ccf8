// SPDX-License-Identifier: ISC
// The relay client end to end, from SMTP into the real mxd to a real smarthost
// (python3-aiosmtpd on loopback): the recipients of one message in one transaction, each with
// its own outcome, and a server's recipient limit.
#include "tests/integration/daemon_fixture.hpp"
#include "tests/unit/daemon/mta/test_server.hpp"

#include <gmock/gmock.h>

#include <algorithm>
#include <fstream>

using namespace mxd_test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

class RelayBatch : public DaemonFixture {
  protected:
    // Starts the smarthost with `args`, then mxd relaying everything from local clients to it
    // with `options` on the relay action.
    void start_with_smarthost(const std::vector<std::string>& args, const std::string& options = {}) {
        std::filesystem::create_directories(dir() / "smarthost");
        m_smarthost = std::make_unique<mta_test::TestServer>(dir() / "smarthost", args);
        ASSERT_TRUE(m_smarthost->started()) << m_smarthost->error();
        std::ofstream(config_path(), std::ios::app)
            << "queue backoff 1s\n"
            << "action \"out\" relay host smtp://127.0.0.1:" << m_smarthost->port() << options
            << "\n"
            << "match from local for any action \"out\"\n";
        ASSERT_TRUE(start({"-T", "scheduler"}));
    }
    // Sends one message from `sender` to every one of `rcpts` with python3 smtplib.
    void send(const std::string& sender, const std::vector<std::string>& rcpts,
              const std::string& subject) {
        std::vector<std::string> cmd = {
            "python3", "-c",
            "import smtplib, sys\ns = smtplib.SMTP('127.0.0.1', " + std::to_string(smtp_port()) +
                ", timeout=10)\ns.sendmail(sys.argv[1], sys.argv[3:], 'Subject: ' + sys.argv[2] "
                "+ '\\r\\nFrom: ' + sys.argv[1] + '\\r\\n\\r\\nhello\\r\\n')\ns.quit()\n",
            sender, subject};
        cmd.insert(cmd.end(), rcpts.begin(), rcpts.end());
        const auto r = run(cmd);
        ASSERT_EQ(r.status, 0) << r.err;
    }
    // The envelopes of the transactions the smarthost accepted, in order.
    std::vector<nlohmann::json> received() const {
        std::vector<nlohmann::json> out;
        for (int n = 1;; ++n) {
            const auto path = dir() / "smarthost" / (std::to_string(n) + ".json");
            if (!std::filesystem::exists(path)) {
                return out;
            }
            out.push_back(nlohmann::json::parse(slurp(path)));
        }
    }
    std::string eml(std::size_t n) const {
        return slurp(dir() / "smarthost" / (std::to_string(n + 1) + ".eml"));
    }
    bool queue_empty() const { return mxctl({"show", "queue"}).out.empty(); }

    std::unique_ptr<mta_test::TestServer> m_smarthost;
};

const std::vector<std::string> k_five = {"r1@remote.example", "r2@remote.example",
                                         "r3@other.example", "r4@remote.example",
                                         "r5@other.example"};

} // namespace

TEST_F(RelayBatch, FiveRecipientsOfOneMessageGoInOneTransaction) {
    start_with_smarthost({});
    send("alice@sender.example", k_five, "five");
    ASSERT_TRUE(wait_until([&] { return queue_empty(); }, std::chrono::seconds(30)))
        << slurp(log_path());
    const auto got = received();
    ASSERT_EQ(got.size(), 1u) << "one transaction: one MAIL FROM, five RCPT TO, one DATA";
    EXPECT_EQ(got[0]["mail_from"], "alice@sender.example");
    EXPECT_EQ(got[0]["rcpt_tos"].get<std::vector<std::string>>().size(), 5u);
    for (const auto& r : k_five) {
        EXPECT_THAT(got[0]["rcpt_tos"].dump(), HasSubstr('"' + r + '"'));
    }
    EXPECT_THAT(eml(0), HasSubstr("Subject: five"));
    const auto relays = mxctl({"-j", "show", "relays"});
    ASSERT_EQ(relays.status, 0) << relays.err;
    const auto route = nlohmann::json::parse(relays.out.substr(0, relays.out.find('\n')));
    EXPECT_EQ(route["messages"], 1) << "one attempt";
    EXPECT_EQ(route["connections"], 1);
}

TEST_F(RelayBatch, A550ForOneRecipientBouncesOnlyThatOne) {
    start_with_smarthost({"--permfail", "r3@other.example"});
    send("alice@sender.example", k_five, "one refused");
    // The bounce goes back through the rules: here, to the same smarthost, from <>.
    ASSERT_TRUE(wait_until([&] { return received().size() == 2 && queue_empty(); },
                           std::chrono::seconds(30)))
        << slurp(log_path());
    const auto got = received();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0]["mail_from"], "alice@sender.example");
    auto delivered = got[0]["rcpt_tos"].get<std::vector<std::string>>();
    std::sort(delivered.begin(), delivered.end());
    EXPECT_EQ(delivered, (std::vector<std::string>{"r1@remote.example", "r2@remote.example",
                                                   "r4@remote.example", "r5@other.example"}))
        << "the other four delivered in the one transaction";
    EXPECT_EQ(got[1]["mail_from"], "<>") << "exactly one bounce";
    EXPECT_EQ(got[1]["rcpt_tos"], nlohmann::json::array({"alice@sender.example"}));
    EXPECT_THAT(eml(1), HasSubstr("Final-Recipient: rfc822; r3@other.example"));
    EXPECT_THAT(eml(1), Not(HasSubstr("Final-Recipient: rfc822; r1@remote.example")));
    const auto log = slurp(log_path());
    EXPECT_THAT(log, Not(HasSubstr("result=TempFail")));
    EXPECT_EQ(received().size(), 2u);
}

TEST_F(RelayBatch, RecipientsPastTheServersLimitGoInTheNextTransaction) {
    // RFC 5321 4.5.3.1.10: 452 to the recipients past the server's limit; the client sends
    // them in another transaction on the same connection, with no retry later.
    start_with_smarthost({"--max-rcpts", "2"});
    send("alice@sender.example", k_five, "limited");
    ASSERT_TRUE(wait_until([&] { return queue_empty(); }, std::chrono::seconds(30)))
        << slurp(log_path());
    const auto got = received();
    ASSERT_EQ(got.size(), 3u);
    std::vector<std::size_t> sizes;
    for (const auto& g : got) {
        sizes.push_back(g["rcpt_tos"].size());
        EXPECT_EQ(g["connection"], got[0]["connection"]);
    }
    EXPECT_EQ(sizes, (std::vector<std::size_t>{2, 2, 1}));
    EXPECT_THAT(slurp(log_path()), Not(HasSubstr("result=TempFail")));
}
