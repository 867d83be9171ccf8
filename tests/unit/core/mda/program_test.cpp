// SPDX-License-Identifier: ISC
#include "core/mda/program.hpp"

#include "core/mda/message.hpp"
#include "tests/unit/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sysexits.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

using namespace core::mda;
namespace fs = std::filesystem;

namespace {

const std::string k_message = "Subject: hi\n\nFrom me to you\n";

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

Outcome run(const std::string& command,
            std::vector<std::string> environment = {"PATH=/usr/bin:/bin"}) {
    auto fd = make_message_fd(k_message);
    EXPECT_TRUE(fd);
    return run_program(ProgramOptions{command, std::move(environment)}, fd->get());
}

TEST(Program, GetsTheMessageOnStdin) {
    unit_test::TempDir dir;
    const auto out = dir.path() / "out";
    const Outcome outcome = run("cat > '" + out.string() + "'");
    EXPECT_EQ(outcome.status, Status::delivered) << outcome.text;
    EXPECT_EQ(outcome.exit_code, 0);
    EXPECT_EQ(read(out), k_message);
}

TEST(Program, GetsExactlyTheGivenEnvironment) {
    unit_test::TempDir dir;
    const auto out = dir.path() / "env";
    ::setenv("MXD_TEST_LEAK", "from the daemon", 1);
    const Outcome outcome =
        run("/usr/bin/env > '" + out.string() + "'",
            {"PATH=/usr/bin:/bin", "HOME=/home/eric", "SENDER=a@b.org", "EXTENSION=tag"});
    ::unsetenv("MXD_TEST_LEAK");
    ASSERT_EQ(outcome.status, Status::delivered) << outcome.text;
    std::set<std::string> lines;
    std::istringstream in(read(out));
    for (std::string line; std::getline(in, line);) {
        lines.insert(line);
    }
    EXPECT_TRUE(lines.count("HOME=/home/eric"));
    EXPECT_TRUE(lines.count("SENDER=a@b.org"));
    EXPECT_TRUE(lines.count("EXTENSION=tag"));
    for (const auto& line : lines) {
        EXPECT_EQ(line.find("MXD_TEST_LEAK"), std::string::npos);
    }
}

TEST(Program, ExitCodesMapAsOpenSmtpd) {
    const struct {
        int code;
        Status status;
    } cases[] = {
        {0, Status::delivered}, {EX_TEMPFAIL, Status::temporary}, {EX_OSERR, Status::temporary},
        {1, Status::permanent}, {EX_NOUSER, Status::permanent},
    };
    for (const auto& c : cases) {
        const Outcome outcome = run("cat >/dev/null; exit " + std::to_string(c.code));
        EXPECT_EQ(outcome.status, c.status) << c.code;
        EXPECT_EQ(outcome.exit_code, c.code);
        if (c.code != 0) {
            EXPECT_EQ(outcome.text, "command exited with status " + std::to_string(c.code));
        }
    }
}

TEST(Program, ItsOutputIsTheErrorText) {
    const Outcome full = run("echo 'mailbox is full' >&2; exit 75");
    EXPECT_EQ(full.status, Status::temporary);
    EXPECT_EQ(full.text, "mailbox is full");
    const Outcome both = run("echo out; echo err >&2; exit 1");
    EXPECT_EQ(both.status, Status::permanent);
    EXPECT_EQ(both.text, "out; err");
}

TEST(Program, KilledBySignalIsTemporary) {
    const Outcome outcome = run("echo dying >&2; kill -TERM $$");
    EXPECT_EQ(outcome.status, Status::temporary);
    EXPECT_EQ(outcome.exit_code, EX_TEMPFAIL);
    EXPECT_NE(outcome.text.find("signal 15"), std::string::npos) << outcome.text;
    EXPECT_NE(outcome.text.find("dying"), std::string::npos) << outcome.text;
}

TEST(Program, KeepsOnlyTheStartOfALongOutputAndDoesNotBlockOnIt) {
    const Outcome outcome = run("head -c 300000 /dev/zero | tr '\\0' x; exit 1");
    EXPECT_EQ(outcome.status, Status::permanent);
    EXPECT_EQ(outcome.text, std::string(k_text_max, 'x'));
}

TEST(Program, WithoutCaptureOnlyASignalHasText) {
    auto fd = make_message_fd(k_message);
    ASSERT_TRUE(fd);
    ProgramOptions options{"exit 3", {"PATH=/usr/bin:/bin"}, false};
    const Outcome exited = run_program(options, fd->get());
    EXPECT_EQ(exited.status, Status::permanent);
    EXPECT_EQ(exited.exit_code, 3);
    EXPECT_EQ(exited.text, "");
    options.command = "kill -TERM $$";
    const Outcome killed = run_program(options, fd->get());
    EXPECT_EQ(killed.status, Status::temporary);
    EXPECT_EQ(killed.text, "command killed by signal 15 (Terminated)");
}

TEST(Program, DoesNotWaitForABackgroundProcessHoldingItsOutput) {
    const auto start = std::chrono::steady_clock::now();
    const Outcome outcome = run("sleep 3 & echo started");
    EXPECT_EQ(outcome.status, Status::delivered);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

} // namespace
