// SPDX-License-Identifier: ISC
// `match from rdns` against a real nameserver (dnsmasq on loopback): the client's host name is
// looked up only because a rule needs it, confirmed forward (FCrDNS), shown in Received:, and a
// nameserver that never answers costs a bounded wait instead of a stalled session.
#include "tests/integration/daemon_fixture.hpp"
#include "tests/unit/daemon/dns/dnsmasq.hpp"

#include <gmock/gmock.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <fstream>

using namespace mxd_test;
using ::testing::HasSubstr;

namespace {

class Rdns : public DaemonFixture {
  protected:
    std::string extra_config() const override {
        return "action \"local\" mbox\n"
               "action \"out\" relay\n"
               "match from rdns \"trusted.example.test\" for any action \"out\"\n"
               "match from any for domain \"example.org\" action \"local\"\n";
    }
    void TearDown() override {
        ::unsetenv("MXD_RESOLV_CONF");
        DaemonFixture::TearDown();
    }
    // Points mxd's resolver at `nameserver` through MXD_RESOLV_CONF.
    void use_nameserver(const std::string& line) {
        std::ofstream(dir() / "resolv.conf") << line << "options timeout:1 attempts:1\n";
        ::setenv("MXD_RESOLV_CONF", (dir() / "resolv.conf").c_str(), 1);
    }
    // RCPT TO an outside domain from `source`; prints the reply code.
    RunResult relay_from(const std::string& source) {
        return run({"python3", "-c",
                    "import smtplib\ns = smtplib.SMTP('127.0.0.1', " + std::to_string(smtp_port()) +
                        ", timeout=30, source_address=('" + source +
                        "', 0))\ns.ehlo('client')\ns.mail('a@b.example')\n"
                        "print(s.rcpt('someone@gmail.example')[0])\ns.quit()\n"},
                   {.timeout = std::chrono::seconds(40)});
    }
};

} // namespace

TEST_F(Rdns, ForwardConfirmedNamesMatchRdnsRules) {
    // 127.0.0.2 has a PTR and an A record that agree; 127.0.0.3's PTR name points elsewhere;
    // 127.0.0.4 has no PTR at all.
    unit_test::Dnsmasq dns(dir() / "dnsmasq.log",
                           {"--local=/example.test/", "--local=/in-addr.arpa/",
                            "--host-record=trusted.example.test,127.0.0.2",
                            "--ptr-record=3.0.0.127.in-addr.arpa,trusted.example.test"});
    ASSERT_TRUE(dns.running()) << dns.log();
    use_nameserver(dns.nameserver_line());
    ASSERT_TRUE(start({"-T", "smtp"}));
    EXPECT_EQ(relay_from("127.0.0.2").out, "250\n");
    EXPECT_EQ(relay_from("127.0.0.3").out, "554\n"); // the PTR does not confirm
    EXPECT_EQ(relay_from("127.0.0.4").out, "554\n");
    const auto log = slurp(log_path());
    EXPECT_THAT(log, HasSubstr("rdns address=127.0.0.2 name=trusted.example.test"));
}

TEST_F(Rdns, ADeadNameserverCostsABoundedWaitAndNothingElse) {
    // A UDP socket that takes queries and never answers, as this machine's resolver does.
    const int silent = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(::getsockname(silent, reinterpret_cast<sockaddr*>(&sa), &len), 0);
    use_nameserver("nameserver 127.0.0.1:" + std::to_string(ntohs(sa.sin_port)) + "\n");
    ASSERT_TRUE(start({"-T", "smtp"}));
    // The rule that needs the name cannot match; the session still gets its answer.
    EXPECT_EQ(relay_from("127.0.0.2").out, "554\n");
    // Mail that no rule needs a name for is taken as usual.
    const auto r =
        run({"python3", "-c",
             "import smtplib\ns = smtplib.SMTP('127.0.0.1', " + std::to_string(smtp_port()) +
                 ", timeout=30)\nprint(s.sendmail('a@b.example', ['root@example.org'], 'Subject: "
                 "x\\r\\n\\r\\ny\\r\\n'))\n"
                 "s.quit()\n"},
            {.timeout = std::chrono::seconds(40)});
    EXPECT_EQ(r.out, "{}\n") << r.err;
    // The lookup was made, and gave up.
    EXPECT_THAT(slurp(log_path()), HasSubstr("rdns address=127.0.0.2 name=\"<"));
    ::close(silent);
}
