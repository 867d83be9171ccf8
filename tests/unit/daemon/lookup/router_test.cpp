// SPDX-License-Identifier: ISC
// Recipient expansion on the event loop: only with what is in memory, else nothing.
#include "daemon/generation.hpp"
#include "daemon/lookup/expansion_cache.hpp"
#include "daemon/lookup/router.hpp"

#include "core/config/parser.hpp"

#include <gtest/gtest.h>

namespace {

std::shared_ptr<const mxd::Generation> generation_of(const std::string& text) {
    auto loaded = core::config::load_string(text, "test.conf", {});
    EXPECT_TRUE(loaded.ok());
    auto gen = mxd::build_generation(std::move(*loaded.config), "mx.example.org", 1);
    EXPECT_TRUE(gen) << gen.error().message;
    return *gen;
}

core::rules::Facts facts_for(const std::string& rcpt) {
    core::rules::Facts facts;
    facts.src = "192.0.2.1";
    facts.mail_from = "someone@example.net";
    facts.rcpt_to = rcpt;
    return facts;
}

TEST(ExpansionInMemory, ASystemUserExpandsInMemoryOnlyOnceAWorkerHasLookedItUp) {
    const auto gen = generation_of("table vusers { \"@example.org\" = root }\n"
                                   "action \"local\" mbox virtual <vusers>\n"
                                   "match from any for domain \"example.org\" action \"local\"\n");
    const auto* action = gen->config.find_action("local");
    ASSERT_NE(action, nullptr);
    const auto facts = facts_for("anyone@example.org");

    // root comes from the system's user database and root's ~/.forward from a file: neither
    // has been read yet.
    EXPECT_FALSE(mxd::lookup::expand_recipient_in_memory(*gen, facts, *action, facts.rcpt_to));

    const auto on_worker = mxd::lookup::expand_recipient(*gen, facts, *action, facts.rcpt_to);
    ASSERT_TRUE(on_worker) << on_worker.error().message;
    const auto in_memory = mxd::lookup::expand_recipient_in_memory(*gen, facts, *action, facts.rcpt_to);
    ASSERT_TRUE(in_memory);
    ASSERT_TRUE(*in_memory) << in_memory->error().message;
    ASSERT_EQ((*in_memory)->deliveries.size(), on_worker->deliveries.size());
    ASSERT_EQ(on_worker->deliveries.size(), 1U);
    EXPECT_EQ((*in_memory)->deliveries.front().user.name, "root");
    EXPECT_EQ((*in_memory)->deliveries.front().user.uid, 0U);
}

TEST(ExpansionInMemory, AnUnknownUserIsNeverAnsweredFromMemory) {
    const auto gen = generation_of("action \"local\" mbox\n"
                                   "match from any for domain \"example.org\" action \"local\"\n");
    const auto* action = gen->config.find_action("local");
    ASSERT_NE(action, nullptr);
    const auto facts = facts_for("no-such-user-mxd-test@example.org");
    const auto on_worker = mxd::lookup::expand_recipient(*gen, facts, *action, facts.rcpt_to);
    ASSERT_FALSE(on_worker);
    EXPECT_EQ(on_worker.error().code, core::Errc::not_found);
    // A user added a moment later must be found: the refusal is not cached.
    EXPECT_FALSE(mxd::lookup::expand_recipient_in_memory(*gen, facts, *action, facts.rcpt_to));
}

TEST(ExpansionInMemory, InMemoryTablesAloneNeedNoWorker) {
    const auto gen = generation_of("table aliases { \"list\" = \"|/usr/bin/true list\" }\n"
                                   "action \"local\" mbox alias <aliases>\n"
                                   "match from any for domain \"example.org\" action \"local\"\n");
    const auto* action = gen->config.find_action("local");
    ASSERT_NE(action, nullptr);
    const auto facts = facts_for("list@example.org");
    const auto in_memory = mxd::lookup::expand_recipient_in_memory(*gen, facts, *action, facts.rcpt_to);
    ASSERT_TRUE(in_memory);
    ASSERT_TRUE(*in_memory) << in_memory->error().message;
    ASSERT_EQ((*in_memory)->deliveries.size(), 1U);
    EXPECT_EQ((*in_memory)->deliveries.front().target, "/usr/bin/true list");
}

TEST(ExpansionCache, RemembersUsersAndForwardFilesIncludingTheirAbsence) {
    mxd::lookup::ExpansionCache cache;
    EXPECT_FALSE(cache.user("alice"));
    cache.put_user("alice", "1000:1000:/home/alice");
    EXPECT_EQ(cache.user("alice"), "1000:1000:/home/alice");

    EXPECT_FALSE(cache.forward("/home/alice", 1000));
    cache.put_forward("/home/alice", 1000, std::nullopt);
    const auto none = cache.forward("/home/alice", 1000);
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);
    // The same home with another owner is another file as far as the owner check goes.
    EXPECT_FALSE(cache.forward("/home/alice", 1001));
    cache.put_forward("/home/alice", 1000, std::string("alice@example.net\n"));
    EXPECT_EQ(cache.forward("/home/alice", 1000), std::optional<std::string>("alice@example.net\n"));
}

} // namespace
