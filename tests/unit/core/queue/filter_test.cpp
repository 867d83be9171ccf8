// SPDX-License-Identifier: ISC
#include "core/queue/filter.hpp"

#include <gtest/gtest.h>

// Specs name only the filters a case is about; the others stay empty.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using namespace core::queue;

namespace {

constexpr std::int64_t k_now = 1700000000;

Envelope envelope(std::string sender, std::string rcpt, std::string dest, std::int64_t age) {
    Envelope e;
    e.id = EvpId(0x0c1d2e3f4a5b6c7dULL);
    e.sender = std::move(sender);
    e.rcpt = std::move(rcpt);
    e.dest = std::move(dest);
    e.created = k_now - age;
    return e;
}

Filter parsed(const FilterSpec& spec) {
    auto f = Filter::parse(spec);
    EXPECT_TRUE(f) << f.error().message;
    return f ? *f : Filter{};
}

} // namespace

TEST(QueueFilter, NothingGivenMatchesEverythingButIsNotScoped) {
    const auto f = parsed({});
    EXPECT_FALSE(f.scoped());
    EXPECT_TRUE(f.matches(envelope("a@b.org", "c@d.org", "c@d.org", 0), "pending", k_now));
}

TEST(QueueFilter, AllIsScopedAndMatchesEverything) {
    const auto f = parsed({.id = "all"});
    EXPECT_TRUE(f.scoped());
    EXPECT_TRUE(f.all());
    EXPECT_TRUE(f.matches(envelope("", "c@d.org", "c@d.org", 0), "inflight", k_now));
}

TEST(QueueFilter, EvpidMatchesThatEnvelopeOnly) {
    const auto f = parsed({.id = "0c1d2e3f4a5b6c7d"});
    EXPECT_TRUE(f.scoped());
    ASSERT_TRUE(f.evpid());
    EXPECT_EQ(f.msgid()->hex(), "0c1d2e3f");
    auto e = envelope("a@b.org", "c@d.org", "c@d.org", 0);
    EXPECT_TRUE(f.matches(e, "pending", k_now));
    e.id = EvpId(0x0c1d2e3f4a5b6c7eULL);
    EXPECT_FALSE(f.matches(e, "pending", k_now));
}

TEST(QueueFilter, MsgidMatchesEveryEnvelopeOfTheMessage) {
    const auto f = parsed({.id = "0c1d2e3f"});
    EXPECT_FALSE(f.evpid());
    auto e = envelope("a@b.org", "c@d.org", "c@d.org", 0);
    EXPECT_TRUE(f.matches(e, "pending", k_now));
    e.id = EvpId(0x0c1d2e3f00000001ULL);
    EXPECT_TRUE(f.matches(e, "pending", k_now));
    e.id = EvpId(0x0c1d2e4000000001ULL);
    EXPECT_FALSE(f.matches(e, "pending", k_now));
}

TEST(QueueFilter, BadIdDurationOrStateIsRefusedByName) {
    EXPECT_FALSE(Filter::parse({.id = "xyz"}));
    EXPECT_FALSE(Filter::parse({.id = "0000000000000000"}));
    auto duration = Filter::parse({.older_than = "2 hours"});
    ASSERT_FALSE(duration);
    EXPECT_NE(duration.error().message.find("--older-than"), std::string::npos);
    auto state = Filter::parse({.state = "sleeping"});
    ASSERT_FALSE(state);
    EXPECT_NE(state.error().message.find("--state"), std::string::npos);
}

TEST(QueueFilter, SenderIsAPatternOnTheWholeAddressIgnoringCase) {
    const auto e = envelope("Alice@Example.org", "c@d.org", "c@d.org", 0);
    EXPECT_TRUE(parsed({.sender = "alice@example.org"}).matches(e, "pending", k_now));
    EXPECT_TRUE(parsed({.sender = "*@example.org"}).matches(e, "pending", k_now));
    EXPECT_TRUE(parsed({.sender = "@example.org"}).matches(e, "pending", k_now));
    EXPECT_TRUE(parsed({.sender = "al?ce@*"}).matches(e, "pending", k_now));
    EXPECT_FALSE(parsed({.sender = "alice"}).matches(e, "pending", k_now));
    EXPECT_FALSE(parsed({.sender = "@example.net"}).matches(e, "pending", k_now));
    EXPECT_FALSE(parsed({.sender = "<>"}).matches(e, "pending", k_now));
}

TEST(QueueFilter, NullSenderIsWrittenAngleBrackets) {
    const auto bounce = envelope("", "c@d.org", "c@d.org", 0);
    EXPECT_TRUE(parsed({.sender = "<>"}).matches(bounce, "pending", k_now));
    EXPECT_FALSE(parsed({.sender = "@*"}).matches(bounce, "pending", k_now));
    EXPECT_TRUE(parsed({.sender = "*"}).matches(bounce, "pending", k_now));
}

TEST(QueueFilter, RcptMatchesTheOriginalOrTheExpandedRecipient) {
    const auto e = envelope("a@b.org", "list@lists.example.org", "sympa@example.org", 0);
    EXPECT_TRUE(parsed({.rcpt = "list@lists.example.org"}).matches(e, "pending", k_now));
    EXPECT_TRUE(parsed({.rcpt = "sympa@*"}).matches(e, "pending", k_now));
    EXPECT_FALSE(parsed({.rcpt = "a@b.org"}).matches(e, "pending", k_now));
}

TEST(QueueFilter, DomainIsTheRecipientsDomain) {
    const auto e = envelope("a@sender.org", "bob@Example.NET", "bob@example.net", 0);
    EXPECT_TRUE(parsed({.domain = "example.net"}).matches(e, "pending", k_now));
    EXPECT_TRUE(parsed({.domain = "*.net"}).matches(e, "pending", k_now));
    EXPECT_FALSE(parsed({.domain = "sender.org"}).matches(e, "pending", k_now));
    EXPECT_FALSE(parsed({.domain = "net"}).matches(e, "pending", k_now));
}

TEST(QueueFilter, OlderThanComparesTheCreationTime) {
    const auto f = parsed({.older_than = "2h"});
    EXPECT_TRUE(f.scoped());
    EXPECT_TRUE(f.matches(envelope("a@b", "c@d", "c@d", 7200), "pending", k_now));
    EXPECT_TRUE(f.matches(envelope("a@b", "c@d", "c@d", 86400), "pending", k_now));
    EXPECT_FALSE(f.matches(envelope("a@b", "c@d", "c@d", 7199), "pending", k_now));
}

TEST(QueueFilter, StateIsTheSchedulersRunstate) {
    const auto f = parsed({.state = "held"});
    EXPECT_TRUE(f.needs_runstate());
    const auto e = envelope("a@b", "c@d", "c@d", 0);
    EXPECT_TRUE(f.matches(e, "held", k_now));
    EXPECT_FALSE(f.matches(e, "pending", k_now));
    EXPECT_FALSE(parsed({.sender = "a@b"}).needs_runstate());
}

TEST(QueueFilter, EveryFilterGivenMustHold) {
    const auto f = parsed({.id = "all", .sender = "*@b.org", .domain = "d.org", .older_than = "1m"});
    EXPECT_TRUE(f.matches(envelope("a@b.org", "c@d.org", "c@d.org", 60), "pending", k_now));
    EXPECT_FALSE(f.matches(envelope("a@b.org", "c@e.org", "c@e.org", 60), "pending", k_now));
    EXPECT_FALSE(f.matches(envelope("a@b.org", "c@d.org", "c@d.org", 10), "pending", k_now));
}

TEST(MatchPattern, StarsAndQuestionMarks) {
    EXPECT_TRUE(match_pattern("*", ""));
    EXPECT_TRUE(match_pattern("a*b*c", "aXXbYYc"));
    EXPECT_TRUE(match_pattern("a*c", "abcbc"));
    EXPECT_FALSE(match_pattern("a*c", "abcb"));
    EXPECT_TRUE(match_pattern("?", "x"));
    EXPECT_FALSE(match_pattern("?", ""));
    EXPECT_FALSE(match_pattern("", "x"));
    EXPECT_TRUE(match_pattern("**a", "a"));
}
