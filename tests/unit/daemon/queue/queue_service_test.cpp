// SPDX-License-Identifier: ISC
#include "daemon/queue/queue_service.hpp"
#include "tests/unit/temp_dir.hpp"

#include <gtest/gtest.h>

using namespace core::queue;
using unit_test::TempDir;

namespace {

NewMessage message_for(std::uint32_t n) {
    NewMessage m;
    m.id = MsgId(0x10000000u + n);
    m.created = 1700000000;
    m.body = "Subject: " + std::to_string(n) + "\r\n\r\nx\r\n";
    Envelope e;
    e.id = EvpId::random(m.id);
    e.rcpt = e.dest = "user" + std::to_string(n) + "@example.org";
    m.envelopes.push_back(e);
    return m;
}

} // namespace

TEST(QueueService, ConcurrentCommitsShareFsyncs) {
    TempDir dir;
    auto service = mxd::queue::QueueService::open(dir.path());
    ASSERT_TRUE(service) << service.error().message;
    auto& queue = **service;
    asio::io_context io;
    constexpr int k_sessions = 200;
    int acknowledged = 0;
    for (int i = 0; i < k_sessions; ++i) {
        asio::co_spawn(io, [&queue, &acknowledged, i]() -> asio::awaitable<void> {
            auto message = message_for(static_cast<std::uint32_t>(i + 1));
            auto result = co_await queue.commit(std::move(message));
            EXPECT_TRUE(result);
            ++acknowledged;
        }, asio::detached);
    }
    io.run();
    EXPECT_EQ(acknowledged, k_sessions);
    const auto counters = queue.counters();
    EXPECT_EQ(counters.messages, static_cast<std::uint64_t>(k_sessions));
    EXPECT_LT(counters.batches, counters.messages) << "commits that arrive together are grouped";
    EXPECT_EQ(*queue.envelope_count(), static_cast<std::size_t>(k_sessions));
    // Paging walks every envelope once.
    std::size_t seen = 0;
    std::optional<EvpId> after;
    for (;;) {
        auto page = queue.page(after, 64);
        ASSERT_TRUE(page);
        seen += page->size();
        if (page->size() < 64) {
            break;
        }
        after = page->back().id;
    }
    EXPECT_EQ(seen, static_cast<std::size_t>(k_sessions));
}

TEST(QueueService, AFailedCommitIsReportedToItsSession) {
    TempDir dir;
    auto service = mxd::queue::QueueService::open(dir.path());
    ASSERT_TRUE(service);
    auto& queue = **service;
    asio::io_context io;
    std::vector<bool> outcomes;
    std::optional<core::Errc> refusal;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        auto first = message_for(1);
        outcomes.push_back(static_cast<bool>(co_await queue.commit(std::move(first))));
        auto again = message_for(1);  // the same message id: refused by the store
        auto result = co_await queue.commit(std::move(again));
        outcomes.push_back(static_cast<bool>(result));
        if (!result) {
            refusal = result.error().code;
        }
    }, asio::detached);
    io.run();
    EXPECT_EQ(outcomes, (std::vector<bool>{true, false}));
    // A session tells a taken id from a failing disk by this, and draws another id.
    EXPECT_EQ(refusal, core::Errc::exists);
    EXPECT_EQ(*queue.envelope_count(), 1u);
}

namespace {

// Queues message 1, then commit_new(make) in a fresh queue: its outcome, and the envelopes
// queued in the end.
std::pair<core::Result<MsgId>, std::size_t>
commit_new_after_message_1(const std::function<NewMessage(MsgId)>& make) {
    TempDir dir;
    auto service = mxd::queue::QueueService::open(dir.path());
    EXPECT_TRUE(service);
    auto& queue = **service;
    asio::io_context io;
    std::optional<core::Result<MsgId>> outcome;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        auto first = message_for(1);
        EXPECT_TRUE(co_await queue.commit(std::move(first)));
        auto committing = queue.commit_new(make);
        outcome.emplace(co_await std::move(committing));
    }, asio::detached);
    io.run();
    EXPECT_TRUE(outcome);
    return {outcome ? std::move(*outcome) : core::Result<MsgId>(core::fail(core::Errc::internal, "not run")),
            *queue.envelope_count()};
}

} // namespace

TEST(QueueService, ANewMessageWhoseIdIsTakenIsMadeAgainWithAnother) {
    int made = 0;
    // The first draw is made to hit the id just queued, as a random one now and then does.
    const auto [outcome, envelopes] = commit_new_after_message_1([&made](MsgId id) {
        auto m = message_for(1);
        if (++made > 1) {
            m.id = id;
            m.envelopes.front().id = EvpId::random(id);
        }
        return m;
    });
    ASSERT_TRUE(outcome) << outcome.error().message;
    EXPECT_EQ(made, 2);
    EXPECT_NE(*outcome, MsgId(0x10000001u));
    EXPECT_EQ(envelopes, 2u);
}

TEST(QueueService, ANewMessageGivesUpAfterFourTakenIds) {
    int made = 0;
    const auto [outcome, envelopes] = commit_new_after_message_1([&made](MsgId) {
        ++made;
        return message_for(1);  // always the taken id
    });
    ASSERT_FALSE(outcome);
    EXPECT_EQ(outcome.error().code, core::Errc::exists);
    EXPECT_EQ(made, 4);
    EXPECT_EQ(envelopes, 1u);
}
