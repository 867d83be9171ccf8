// SPDX-License-Identifier: ISC
// The relay client end to end, from SMTP into the real mxd to a real smarthost
// (python3-aiosmtpd on loopback): the recipients of one message in one transaction, each with
// its own outcome, and a server's recipient limit; the relay options src, helo-src, domain
// and backup (with MX records from a real dnsmasq on loopback).
#include "tests/integration/daemon_fixture.hpp"
#include "tests/unit/daemon/dns/dnsmasq.hpp"
#include "tests/unit/daemon/mta/test_server.hpp"

#include <gmock/gmock.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

using namespace mxd_test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

class RelayBatch : public DaemonFixture {
  protected:
    void TearDown() override {
        ::unsetenv("MXD_RESOLV_CONF");
        DaemonFixture::TearDown();
    }
    // Starts the smarthost with `args` (on 127.0.0.1, a port of its choice unless told).
    void start_smarthost(const std::vector<std::string>& args) {
        std::filesystem::create_directories(dir() / "smarthost");
        m_smarthost = std::make_unique<mta_test::TestServer>(dir() / "smarthost", args);
        ASSERT_TRUE(m_smarthost->started()) << m_smarthost->error();
    }
    // Starts mxd with `config` added to its configuration.
    void start_mxd(const std::string& config) {
        std::ofstream(config_path(), std::ios::app) << "queue backoff 1s\n" << config;
        ASSERT_TRUE(start({"-T", "scheduler"}));
    }
    // Starts the smarthost with `args`, then mxd relaying everything from local clients to it
    // with `options` on the relay action.
    void start_with_smarthost(const std::vector<std::string>& args, const std::string& options = {}) {
        start_smarthost(args);
        if (HasFatalFailure()) {
            return;
        }
        start_mxd("action \"out\" relay host smtp://127.0.0.1:" +
                  std::to_string(m_smarthost->port()) + options + "\n" +
                  "match from local for any action \"out\"\n");
    }
    // Points mxd's resolver at `dns` (before start_mxd).
    void use_nameserver(const unit_test::Dnsmasq& dns) {
        std::ofstream(dir() / "resolv.conf") << dns.nameserver_line()
                                             << "options timeout:1 attempts:1\n";
        ::setenv("MXD_RESOLV_CONF", (dir() / "resolv.conf").c_str(), 1);
    }
    // The envelope of `id` in `mxctl -j show queue`, or null.
    nlohmann::json queued(const std::string& rcpt) const {
        const auto out = mxctl({"-j", "show", "queue"}).out;
        std::istringstream lines(out);
        for (std::string line; std::getline(lines, line);) {
            auto e = nlohmann::json::parse(line, nullptr, false);
            if (!e.is_discarded() && e.dump().find(rcpt) != std::string::npos) {
                return e;
            }
        }
        return nullptr;
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

TEST_F(RelayBatch, SrcBindsTheConnectionToTheSourceAddress) {
    // Any 127/8 address is local on Linux: the smarthost on 127.0.0.1 sees 127.0.0.2.
    start_with_smarthost({}, " src 127.0.0.2");
    send("alice@sender.example", {"bob@remote.example"}, "from src");
    ASSERT_TRUE(wait_until([&] { return queue_empty(); }, std::chrono::seconds(30)))
        << slurp(log_path());
    const auto got = received();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0]["peer"], "127.0.0.2");
}

TEST_F(RelayBatch, HeloSrcNamesTheSourceAddressOfTheTable) {
    start_smarthost({});
    const auto url = "smtp://127.0.0.1:" + std::to_string(m_smarthost->port());
    start_mxd("table sources { 127.0.0.3 }\n"
              "table helos { 127.0.0.3 = \"three.example.test\", 127.0.0.4 = \"four.example.test\" }\n"
              "action \"out\" relay host " + url + " src <sources> helo-src <helos>\n"
              "match from local for any action \"out\"\n");
    send("alice@sender.example", {"bob@remote.example"}, "named");
    ASSERT_TRUE(wait_until([&] { return queue_empty(); }, std::chrono::seconds(30)))
        << slurp(log_path());
    const auto got = received();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0]["peer"], "127.0.0.3");
    EXPECT_EQ(got[0]["helo"], "three.example.test");
}

TEST_F(RelayBatch, DomainTableChoosesTheRelayHostOfEachDomain) {
    start_smarthost({});
    const auto url = "smtp://127.0.0.1:" + std::to_string(m_smarthost->port());
    start_mxd("table routes { remote.example = \"" + url + "\" }\n"
              "action \"out\" relay domain <routes>\n"
              "match from local for any action \"out\"\n");
    send("alice@sender.example", {"bob@remote.example", "carol@unrouted.example"}, "routed");
    ASSERT_TRUE(wait_until([&] { return received().size() == 1; }, std::chrono::seconds(30)))
        << slurp(log_path());
    EXPECT_EQ(received()[0]["rcpt_tos"], nlohmann::json::array({"bob@remote.example"}));
    // The domain without an entry waits, saying why.
    ASSERT_TRUE(wait_until([&] { return !queued("carol@unrouted.example").is_null() &&
                                        queued("carol@unrouted.example").dump().find(
                                            "no relay host for unrouted.example") != std::string::npos; },
                           std::chrono::seconds(10)))
        << mxctl({"-j", "show", "queue"}).out;
    EXPECT_TRUE(queued("bob@remote.example").is_null());
}

namespace {

// A 127/8 address with nothing on port 25, for a test's own MX host (port 25 is where MX
// delivery goes); "" when none of a few tries is free.
std::string free_loopback_for_port_25() {
    std::mt19937 random(std::random_device{}());
    for (int i = 0; i < 20; ++i) {
        const auto address = "127.0.25." + std::to_string(10 + random() % 240);
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(25);
        ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
        const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
        ::close(fd);
        if (free) {
            return address;
        }
    }
    return {};
}

} // namespace

TEST_F(RelayBatch, BackupRelaysOnlyToMxHostsPreferredToItsOwn) {
    if (!unit_test::Dnsmasq::available()) {
        GTEST_SKIP() << "dnsmasq is not installed";
    }
    if (::geteuid() != 0) {
        GTEST_SKIP() << "MX delivery goes to port 25, which needs root to listen on";
    }
    const auto primary = free_loopback_for_port_25();
    ASSERT_FALSE(primary.empty());
    // backup.test: primary (10), us (20), a third one (30) that must not be used.
    // best.test: us (10) first, so there is nothing to back up to.
    unit_test::Dnsmasq dns(dir() / "dnsmasq.log",
                           {"--host-record=primary.backup.test," + primary,
                            "--host-record=third.backup.test,127.0.0.1",
                            "--host-record=mx2.backup.test,127.0.0.1",
                            "--mx-host=backup.test,primary.backup.test,10",
                            "--mx-host=backup.test,mx2.backup.test,20",
                            "--mx-host=backup.test,third.backup.test,30",
                            "--mx-host=best.test,mx2.backup.test,10",
                            "--mx-host=best.test,primary.backup.test,20"});
    ASSERT_TRUE(dns.running()) << dns.log();
    use_nameserver(dns);
    start_smarthost({"--host", primary, "--port", "25"});
    ASSERT_FALSE(HasFatalFailure());
    start_mxd("action \"backup\" relay backup mx mx2.backup.test\n"
              "match from local for any action \"backup\"\n");
    send("alice@sender.example", {"bob@backup.test"}, "backed up");
    ASSERT_TRUE(wait_until([&] { return received().size() == 1; }, std::chrono::seconds(30)))
        << slurp(log_path()) << dns.log();
    EXPECT_EQ(received()[0]["rcpt_tos"], nlohmann::json::array({"bob@backup.test"}));
    // As the best MX of best.test, mxd does not relay to a host less preferred than itself.
    send("alice@sender.example", {"carol@best.test"}, "best");
    ASSERT_TRUE(wait_until([&] { return queued("carol@best.test").dump().find("best MX") !=
                                        std::string::npos; },
                           std::chrono::seconds(10)))
        << mxctl({"-j", "show", "queue"}).out << slurp(log_path());
    EXPECT_EQ(received().size(), 1u);
}

namespace {

// A loopback TCP port with nothing listening on it (bound, then closed).
int closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    static_cast<void>(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa));
    static_cast<void>(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len));
    ::close(fd);
    return ntohs(sa.sin_port);
}

} // namespace

TEST_F(RelayBatch, ShowRoutesListsSourceAndDestinationAddressesWithTheirErrors) {
    start_smarthost({});
    const auto port = std::to_string(m_smarthost->port());
    const auto dead = std::to_string(closed_port());
    start_mxd("action \"out\" relay host smtp://127.0.0.1:" + port + " src 127.0.0.2\n"
              "action \"dead\" relay host smtp://127.0.0.1:" + dead + "\n"
              "match from local for domain dead.example action \"dead\"\n"
              "match from local for any action \"out\"\n");
    send("alice@sender.example", {"bob@remote.example"}, "routed");
    send("alice@sender.example", {"carol@dead.example"}, "dead");
    ASSERT_TRUE(wait_until([&] { return received().size() == 1 &&
                                        queued("carol@dead.example").dump().find("connect") !=
                                            std::string::npos; },
                           std::chrono::seconds(30)))
        << slurp(log_path());
    const auto listing = mxctl({"-j", "show", "routes"});
    ASSERT_EQ(listing.status, 0) << listing.err;
    std::map<std::string, nlohmann::json> routes; // by port
    std::istringstream lines(listing.out);
    for (std::string line; std::getline(lines, line);) {
        const auto r = nlohmann::json::parse(line);
        routes[std::to_string(r["port"].get<int>())] = r;
    }
    ASSERT_EQ(routes.size(), 2u) << listing.out;
    const auto& ok = routes[port];
    EXPECT_EQ(ok["source"], "127.0.0.2");
    EXPECT_EQ(ok["local_address"], "127.0.0.2");
    EXPECT_EQ(ok["address"], "127.0.0.1");
    EXPECT_EQ(ok["state"], "ok");
    EXPECT_EQ(ok["connections"], 1);
    EXPECT_EQ(ok["errors"], 0);
    EXPECT_EQ(ok["penalty"], 0);
    EXPECT_EQ(ok["active"], 0);
    EXPECT_EQ(ok["last_error"], "");
    const auto& failing = routes[dead];
    EXPECT_TRUE(failing["source"].is_null());
    EXPECT_EQ(failing["state"], "failing");
    EXPECT_EQ(failing["connections"], 0);
    EXPECT_GE(failing["errors"].get<int>(), 1);
    EXPECT_GE(failing["penalty"].get<int>(), 1);
    EXPECT_THAT(failing["last_error"].get<std::string>(), HasSubstr("connect"));
    // For people, smtpctl's shape.
    const auto text = mxctl({"show", "routes"});
    ASSERT_EQ(text.status, 0) << text.err;
    EXPECT_THAT(text.out, HasSubstr(". 127.0.0.2 <-> 127.0.0.1:" + port + " () -"));
    EXPECT_THAT(text.out, HasSubstr(". [] <-> 127.0.0.1:" + dead + " () ND-- nconn=0"))
        << "never connected, failing";
    EXPECT_THAT(text.out, HasSubstr(" nconn=1 nerror=0 penalty=0 timeout=-"));
}

TEST_F(RelayBatch, EachRecipientKeepsItsDsnParametersInTheTransaction) {
    start_with_smarthost({"--dsn"});
    // RFC 3461: NOTIFY and ORCPT belong to each recipient, RET and ENVID to the message.
    const auto r = run(
        {"python3", "-c",
         "import smtplib\ns = smtplib.SMTP('127.0.0.1', " + std::to_string(smtp_port()) +
             ", timeout=10)\ns.ehlo('client')\n"
             "s.mail('alice@sender.example', ['RET=HDRS', 'ENVID=env42'])\n"
             "s.rcpt('r1@remote.example', ['NOTIFY=NEVER'])\n"
             "s.rcpt('r2@remote.example', ['NOTIFY=SUCCESS,FAILURE', "
             "'ORCPT=rfc822;orig2@remote.example'])\n"
             "s.rcpt('r3@remote.example')\n"
             "s.data('Subject: dsn\\r\\n\\r\\nhello\\r\\n')\ns.quit()\n"});
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_TRUE(wait_until([&] { return queue_empty(); }, std::chrono::seconds(30)))
        << slurp(log_path());
    const auto got = received();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0]["dsn_mail"], nlohmann::json::array({"RET=HDRS", "ENVID=env42"}));
    std::map<std::string, std::string> options; // recipient -> its DSN parameters
    for (std::size_t i = 0; i < got[0]["rcpt_tos"].size(); ++i) {
        options[got[0]["rcpt_tos"][i].get<std::string>()] = got[0]["rcpt_options"][i].dump();
    }
    ASSERT_EQ(options.size(), 3u);
    EXPECT_EQ(options["r1@remote.example"], R"(["NOTIFY=NEVER"])");
    EXPECT_EQ(options["r2@remote.example"],
              R"(["NOTIFY=SUCCESS,FAILURE","ORCPT=rfc822;orig2@remote.example"])");
    EXPECT_EQ(options["r3@remote.example"], "[]");
}

TEST_F(RelayBatch, ARefusedRecipientWithNotifyNeverIsNotBounced) {
    start_with_smarthost({"--permfail", "r1@remote.example", "--permfail", "r2@remote.example"});
    const auto r = run(
        {"python3", "-c",
         "import smtplib\ns = smtplib.SMTP('127.0.0.1', " + std::to_string(smtp_port()) +
             ", timeout=10)\ns.ehlo('client')\ns.mail('alice@sender.example')\n"
             "s.rcpt('r1@remote.example', ['NOTIFY=NEVER'])\ns.rcpt('r2@remote.example')\n"
             "s.data('Subject: never\\r\\n\\r\\nhello\\r\\n')\ns.quit()\n"});
    ASSERT_EQ(r.status, 0) << r.err;
    // The bounce of r2 goes back to the smarthost (from <>); r1 asked for none (RFC 3461 4.1).
    ASSERT_TRUE(wait_until([&] { return received().size() == 1 && queue_empty(); },
                           std::chrono::seconds(30)))
        << slurp(log_path());
    EXPECT_EQ(received()[0]["mail_from"], "<>");
    EXPECT_THAT(eml(0), HasSubstr("Final-Recipient: rfc822; r2@remote.example"));
    EXPECT_THAT(eml(0), Not(HasSubstr("r1@remote.example")));
    EXPECT_EQ(received().size(), 1u);
}
