// SPDX-License-Identifier: ISC
#include "core/mda/mbox.hpp"

#include "core/util/fd.hpp"
#include "tests/unit/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

using namespace core::mda;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::time_t k_nov_14 = 1700000000; // Tue Nov 14 22:13:20 2023 UTC
constexpr std::time_t k_nov_3 = 1699000000;  // Fri Nov  3 08:26:40 2023 UTC

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The From_ line's date is local time; the tests fix the zone.
class Mbox : public ::testing::Test {
  protected:
    void SetUp() override {
        const char* tz = std::getenv("TZ");
        m_saved_tz = tz != nullptr ? std::optional<std::string>(tz) : std::nullopt;
        ::setenv("TZ", "UTC0", 1);
        ::tzset();
    }
    void TearDown() override {
        if (m_saved_tz) {
            ::setenv("TZ", m_saved_tz->c_str(), 1);
        } else {
            ::unsetenv("TZ");
        }
        ::tzset();
    }

    MboxOptions options() const {
        MboxOptions o;
        o.path = m_dir.path() / "eric";
        o.from = "gilles@poolp.org";
        o.now = k_nov_14;
        o.lock_timeout = std::chrono::milliseconds(300);
        return o;
    }

    void deliver(const MboxOptions& o, std::string_view message) {
        const auto delivered = deliver_mbox(o, message);
        EXPECT_TRUE(delivered) << delivered.error().message;
    }

    unit_test::TempDir m_dir;
    std::optional<std::string> m_saved_tz;
};

TEST_F(Mbox, FromLineInAsctimeForm) {
    EXPECT_EQ(mbox_from_line("gilles@poolp.org", k_nov_14),
              "From gilles@poolp.org Tue Nov 14 22:13:20 2023\n");
    EXPECT_EQ(mbox_from_line("", k_nov_3), "From MAILER-DAEMON Fri Nov  3 08:26:40 2023\n");
    EXPECT_EQ(mbox_from_line("\"a b\"@x.org", k_nov_3),
              "From \"a_b\"@x.org Fri Nov  3 08:26:40 2023\n");
}

TEST_F(Mbox, QuotesFromLinesAsMboxrd) {
    EXPECT_EQ(
        mbox_quote("Subject: s\n\nFrom me\n>From you\n>>From them\nFrom: header-like\n fromage\n"),
        "Subject: s\n\n>From me\n>>From you\n>>>From them\nFrom: header-like\n fromage\n\n");
    EXPECT_EQ(mbox_quote("no final newline"), "no final newline\n\n");
    EXPECT_EQ(mbox_quote(""), "\n\n");
    EXPECT_EQ(mbox_quote(">From"), ">From\n\n");
}

TEST_F(Mbox, AppendsEntriesAndCreatesTheMailbox0600) {
    const MboxOptions o = options();
    deliver(o, "Subject: one\n\nFrom the start\n");
    deliver(o, "Subject: two\n\nbody");
    EXPECT_EQ(read(o.path), "From gilles@poolp.org Tue Nov 14 22:13:20 2023\n"
                            "Subject: one\n\n>From the start\n\n"
                            "From gilles@poolp.org Tue Nov 14 22:13:20 2023\n"
                            "Subject: two\n\nbody\n\n");
    struct stat st {};
    ASSERT_EQ(::stat(o.path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_FALSE(fs::exists(o.path.string() + ".lock"));
}

TEST_F(Mbox, RefusesASymlink) {
    const fs::path target = m_dir.write("target", "precious\n");
    const MboxOptions o = options();
    fs::create_symlink(target, o.path);
    const auto delivered = deliver_mbox(o, "Subject: x\n\nbody\n");
    ASSERT_FALSE(delivered);
    EXPECT_EQ(delivered.error().code, core::Errc::invalid_argument);
    EXPECT_NE(delivered.error().message.find("symbolic link"), std::string::npos);
    EXPECT_EQ(read(target), "precious\n");
    EXPECT_FALSE(fs::exists(o.path.string() + ".lock"));
}

TEST_F(Mbox, RefusesAHardLinkAndANonRegularFile) {
    const MboxOptions o = options();
    const fs::path other = m_dir.write("other", "precious\n");
    fs::create_hard_link(other, o.path);
    EXPECT_FALSE(deliver_mbox(o, "x\n"));
    EXPECT_EQ(read(other), "precious\n");
    fs::remove(o.path);
    ASSERT_EQ(::mkfifo(o.path.c_str(), 0600), 0);
    const auto delivered = deliver_mbox(o, "x\n");
    ASSERT_FALSE(delivered);
    EXPECT_EQ(delivered.error().code, core::Errc::invalid_argument);
}

TEST_F(Mbox, WaitsForADotlockUntilTheDeadlineThenFailsTemporarily) {
    const MboxOptions o = options();
    const fs::path lock = m_dir.write("eric.lock", "");
    const auto start = Clock::now();
    const auto delivered = deliver_mbox(o, "x\n");
    const auto waited = Clock::now() - start;
    ASSERT_FALSE(delivered);
    EXPECT_EQ(delivered.error().code, core::Errc::temp_failure);
    EXPECT_NE(delivered.error().message.find("eric.lock"), std::string::npos);
    EXPECT_GE(waited, o.lock_timeout);
    EXPECT_LT(waited, std::chrono::seconds(10));
    EXPECT_TRUE(fs::exists(lock)); // someone else's: left alone
    EXPECT_FALSE(fs::exists(o.path));

    fs::remove(lock);
    deliver(o, "x\n");
}

TEST_F(Mbox, RemovesAStaleDotlock) {
    const MboxOptions o = options();
    const fs::path lock = m_dir.write("eric.lock", "");
    const struct timespec old[2] = {{std::time(nullptr) - 3600, 0}, {std::time(nullptr) - 3600, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, lock.c_str(), old, 0), 0);
    deliver(o, "x\n");
    EXPECT_FALSE(fs::exists(lock));
}

TEST_F(Mbox, WaitsForAnFcntlLockOfAnotherProcess) {
    const MboxOptions o = options();
    deliver(o, "first\n");
    const std::string before = read(o.path);

    int locked[2];
    int release[2];
    ASSERT_EQ(::pipe(locked), 0);
    ASSERT_EQ(::pipe(release), 0);
    const pid_t holder = ::fork();
    ASSERT_GE(holder, 0);
    if (holder == 0) {
        ::close(release[1]);
        ::close(locked[0]);
        const int fd = ::open(o.path.c_str(), O_RDWR);
        struct flock lock {};
        lock.l_type = F_WRLCK;
        lock.l_whence = SEEK_SET;
        const bool ok = fd >= 0 && ::fcntl(fd, F_SETLK, &lock) == 0;
        static_cast<void>(::write(locked[1], ok ? "y" : "n", 1));
        char c = 0;
        static_cast<void>(::read(release[0], &c, 1));
        ::_exit(0);
    }
    ::close(locked[1]);
    ::close(release[0]);
    char c = 0;
    ASSERT_EQ(::read(locked[0], &c, 1), 1);
    ASSERT_EQ(c, 'y');

    const auto delivered = deliver_mbox(o, "second\n");
    ASSERT_FALSE(delivered);
    EXPECT_EQ(delivered.error().code, core::Errc::temp_failure);
    EXPECT_NE(delivered.error().message.find("locked"), std::string::npos)
        << delivered.error().message;
    EXPECT_EQ(read(o.path), before);

    ::close(release[1]);
    int status = 0;
    ASSERT_EQ(::waitpid(holder, &status, 0), holder);
    ::close(locked[0]);
    deliver(o, "second\n");
    EXPECT_EQ(read(o.path), before + "From gilles@poolp.org Tue Nov 14 22:13:20 2023\nsecond\n\n");
}

// A write that fails half-way (here: the file size limit, EFBIG) leaves the mailbox as it was.
TEST_F(Mbox, TruncatesBackAfterAFailedWrite) {
    const MboxOptions o = options();
    deliver(o, "Subject: kept\n\nbody\n");
    const std::string before = read(o.path);

    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        std::signal(SIGXFSZ, SIG_IGN);
        const rlim_t limit = before.size() + 100;
        const struct rlimit rl = {limit, limit};
        if (::setrlimit(RLIMIT_FSIZE, &rl) != 0) {
            ::_exit(2);
        }
        const auto delivered = deliver_mbox(o, "Subject: big\n\n" + std::string(20000, 'x') + "\n");
        ::_exit(!delivered && delivered.error().code == core::Errc::temp_failure ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_EQ(read(o.path), before);
    EXPECT_FALSE(fs::exists(o.path.string() + ".lock"));
}

TEST_F(Mbox, AsRootCreatesTheMailboxForItsOwnerAndRefusesAnotherOwners) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to give a file away";
    }
    MboxOptions o = options();
    o.owner = MboxOptions::Owner{4242, 4343};
    deliver(o, "x\n");
    struct stat st {};
    ASSERT_EQ(::stat(o.path.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 4242u);
    EXPECT_EQ(st.st_gid, 4343u);
    EXPECT_EQ(st.st_mode & 07777, 0600u);

    o.owner = MboxOptions::Owner{4444, 4444};
    const auto delivered = deliver_mbox(o, "y\n");
    ASSERT_FALSE(delivered);
    EXPECT_EQ(delivered.error().code, core::Errc::invalid_argument);
    EXPECT_NE(delivered.error().message.find("uid 4242"), std::string::npos);
}

} // namespace
