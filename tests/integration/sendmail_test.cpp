// SPDX-License-Identifier: ISC
// sendmail, mailq and the offline queue as programs use them: the real mxctl under the names
// sendmail and mailq, run as an unprivileged user (nobody), against the real mxd, which
// delivers to maildirs in the test directory.
#include "tests/integration/daemon_fixture.hpp"

#include <gmock/gmock.h>

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

using namespace mxd_test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// The user the programs run as: any user without access to the daemon's control commands.
const std::string k_user = "nobody";

class Sendmail : public DaemonFixture {
  protected:
    void SetUp() override {
        DaemonFixture::SetUp();
        if (::geteuid() != 0) {
            GTEST_SKIP() << "sendmail tests run programs as another user, which needs root";
        }
        // Deliveries run as nobody (the action's user), into DIR/maildir/RECIPIENT.
        std::filesystem::create_directories(dir() / "maildir");
        std::filesystem::permissions(dir() / "maildir", std::filesystem::perms::all);
        std::filesystem::create_directories(dir() / "bin");
        for (const char* name : {"sendmail", "mailq"}) {
            std::filesystem::create_symlink(mxctl_binary(), dir() / "bin" / name);
        }
        std::ofstream(config_path(), std::ios::app)
            << "action \"local\" maildir \"" << (dir() / "maildir").string()
            << "/%{user.username}\" user " << k_user << "\n"
            << "match from local for local action \"local\"\n";
    }
    void TearDown() override {
        DaemonFixture::TearDown();
        if (!m_group.empty()) {
            run({"groupdel", m_group});
        }
    }

    // Runs `program` (sendmail, mailq, or a path) as nobody with the daemon's socket.
    RunResult as_user(const std::string& program, const std::vector<std::string>& args,
                      const std::string& input = {},
                      const std::optional<std::string>& user = k_user) const {
        std::vector<std::string> argv{
            program.find('/') == std::string::npos ? (dir() / "bin" / program).string() : program};
        argv.insert(argv.end(), args.begin(), args.end());
        RunOptions options;
        options.env = {{"MXD_SOCKET", socket_path().string()}};
        options.input = input;
        options.user = user;
        return run(argv, options);
    }

    // The messages delivered to `user`'s maildir, in no order.
    std::vector<std::string> mailbox(const std::string& user) const {
        std::vector<std::string> out;
        std::error_code ec;
        for (const auto& entry :
             std::filesystem::directory_iterator(dir() / "maildir" / user / "new", ec)) {
            out.push_back(slurp(entry.path()));
        }
        return out;
    }

    // Waits for the message of `user`'s maildir that contains `marker`; "" at the deadline.
    std::string wait_for(const std::string& user, const std::string& marker) const {
        std::string found;
        wait_until(
            [&] {
                for (const auto& m : mailbox(user)) {
                    if (m.find(marker) != std::string::npos) {
                        found = m;
                        return true;
                    }
                }
                return false;
            },
            std::chrono::seconds(20));
        return found;
    }

    std::string host() const { return status().value("node", ""); }

    // A group for the offline directory, and a set-group-ID copy of mxctl named sendmail in
    // it, as a package installs it for _mxdq. Returns the copy's path.
    std::string setgid_sendmail() {
        m_group = "mxdq" + std::to_string(::getpid() % 100000);
        EXPECT_EQ(run({"groupadd", m_group}).status, 0);
        const group* g = ::getgrnam(m_group.c_str());
        if (g == nullptr) {
            ADD_FAILURE() << "groupadd " << m_group << " failed";
            return {};
        }
        const auto copy = dir() / "setgid" / "sendmail";
        std::filesystem::create_directories(copy.parent_path());
        std::filesystem::copy_file(mxctl_binary(), copy);
        EXPECT_EQ(::chown(copy.c_str(), 0, g->gr_gid), 0);
        EXPECT_EQ(::chmod(copy.c_str(), 02755), 0);
        EXPECT_EQ(::chown((spool() / "offline").c_str(), 0, g->gr_gid), 0);
        return copy.string();
    }

    std::vector<std::filesystem::path> offline_files() const {
        std::vector<std::filesystem::path> out;
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(spool() / "offline", ec)) {
            out.push_back(entry.path());
        }
        return out;
    }

    std::string m_group;
};

} // namespace

TEST_F(Sendmail, DashTFromAnUnprivilegedUserReachesRootsMailbox) {
    ASSERT_TRUE(start());
    const auto r = as_user("sendmail", {"-t"}, "To: root\nSubject: t\n\nhello\n");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "");
    const auto message = wait_for("root", "Subject: t");
    ASSERT_FALSE(message.empty()) << slurp(log_path());
    EXPECT_THAT(message, HasSubstr("\nhello\n"));
    // The sender is the submitting user, and the trace line says who that was.
    EXPECT_THAT(message, HasSubstr("Return-Path: <nobody@" + host() + ">"));
    EXPECT_THAT(message, HasSubstr("Received: from local (user nobody uid 65534)"));
    EXPECT_THAT(message, HasSubstr("for <root@" + host() + ">"));
}

TEST_F(Sendmail, DateMessageIdAndFromAreAddedWhenMissing) {
    ASSERT_TRUE(start());
    ASSERT_EQ(as_user("sendmail", {"root"}, "Subject: bare\n\nbody\n").status, 0);
    const auto added = wait_for("root", "Subject: bare");
    ASSERT_FALSE(added.empty()) << slurp(log_path());
    EXPECT_THAT(added, HasSubstr("\nDate: "));
    EXPECT_THAT(added, HasSubstr("\nMessage-ID: <"));
    EXPECT_THAT(added, HasSubstr("\nFrom: nobody <nobody@" + host() + ">\n"));

    const std::string own = "Date: Tue, 02 Jan 2024 15:04:05 +0000\nMessage-ID: <own@example.org>\n"
                            "From: Someone <someone@example.org>\nSubject: kept\n\nbody\n";
    ASSERT_EQ(as_user("sendmail", {"root"}, own).status, 0);
    const auto kept = wait_for("root", "Subject: kept");
    ASSERT_FALSE(kept.empty()) << slurp(log_path());
    EXPECT_THAT(kept, HasSubstr(own));
    EXPECT_EQ(kept.find("Message-ID:"), kept.rfind("Message-ID:"));

    // No header section at all: the first line is body, after the added fields and an empty line.
    ASSERT_EQ(as_user("sendmail", {"root"}, "just a line of text\n").status, 0);
    const auto headless = wait_for("root", "just a line of text");
    ASSERT_FALSE(headless.empty()) << slurp(log_path());
    EXPECT_THAT(headless, HasSubstr(">\n\njust a line of text\n"));
}

TEST_F(Sendmail, DashTSendsToCcAndBccAndRemovesBcc) {
    ASSERT_TRUE(start());
    const auto r = as_user("sendmail", {"-t"},
                           "To: Root <root>\nCc: (none)\nBcc: nobody\nSubject: copies\n\nx\n");
    ASSERT_EQ(r.status, 0) << r.err;
    const auto to_root = wait_for("root", "Subject: copies");
    const auto to_nobody = wait_for("nobody", "Subject: copies");
    ASSERT_FALSE(to_root.empty()) << slurp(log_path());
    ASSERT_FALSE(to_nobody.empty()) << slurp(log_path());
    EXPECT_THAT(to_root, Not(HasSubstr("Bcc:")));
    EXPECT_THAT(to_nobody, Not(HasSubstr("Bcc:")));
}

// Sympa (seed 000) runs as its own user and sends as the list's owner; the configuration
// allows that user that address.
TEST_F(Sendmail, SympaInvocationSendsAsTheListOwnerWhenTheSendersTableAllowsIt) {
    std::ofstream(config_path(), std::ios::app)
        << "table senders { " << k_user << " = \"list-owner@example.org\" }\n"
        << "table aliases { rcpt = root }\n"
        << "listen on socket senders <senders>\n"
        << "action \"lists\" maildir \"" << (dir() / "maildir").string()
        << "/%{user.username}\" user " << k_user << " alias <aliases>\n"
        << "match from local for domain \"example.org\" action \"lists\"\n";
    ASSERT_TRUE(start());
    const auto r = as_user(
        "sendmail", {"-oi", "-odi", "-oem", "-f", "list-owner@example.org", "rcpt@example.org"},
        "Subject: list post\n\nfirst\n.\nlast\n");
    ASSERT_EQ(r.status, 0) << r.err;
    const auto message = wait_for("root", "Subject: list post");
    ASSERT_FALSE(message.empty()) << slurp(log_path());
    EXPECT_THAT(message, HasSubstr("Return-Path: <list-owner@example.org>"));
    EXPECT_THAT(message, HasSubstr("\nfirst\n.\nlast\n")); // -oi: the dot line is text
}

TEST_F(Sendmail, AnotherSenderIsReplacedByTheUsersOwnAddress) {
    ASSERT_TRUE(start());
    ASSERT_EQ(
        as_user("sendmail", {"-f", "ceo@example.org", "root"}, "Subject: spoof\n\nx\n").status, 0);
    const auto message = wait_for("root", "Subject: spoof");
    ASSERT_FALSE(message.empty()) << slurp(log_path());
    EXPECT_THAT(message, HasSubstr("Return-Path: <nobody@" + host() + ">"));
    EXPECT_THAT(slurp(log_path()), HasSubstr("sender-forced"));
    // root may send as anyone.
    ASSERT_EQ(as_user("sendmail", {"-f", "ceo@example.org", "root"}, "Subject: as root\n\nx\n",
                      std::nullopt)
                  .status,
              0);
    EXPECT_THAT(wait_for("root", "Subject: as root"), HasSubstr("Return-Path: <ceo@example.org>"));
}

TEST_F(Sendmail, CronInvocationWithItsFullName) {
    ASSERT_TRUE(start());
    const auto r = as_user("sendmail", {"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"},
                           "Subject: Cron <nobody@host> true\n\noutput\n");
    ASSERT_EQ(r.status, 0) << r.err;
    const auto message = wait_for("root", "Subject: Cron");
    ASSERT_FALSE(message.empty()) << slurp(log_path());
    EXPECT_THAT(message, HasSubstr("From: CronDaemon <nobody@" + host() + ">"));
}

TEST_F(Sendmail, DotEndsTheMessageUnlessDashI) {
    ASSERT_TRUE(start());
    ASSERT_EQ(as_user("sendmail", {"root"}, "Subject: dotted\n\nbefore\n.\nafter\n").status, 0);
    const auto message = wait_for("root", "Subject: dotted");
    ASSERT_FALSE(message.empty()) << slurp(log_path());
    EXPECT_THAT(message, HasSubstr("before\n"));
    EXPECT_THAT(message, Not(HasSubstr("after")));
}

TEST_F(Sendmail, DashBsSpeaksSmtpOnStdinAndQueues) {
    ASSERT_TRUE(start());
    const auto r =
        as_user("sendmail", {"-bs"},
                "EHLO client\r\nMAIL FROM:<nobody>\r\nRCPT TO:<root>\r\n"
                "RCPT TO:<someone@elsewhere.example>\r\nDATA\r\nSubject: over smtp\r\n\r\n"
                "..leading dot\r\n.\r\nQUIT\r\n");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("220 "));
    EXPECT_THAT(r.out, HasSubstr("250-"));
    EXPECT_THAT(r.out, HasSubstr("250 2.1.5 "));
    EXPECT_THAT(r.out, HasSubstr("550 5.1.1 ")); // no rule relays elsewhere.example
    EXPECT_THAT(r.out, HasSubstr("354 "));
    EXPECT_THAT(r.out, HasSubstr("Message accepted for delivery"));
    EXPECT_THAT(r.out, HasSubstr("221 2.0.0"));
    const auto message = wait_for("root", "Subject: over smtp");
    ASSERT_FALSE(message.empty()) << slurp(log_path());
    EXPECT_THAT(message, HasSubstr("\n.leading dot\n"));
}

TEST_F(Sendmail, UnknownOptionsAndModesAreUsageErrors) {
    ASSERT_TRUE(start());
    auto r = as_user("sendmail", {"-Z", "root"}, "x\n");
    EXPECT_EQ(r.status, 64);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "sendmail: unknown option -Z; see sendmail --help\n");
    r = as_user("sendmail", {"-bt"});
    EXPECT_EQ(r.status, 64);
    EXPECT_THAT(r.err, HasSubstr("-bt is not supported"));
    r = as_user("sendmail", {}, "Subject: nobody to send to\n\nx\n");
    EXPECT_EQ(r.status, 64);
    EXPECT_THAT(r.err, HasSubstr("no recipients"));
    r = as_user("sendmail", {"--help"});
    EXPECT_EQ(r.status, 0);
    EXPECT_THAT(r.out, HasSubstr("Usage: sendmail"));
    // The same through mxctl.
    r = run({mxctl_binary(), "sendmail", "-Z"});
    EXPECT_EQ(r.status, 64);
    EXPECT_EQ(r.err, "mxctl sendmail: unknown option -Z; see mxctl sendmail --help\n");
}

TEST_F(Sendmail, RefusedRecipientsExit67AndTheOthersGetTheMessage) {
    ASSERT_TRUE(start());
    const auto r =
        as_user("sendmail", {"root", "someone@elsewhere.example"}, "Subject: partly\n\nx\n");
    EXPECT_EQ(r.status, 67);
    EXPECT_THAT(r.err, HasSubstr("someone@elsewhere.example"));
    EXPECT_FALSE(wait_for("root", "Subject: partly").empty()) << slurp(log_path());
    const auto none = as_user("sendmail", {"someone@elsewhere.example"}, "Subject: nowhere\n\nx\n");
    EXPECT_EQ(none.status, 67);
}

TEST_F(Sendmail, ALargeMessageGoesOverInPartsIntact) {
    ASSERT_TRUE(start());
    std::string body;
    for (int i = 0; body.size() < 1536 * 1024; ++i) {
        body += "line " + std::to_string(i) + " of a long message\n";
    }
    ASSERT_EQ(as_user("sendmail", {"root"}, "Subject: large\n\n" + body + "the end\n").status, 0);
    const auto message = wait_for("root", "the end");
    ASSERT_FALSE(message.empty()) << slurp(log_path());
    EXPECT_THAT(message, HasSubstr("\n\n" + body + "the end\n"));
}

TEST_F(Sendmail, MailqShowsOnlyTheirOwnMessagesToAUserWithoutReadAccess) {
    ASSERT_TRUE(start({"-P", "mda"})); // deliveries wait: the messages stay queued
    auto empty = as_user("mailq", {});
    ASSERT_EQ(empty.status, 0) << empty.err;
    EXPECT_EQ(empty.out, "Mail queue is empty\n");
    ASSERT_EQ(as_user("sendmail", {"root"}, "Subject: from nobody\n\nx\n").status, 0);
    ASSERT_EQ(
        as_user("sendmail", {"root", "nobody"}, "Subject: from root\n\nx\n", std::nullopt).status,
        0);
    const auto all = as_user("mailq", {}, {}, std::nullopt);
    ASSERT_EQ(all.status, 0) << all.err;
    EXPECT_THAT(all.out,
                HasSubstr("-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"));
    EXPECT_THAT(all.out, HasSubstr("  nobody@" + host() + "\n"));
    EXPECT_THAT(all.out, HasSubstr("  root@" + host() + "\n"));
    EXPECT_THAT(all.out, HasSubstr("in 2 Requests.\n"));
    const auto own = as_user("mailq", {});
    ASSERT_EQ(own.status, 0) << own.err;
    EXPECT_THAT(own.out, HasSubstr("  nobody@" + host() + "\n"));
    EXPECT_THAT(own.out, Not(HasSubstr(std::string(41, ' ') + "nobody@"))); // root's message
    EXPECT_THAT(own.out, HasSubstr("in 1 Request.\n"));
    // sendmail -bp is mailq.
    EXPECT_EQ(as_user("sendmail", {"-bp"}).out, own.out);
}

TEST_F(Sendmail, WithTheDaemonStoppedTheMessageWaitsOfflineAndIsDeliveredAtStart) {
    ASSERT_TRUE(start());
    ASSERT_EQ(stop(), 0);
    struct stat st {};
    ASSERT_EQ(::stat((spool() / "offline").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 01770u); // sticky, and nothing for others
    const auto sendmail = setgid_sendmail();
    ASSERT_FALSE(sendmail.empty());

    const auto config = "-C" + config_path().string();
    const auto r = as_user(sendmail, {config, "-t"}, "To: root\nSubject: offline\n\nhello\n");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "");
    ASSERT_EQ(offline_files().size(), 1u);
    ASSERT_EQ(::stat(offline_files().front().c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 65534u); // the submitting user, whom the daemon believes
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    // Without the group, nothing is written and the caller is told to try again later.
    const auto refused = as_user("sendmail", {config, "root"}, "Subject: no group\n\nx\n");
    EXPECT_EQ(refused.status, 75);
    EXPECT_THAT(refused.err, HasSubstr("Permission denied"));
    EXPECT_EQ(offline_files().size(), 1u);

    ASSERT_TRUE(start());
    const auto message = wait_for("root", "Subject: offline");
    ASSERT_FALSE(message.empty()) << slurp(log_path());
    EXPECT_THAT(message, HasSubstr("Return-Path: <nobody@" + host() + ">"));
    EXPECT_THAT(message, HasSubstr("\nMessage-ID: <"));
    EXPECT_TRUE(wait_until([&] { return offline_files().empty(); }, std::chrono::seconds(10)));
}
