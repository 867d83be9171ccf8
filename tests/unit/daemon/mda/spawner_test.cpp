// SPDX-License-Identifier: ISC
#include "daemon/mda/deliver.hpp"

#include "tests/unit/temp_dir.hpp"

#include <gtest/gtest.h>

#include <grp.h>
#include <pwd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using mxd::mda::DeliveryRequest;
using mxd::mda::DeliveryResult;
using mxd::mda::Spawner;
using mxd::mda::SpawnerOptions;
using Method = DeliveryRequest::Method;
using Status = core::mda::Status;
namespace fs = std::filesystem;

namespace {

constexpr uid_t k_nobody = 65534;
const std::string k_message =
    "Subject: hello\r\nFrom: gilles@poolp.org\r\n\r\nFrom the queue, with CRLF.\r\n";
const std::string k_delivered =
    "Return-Path: <gilles@poolp.org>\nDelivered-To: eric+tag@example.org\n"
    "Subject: hello\nFrom: gilles@poolp.org\n\nFrom the queue, with CRLF.\n";

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<fs::path> files_in(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        out.push_back(entry.path());
    }
    return out;
}

struct stat stat_of(const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st;
}

std::string random_suffix() {
    unsigned value = 0;
    static_cast<void>(::getrandom(&value, sizeof value, 0));
    std::ostringstream s;
    s << std::hex << value;
    return s.str();
}

asio::awaitable<void> deliver_into(Spawner& spawner, DeliveryRequest request,
                                   std::optional<DeliveryResult>& out) {
    out = co_await spawner.deliver(std::move(request));
}

// Runs one delivery on a fresh event loop, with a deadline.
DeliveryResult deliver(Spawner& spawner, DeliveryRequest request) {
    asio::io_context io;
    std::optional<DeliveryResult> result;
    asio::co_spawn(io, deliver_into(spawner, std::move(request), result), asio::detached);
    io.run_for(std::chrono::seconds(60));
    EXPECT_TRUE(result) << "no result within 60s";
    return result.value_or(DeliveryResult{Status::temporary, "<none>"});
}

// A system user (and a group it is a member of besides its own) that exists for one test.
class ThrowawayUser {
  public:
    ThrowawayUser(const fs::path& home) : m_name("mxdt" + random_suffix()), m_group(m_name + "x") {
        const std::string add_group = "groupadd --system " + m_group + " >/dev/null 2>&1";
        const std::string add_user =
            "useradd --system --user-group --no-create-home --shell /usr/sbin/nologin"
            " --home-dir '" +
            home.string() + "' --groups " + m_group + " " + m_name + " >/dev/null 2>&1";
        m_ok = std::system(add_group.c_str()) == 0 && std::system(add_user.c_str()) == 0;
        const passwd* pw = m_ok ? ::getpwnam(m_name.c_str()) : nullptr;
        const struct group* gr = m_ok ? ::getgrnam(m_group.c_str()) : nullptr;
        if (pw == nullptr || gr == nullptr) {
            m_ok = false;
            return;
        }
        m_user = core::expand::LocalUser{m_name, pw->pw_uid, pw->pw_gid, home.string()};
        m_extra_gid = gr->gr_gid;
        fs::create_directories(home);
        m_ok =
            ::chown(home.c_str(), pw->pw_uid, pw->pw_gid) == 0 && ::chmod(home.c_str(), 0700) == 0;
    }
    ~ThrowawayUser() {
        static_cast<void>(std::system(("userdel " + m_name + " >/dev/null 2>&1").c_str()));
        static_cast<void>(std::system(("groupdel " + m_group + " >/dev/null 2>&1").c_str()));
    }
    ThrowawayUser(const ThrowawayUser&) = delete;
    ThrowawayUser& operator=(const ThrowawayUser&) = delete;

    bool ok() const { return m_ok; }
    const core::expand::LocalUser& user() const { return m_user; }
    gid_t extra_gid() const { return m_extra_gid; }

  private:
    std::string m_name;
    std::string m_group;
    bool m_ok = false;
    core::expand::LocalUser m_user;
    gid_t m_extra_gid = 0;
};

class Spawning : public ::testing::Test {
  protected:
    void SetUp() override {
        const char* mxd = std::getenv("MXD");
        if (mxd == nullptr || !fs::exists(mxd)) {
            GTEST_SKIP() << "MXD (the mxd binary) is not set";
        }
        m_options.executable = mxd;
        // The delivery child runs as another user: it must reach the directory.
        ASSERT_EQ(::chmod(m_dir.path().c_str(), 0755), 0);
        m_options.mail_spool = m_dir.path() / "spool";
        fs::create_directories(m_options.mail_spool);
    }

    DeliveryRequest request(Method method, const core::expand::LocalUser& user) const {
        DeliveryRequest r;
        r.method = method;
        r.sender = "gilles@poolp.org";
        r.rcpt = "eric+tag@example.org";
        r.dest = "eric@example.org";
        r.subaddress = "tag";
        r.user = user;
        r.message = k_message;
        return r;
    }

    unit_test::TempDir m_dir;
    SpawnerOptions m_options;
};

// The root daemon's deliveries run as a user made for the test.
class RootSpawning : public Spawning {
  protected:
    void SetUp() override {
        Spawning::SetUp();
        if (IsSkipped()) {
            return;
        }
        if (::geteuid() != 0) {
            GTEST_SKIP() << "needs root to switch users";
        }
        m_account.emplace(m_dir.path() / "home");
        if (!m_account->ok()) {
            GTEST_SKIP() << "cannot create a system user (useradd)";
        }
        auto spawner = Spawner::open(m_workers, m_options);
        ASSERT_TRUE(spawner) << spawner.error().message;
        m_spawner.emplace(std::move(*spawner));
    }
    void TearDown() override { m_account.reset(); }

    const core::expand::LocalUser& user() const { return m_account->user(); }
    fs::path home() const { return user().home; }

    mxd::Workers m_workers{1};
    std::optional<ThrowawayUser> m_account;
    std::optional<Spawner> m_spawner;
};

TEST_F(RootSpawning, MaildirDeliveryRunsAsTheUser) {
    const DeliveryResult result = deliver(*m_spawner, request(Method::maildir, user()));
    ASSERT_EQ(result.status, Status::delivered) << result.text;
    const auto files = files_in(home() / "Maildir" / "new");
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(read(files[0]), k_delivered);
    EXPECT_EQ(stat_of(files[0]).st_uid, user().uid);
    EXPECT_EQ(stat_of(files[0]).st_gid, user().gid);
    EXPECT_EQ(stat_of(home() / "Maildir").st_uid, user().uid);
}

TEST_F(RootSpawning, CommandRunsWithTheUsersGroupsAndEnvironment) {
    DeliveryRequest r = request(Method::command, user());
    r.target = "cat > \"$HOME/message\"; id -u > \"$HOME/uid\"; id -G > \"$HOME/groups\"; env > "
               "\"$HOME/env\"";
    const DeliveryResult result = deliver(*m_spawner, r);
    ASSERT_EQ(result.status, Status::delivered) << result.text;
    EXPECT_EQ(read(home() / "message"), k_delivered);
    EXPECT_EQ(read(home() / "uid"), std::to_string(user().uid) + "\n");
    std::set<std::string> groups;
    std::istringstream g(read(home() / "groups"));
    for (std::string gid; g >> gid;) {
        groups.insert(gid);
    }
    EXPECT_EQ(groups, (std::set<std::string>{std::to_string(user().gid),
                                             std::to_string(m_account->extra_gid())}));
    std::set<std::string> env;
    std::istringstream e(read(home() / "env"));
    for (std::string line; std::getline(e, line);) {
        env.insert(line);
    }
    for (const std::string& expected : {
             "HOME=" + home().string(),
             "USER=" + user().name,
             "LOGNAME=" + user().name,
             std::string("SHELL=/bin/sh"),
             std::string("SENDER=gilles@poolp.org"),
             std::string("RECIPIENT=eric@example.org"),
             std::string("ORIGINAL_RECIPIENT=eric+tag@example.org"),
             std::string("DOMAIN=example.org"),
             std::string("LOCAL=eric+tag"),
             std::string("EXTENSION=tag"),
         }) {
        EXPECT_TRUE(env.count(expected)) << expected;
    }
    bool has_path = false;
    for (const auto& line : env) {
        has_path =
            has_path || (line.rfind("PATH=", 0) == 0 && line.find("/usr/bin") != std::string::npos);
        EXPECT_NE(line.rfind("MXD=", 0), 0u) << "the daemon's environment leaked: " << line;
    }
    EXPECT_TRUE(has_path);
}

TEST_F(RootSpawning, MboxChildCreatesTheMailboxForTheUser) {
    const DeliveryResult result = deliver(*m_spawner, request(Method::mbox, user()));
    ASSERT_EQ(result.status, Status::delivered) << result.text;
    const fs::path mbox = m_options.mail_spool / user().name;
    const auto st = stat_of(mbox);
    EXPECT_EQ(st.st_uid, user().uid);
    EXPECT_EQ(st.st_gid, user().gid);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    const std::string text = read(mbox);
    EXPECT_EQ(text.rfind("From gilles@poolp.org ", 0), 0u) << text;
    EXPECT_NE(text.find("\n" + k_delivered.substr(0, k_delivered.find("\n\n") + 2) +
                        ">From the queue, with CRLF.\n\n"),
              std::string::npos)
        << text;
    EXPECT_FALSE(fs::exists(mbox.string() + ".lock"));
}

TEST_F(RootSpawning, FileTargetAppendsAsTheRunAsUser) {
    DeliveryRequest r = request(Method::file, user());
    r.target = home().string() + "/%{rcpt.user:strip}.mbox";
    const DeliveryResult result = deliver(*m_spawner, r);
    ASSERT_EQ(result.status, Status::delivered) << result.text;
    EXPECT_EQ(stat_of(home() / "eric.mbox").st_uid, user().uid);
    EXPECT_EQ(read(home() / "eric.mbox").rfind("From gilles@poolp.org ", 0), 0u);
}

TEST_F(RootSpawning, RefusesToRunACommandAsRoot) {
    DeliveryRequest r = request(Method::command, user());
    r.run_as = core::expand::LocalUser{"root", 0, 0, "/root"};
    r.target = "touch '" + (m_dir.path() / "ran").string() + "'";
    const DeliveryResult result = deliver(*m_spawner, r);
    EXPECT_EQ(result.status, Status::permanent);
    EXPECT_NE(result.text.find("as root"), std::string::npos) << result.text;
    EXPECT_FALSE(fs::exists(m_dir.path() / "ran"));
}

TEST_F(RootSpawning, ExitStatusesOfACommand) {
    const struct {
        const char* command;
        Status status;
        const char* text;
    } cases[] = {
        {"cat >/dev/null", Status::delivered, ""},
        {"echo 'try later' >&2; exit 75", Status::temporary, "try later"},
        {"exit 71", Status::temporary, "delivery process exited with status 71"},
        {"echo 'no such list' >&2; exit 1", Status::permanent, "no such list"},
        {"kill -KILL $$", Status::temporary, "command killed by signal 9 (Killed)"},
    };
    for (const auto& c : cases) {
        DeliveryRequest r = request(Method::command, user());
        r.target = c.command;
        const DeliveryResult result = deliver(*m_spawner, r);
        EXPECT_EQ(result.status, c.status) << c.command << ": " << result.text;
        EXPECT_EQ(result.text, c.text) << c.command;
    }
}

TEST_F(RootSpawning, WrapperRunsTheCommand) {
    DeliveryRequest r = request(Method::command, user());
    r.target = "cat > \"$HOME/%{dest.user}\"";
    r.wrapper = "echo wrapped > \"$HOME/wrapper\"; %{mda}";
    const DeliveryResult result = deliver(*m_spawner, r);
    ASSERT_EQ(result.status, Status::delivered) << result.text;
    EXPECT_EQ(read(home() / "wrapper"), "wrapped\n");
    EXPECT_EQ(read(home() / "eric"), k_delivered);
}

TEST_F(RootSpawning, TimeoutKillsTheDeliveryAndIsTemporary) {
    DeliveryRequest r = request(Method::command, user());
    r.target = "echo started; sleep 30 & sleep 30";
    r.timeout = std::chrono::seconds(1);
    const auto start = std::chrono::steady_clock::now();
    const DeliveryResult result = deliver(*m_spawner, r);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
    EXPECT_EQ(result.status, Status::temporary);
    EXPECT_EQ(result.text, "delivery timed out after 1s: started");
}

TEST_F(RootSpawning, LoopAndBadFormatArePermanentAndDeliverNothing) {
    DeliveryRequest looped = request(Method::maildir, user());
    looped.message = "Delivered-To: eric@example.org\r\nSubject: again\r\n\r\nbody\r\n";
    const DeliveryResult loop = deliver(*m_spawner, looped);
    EXPECT_EQ(loop.status, Status::permanent);
    EXPECT_NE(loop.text.find("loop"), std::string::npos) << loop.text;

    DeliveryRequest bad = request(Method::maildir, user());
    bad.target = "~/%{nosuch}";
    const DeliveryResult format = deliver(*m_spawner, bad);
    EXPECT_EQ(format.status, Status::permanent);
    EXPECT_NE(format.text.find("unknown name 'nosuch'"), std::string::npos) << format.text;
    EXPECT_FALSE(fs::exists(home() / "Maildir"));
}

TEST_F(RootSpawning, ChildFailureTextComesBack) {
    DeliveryRequest r = request(Method::maildir, user());
    r.target = "/proc/mxd-cannot-be-here/Maildir";
    const DeliveryResult result = deliver(*m_spawner, r);
    EXPECT_EQ(result.status, Status::temporary);
    EXPECT_NE(result.text.find("mkdir /proc/mxd-cannot-be-here"), std::string::npos) << result.text;
}

// A daemon started by an ordinary user delivers as itself. The test's process becomes such a
// daemon in a child: it opens the spawner, drops to `nobody`, and delivers for a user it cannot
// become.
TEST_F(Spawning, NonRootDaemonDeliversAsItself) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to become nobody";
    }
    const fs::path box = m_dir.path() / "box";
    fs::create_directories(box);
    ASSERT_EQ(::chown(box.c_str(), k_nobody, k_nobody), 0);
    const core::expand::LocalUser eric{"eric", 4321, 4321, box.string()};

    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setresgid(k_nobody, k_nobody, k_nobody) != 0 ||
            ::setresuid(k_nobody, k_nobody, k_nobody) != 0) {
            ::_exit(10);
        }
        mxd::Workers workers(1);
        auto spawner = Spawner::open(workers, m_options);
        if (!spawner) {
            ::_exit(11);
        }
        const DeliveryResult maildir = deliver(*spawner, request(Method::maildir, eric));
        DeliveryRequest command = request(Method::command, eric);
        command.target = "id -u > \"$HOME/uid\"";
        const DeliveryResult ran = deliver(*spawner, command);
        workers.stop();
        ::_exit(maildir.status == Status::delivered && ran.status == Status::delivered ? 0 : 12);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    const auto files = files_in(box / "Maildir" / "new");
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(read(files[0]), k_delivered);
    EXPECT_EQ(stat_of(files[0]).st_uid, k_nobody);
    EXPECT_EQ(read(box / "uid"), std::to_string(k_nobody) + "\n");
}

} // namespace
