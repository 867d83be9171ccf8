// SPDX-License-Identifier: ISC
#include "core/util/strings.hpp"
#include "core/util/time.hpp"
#include "core/util/trace.hpp"

#include <gtest/gtest.h>

TEST(Strings, ClosestMatchSuggestsTypos) {
    const std::vector<std::string_view> words{"relay", "listen", "action", "match"};
    EXPECT_EQ(core::closest_match("relya", words), "relay");
    EXPECT_EQ(core::closest_match("LISTN", words), "listen");
    EXPECT_EQ(core::closest_match("zzzzzz", words), "");
}

TEST(Strings, TrimAndSplit) {
    EXPECT_EQ(core::trim("  a b \r\n"), "a b");
    EXPECT_EQ(core::split("a,,b", ',').size(), 3u);
}

TEST(Time, HumanDurationsLikeSmtpctl) {
    EXPECT_EQ(core::format_duration_human(0), "0s");
    EXPECT_EQ(core::format_duration_human(61), "1m1s");
    EXPECT_EQ(core::format_duration_human(86400 + 7200 + 3), "1d2h3s");
}

TEST(Trace, SubsystemNamesRoundTripAndAllIsASet) {
    for (auto name : core::k_subsystem_names) {
        const auto s = core::parse_subsystem(name);
        ASSERT_TRUE(s);
        EXPECT_EQ(core::subsystem_name(*s), name);
    }
    EXPECT_FALSE(core::parse_subsystem("all"));
    EXPECT_TRUE(core::parse_subsystem_set("all")->contains(core::Subsystem::stat));
    EXPECT_FALSE(core::parse_subsystem_set("imsg"));
}
