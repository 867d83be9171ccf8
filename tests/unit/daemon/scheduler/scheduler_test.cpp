// SPDX-License-Identifier: ISC
// The scheduler on a real queue (SQLite in a temporary spool), with delivery agents that
// record what they are given and answer after a short wait: the per-domain limit, pauses, the
// queue operations of mxctl (schedule, hold, remove), also on an envelope in flight, and the
// recipients of one message gathered into one relay attempt, each with its own outcome.
#include "daemon/queue/queue_service.hpp"
#include "daemon/scheduler/scheduler.hpp"
#include "daemon/state.hpp"
#include "daemon/workers.hpp"
#include "tests/unit/temp_dir.hpp"

#include <gtest/gtest.h>

#include <ctime>
#include <map>
#include <set>

using namespace core::queue;
using mxd::scheduler::Outcome;
using mxd::scheduler::Scheduler;

namespace {

// A scheduler, its queue and event loop, and agents that keep a log of the deliveries.
struct Harness {
    unit_test::TempDir dir;
    asio::io_context io;
    mxd::RuntimeState state;
    mxd::Workers workers{1};
    std::shared_ptr<Scheduler> scheduler;
    std::chrono::milliseconds delivery_time{50};
    Outcome::Status answer = Outcome::Status::delivered;
    std::vector<std::string> started;        // destinations, in the order their attempts began
    std::map<std::string, int> active;       // attempts in flight per destination domain
    std::map<std::string, int> most_active;  // the most seen at once
    int finished = 0;
    int first_finish_index = -1;  // how many attempts had begun when the first one ended
    std::vector<std::vector<std::string>> batches; // each relay attempt's destinations
    std::map<std::string, Outcome::Status> answer_for; // per destination, instead of `answer`
    std::size_t max_recipients = 100;
    std::size_t max_per_user = 7;
    std::function<std::string(const Envelope&)> route; // the relay agent's; empty: default

    Harness() {
        auto queue = mxd::queue::QueueService::open(dir.path());
        EXPECT_TRUE(queue) << queue.error().message;
        state.queue = std::move(*queue);
    }

    ~Harness() {
        state.queue->on_committed(nullptr);
        scheduler.reset();
    }

    asio::awaitable<Outcome> deliver(const Envelope& e) {
        const auto domain = e.dest.substr(e.dest.find('@') + 1);
        started.push_back(e.dest);
        most_active[domain] = std::max(most_active[domain], ++active[domain]);
        asio::steady_timer wait(io, delivery_time);
        co_await wait.async_wait(asio::use_awaitable);
        --active[domain];
        if (first_finish_index < 0) {
            first_finish_index = static_cast<int>(started.size());
        }
        ++finished;
        co_return outcome_for(e.dest);
    }

    Outcome outcome_for(const std::string& dest) const {
        const auto found = answer_for.find(dest);
        const auto status = found != answer_for.end() ? found->second : answer;
        switch (status) {
        case Outcome::Status::delivered:
            return {status, "250 ok"};
        case Outcome::Status::temporary:
            return {status, "451 later " + dest};
        case Outcome::Status::permanent:
            break;
        }
        return {status, "550 no " + dest};
    }

    // The relay agent: one attempt for the batch, timed and counted as its first envelope's.
    asio::awaitable<std::vector<Outcome>> deliver_batch(std::vector<Envelope> envelopes) {
        std::vector<std::string> dests;
        for (const auto& e : envelopes) {
            dests.push_back(e.dest);
        }
        batches.push_back(dests);
        started.insert(started.end(), dests.begin() + 1, dests.end());
        auto first = deliver(envelopes.front());
        co_await std::move(first);
        std::vector<Outcome> out;
        for (const auto& d : dests) {
            out.push_back(outcome_for(d));
        }
        co_return out;
    }

    // Queues one message to all of `rcpts` (all relayed, except those named in `local`).
    std::vector<EvpId> queue_message(const std::vector<std::string>& rcpts,
                                     const std::set<std::string>& local = {},
                                     const std::set<std::string>& held = {}) {
        std::vector<EvpId> ids;
        NewMessage m;
        m.id = MsgId::random();
        m.created = static_cast<std::int64_t>(std::time(nullptr));
        m.body = "Subject: test\r\n\r\nbody\r\n";
        for (const auto& rcpt : rcpts) {
            Envelope e;
            e.id = EvpId::random(m.id);
            e.sender = "sender@example.net";
            e.rcpt = e.dest = rcpt;
            e.action = "out";
            e.type = local.count(rcpt) != 0 ? DeliveryType::mda : DeliveryType::mta;
            e.flags = held.count(rcpt) != 0 ? k_flag_hold : 0;
            e.created = m.created;
            e.expires = m.created + 3600;
            e.next_try = m.created;
            ids.push_back(e.id);
            m.envelopes.push_back(e);
        }
        asio::co_spawn(
            io,
            [this, m = std::move(m)]() mutable -> asio::awaitable<void> {
                auto committing = state.queue->commit(std::move(m));
                auto done = co_await std::move(committing);
                EXPECT_TRUE(done);
            },
            asio::detached);
        io.run();
        io.restart();
        return ids;
    }

    // Queues one message per recipient (type mta for "relay", mbox otherwise).
    std::vector<EvpId> queue_mail(const std::vector<std::string>& rcpts, bool relay) {
        std::vector<EvpId> ids;
        for (const auto& rcpt : rcpts) {
            const auto one = queue_message({rcpt}, relay ? std::set<std::string>{} : std::set<std::string>{rcpt});
            ids.insert(ids.end(), one.begin(), one.end());
        }
        return ids;
    }

    // Starts the scheduler on the queue, as the daemon does at start.
    void start() {
        mxd::scheduler::Settings settings;
        settings.backoff_base = std::chrono::seconds(600);
        settings.max_recipients = max_recipients;
        settings.max_inflight_per_user = max_per_user;
        auto agent = [this](const Envelope& e, std::shared_ptr<const std::string>) { return deliver(e); };
        mxd::scheduler::RelayAgent relay;
        relay.deliver = [this](std::vector<Envelope> envelopes, std::shared_ptr<const std::string>) {
            return deliver_batch(std::move(envelopes));
        };
        relay.route = route;
        scheduler = std::make_shared<Scheduler>(io, state, workers, settings, agent, relay,
                                                [](const NewMessage&, const std::string&) {
                                                    return core::Result<std::vector<Envelope>>(
                                                        std::vector<Envelope>{});
                                                });
        state.scheduler = scheduler;
        EXPECT_TRUE(scheduler->start());
    }

    std::vector<EvpId> queue_and_start(const std::vector<std::string>& rcpts, bool relay) {
        auto ids = queue_mail(rcpts, relay);
        start();
        return ids;
    }

    // Runs the event loop until `done` holds (checked every 10 ms) or 20 s have passed.
    void run_until(const std::function<bool()>& done) {
        asio::steady_timer poll(io);
        std::function<void()> check = [&] {
            if (done()) {
                io.stop();
                return;
            }
            poll.expires_after(std::chrono::milliseconds(10));
            poll.async_wait([&](const asio::error_code&) { check(); });
        };
        check();
        io.run_for(std::chrono::seconds(20));
        io.restart();
    }

    std::size_t queued() { return *state.queue->envelope_count(); }
};

// Runs an awaitable operation of the scheduler on the harness's loop and returns its result.
template <typename T> T run_op(Harness& h, std::function<asio::awaitable<T>()> op) {
    std::optional<T> out;
    asio::co_spawn(
        h.io,
        [&]() -> asio::awaitable<void> {
            auto running = op();
            out.emplace(co_await std::move(running));
        },
        asio::detached);
    h.run_until([&] { return out.has_value(); });
    return std::move(*out);
}

} // namespace

TEST(Scheduler, OneSlowDomainDoesNotHoldBackTheOthers) {
    Harness h;
    h.delivery_time = std::chrono::milliseconds(200);
    std::vector<std::string> rcpts;
    for (int i = 0; i < 30; ++i) {
        rcpts.push_back("user" + std::to_string(i) + "@slow.example");
    }
    for (int i = 0; i < 3; ++i) {
        rcpts.push_back("user" + std::to_string(i) + "@fast.example");
    }
    h.queue_and_start(rcpts, true);
    h.run_until([&] { return h.finished == 33 && h.scheduler->counts().inflight == 0 && h.queued() == 0; });
    EXPECT_EQ(h.finished, 33);
    EXPECT_EQ(h.queued(), 0U) << "every delivered envelope leaves the queue";
    EXPECT_EQ(h.most_active["slow.example"], 10) << "at most max-inflight-per-domain at once";
    // The 20 slow ones over the limit wait aside: fast.example's three start with the first wave.
    EXPECT_EQ(h.first_finish_index, 13);
    EXPECT_EQ(h.scheduler->counts().delivered, 33U);
}

TEST(Scheduler, ALocalUserAtItsLimitWaitsAsideWhileAnotherUserDelivers) {
    Harness h;
    h.delivery_time = std::chrono::milliseconds(200);
    h.max_per_user = 2; // mda limit max-session-per-user 2
    std::vector<std::string> rcpts(10, "alice");
    rcpts.push_back("bob");
    rcpts.push_back("bob");
    h.queue_and_start(rcpts, false);
    h.run_until([&] { return h.finished == 12 && h.scheduler->counts().inflight == 0 && h.queued() == 0; });
    EXPECT_EQ(h.finished, 12);
    EXPECT_EQ(h.most_active["alice"], 2) << "at most max-session-per-user deliveries to alice at once";
    // Alice's other eight wait aside without taking places: bob's two start in the first wave.
    EXPECT_EQ(h.first_finish_index, 4);
}

TEST(Scheduler, APausedKindWaitsWhileTheOtherDelivers) {
    Harness h;
    h.state.paused.mta = true;
    h.queue_mail({"a@remote.example", "b@remote.example"}, true);
    h.queue_and_start({"root@localhost"}, false);
    h.run_until([&] { return h.finished == 1 && h.scheduler->counts().inflight == 0 && h.queued() == 2; });
    ASSERT_EQ(h.started, std::vector<std::string>{"root@localhost"});
    h.state.paused.mta = false;
    h.scheduler->wake();
    h.run_until([&] { return h.queued() == 0; });
    EXPECT_EQ(h.finished, 3);
}

TEST(Scheduler, HoldReleaseRemoveAndSchedule) {
    Harness h;
    h.state.paused.mta = true;
    const auto ids = h.queue_and_start({"a@x.example", "b@x.example", "c@x.example"}, true);
    // Held: stays in the queue, marked held in the store, and is not delivered on resume.
    auto held = run_op<core::Result<mxd::scheduler::Touched>>(h, [&] { return h.scheduler->hold({ids[0], ids[1]}, true); });
    ASSERT_TRUE(held);
    EXPECT_EQ(held->done, 2U);
    EXPECT_EQ(h.scheduler->runstate(ids[0]), "held");
    EXPECT_NE((*h.state.queue->envelope(ids[0]))->flags & k_flag_hold, 0U);
    h.state.paused.mta = false;
    h.scheduler->wake();
    h.run_until([&] { return h.queued() == 2; });
    EXPECT_EQ(h.started, std::vector<std::string>{"c@x.example"});
    // schedule leaves held ones alone; an unknown id is counted missing.
    const auto scheduled = h.scheduler->schedule({ids[0], EvpId(0x1234567800000001ULL)});
    EXPECT_EQ(scheduled.held, 1U);
    EXPECT_EQ(scheduled.missing, 1U);
    // Removed: gone from the store without a delivery.
    auto removed = run_op<core::Result<mxd::scheduler::Touched>>(h, [&] { return h.scheduler->remove({ids[0]}); });
    ASSERT_TRUE(removed);
    EXPECT_EQ(removed->done, 1U);
    EXPECT_EQ(h.queued(), 1U);
    EXPECT_FALSE(*h.state.queue->envelope(ids[0]));
    // Released: delivered at once.
    auto released = run_op<core::Result<mxd::scheduler::Touched>>(h, [&] { return h.scheduler->hold({ids[1]}, false); });
    ASSERT_TRUE(released);
    h.run_until([&] { return h.queued() == 0; });
    EXPECT_EQ(h.started, (std::vector<std::string>{"c@x.example", "b@x.example"}));
}

TEST(Scheduler, ScheduleRetriesADeferredEnvelopeNow) {
    Harness h;
    h.answer = Outcome::Status::temporary;
    const auto ids = h.queue_and_start({"a@x.example"}, true);
    h.run_until([&] { return h.finished == 1 && h.scheduler->counts().inflight == 0; });
    const auto deferred = *h.state.queue->envelope(ids[0]);
    ASSERT_TRUE(deferred);
    EXPECT_GT(deferred->next_try, static_cast<std::int64_t>(std::time(nullptr)) + 500) << "backoff";
    h.answer = Outcome::Status::delivered;
    EXPECT_EQ(h.scheduler->schedule({ids[0]}).done, 1U);
    h.run_until([&] { return h.queued() == 0; });
    EXPECT_EQ(h.finished, 2);
}

TEST(Scheduler, RemovingAnEnvelopeInFlightTakesItOutWhenItsAttemptEnds) {
    Harness h;
    h.answer = Outcome::Status::temporary;
    h.delivery_time = std::chrono::milliseconds(300);
    const auto ids = h.queue_and_start({"a@x.example"}, true);
    h.run_until([&] { return h.started.size() == 1; });
    ASSERT_EQ(h.scheduler->runstate(ids[0]), "inflight");
    auto removed = run_op<core::Result<mxd::scheduler::Touched>>(h, [&] { return h.scheduler->remove({ids[0]}); });
    ASSERT_TRUE(removed);
    EXPECT_EQ(removed->inflight, 1U);
    h.run_until([&] { return h.finished == 1 && h.queued() == 0; });
    EXPECT_EQ(h.queued(), 0U) << "a temporary failure of a removed envelope does not keep it";
    EXPECT_EQ(h.scheduler->counts().removed, 1U);
}

TEST(Scheduler, RecipientsOfAMessageOnOneRouteGoInOneRelayAttempt) {
    Harness h;
    // Routes by domain (the default): a.example's three together, b.example's two together;
    // the local recipient on its own; the held one stays.
    h.queue_message({"1@a.example", "2@a.example", "1@b.example", "root@localhost", "3@a.example",
                     "2@b.example", "held@a.example"},
                    {"root@localhost"}, {"held@a.example"});
    // Another message to a.example is another transaction.
    h.queue_message({"4@a.example"});
    h.start();
    h.run_until([&] { return h.queued() == 1 && h.scheduler->counts().inflight == 0; });
    auto batches = h.batches;
    for (auto& b : batches) {
        std::sort(b.begin(), b.end());
    }
    std::sort(batches.begin(), batches.end());
    EXPECT_EQ(batches, (std::vector<std::vector<std::string>>{
                           {"1@a.example", "2@a.example", "3@a.example"},
                           {"1@b.example", "2@b.example"},
                           {"4@a.example"}}));
    EXPECT_EQ(h.finished, 4) << "three relay attempts and one local delivery";
    EXPECT_EQ(h.scheduler->counts().delivered, 7U);
    EXPECT_EQ(h.scheduler->counts().held, 1U);
}

TEST(Scheduler, TheRelayAgentsRouteGathersAcrossDomainsUpToTheBound) {
    Harness h;
    h.route = [](const Envelope& e) { return e.action + "\nsmarthost"; };
    h.max_recipients = 3;
    h.queue_message({"1@a.example", "2@b.example", "3@c.example", "4@d.example", "5@e.example",
                     "6@f.example", "7@g.example"});
    h.start();
    h.run_until([&] { return h.queued() == 0 && h.scheduler->counts().inflight == 0; });
    std::vector<std::size_t> sizes;
    for (const auto& b : h.batches) {
        sizes.push_back(b.size());
    }
    EXPECT_EQ(sizes, (std::vector<std::size_t>{3, 3, 1}));
    EXPECT_EQ(h.scheduler->counts().delivered, 7U);
}

TEST(Scheduler, EachEnvelopeOfARelayAttemptGetsItsOwnOutcome) {
    Harness h;
    h.answer_for["gone@x.example"] = Outcome::Status::permanent;
    h.answer_for["later@x.example"] = Outcome::Status::temporary;
    const auto ids = h.queue_message({"ok@x.example", "gone@x.example", "later@x.example"});
    h.start();
    h.run_until([&] { return h.queued() == 1 && h.scheduler->counts().inflight == 0; });
    ASSERT_EQ(h.batches.size(), 1U);
    EXPECT_EQ(h.batches[0].size(), 3U);
    const auto counts = h.scheduler->counts();
    EXPECT_EQ(counts.delivered, 1U);
    EXPECT_EQ(counts.permanent, 1U);
    EXPECT_EQ(counts.temporary, 1U);
    EXPECT_FALSE(*h.state.queue->envelope(ids[0]));
    EXPECT_FALSE(*h.state.queue->envelope(ids[1]));
    const auto deferred = *h.state.queue->envelope(ids[2]);
    ASSERT_TRUE(deferred);
    EXPECT_EQ(deferred->last_error, "451 later later@x.example");
    EXPECT_EQ(deferred->retries, 1);
    EXPECT_EQ(h.scheduler->runstate(ids[2]), "pending");
}
