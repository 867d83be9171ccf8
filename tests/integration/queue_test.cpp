// SPDX-License-Identifier: ISC
// The queue as mxd finds it at start: every envelope of the spool listed by show queue, in
// smtpctl's format and as JSON Lines, page after page.
#include "tests/integration/daemon_fixture.hpp"

#include "core/queue/store.hpp"

#include <gmock/gmock.h>

#include <set>
#include <sstream>

using namespace mxd_test;
using ::testing::MatchesRegex;
using nlohmann::json;

namespace {

class Queue : public DaemonFixture {
protected:
    // Fills the spool as an earlier run would have left it.
    void fill(std::size_t messages) {
        std::filesystem::create_directories(spool());
        auto store = core::queue::QueueStore::open(spool(), core::queue::QueueStore::Access::writer);
        ASSERT_TRUE(store) << store.error().message;
        std::vector<core::queue::NewMessage> batch;
        for (std::size_t i = 0; i < messages; ++i) {
            core::queue::NewMessage m;
            m.id = core::queue::MsgId::random();
            m.created = 1700000000;
            m.body = "Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n";
            core::queue::Envelope e;
            e.id = core::queue::EvpId::random(m.id);
            e.origin = core::queue::Origin::inet4;
            e.sender = "sender@example.org";
            e.rcpt = e.dest = "rcpt" + std::to_string(i) + "@example.org";
            e.created = m.created;
            e.expires = m.created + 345600;
            e.next_try = m.created;
            m.envelopes.push_back(e);
            batch.push_back(std::move(m));
        }
        ASSERT_TRUE(store->commit(batch));
    }
};

} // namespace

TEST_F(Queue, ShowQueueListsEveryEnvelopeFoundAtStart) {
    fill(2500);
    // Deliveries held (-P), so that the envelopes, long expired, stay to be listed.
    ASSERT_TRUE(start({"-P", "mda"}));
    const auto text = mxctl({"show", "queue"});
    ASSERT_EQ(text.status, 0) << text.err;
    std::istringstream lines(text.out);
    std::set<std::string> evpids;
    std::size_t count = 0;
    for (std::string line; std::getline(lines, line); ++count) {
        EXPECT_THAT(line, MatchesRegex("[0-9a-f]{16}\\|inet4\\|mda\\|\\|sender@example.org\\|rcpt[0-9]+@example.org\\|"
                                       "rcpt[0-9]+@example.org\\|1700000000\\|1700345600\\|0\\|0\\|pending\\|-?[0-9]+\\|"));
        evpids.insert(line.substr(0, 16));
    }
    EXPECT_EQ(count, 2500u);
    EXPECT_EQ(evpids.size(), 2500u) << "no envelope twice across pages";

    const auto jsonl = mxctl({"-j", "show", "queue"});
    ASSERT_EQ(jsonl.status, 0);
    std::istringstream items(jsonl.out);
    std::size_t n = 0;
    for (std::string line; std::getline(items, line); ++n) {
        const auto j = json::parse(line);
        EXPECT_EQ(j["evpid"].get<std::string>().substr(0, 8), j["msgid"]);
        EXPECT_EQ(j["runstate"], "pending");
        EXPECT_EQ(j["created"], "2023-11-14T22:13:20Z");
    }
    EXPECT_EQ(n, 2500u);

    // A restart finds them all again.
    ASSERT_EQ(stop(), 0);
    ASSERT_TRUE(start({"-P", "mda"}));
    const auto again = mxctl({"show", "queue"});
    EXPECT_EQ(std::count(again.out.begin(), again.out.end(), '\n'), 2500);
}

TEST_F(Queue, ShowQueueNeedsReadAccess) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to run mxctl as nobody";
    }
    ASSERT_TRUE(start());
    EXPECT_EQ(mxctl({"show", "queue"}, {.user = "nobody"}).status, 77);
    EXPECT_EQ(mxctl({"show", "queue"}).status, 0);
}
