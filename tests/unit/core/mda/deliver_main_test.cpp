// SPDX-License-Identifier: ISC
#include "core/mda/deliver_main.hpp"

#include "core/mda/message.hpp"
#include "tests/unit/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

constexpr uid_t k_nobody = 65534;

struct Exit {
    int code = -1;
    std::string stderr_text;
};

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Runs deliver_main in a child process (it reads stdin and writes stderr), as `nobody` when
// `as_nobody` and we are root.
Exit run(std::vector<std::string> args, const std::string& message, bool as_nobody = false) {
    unit_test::TempDir out;
    const fs::path err_path = out.path() / "stderr";
    auto message_fd = core::mda::make_message_fd(message);
    EXPECT_TRUE(message_fd);
    args.insert(args.begin(), {"mxd", "__deliver"});
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    const pid_t child = ::fork();
    if (child == 0) {
        const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (err < 0 || ::dup2(err, STDERR_FILENO) < 0 ||
            ::dup2(message_fd->get(), STDIN_FILENO) < 0) {
            ::_exit(250);
        }
        if (as_nobody && ::geteuid() == 0 &&
            (::setresgid(k_nobody, k_nobody, k_nobody) != 0 ||
             ::setresuid(k_nobody, k_nobody, k_nobody) != 0)) {
            ::_exit(251);
        }
        ::_exit(core::mda::deliver_main(static_cast<int>(argv.size() - 1), argv.data()));
    }
    int status = 0;
    EXPECT_EQ(::waitpid(child, &status, 0), child);
    return Exit{WIFEXITED(status) ? WEXITSTATUS(status) : -1, read(err_path)};
}

// A directory the delivery child can write in, whoever it runs as.
fs::path writable_dir(const unit_test::TempDir& dir) {
    const fs::path d = dir.path() / "box";
    fs::create_directories(d);
    if (::geteuid() == 0) {
        EXPECT_EQ(::chmod(dir.path().c_str(), 0755), 0);
        EXPECT_EQ(::chown(d.c_str(), k_nobody, k_nobody), 0);
    }
    return d;
}

TEST(DeliverMain, MboxFromStdin) {
    unit_test::TempDir dir;
    const fs::path mbox = dir.path() / "eric";
    const Exit e = run({"mbox", "--from", "a@b.org", mbox.string()}, "Subject: s\n\nFrom x\n");
    EXPECT_EQ(e.code, 0) << e.stderr_text;
    EXPECT_EQ(e.stderr_text, "");
    const std::string text = read(mbox);
    EXPECT_EQ(text.rfind("From a@b.org ", 0), 0u) << text;
    EXPECT_NE(text.find("\nSubject: s\n\n>From x\n\n"), std::string::npos) << text;
}

TEST(DeliverMain, MaildirAsAnUnprivilegedUser) {
    unit_test::TempDir dir;
    const fs::path maildir = writable_dir(dir) / "Maildir";
    const Exit e = run({"maildir", "--junk", "--hostname", "mx", maildir.string()},
                       "X-Spam: yes\n\nspam\n", true);
    ASSERT_EQ(e.code, 0) << e.stderr_text;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(maildir / ".Junk" / "new")) {
        files.push_back(entry.path());
    }
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(read(files[0]), "X-Spam: yes\n\nspam\n");
}

TEST(DeliverMain, CommandExitStatusAndTextPassThrough) {
    const Exit e =
        run({"command", "cat >/dev/null; echo 'no such list' >&2; exit 67"}, "x\n", true);
    EXPECT_EQ(e.code, EX_NOUSER);
    EXPECT_EQ(e.stderr_text, "no such list\n");
}

TEST(DeliverMain, RefusesToRunAnythingButMboxAsRoot) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "runs as root only when the tests do";
    }
    unit_test::TempDir dir;
    const Exit e = run({"maildir", (dir.path() / "Maildir").string()}, "x\n");
    EXPECT_EQ(e.code, EX_NOPERM);
    EXPECT_NE(e.stderr_text.find("as root"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir.path() / "Maildir"));
    EXPECT_EQ(run({"command", "true"}, "x\n").code, EX_NOPERM);
}

TEST(DeliverMain, BadArgumentsAreUsageErrors) {
    EXPECT_EQ(run({"carrier-pigeon", "/x"}, "").code, EX_USAGE);
    EXPECT_EQ(run({"maildir"}, "").code, EX_USAGE);
    EXPECT_EQ(run({"maildir", "/a", "/b"}, "").code, EX_USAGE);
    EXPECT_EQ(run({"maildir", "--from", "x", "/a"}, "").code, EX_USAGE);
    EXPECT_EQ(run({"mbox", "--owner", "12", "/a"}, "").code, EX_USAGE);
    const Exit e = run({"mbox", "--from"}, "");
    EXPECT_EQ(e.code, EX_USAGE);
    EXPECT_NE(e.stderr_text.find("--from"), std::string::npos) << e.stderr_text;
}

} // namespace
