// SPDX-License-Identifier: ISC
// SMTP sessions with real clients (python3 smtplib, swaks) against a real mxd: what they are
// told, and what ends up in `show queue`.
#include "tests/integration/daemon_fixture.hpp"

#include <gmock/gmock.h>

#include <map>
#include <sstream>

using namespace mxd_test;
using nlohmann::json;
using ::testing::HasSubstr;

namespace {

class Smtp : public DaemonFixture {
  protected:
    std::string extra_config() const override {
        // Every address of the domains is the local user root, so that expansion finds a user.
        return "table vdoms { example.org, example.net }\n"
               "table vusers { \"@example.org\" = root, \"@example.net\" = root }\n"
               "action \"local\" mbox virtual <vusers>\n"
               "action \"out\" relay\n"
               "match from any for domain <vdoms> action \"local\"\n"
               "match from local for any action \"out\"\n"
               "smtp limit max-sessions-per-client 2\n"
               "table names { 127.0.0.1 = mx.names.example }\n"
               "listen on 127.0.0.1 port 0 hostnames <names>\n";
    }
    // Runs a python3 smtplib script with PORT set; returns what it printed.
    RunResult python(const std::string& script) {
        return run({"python3", "-c",
                    "import smtplib, sys\nPORT = " + std::to_string(smtp_port()) + "\n" + script});
    }
    std::vector<json> queue() {
        std::vector<json> out;
        std::istringstream lines(mxctl({"-j", "show", "queue"}).out);
        for (std::string line; std::getline(lines, line);) {
            out.push_back(json::parse(line));
        }
        return out;
    }
};

} // namespace

TEST_F(Smtp, SmtplibSessionIsQueuedWithOneEnvelopePerRecipient) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"})); // held: these tests look at the queue
    const auto r = python(
        "s = smtplib.SMTP('127.0.0.1', PORT, timeout=10)\n"
        "code, text = s.ehlo('client.example.net')\n"
        "print(code, 'PIPELINING' in text.decode(), 'ENHANCEDSTATUSCODES' in text.decode())\n"
        "print(s.sendmail('alice@sender.net', ['bob@example.org', 'carol@example.net'],\n"
        "    'Subject: hi\\r\\n\\r\\nhello\\r\\n.leading dot\\r\\n'))\n"
        "print(s.quit()[0])\n");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "250 True True\n{}\n221\n");
    const auto envelopes = queue();
    ASSERT_EQ(envelopes.size(), 2u);
    std::set<std::string> rcpts;
    for (const auto& e : envelopes) {
        rcpts.insert(e["rcpt"]);
        EXPECT_EQ(e["sender"], "alice@sender.net");
        EXPECT_EQ(e["action"], "local");
        EXPECT_EQ(e["dest"], "root") << "expanded through the virtual table";
        EXPECT_EQ(e["msgid"], envelopes[0]["msgid"]) << "one message, stored once";
    }
    EXPECT_EQ(rcpts, (std::set<std::string>{"bob@example.org", "carol@example.net"}));
}

TEST_F(Smtp, NoOpenRelayForARemoteUnauthenticatedClient) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"})); // held: these tests look at the queue
    // 127.0.0.2 is a loopback address, but not the <localhost> of `from local`.
    const auto r =
        python("s = smtplib.SMTP('127.0.0.1', PORT, timeout=10, source_address=('127.0.0.2', 0))\n"
               "s.ehlo('client.example.net')\n"
               "s.mail('alice@sender.net')\n"
               "print(s.rcpt('victim@gmail.com')[0])\n"
               "print(s.rcpt('bob@example.org')[0])\n"
               "s.quit()\n");
    ASSERT_EQ(r.status, 0) << r.err;
    std::istringstream lines(r.out);
    int relay = 0, local = 0;
    lines >> relay >> local;
    EXPECT_GE(relay, 500) << r.out;
    EXPECT_LT(relay, 600);
    EXPECT_EQ(local, 250);
    EXPECT_TRUE(queue().empty());
}

TEST_F(Smtp, LocalClientsMayRelayAsTheRulesSay) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"})); // held: these tests look at the queue
    const auto r = python(
        "s = smtplib.SMTP('127.0.0.1', PORT, timeout=10)\n"
        "s.sendmail('root@localhost', ['someone@gmail.com'], 'Subject: out\\r\\n\\r\\nx\\r\\n')\n"
        "s.quit()\n");
    ASSERT_EQ(r.status, 0) << r.err;
    const auto envelopes = queue();
    ASSERT_EQ(envelopes.size(), 1u);
    EXPECT_EQ(envelopes[0]["type"], "mta");
    EXPECT_EQ(envelopes[0]["action"], "out");
}

TEST_F(Smtp, SwaksWithPipelining) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"})); // held: these tests look at the queue
    const auto r =
        run({"swaks", "--server", "127.0.0.1", "--port", std::to_string(smtp_port()), "--pipeline",
             "--from", "alice@sender.net", "--to", "bob@example.org", "--helo",
             "client.example.net", "--header", "Subject: swaks", "--body", "hello from swaks"});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("<-  250 2.0.0")) << r.out;
    ASSERT_EQ(queue().size(), 1u);
}

TEST_F(Smtp, BadCommandsGetErrorsAndTheSessionGoesOn) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"})); // held: these tests look at the queue
    const auto r = python("s = smtplib.SMTP('127.0.0.1', PORT, timeout=10)\n"
                          "print(s.docmd('MAIL FROM:<a@b.org>')[0])\n" // before HELO
                          "s.ehlo('x.example.net')\n"
                          "print(s.docmd('RCPT TO:<bob@example.org>')[0])\n" // before MAIL
                          "print(s.docmd('FROB')[0])\n"
                          "print(s.docmd('MAIL FROM:<a@b.org> SIZE=999999999999')[0])\n"
                          "print(s.docmd('MAIL FROM:<not an address>')[0])\n"
                          "print(s.docmd('X' * 5000)[0])\n"
                          "print(s.docmd('DATA')[0])\n"
                          "print(s.noop()[0], s.rset()[0], s.docmd('VRFY bob')[0])\n"
                          "s.quit()\n");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "503\n503\n500\n552\n501\n500\n503\n250 250 252\n");
    EXPECT_EQ(mxctl({"show", "status"}).status, 0);
}

namespace {

// Seed 000's shape: list addresses map to pipes into Sympa's queue program.
class SmtpExpansion : public Smtp {
  protected:
    std::string extra_config() const override {
        return "table lists { \"test@mail.example.org\" = \"| /usr/lib/sympa/libexec/queue "
               "test@mail.example.org\","
               " \"test-owner@mail.example.org\" = \"postmaster@\" }\n"
               "table postmasters { \"postmaster@mail.example.org\" = root }\n"
               "action \"lists\" mda \"/bin/true\" virtual <lists>\n"
               "action \"local\" mbox virtual <postmasters>\n"
               "match from any for any rcpt-to <postmasters> action \"local\"\n"
               "match from any for domain \"mail.example.org\" action \"lists\"\n";
    }
};

} // namespace

TEST_F(SmtpExpansion, SympaListAddressesExpandToPipesAndChains) {
    ASSERT_TRUE(start({"-T", "expand", "-P", "mda", "-P", "mta"}));
    const auto r = python("s = smtplib.SMTP('127.0.0.1', PORT, timeout=10)\n"
                          "s.ehlo('client.example.net')\n"
                          "s.mail('alice@sender.net')\n"
                          "print(s.rcpt('test@mail.example.org')[0])\n"
                          "print(s.rcpt('test-owner@mail.example.org')[0])\n"
                          "print(s.rcpt('nosuchlist@mail.example.org')[0])\n"
                          "print(s.data('Subject: list\\r\\n\\r\\nhello list\\r\\n')[0])\n"
                          "s.quit()\n");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "250\n250\n550\n250\n");
    std::map<std::string, json> by_rcpt;
    for (const auto& e : queue()) {
        by_rcpt[e["rcpt"]] = e;
    }
    ASSERT_EQ(by_rcpt.size(), 2u);
    EXPECT_EQ(by_rcpt["test@mail.example.org"]["dest"],
              "|/usr/lib/sympa/libexec/queue test@mail.example.org");
    EXPECT_EQ(by_rcpt["test@mail.example.org"]["action"], "lists");
    // `postmaster@` means postmaster at the list's domain, which goes through the rules again.
    EXPECT_EQ(by_rcpt["test-owner@mail.example.org"]["dest"], "root");
    EXPECT_EQ(by_rcpt["test-owner@mail.example.org"]["action"], "local");
    EXPECT_THAT(slurp(log_path()), HasSubstr(" expand step rcpt=test@mail.example.org "));
}

TEST_F(Smtp, OneClientGetsAtMostItsSessionsAndOthersAreNotAffected) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"})); // held: these tests look at the queue
    // Two sessions from 127.0.0.1 are greeted; the third is told to come back later; a client
    // from another address still gets in; once one closes, 127.0.0.1 may connect again.
    const auto r = python(
        "import socket\n"
        "def connect(src='127.0.0.1'):\n"
        "    c = socket.create_connection(('127.0.0.1', PORT), timeout=10, source_address=(src, "
        "0))\n"
        "    return c, c.recv(512).decode().split(' ')[0]\n"
        "a, ca = connect(); b, cb = connect(); c, cc = connect(); d, cd = connect('127.0.0.2')\n"
        "print(ca, cb, cc, cd)\n"
        "a.close()\n"
        "import time\n"
        "for _ in range(100):\n"
        "    e, ce = connect()\n"
        "    if ce == '220': break\n"
        "    time.sleep(0.05)\n"
        "print(ce)\n");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "220 220 421 220\n220\n");
}

TEST_F(Smtp, HostnamesTableNamesTheServerPerAddress) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"})); // held: these tests look at the queue
    const auto listeners = status()["listeners"];
    ASSERT_EQ(listeners.size(), 2u);
    const auto r = run({"python3", "-c",
                        "import smtplib\ns = smtplib.SMTP('127.0.0.1', " +
                            std::to_string(listeners[1]["port"].get<int>()) +
                            ", timeout=10)\nprint(s.ehlo()[1].decode().split()[0])\ns.quit()\n"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "mx.names.example\n");
}
