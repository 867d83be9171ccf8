// SPDX-License-Identifier: ISC
#include "daemon/control/trace_hub.hpp"

#include "core/util/log.hpp"

#include <gtest/gtest.h>

using core::Subsystem;
using mxd::control::TraceFilter;
using mxd::control::TraceFollower;
using mxd::control::TraceHub;

namespace {

core::SubsystemSet set_of(std::initializer_list<Subsystem> subsystems) {
    core::SubsystemSet set;
    for (auto s : subsystems) {
        set.add(s);
    }
    return set;
}

} // namespace

TEST(TraceFilter, SubsystemsSessionAndMessage) {
    TraceFilter smtp{set_of({Subsystem::smtp}), "", ""};
    EXPECT_TRUE(smtp.matches(Subsystem::smtp, "3f2a9c01d4e5b6a7", "3f2a9c01d4e5b6a7 smtp <<< line=QUIT"));
    EXPECT_FALSE(smtp.matches(Subsystem::mta, "3f2a9c01d4e5b6a7", "x"));

    TraceFilter session{set_of({Subsystem::smtp, Subsystem::expand}), "", "3f2a9c01d4e5b6a7"};
    EXPECT_TRUE(session.matches(Subsystem::smtp, "3f2a9c01d4e5b6a7", "..."));
    EXPECT_TRUE(session.matches(Subsystem::expand, "", "expand step session=3f2a9c01d4e5b6a7 rcpt=a"));
    EXPECT_FALSE(session.matches(Subsystem::smtp, "0000000000000000", "smtp <<< line=QUIT"));
    EXPECT_FALSE(session.matches(Subsystem::smtp, "", "x session=3f2a9c01d4e5b6a7ff"));

    TraceFilter message{set_of({Subsystem::scheduler, Subsystem::queue}), "0c1d2e3f", ""};
    EXPECT_TRUE(message.matches(Subsystem::scheduler, "0c1d2e3f12345678", "deliver"));  // an evpid of it
    EXPECT_TRUE(message.matches(Subsystem::queue, "", "queue commit msgid=0c1d2e3f"));
    EXPECT_TRUE(message.matches(Subsystem::queue, "", "queue x evpid=0c1d2e3f12345678"));
    EXPECT_FALSE(message.matches(Subsystem::queue, "", "queue commit msgid=0c1d2e30"));
    EXPECT_FALSE(message.matches(Subsystem::scheduler, "0c1d2e3f1234", "x"));

    TraceFilter envelope{set_of({Subsystem::scheduler}), "0c1d2e3f12345678", ""};
    EXPECT_TRUE(envelope.matches(Subsystem::scheduler, "0c1d2e3f12345678", "x"));
    EXPECT_FALSE(envelope.matches(Subsystem::scheduler, "0c1d2e3f87654321", "x"));
}

TEST(TraceFollower, BoundedQueueCountsWhatItDrops) {
    asio::io_context io;
    auto follower = std::make_shared<TraceFollower>(io.get_executor(), TraceFilter{set_of({Subsystem::smtp}), "", ""});
    for (std::size_t i = 0; i < TraceFollower::k_lines_max + 5; ++i) {
        follower->push("line " + std::to_string(i));
    }
    auto batch = follower->take();
    EXPECT_EQ(batch.lines.size(), TraceFollower::k_lines_max);
    EXPECT_EQ(batch.dropped, 5u);
    EXPECT_EQ(batch.lines.front(), "line 0");
    follower->push("again");
    batch = follower->take();
    EXPECT_EQ(batch.lines, std::vector<std::string>{"again"});
    EXPECT_EQ(batch.dropped, 0u);
    io.run();  // the posted wake-ups find nothing waiting
}

TEST(TraceHub, FollowingTurnsOnlyTheFollowedSwitchAndReceivesLines) {
    asio::io_context io;
    auto& hub = TraceHub::instance();
    const auto before = core::log::traces();
    EXPECT_FALSE(core::log::trace_followed(Subsystem::rules));
    {
        auto follower = hub.follow(io.get_executor(), TraceFilter{set_of({Subsystem::rules}), "", ""});
        EXPECT_EQ(hub.followers(), 1u);
        EXPECT_TRUE(core::log::trace_followed(Subsystem::rules));
        EXPECT_FALSE(core::log::trace_followed(Subsystem::smtp));
        EXPECT_EQ(core::log::traces(), before);  // the log's own switches are left alone
        MXD_TRACE(Subsystem::rules, "abcd", "match", {{"rule", "x"}});
        MXD_TRACE(Subsystem::smtp, "abcd", "ignored");
        const auto batch = follower->take();
        ASSERT_EQ(batch.lines.size(), 1u);
        EXPECT_EQ(batch.lines[0], "abcd rules match rule=x");
    }
    EXPECT_EQ(hub.followers(), 0u);
    EXPECT_FALSE(core::log::trace_followed(Subsystem::rules));
    io.run();
}
