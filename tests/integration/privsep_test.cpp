// SPDX-License-Identifier: ISC
// Privilege separation (DESIGN "Security") and the per-user MDA limit: mxd started as root
// serves as _mxd beside a root process that only starts deliveries; that process goes when
// the daemon does; a missing _mxd is a clear error; deliveries to one user take turns.
#include "tests/integration/daemon_fixture.hpp"
#include "tests/integration/system_user.hpp"
#include "tests/unit/daemon/mta/test_server.hpp"

#include <gmock/gmock.h>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <memory>
#include <sstream>

using namespace mxd_test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// The uid of _mxd; -1 when it does not exist.
uid_t mxd_uid() {
    const passwd* pw = ::getpwnam("_mxd");
    return pw != nullptr ? pw->pw_uid : static_cast<uid_t>(-1);
}

// "Uid:" of /proc/PID/status: real, effective, saved, file system; empty when gone.
std::vector<uid_t> uids_of(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("Uid:", 0) == 0) {
            std::istringstream in(line.substr(4));
            std::vector<uid_t> out;
            uid_t u = 0;
            while (in >> u) {
                out.push_back(u);
            }
            return out;
        }
    }
    return {};
}

// The children of `parent` whose name (comm) is `name`.
std::vector<pid_t> children_named(pid_t parent, const std::string& name) {
    std::vector<pid_t> out;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const auto pid_text = entry.path().filename().string();
        if (pid_text.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        const std::string stat = slurp(entry.path() / "stat");
        const auto close = stat.rfind(')');
        const auto open = stat.find('(');
        if (close == std::string::npos || open == std::string::npos) {
            continue;
        }
        std::istringstream rest(stat.substr(close + 2));
        char state = 0;
        pid_t ppid = 0;
        rest >> state >> ppid;
        if (ppid == parent && stat.substr(open + 1, close - open - 1) == name) {
            out.push_back(std::stoi(pid_text));
        }
    }
    return out;
}

// Gone, or a zombie nobody reaped yet: it runs no more.
bool ended(pid_t pid) {
    const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    const auto close = stat.rfind(')');
    return stat.empty() || close == std::string::npos || stat.substr(close + 2, 1) == "Z";
}

class Privsep : public DaemonFixture {
  protected:
    void SetUp() override {
        DaemonFixture::SetUp();
        if (::geteuid() != 0) {
            GTEST_SKIP() << "privilege separation happens when mxd starts as root";
        }
        ASSERT_NE(mxd_uid(), static_cast<uid_t>(-1)) << "no _mxd user: run scripts/setup as root";
    }
    void send(const std::string& rcpt, const std::string& subject) {
        const auto r = run({"python3", "-c",
                            "import smtplib, sys\ns = smtplib.SMTP('127.0.0.1', " +
                                std::to_string(smtp_port()) +
                                ", timeout=10)\ns.sendmail('alice@sender.example', [sys.argv[1]], "
                                "'Subject: ' + sys.argv[2] + '\\r\\n\\r\\nhello\\r\\n')\ns.quit()\n",
                            rcpt, subject});
        ASSERT_EQ(r.status, 0) << r.err;
    }
    // DIR/out, which every user may write: where the tests' delivery commands leave files.
    std::filesystem::path open_out_dir() const {
        const auto out = dir() / "out";
        std::filesystem::create_directories(out);
        std::filesystem::permissions(out, std::filesystem::perms::all);
        return out;
    }
    // Writes FILE as USER's (mode 0600), with the .forward line that pipes mail into INTO.
    // False when it cannot give the file to the user.
    static bool write_forward(const SystemUser& user, const std::filesystem::path& file,
                              const std::filesystem::path& into) {
        std::ofstream(file) << "\"| cat > " << into.string() << "\"\n";
        std::filesystem::permissions(file, std::filesystem::perms::owner_read |
                                               std::filesystem::perms::owner_write);
        return ::chown(file.c_str(), user.uid(), static_cast<gid_t>(-1)) == 0;
    }
};

} // namespace

TEST_F(Privsep, TheDaemonServesAsMxdBesideARootPrivilegedProcess) {
    ASSERT_TRUE(start());
    const pid_t pid = daemon()->pid();
    // Its pid is still the one status reports. The answer comes from the event loop, which
    // starts after the identity change (the socket accepts a moment before).
    EXPECT_EQ(status()["pid"], pid);
    EXPECT_EQ(uids_of(pid), std::vector<uid_t>(4, mxd_uid()));
    const auto privileged = children_named(pid, "mxd: privileged");
    ASSERT_EQ(privileged.size(), 1u);
    EXPECT_EQ(uids_of(privileged.front()), std::vector<uid_t>(4, 0));
    EXPECT_THAT(slurp("/proc/" + std::to_string(privileged.front()) + "/cmdline"),
                HasSubstr("mxd: privileged"));
    // The spool is _mxd's to write.
    struct stat st {};
    ASSERT_EQ(::stat((spool() / "queue.db").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, mxd_uid());
    // Root still administers it.
    EXPECT_EQ(mxctl({"pause", "smtp"}).status, 0);
    EXPECT_EQ(stop(), 0);
    // The privileged process removed the control socket, in a directory _mxd cannot write.
    EXPECT_FALSE(std::filesystem::exists(socket_path()));
    EXPECT_TRUE(ended(privileged.front()));
}

TEST_F(Privsep, KillingTheDaemonEndsThePrivilegedProcess) {
    ASSERT_TRUE(start());
    const pid_t pid = daemon()->pid();
    const auto privileged = children_named(pid, "mxd: privileged");
    ASSERT_EQ(privileged.size(), 1u);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    EXPECT_TRUE(wait_until([&] { return ended(privileged.front()); }, std::chrono::seconds(10)));
}

// A delivery running when the daemon is killed still ends under the privileged process, which
// reaps it and only then exits.
TEST_F(Privsep, ADeliveryInFlightEndsBeforeThePrivilegedProcessExits) {
    const auto out = dir() / "out";
    std::filesystem::create_directories(out);
    std::filesystem::permissions(out, std::filesystem::perms::all);
    // The command waits (at most 20 s) for the test's go-ahead.
    std::ofstream(dir() / "aliases")
        << "slow: \"| touch " << (out / "started").string() << "; i=0; while [ ! -e "
        << (out / "go").string() << " ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; touch "
        << (out / "done").string() << "\"\n";
    std::ofstream(config_path(), std::ios::app)
        << "table aliases file:" << (dir() / "aliases").string() << "\n"
        << "action \"local\" mbox alias <aliases>\n"
        << "match from any for local action \"local\"\n";
    ASSERT_TRUE(start());
    const pid_t pid = daemon()->pid();
    const auto privileged = children_named(pid, "mxd: privileged");
    ASSERT_EQ(privileged.size(), 1u);
    send("slow@localhost", "slow");
    ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(out / "started"); },
                           std::chrono::seconds(30)))
        << slurp(log_path());
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    ASSERT_TRUE(daemon()->wait(std::chrono::seconds(10)).has_value());
    EXPECT_FALSE(ended(privileged.front())); // it waits for its child
    std::ofstream(out / "go") << "go\n";
    EXPECT_TRUE(wait_until([&] { return ended(privileged.front()); }, std::chrono::seconds(15)));
    EXPECT_TRUE(std::filesystem::exists(out / "done"));
}

// Without its privileged process mxd could not deliver locally: it stops, with status 1.
TEST_F(Privsep, ThePrivilegedProcessDyingStopsTheDaemon) {
    ASSERT_TRUE(start());
    const pid_t pid = daemon()->pid();
    const auto privileged = children_named(pid, "mxd: privileged");
    ASSERT_EQ(privileged.size(), 1u);
    ASSERT_EQ(::kill(privileged.front(), SIGKILL), 0);
    const auto status = daemon()->wait(std::chrono::seconds(10));
    ASSERT_TRUE(status.has_value()) << slurp(log_path());
    EXPECT_EQ(*status, 1);
    EXPECT_THAT(slurp(log_path()), HasSubstr("privileged-process-gone"));
}

TEST_F(Privsep, AMissingUnprivilegedUserIsAClearConfigurationError) {
    RunOptions options;
    options.env["MXD_USER"] = "mxd-no-such-user";
    const auto r = run({mxd_binary(), "-d", "-f", config_path().string(), "-s",
                        socket_path().string()},
                       options);
    EXPECT_EQ(r.status, 78);
    EXPECT_THAT(r.err, HasSubstr("user mxd-no-such-user does not exist"));
    EXPECT_THAT(r.err, HasSubstr("useradd --system"));
    EXPECT_FALSE(std::filesystem::exists(socket_path()));
}

// aliases(5) `|command` targets run as mxd's own user, which is _mxd now (never root).
TEST_F(Privsep, AnAliasCommandRunsAsMxd) {
    const auto out_dir = open_out_dir();
    std::ofstream(dir() / "aliases") << "whoami: \"| id -u > " << (out_dir / "uid").string()
                                     << "\"\n";
    std::ofstream(config_path(), std::ios::app)
        << "table aliases file:" << (dir() / "aliases").string() << "\n"
        << "action \"local\" mbox alias <aliases>\n"
        << "match from any for local action \"local\"\n";
    ASSERT_TRUE(start());
    send("whoami@localhost", "who");
    ASSERT_TRUE(wait_until([&] { return !slurp(out_dir / "uid").empty(); },
                           std::chrono::seconds(30)))
        << slurp(log_path());
    EXPECT_EQ(slurp(out_dir / "uid"), std::to_string(mxd_uid()) + "\n");
}

// Maildir and mbox of a real user, with the daemon unprivileged: the privileged process starts
// the deliveries (the delivery tests cover the rest of local delivery).
TEST_F(Privsep, MaildirOfARealUserWithAClosedHome) {
    SystemUser user;
    ASSERT_TRUE(user.ok());
    // Only the user (and root) may enter it, never _mxd.
    std::filesystem::permissions(user.home(), std::filesystem::perms::owner_all);
    std::ofstream(config_path(), std::ios::app) << "action \"local\" maildir\n"
                                                << "match from any for local action \"local\"\n";
    ASSERT_TRUE(start());
    send(user.name() + "@localhost", "to the maildir");
    const auto new_dir = user.home() / "Maildir" / "new";
    ASSERT_TRUE(wait_until(
        [&] {
            std::error_code ec;
            return std::filesystem::exists(new_dir, ec) && !std::filesystem::is_empty(new_dir, ec);
        },
        std::chrono::seconds(30)))
        << slurp(log_path());
    const auto file = std::filesystem::directory_iterator(new_dir)->path();
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, user.uid());
    EXPECT_THAT(slurp(file), HasSubstr("Subject: to the maildir"));
}

TEST_F(Privsep, MboxOfARealUser) {
    SystemUser user;
    ASSERT_TRUE(user.ok());
    std::ofstream(config_path(), std::ios::app) << "action \"local\" mbox\n"
                                                << "match from any for local action \"local\"\n";
    ASSERT_TRUE(start());
    send(user.name() + "@localhost", "to the mbox");
    const std::filesystem::path mbox = "/var/mail/" + user.name();
    ASSERT_TRUE(wait_until([&] { return slurp(mbox).find("to the mbox") != std::string::npos; },
                           std::chrono::seconds(30)))
        << slurp(log_path());
    struct stat st {};
    ASSERT_EQ(::stat(mbox.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, user.uid());
}

// A ~/.forward in a home directory _mxd may not enter is still read (by the privileged
// process, as the user): the mail goes where it says.
TEST_F(Privsep, AForwardInAClosedHomeIsFollowed) {
    SystemUser user;
    ASSERT_TRUE(user.ok());
    std::filesystem::permissions(user.home(), std::filesystem::perms::owner_all);
    const auto out_dir = open_out_dir();
    ASSERT_TRUE(write_forward(user, user.home() / ".forward", out_dir / "forwarded"));
    std::ofstream(config_path(), std::ios::app) << "action \"local\" maildir\n"
                                                << "match from any for local action \"local\"\n";
    ASSERT_TRUE(start());
    send(user.name() + "@localhost", "forwarded");
    ASSERT_TRUE(wait_until([&] { return slurp(out_dir / "forwarded").find("Subject: forwarded") !=
                                        std::string::npos; },
                           std::chrono::seconds(30)))
        << slurp(log_path());
    EXPECT_FALSE(std::filesystem::exists(user.home() / "Maildir"));
}

namespace {

// A system account whose home directory is on a file system that never answers
// (tests/scripts/hung_fs.py), as on a hard NFS mount whose server is gone. Members go in
// reverse: the file system's server ends (each open still waiting then fails), then the
// mount, then the account.
class HungHome {
  public:
    explicit HungHome(const std::filesystem::path& log)
        : m_user("a"), m_log(log),
          m_unmount{m_user.home()},
          m_server({"/usr/bin/python3", env_or("MXD_SOURCE_ROOT", ".") + "/tests/scripts/hung_fs.py",
                    m_user.home().string()},
                   log) {}
    // Whether the account exists and its home is served; waits up to 10 s.
    bool ready() const {
        return m_user.ok() && wait_until([&] { return output().find("mounted") != std::string::npos; },
                                         std::chrono::seconds(10));
    }
    const SystemUser& user() const { return m_user; }
    // What the server printed: "lookup NAME" for each lookup it leaves hanging.
    std::string output() const { return slurp(m_log); }
    std::size_t lookups() const {
        const auto text = output();
        std::size_t n = 0;
        for (auto at = text.find("lookup .forward"); at != std::string::npos;
             at = text.find("lookup .forward", at + 1)) {
            ++n;
        }
        return n;
    }

  private:
    struct Unmount {
        std::filesystem::path at;
        ~Unmount() { run({"umount", "-l", at.string()}); }
    };
    SystemUser m_user;
    std::filesystem::path m_log;
    Unmount m_unmount;
    Background m_server;
};

// A client in the background that says EHLO, MAIL and RCPT TO:<RCPT>, then prints "rcpt"
// and the reply to its log, if a reply comes within 60 s.
std::unique_ptr<Background> rcpt_in_background(int port, const std::string& rcpt,
                                               const std::filesystem::path& log) {
    return std::make_unique<Background>(
        std::vector<std::string>{"python3", "-c",
                                 "import smtplib, sys\ns = smtplib.SMTP('127.0.0.1', " +
                                     std::to_string(port) +
                                     ", timeout=60)\ns.ehlo()\ns.mail('alice@sender.example')\n"
                                     "print('rcpt', s.rcpt(sys.argv[1]), flush=True)\n",
                                 rcpt},
        log);
}

} // namespace

// A home directory on a file system that hangs holds back only its own user's recipients: the
// privileged process opens each ~/.forward in a child of its own, and each open waits on a
// socket of its own. Another user's .forward is opened and followed while the first open
// still hangs.
TEST_F(Privsep, AForwardOnAHungFileSystemHoldsBackNoOtherUser) {
    HungHome hung(dir() / "hung_fs.log");
    ASSERT_TRUE(hung.ready()) << hung.output();
    SystemUser other("b");
    ASSERT_TRUE(other.ok());
    const auto out_dir = open_out_dir();
    ASSERT_TRUE(write_forward(other, other.home() / ".forward", out_dir / "forwarded"));
    std::ofstream(config_path(), std::ios::app) << "action \"local\" maildir\n"
                                                << "match from any for local action \"local\"\n";
    ASSERT_TRUE(start());
    const auto first = rcpt_in_background(smtp_port(), hung.user().name() + "@localhost", dir() / "first.log");
    ASSERT_TRUE(wait_until([&] { return hung.lookups() == 1; }, std::chrono::seconds(10)))
        << slurp(log_path());
    // Well inside the 30 s after which the hung open would be given up.
    const auto began = std::chrono::steady_clock::now();
    send(other.name() + "@localhost", "beside the hang");
    EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(10));
    ASSERT_TRUE(wait_until([&] { return slurp(out_dir / "forwarded").find("Subject: beside the hang") !=
                                        std::string::npos; },
                           std::chrono::seconds(20)))
        << slurp(log_path());
    EXPECT_THAT(slurp(dir() / "first.log"), Not(HasSubstr("rcpt"))) << "the hung open answered";
}

// More recipients of a home that hangs do not each hold a worker thread for 30 s (there are
// two): once an open of that .forward has waited 2 s, they get a 451 at once, and another
// user's recipient still gets its 250.
TEST_F(Privsep, RecipientsOfAHungHomeAreDeferredAtOnce) {
    HungHome hung(dir() / "hung_fs.log");
    ASSERT_TRUE(hung.ready()) << hung.output();
    SystemUser other("b");
    ASSERT_TRUE(other.ok());
    std::ofstream(config_path(), std::ios::app) << "action \"local\" maildir\n"
                                                << "match from any for local action \"local\"\n";
    ASSERT_TRUE(start());
    const auto stuck = hung.user().name() + "@localhost";
    const auto first = rcpt_in_background(smtp_port(), stuck, dir() / "first.log");
    ASSERT_TRUE(wait_until([&] { return hung.lookups() == 1; }, std::chrono::seconds(10)))
        << slurp(log_path());
    ::sleep(3); // past Link::k_forward_slow
    const auto second = rcpt_in_background(smtp_port(), stuck, dir() / "second.log");
    const auto third = rcpt_in_background(smtp_port(), stuck, dir() / "third.log");
    ::usleep(200000); // their lookups first
    const auto beside = rcpt_in_background(smtp_port(), other.name() + "@localhost", dir() / "other.log");
    // Each well inside the 30 s after which the first open is given up, freeing its worker.
    const auto replied = [&](const char* log, const std::string& reply) {
        return wait_until([&] { return slurp(dir() / log).find("rcpt (" + reply) != std::string::npos; },
                          std::chrono::seconds(10));
    };
    EXPECT_TRUE(replied("other.log", "250")) << slurp(dir() / "other.log") << slurp(log_path());
    EXPECT_TRUE(replied("second.log", "451")) << slurp(dir() / "second.log") << slurp(log_path());
    EXPECT_TRUE(replied("third.log", "451")) << slurp(dir() / "third.log") << slurp(log_path());
    EXPECT_EQ(hung.lookups(), 1u) << "a later recipient reached the hung file system";
    EXPECT_THAT(slurp(dir() / "first.log"), Not(HasSubstr("rcpt"))) << "the hung open answered";
}

namespace {

class MdaLimit : public DaemonFixture {};

} // namespace

// `mda limit max-session-per-user 1`: two messages to one user are delivered one after the
// other, while another user's delivery runs beside them. The deliveries meet instead of
// sleeping: each of a's waits until b's has started, b's until one of a's runs; a second a
// delivery that started while the first ran would find a.running taken.
TEST_F(MdaLimit, DeliveriesToOneUserTakeTurnsWhileOtherUsersRunBeside) {
    const auto out = dir() / "out";
    std::filesystem::create_directories(out);
    std::filesystem::permissions(out, std::filesystem::perms::all);
    const auto script = dir() / "turns.sh";
    std::ofstream(script) << "#!/bin/sh\n"
                          << "d=" << out.string() << "\n"
                          << "u=$1\n"
                          << "if mkdir \"$d/$u.running\" 2>/dev/null; then mine=1; else "
                             "echo overlap >> \"$d/$u.log\"; mine=0; fi\n"
                          << "if [ \"$u\" = usera ]; then other=userb.started; else "
                             "other=usera.running; fi\n"
                          << "i=0\n"
                          << "while [ ! -e \"$d/$other\" ] && [ $i -lt 300 ]; do sleep 0.1; "
                             "i=$((i+1)); done\n"
                          << "[ -e \"$d/$other\" ] && echo \"saw $other\" >> \"$d/$u.log\"\n"
                          << "touch \"$d/$u.started\"\n"
                          << "cat > /dev/null\n"
                          << "sleep 0.3\n"
                          << "[ $mine = 1 ] && rmdir \"$d/$u.running\"\n"
                          << "echo end >> \"$d/$u.log\"\n";
    std::filesystem::permissions(script, std::filesystem::perms::owner_all |
                                             std::filesystem::perms::group_read |
                                             std::filesystem::perms::group_exec |
                                             std::filesystem::perms::others_read |
                                             std::filesystem::perms::others_exec);
    // Virtual users of one unprivileged uid (as root the command runs as it).
    std::ofstream(dir() / "users") << "usera 65534:65534:" << dir().string() << "\n"
                                   << "userb 65534:65534:" << dir().string() << "\n";
    std::ofstream(config_path(), std::ios::app)
        << "table users file:" << (dir() / "users").string() << "\n"
        << "mda limit max-session-per-user 1\n"
        << "action \"cmd\" mda \"" << script.string() << " %{user.username}\" userbase <users>\n"
        << "match from any for local action \"cmd\"\n";
    // Held until all three are queued, so that they are due together.
    ASSERT_TRUE(start({"-P", "mda"}));
    for (const char* rcpt : {"usera@localhost", "usera@localhost", "userb@localhost"}) {
        const auto r = run({"python3", "-c",
                            "import smtplib, sys\ns = smtplib.SMTP('127.0.0.1', " +
                                std::to_string(smtp_port()) +
                                ", timeout=10)\ns.sendmail('alice@sender.example', [sys.argv[1]], "
                                "'Subject: turn\\r\\n\\r\\nhello\\r\\n')\ns.quit()\n",
                            rcpt});
        ASSERT_EQ(r.status, 0) << r.err;
    }
    ASSERT_EQ(mxctl({"resume", "mda"}).status, 0);
    auto count = [](const std::string& text, const std::string& word) {
        std::size_t n = 0;
        for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
            ++n;
        }
        return n;
    };
    ASSERT_TRUE(wait_until(
        [&] {
            return count(slurp(out / "usera.log"), "end") == 2 &&
                   count(slurp(out / "userb.log"), "end") == 1;
        },
        std::chrono::seconds(60)))
        << slurp(log_path()) << slurp(out / "usera.log") << slurp(out / "userb.log");
    const auto a = slurp(out / "usera.log");
    const auto b = slurp(out / "userb.log");
    EXPECT_THAT(a, Not(HasSubstr("overlap")));
    EXPECT_THAT(b, HasSubstr("saw usera.running")); // b ran while an a delivery did
    EXPECT_EQ(count(a, "saw userb.started"), 2u);
}

// A ~/.forward that is a symbolic link to the user's own file is followed too (dotfile
// managers make them), as it was when mxd read it as root.
TEST_F(Privsep, ASymlinkedForwardIsFollowed) {
    SystemUser user;
    ASSERT_TRUE(user.ok());
    const auto out_dir = open_out_dir();
    const auto real = user.home() / "dotfiles-forward";
    ASSERT_TRUE(write_forward(user, real, out_dir / "forwarded"));
    std::filesystem::create_symlink(real, user.home() / ".forward");
    std::ofstream(config_path(), std::ios::app) << "action \"local\" maildir\n"
                                                << "match from any for local action \"local\"\n";
    ASSERT_TRUE(start());
    send(user.name() + "@localhost", "through a link");
    ASSERT_TRUE(wait_until([&] { return slurp(out_dir / "forwarded").find("through a link") !=
                                        std::string::npos; },
                           std::chrono::seconds(30)))
        << slurp(log_path());
}

// A reload reads the configuration and its tables as _mxd: a table it may not read fails the
// reload, naming the file, and the running configuration stays. A TLS key only root may read
// (openssl writes keys 0600) stays loaded from the start, with a note.
TEST_F(Privsep, AReloadReadsFilesAsMxdAndKeepsTheKeysLoadedAtStart) {
    const auto made =
        run({"openssl", "req", "-new", "-x509", "-nodes", "-newkey", "rsa:2048", "-subj",
             "/CN=mx.example.org", "-keyout", (dir() / "mx.key").string(), "-out",
             (dir() / "mx.crt").string(), "-days", "30"});
    ASSERT_EQ(made.status, 0) << made.err;
    std::filesystem::permissions(dir() / "mx.key", std::filesystem::perms::owner_read |
                                                       std::filesystem::perms::owner_write);
    const auto aliases = dir() / "aliases";
    std::ofstream(aliases) << "postmaster: root\n";
    std::ofstream(config_path(), std::ios::app)
        << "pki mx.example.org cert \"" << (dir() / "mx.crt").string() << "\"\n"
        << "pki mx.example.org key \"" << (dir() / "mx.key").string() << "\"\n"
        << "listen on 127.0.0.1 port 0 tls pki mx.example.org\n"
        << "table aliases file:" << aliases.string() << "\n"
        << "action \"local\" mbox alias <aliases>\n"
        << "match from any for local action \"local\"\n";
    ASSERT_TRUE(start());
    const auto reloaded = mxctl({"reload"});
    ASSERT_EQ(reloaded.status, 0) << reloaded.err;
    EXPECT_THAT(reloaded.out, HasSubstr((dir() / "mx.key").string() +
                                        " is not readable by mxd's user"));
    std::filesystem::permissions(aliases, std::filesystem::perms::owner_read |
                                              std::filesystem::perms::owner_write);
    const auto refused = mxctl({"reload"});
    EXPECT_NE(refused.status, 0) << refused.out;
    EXPECT_THAT(refused.err, HasSubstr(aliases.string()));
    const auto update = mxctl({"update", "table", "aliases"});
    EXPECT_NE(update.status, 0) << update.out;
    EXPECT_THAT(update.err, HasSubstr(aliases.string()));
    EXPECT_EQ(status().value("config_generation", 0), 2); // the first reload stays in force
}

// A relay action's client certificate whose key only root may read: its TLS context is made
// before mxd gives root up, so relaying still works.
TEST_F(Privsep, ARelayClientKeyOnlyRootMayReadIsLoadedAtStart) {
    const auto made =
        run({"openssl", "req", "-new", "-x509", "-nodes", "-newkey", "rsa:2048", "-subj",
             "/CN=client.example.org", "-keyout", (dir() / "client.key").string(), "-out",
             (dir() / "client.crt").string(), "-days", "30"});
    ASSERT_EQ(made.status, 0) << made.err;
    std::filesystem::permissions(dir() / "client.key", std::filesystem::perms::owner_read |
                                                           std::filesystem::perms::owner_write);
    std::filesystem::create_directories(dir() / "smarthost");
    mta_test::TestServer smarthost(dir() / "smarthost", {});
    ASSERT_TRUE(smarthost.started()) << smarthost.error();
    std::ofstream(config_path(), std::ios::app)
        << "pki client.example.org cert \"" << (dir() / "client.crt").string() << "\"\n"
        << "pki client.example.org key \"" << (dir() / "client.key").string() << "\"\n"
        << "action \"out\" relay host smtp://127.0.0.1:" << smarthost.port()
        << " pki client.example.org\n"
        << "match from local for any action \"out\"\n";
    ASSERT_TRUE(start());
    send("bob@remote.example", "relayed");
    EXPECT_TRUE(wait_until([&] { return std::filesystem::exists(dir() / "smarthost" / "1.eml"); },
                           std::chrono::seconds(30)))
        << slurp(log_path()) << mxctl({"show", "queue"}).out;
    // A reload builds the relay contexts again as _mxd, which may not read the key: the one
    // loaded at start stays, the reply says so, and relaying goes on.
    const auto reloaded = mxctl({"reload"});
    ASSERT_EQ(reloaded.status, 0) << reloaded.err;
    EXPECT_THAT(reloaded.out, HasSubstr("relay TLS with " + (dir() / "client.key").string() +
                                        " kept as loaded before"));
    send("bob@remote.example", "relayed after the reload");
    EXPECT_TRUE(wait_until([&] { return std::filesystem::exists(dir() / "smarthost" / "2.eml"); },
                           std::chrono::seconds(30)))
        << slurp(log_path()) << mxctl({"show", "queue"}).out;
}

// A spool below a directory _mxd may not pass through: mxd says so and stops, instead of
// failing on each message later.
TEST_F(Privsep, ASpoolMxdCannotReachIsAClearError) {
    const auto closed = dir() / "closed";
    std::filesystem::create_directories(closed);
    std::filesystem::permissions(closed, std::filesystem::perms::owner_all);
    std::ofstream(config_path()) << "queue directory \"" << (closed / "spool").string() << "\"\n"
                                 << "listen on 127.0.0.1 port 0\n";
    const auto r = run({mxd_binary(), "-d", "-f", config_path().string(), "-s",
                        socket_path().string()});
    EXPECT_EQ(r.status, 1);
    EXPECT_THAT(r.err, HasSubstr("cannot run as _mxd: reach the spool"));
    EXPECT_THAT(r.err, HasSubstr((closed / "spool").string()));
}
