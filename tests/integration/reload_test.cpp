// SPDX-License-Identifier: ISC
// mxctl reload against a running mxd: a changed action takes effect for the next message, a
// broken file is refused with mxd -n's diagnostics (exit 78) while mail keeps flowing under the
// old configuration, a session open across the reload completes, a new listener opens, and an
// envelope whose action a reload removed waits in the queue until the action returns.
#include "tests/integration/daemon_fixture.hpp"
#include "tests/integration/process.hpp"
#include "tests/integration/system_user.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

using namespace mxd_test;
using ::testing::HasSubstr;

namespace {

class Reload : public DaemonFixture {
  protected:
    // The fixture's base configuration plus a maildir action named `action` into `box` in the
    // test user's home, and a rule sending all mail for this machine to it.
    void write_config(const std::string& box, const std::string& action = "local",
                      const std::string& extra = {}) {
        std::ofstream(config_path()) << "queue directory \"" << spool().string() << "\"\n"
                                     << "listen on 127.0.0.1 port " << m_port << "\n"
                                     << extra << "action \"" << action << "\" maildir \""
                                     << (m_user.home() / box).string() << "\"\n"
                                     << "match from any for local action \"" << action << "\"\n";
    }
    // Sends one message to the test user with python3 smtplib; false when it is refused.
    bool send(const std::string& subject, int port = 0) {
        const auto r = run({"python3", "-c",
                            "import smtplib, sys\ns = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), "
                            "timeout=10)\ns.sendmail('alice@sender.example', [sys.argv[3]], "
                            "'Subject: ' + sys.argv[2] + '\\r\\n\\r\\nhello\\r\\n')\ns.quit()\n",
                            std::to_string(port == 0 ? m_port : port), subject, rcpt()});
        return r.status == 0;
    }
    std::string rcpt() const { return m_user.name() + "@localhost"; }
    // How many messages the maildir `box` holds.
    std::size_t delivered(const std::string& box) const {
        std::size_t n = 0;
        std::error_code ec;
        for (auto it = std::filesystem::directory_iterator(m_user.home() / box / "new", ec);
             !ec && it != std::filesystem::directory_iterator(); ++it) {
            ++n;
        }
        return n;
    }
    // A loopback port that was free a moment ago.
    static int free_port() {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        ::close(fd);
        return ntohs(a.sin_port);
    }
    void SetUp() override {
        DaemonFixture::SetUp();
        if (::geteuid() != 0) {
            GTEST_SKIP() << "maildir delivery runs as the recipient, a system user only root can create";
        }
        ASSERT_TRUE(m_user.ok());
        m_port = free_port();
    }

    SystemUser m_user;
    int m_port = 0;
};

} // namespace

TEST_F(Reload, AChangedActionTakesEffectForTheNextMessage) {
    write_config("box1");
    ASSERT_TRUE(start());
    ASSERT_TRUE(send("first"));
    ASSERT_TRUE(wait_until([&] { return delivered("box1") == 1; }, std::chrono::seconds(20)))
        << slurp(log_path());

    write_config("box2");
    const auto reloaded = mxctl({"reload"});
    ASSERT_EQ(reloaded.status, 0) << reloaded.err;
    EXPECT_THAT(reloaded.out, HasSubstr("configuration reloaded from " + config_path().string()));
    EXPECT_EQ(status().value("config_generation", 0), 2);
    ASSERT_TRUE(send("second"));
    ASSERT_TRUE(wait_until([&] { return delivered("box2") == 1; }, std::chrono::seconds(20)))
        << slurp(log_path());
    EXPECT_EQ(delivered("box1"), 1U);
}

TEST_F(Reload, ABrokenFileIsRefusedWithItsDiagnosticsAndTheOldConfigurationServesOn) {
    write_config("box1");
    ASSERT_TRUE(start());
    // Line 4 of the new file has a misspelt keyword.
    std::ofstream(config_path()) << "queue directory \"" << spool().string() << "\"\n"
                                 << "listen on 127.0.0.1 port " << m_port << "\n"
                                 << "action \"local\" maildir \"" << (m_user.home() / "box2").string() << "\"\n"
                                 << "mtach from any for local action \"local\"\n";
    const auto refused = mxctl({"reload"});
    EXPECT_EQ(refused.status, 78) << refused.out << refused.err;
    EXPECT_THAT(refused.err, HasSubstr(config_path().string() + ":4:1: error"));
    // The same diagnostics as mxd -n.
    const auto checked = run({mxd_binary(), "-n", "-f", config_path().string()});
    EXPECT_EQ(checked.status, 1);
    EXPECT_THAT(checked.err, HasSubstr(config_path().string() + ":4:1: error"));
    // Mail keeps flowing under the configuration that runs.
    ASSERT_TRUE(send("still served"));
    ASSERT_TRUE(wait_until([&] { return delivered("box1") == 1; }, std::chrono::seconds(20)))
        << slurp(log_path());
    EXPECT_EQ(delivered("box2"), 0U);
    EXPECT_EQ(status().value("config_generation", 0), 1);
}

TEST_F(Reload, ASessionOpenAcrossTheReloadCompletes) {
    write_config("box1");
    ASSERT_TRUE(start());
    // The client gets as far as RCPT, waits for the reload, then sends its message.
    const auto ready = dir() / "ready";
    const auto go = dir() / "go";
    Background client({"python3", "-c",
                       "import smtplib, sys, os, time\n"
                       "s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=30)\n"
                       "s.ehlo('client.example')\n"
                       "s.mail('alice@sender.example')\n"
                       "s.rcpt(sys.argv[4])\n"
                       "open(sys.argv[2], 'w').close()\n"
                       "deadline = time.time() + 20\n"
                       "while not os.path.exists(sys.argv[3]) and time.time() < deadline:\n"
                       "    time.sleep(0.05)\n"
                       "print(s.data('Subject: across\\r\\n\\r\\nhello\\r\\n')[0])\n"
                       "s.quit()\n",
                       std::to_string(m_port), ready.string(), go.string(), rcpt()},
                      dir() / "client.log");
    ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(ready); }, std::chrono::seconds(20)))
        << slurp(dir() / "client.log");
    write_config("box2");
    const auto reloaded = mxctl({"reload"});
    ASSERT_EQ(reloaded.status, 0) << reloaded.err;
    std::ofstream(go).close();
    const auto exited = client.wait(std::chrono::seconds(30));
    ASSERT_TRUE(exited.has_value());
    EXPECT_EQ(*exited, 0) << slurp(dir() / "client.log");
    EXPECT_THAT(slurp(dir() / "client.log"), HasSubstr("250"));
    // Queued under the old rules, delivered by the action "local" as it is now defined.
    ASSERT_TRUE(wait_until([&] { return delivered("box2") == 1; }, std::chrono::seconds(20)))
        << slurp(log_path());
}

TEST_F(Reload, AListenerAddedByTheReloadAcceptsMail) {
    write_config("box1");
    ASSERT_TRUE(start());
    const int second = free_port();
    write_config("box1", "local", "listen on 127.0.0.1 port " + std::to_string(second) + "\n");
    const auto reloaded = mxctl({"reload"});
    ASSERT_EQ(reloaded.status, 0) << reloaded.err;
    EXPECT_THAT(reloaded.out, HasSubstr("listening on 127.0.0.1 port " + std::to_string(second)));
    ASSERT_TRUE(send("on the new port", second));
    ASSERT_TRUE(send("on the old port"));
    ASSERT_TRUE(wait_until([&] { return delivered("box1") == 2; }, std::chrono::seconds(20)))
        << slurp(log_path());
    // Removed again: the port closes.
    write_config("box1");
    ASSERT_EQ(mxctl({"reload"}).status, 0);
    EXPECT_FALSE(send("refused", second));
}

TEST_F(Reload, AnEnvelopeWhoseActionWasRemovedWaitsUntilItReturns) {
    write_config("box1");
    ASSERT_TRUE(start({"-P", "mda"}));
    ASSERT_TRUE(send("waits"));
    // The action is renamed: the queued envelope names one that no longer exists.
    write_config("box1", "renamed");
    ASSERT_EQ(mxctl({"reload"}).status, 0);
    ASSERT_EQ(mxctl({"resume", "mda"}).status, 0);
    ASSERT_TRUE(wait_until([&] { return mxctl({"show", "queue"}).out.find("is not in the configuration") != std::string::npos; },
                           std::chrono::seconds(20)))
        << mxctl({"show", "queue"}).out << slurp(log_path());
    EXPECT_EQ(delivered("box1"), 0U);
    // The action is back: the envelope goes at once, not at its next retry (minutes away).
    write_config("box1");
    ASSERT_EQ(mxctl({"reload"}).status, 0);
    ASSERT_TRUE(wait_until([&] { return delivered("box1") == 1; }, std::chrono::seconds(20)))
        << slurp(log_path());
    EXPECT_TRUE(wait_until([&] { return mxctl({"show", "queue"}).out.empty(); }, std::chrono::seconds(10)));
}

TEST_F(Reload, SighupReloadsToo) {
    write_config("box1");
    ASSERT_TRUE(start());
    write_config("box2");
    ASSERT_EQ(::kill(daemon()->pid(), SIGHUP), 0);
    ASSERT_TRUE(wait_until([&] { return status().value("config_generation", 0) == 2; }, std::chrono::seconds(20)))
        << slurp(log_path());
    ASSERT_TRUE(send("after sighup"));
    ASSERT_TRUE(wait_until([&] { return delivered("box2") == 1; }, std::chrono::seconds(20)))
        << slurp(log_path());
}
