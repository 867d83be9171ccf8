// SPDX-License-Identifier: ISC
// The privileged process's records (a round trip over a real SOCK_SEQPACKET socketpair with a
// descriptor beside the record) and what it refuses to start.
#include "daemon/mda/spawn.hpp"
#include "daemon/privileged/privileged.hpp"
#include "daemon/privileged/wire.hpp"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

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
