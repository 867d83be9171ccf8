// SPDX-License-Identifier: ISC
// The privileged process's records (a round trip over a real SOCK_SEQPACKET socketpair with a
// descriptor beside the record) and what it refuses to start.
#include "daemon/mda/remote.hpp"
#include "daemon/mda/spawn.hpp"
#include "daemon/privileged/privileged.hpp"
#include "daemon/privileged/wire.hpp"

#include <gtest/gtest.h>

#include <asio.hpp>

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <thread>

using namespace mxd::privileged;

namespace {

struct Pair {
    Pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0); }
    ~Pair() {
        ::close(fds[0]);
        ::close(fds[1]);
    }
    int fds[2] = {-1, -1};
};

mxd::mda::spawn::ChildSpec spec_of(std::vector<std::string> argv, bool change, uid_t uid) {
    mxd::mda::spawn::ChildSpec spec;
    spec.argv = std::move(argv);
    spec.identity.change = change;
    spec.identity.uid = uid;
    spec.identity.gid = uid;
    return spec;
}

} // namespace

TEST(PrivilegedWire, ARecordAndItsDescriptorArriveWhole) {
    Pair pair;
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    wire::Writer w(wire::Type::start);
    w.u64(42);
    w.str("mxd");
    w.str(std::string(100000, 'x'));
    ASSERT_TRUE(wire::send(pair.fds[0], w.bytes(), pipe_fds[1]));
    ::close(pipe_fds[1]);
    auto got = wire::receive(pair.fds[1]);
    ASSERT_TRUE(got) << got.error().message;
    wire::Reader r(got->bytes);
    EXPECT_EQ(static_cast<wire::Type>(r.u32()), wire::Type::start);
    EXPECT_EQ(r.u64(), 42u);
    EXPECT_EQ(r.str(), "mxd");
    EXPECT_EQ(r.str().size(), 100000u);
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.at_end());
    // The descriptor is the pipe's write end: what goes in comes out of the read end.
    ASSERT_TRUE(got->fd);
    ASSERT_EQ(::write(got->fd.get(), "z", 1), 1);
    char c = 0;
    EXPECT_EQ(::read(pipe_fds[0], &c, 1), 1);
    EXPECT_EQ(c, 'z');
    ::close(pipe_fds[0]);
}

TEST(PrivilegedWire, AShortRecordReadsAsNotOk) {
    wire::Writer w(wire::Type::open_forward);
    w.str("/home/alice");
    std::string bytes = w.bytes();
    bytes.resize(bytes.size() - 3);
    wire::Reader r(bytes);
    r.u32();
    EXPECT_EQ(r.str(), "");
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.u32(), 0u);
}

TEST(PrivilegedWire, TheOtherEndClosingGivesAnEmptyRecordAndNoneWaitingIsBusy) {
    Pair pair;
    auto none = wire::receive(pair.fds[1], MSG_DONTWAIT);
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, core::Errc::busy);
    ::shutdown(pair.fds[0], SHUT_RDWR);
    auto got = wire::receive(pair.fds[1]);
    ASSERT_TRUE(got);
    EXPECT_TRUE(got->bytes.empty());
}

TEST(PrivilegedRefusal, OnlyTheDeliveryModeAndNeverAsRootExceptMboxInTheSpool) {
    const std::filesystem::path spool = "/var/mail";
    EXPECT_EQ(refusal(spec_of({"mxd", "__deliver", "maildir", "--", "/home/a/Maildir"}, true, 1000),
                      spool),
              "");
    EXPECT_EQ(refusal(spec_of({"mxd", "__deliver", "command", "--", "procmail"}, true, 1000), spool),
              "");
    EXPECT_EQ(refusal(spec_of({"mxd", "__deliver", "mbox", "--owner", "1000:1000", "--",
                               "/var/mail/alice"},
                              false, 0),
                      spool),
              "");
    // Another program, or the delivery mode without a method.
    EXPECT_NE(refusal(spec_of({"sh", "-c", "id", "x"}, true, 1000), spool), "");
    EXPECT_NE(refusal(spec_of({"mxd", "__deliver", "shell", "--", "x"}, true, 1000), spool), "");
    // As root: only mbox.
    EXPECT_NE(refusal(spec_of({"mxd", "__deliver", "command", "--", "id"}, true, 0), spool), "");
    EXPECT_NE(refusal(spec_of({"mxd", "__deliver", "file", "--", "/etc/passwd"}, false, 0), spool),
              "");
    // mbox stays in the spool, one level down.
    EXPECT_NE(refusal(spec_of({"mxd", "__deliver", "mbox", "--", "/etc/passwd"}, false, 0), spool),
              "");
    EXPECT_NE(refusal(spec_of({"mxd", "__deliver", "mbox", "--", "/var/mail/../../etc/passwd"},
                              false, 0),
                      spool),
              "");
    EXPECT_NE(refusal(spec_of({"mxd", "__deliver", "mbox", "--", "/var/mail/.."}, false, 0), spool),
              "");
    EXPECT_NE(refusal(spec_of({"mxd", "__deliver", "mbox", "/var/mail/alice", "--from"}, false, 0),
                      spool),
              "");
}

// The daemon's side of a delivery through the privileged process, against this test playing
// the privileged process: the child's output arrives, and at the timeout the launcher asks
// for a kill, after which the exit status makes the ending a timeout.
TEST(PrivilegedLauncher, OutputArrivesAndTheTimeoutAsksForAKill) {
    Pair pair;
    std::thread privileged([fd = pair.fds[1]] {
        auto start = wire::receive(fd);
        ASSERT_TRUE(start);
        ASSERT_TRUE(start->fd); // the message
        wire::Reader r(start->bytes);
        ASSERT_EQ(static_cast<wire::Type>(r.u32()), wire::Type::start);
        const std::uint64_t id = r.u64();
        int output[2];
        ASSERT_EQ(::pipe(output), 0);
        ASSERT_EQ(::write(output[1], "working\n", 8), 8);
        wire::Writer started(wire::Type::started);
        started.u64(id);
        started.u32(1);
        started.str("");
        ASSERT_TRUE(wire::send(fd, started.bytes(), output[0]));
        ::close(output[0]);
        auto kill = wire::receive(fd); // the child "hangs" until the launcher gives up
        ASSERT_TRUE(kill);
        wire::Reader k(kill->bytes);
        EXPECT_EQ(static_cast<wire::Type>(k.u32()), wire::Type::kill);
        EXPECT_EQ(k.u64(), id);
        ::close(output[1]);
        wire::Writer exited(wire::Type::exited);
        exited.u64(id);
        exited.u32(static_cast<std::uint32_t>(SIGKILL)); // a waitpid() status: killed
        ASSERT_TRUE(wire::send(fd, exited.bytes(), -1));
    });
    asio::io_context io;
    auto launcher = std::make_shared<mxd::mda::remote::Launcher>(pair.fds[0]);
    std::optional<core::Result<mxd::mda::spawn::Ending>> result;
    int message[2];
    ASSERT_EQ(::pipe(message), 0);
    auto spec = spec_of({"mxd", "__deliver", "command", "--", "sleep 100"}, true, 1000);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto running = launcher->run(spec, message[0], std::chrono::seconds(1));
            result = co_await std::move(running);
            io.stop(); // the launcher's reader waits for records for good
        },
        asio::detached);
    io.run_for(std::chrono::seconds(20));
    privileged.join();
    ::close(message[0]);
    ::close(message[1]);
    ASSERT_TRUE(result);
    ASSERT_TRUE(*result) << (*result).error().message;
    const auto& ending = **result;
    EXPECT_TRUE(ending.timed_out);
    EXPECT_FALSE(ending.lost);
    EXPECT_TRUE(WIFSIGNALED(ending.status));
    EXPECT_EQ(ending.output, "working\n");
}

// A refusal comes back as an error with the privileged process's reason.
TEST(PrivilegedLauncher, ARefusalIsAnErrorWithItsReason) {
    Pair pair;
    std::thread privileged([fd = pair.fds[1]] {
        auto start = wire::receive(fd);
        ASSERT_TRUE(start);
        wire::Reader r(start->bytes);
        r.u32();
        wire::Writer refused(wire::Type::started);
        refused.u64(r.u64());
        refused.u32(0);
        refused.str("refusing to run a command delivery as root");
        ASSERT_TRUE(wire::send(fd, refused.bytes(), -1));
    });
    asio::io_context io;
    auto launcher = std::make_shared<mxd::mda::remote::Launcher>(pair.fds[0]);
    std::optional<core::Result<mxd::mda::spawn::Ending>> result;
    auto spec = spec_of({"mxd", "__deliver", "command", "--", "id"}, true, 0);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto running = launcher->run(spec, STDIN_FILENO, std::chrono::seconds(5));
            result = co_await std::move(running);
            io.stop(); // the launcher's reader waits for records for good
        },
        asio::detached);
    io.run_for(std::chrono::seconds(20));
    privileged.join();
    ASSERT_TRUE(result);
    ASSERT_FALSE(*result);
    EXPECT_EQ((*result).error().message, "refusing to run a command delivery as root");
}
