// SPDX-License-Identifier: ISC
#include "daemon/queue/queue_service.hpp"
#include "tests/unit/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

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

TEST(QueueService, ABounceWhoseIdIsTakenIsAppliedWithAnother) {
    TempDir dir;
    auto service = mxd::queue::QueueService::open(dir.path());
    ASSERT_TRUE(service);
    auto& queue = **service;
    std::vector<Envelope> reported;
    queue.on_committed([&reported](const std::vector<Envelope>& added) {
        reported.insert(reported.end(), added.begin(), added.end());
    });
    asio::io_context io;
    auto second = message_for(2);
    const auto delivered = second.envelopes.front().id;
    // A delivery result: message 2's envelope leaves, and a bounce is queued whose id, drawn
    // at random, is message 1's. Before, the whole result was refused, and message 2 was
    // delivered again a minute later.
    auto bounce = message_for(1);
    const auto low_half = bounce.envelopes.front().id.value() & 0xffffffffu;
    std::optional<core::Result<void>> outcome;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        auto first = queue.commit(message_for(1));
        EXPECT_TRUE(co_await std::move(first));
        auto then = queue.commit(std::move(second));
        EXPECT_TRUE(co_await std::move(then));
        QueueChanges result;
        result.messages.push_back(bounce);
        result.removals.push_back(delivered);
        auto applying = queue.apply(std::move(result));
        outcome.emplace(co_await std::move(applying));
    }, asio::detached);
    io.run();
    ASSERT_TRUE(outcome && *outcome) << (outcome ? outcome->error().message : "not run");
    EXPECT_FALSE(*queue.envelope(delivered)) << "the delivered envelope left";
    EXPECT_EQ(*queue.envelope_count(), 2u) << "message 1's and the bounce's";
    EXPECT_EQ(*queue.message_count(), 2u);
    const auto bounced = *queue.page(std::nullopt, 10);
    // The hook runs on the committer thread after the caller has its answer: once the service
    // is gone (its thread joined), it has run.
    service->reset();
    std::erase_if(reported, [](const Envelope& e) {
        return e.id.msgid() == MsgId(0x10000001u) || e.id.msgid() == MsgId(0x10000002u);
    });
    ASSERT_EQ(reported.size(), 1u) << "the bounce alone, under its new id";
    const auto stored = reported.front().id;
    EXPECT_NE(stored.msgid(), bounce.id);
    EXPECT_EQ(stored.value() & 0xffffffffu, low_half);
    EXPECT_TRUE(std::any_of(bounced.begin(), bounced.end(),
                            [stored](const Envelope& e) { return e.id == stored; }))
        << "the scheduler learns the id that was stored";
}

namespace {

// Commits message n, and sets `done` when its commit returns.
asio::awaitable<void> commit_message(mxd::queue::QueueService& queue, std::uint32_t n, bool& done) {
    auto committing = queue.commit(message_for(n));
    EXPECT_TRUE(co_await std::move(committing));
    done = true;
}

// Waits `delay` on the caller's executor.
asio::awaitable<void> pause(std::chrono::milliseconds delay) {
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    co_await timer.async_wait(asio::use_awaitable);
}

// Commits messages 1 to 3 so that the committer lingers from then on: a large message keeps
// it busy while 2 and 3 arrive, and the commit after it covers both.
asio::awaitable<void> make_the_committer_linger(mxd::queue::QueueService& queue) {
    auto executor = co_await asio::this_coro::executor;
    auto large = message_for(1);
    large.body.append(std::size_t{32} << 20, 'x');
    auto first = queue.commit(std::move(large));
    bool second = false;
    bool third = false;
    asio::co_spawn(executor, commit_message(queue, 2, second), asio::detached);
    asio::co_spawn(executor, commit_message(queue, 3, third), asio::detached);
    auto first_outcome = co_await std::move(first);
    EXPECT_TRUE(first_outcome) << first_outcome.error().message;
    while (!second || !third) {
        co_await pause(std::chrono::milliseconds(10));
    }
}

} // namespace

TEST(QueueService, ACommitWaitsForAMessageOnItsWayAfterASharedCommit) {
    TempDir dir;
    // A linger far longer than the test, so that only the announced message can end the wait.
    auto service = mxd::queue::QueueService::open(dir.path(), std::chrono::minutes(1));
    ASSERT_TRUE(service);
    auto& queue = **service;
    asio::io_context io;
    std::uint64_t batches_before = 0;
    bool fourth = false;
    bool fifth = false;
    bool fourth_before_fifth_sent = false;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        co_await make_the_committer_linger(queue);
        batches_before = queue.counters().batches;
        // Message 5 is on its way (an SMTP session between MAIL FROM and its data) while
        // message 4 is committed: 4 waits for it.
        auto on_its_way = queue.expect_message();
        asio::co_spawn(io, commit_message(queue, 4, fourth), asio::detached);
        co_await pause(std::chrono::milliseconds(200));
        fourth_before_fifth_sent = fourth;
        on_its_way.release();
        co_await commit_message(queue, 5, fifth);
    }, asio::detached);
    io.run();
    EXPECT_TRUE(fourth && fifth);
    EXPECT_FALSE(fourth_before_fifth_sent) << "message 4 did not wait for the announced message";
    EXPECT_EQ(queue.counters().batches, batches_before + 1) << "4 and 5 share one commit";
    EXPECT_EQ(*queue.envelope_count(), 5u);
}

TEST(QueueService, ALoneCommitDoesNotWaitForAnIdleTransaction) {
    TempDir dir;
    auto service = mxd::queue::QueueService::open(dir.path(), std::chrono::seconds(20));
    ASSERT_TRUE(service);
    auto& queue = **service;
    asio::io_context io;
    bool second = false;
    bool second_while_held = false;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        bool first = false;
        co_await commit_message(queue, 1, first);
        // A transaction that sends nothing (a slow client): each commit covers one item, so
        // the committer does not wait for it.
        auto idle = queue.expect_message();
        asio::co_spawn(io, commit_message(queue, 2, second), asio::detached);
        for (int i = 0; i < 1000 && !second; ++i) { // at most 10 s, half the linger
            co_await pause(std::chrono::milliseconds(10));
        }
        second_while_held = second;
        idle.release();
    }, asio::detached);
    io.run();
    EXPECT_TRUE(second);
    EXPECT_TRUE(second_while_held) << "a lone commit waited for a transaction that sent nothing";
}

TEST(QueueService, TheWalIsCopiedBackIntoTheDatabaseBetweenCommits) {
    TempDir dir;
    auto service = mxd::queue::QueueService::open(dir.path());
    ASSERT_TRUE(service);
    auto& queue = **service;
    asio::io_context io;
    // 400 messages of 4 KB, one commit each: the WAL passes 1000 pages, and then the committer
    // checkpoints, which is when the database file itself grows.
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        for (std::uint32_t n = 1; n <= 400; ++n) {
            auto message = message_for(n);
            message.body.append(4000, 'x');
            auto committing = queue.commit(std::move(message));
            EXPECT_TRUE(co_await std::move(committing));
        }
    }, asio::detached);
    io.run();
    EXPECT_GT(std::filesystem::file_size(dir.path() / "queue.db"), std::uintmax_t{1} << 20);
    EXPECT_EQ(*queue.envelope_count(), 400u);
}

TEST(QueueService, AnAnnouncementGivenUpEndsTheWait) {
    TempDir dir;
    // A linger far longer than the test allows for: only the announcement given up can end
    // the wait in time.
    auto service = mxd::queue::QueueService::open(dir.path(), std::chrono::seconds(5));
    ASSERT_TRUE(service);
    auto& queue = **service;
    asio::io_context io;
    bool fourth = false;
    bool fourth_in_time = false;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        co_await make_the_committer_linger(queue);
        // A session announces a message, then gives up (its recipient refused, then QUIT)
        // while message 4 waits for it.
        auto on_its_way = queue.expect_message();
        asio::co_spawn(io, commit_message(queue, 4, fourth), asio::detached);
        co_await pause(std::chrono::milliseconds(100));
        EXPECT_FALSE(fourth) << "message 4 did not wait for the announced message";
        on_its_way.release();
        for (int i = 0; i < 100 && !fourth; ++i) {
            co_await pause(std::chrono::milliseconds(10));
        }
        fourth_in_time = fourth;
    }, asio::detached);
    io.run();
    EXPECT_TRUE(fourth_in_time) << "message 4 waited out the linger after the announcement ended";
    EXPECT_EQ(*queue.envelope_count(), 4u);
}
