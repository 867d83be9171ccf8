// SPDX-License-Identifier: ISC
#include "core/queue/store.hpp"
#include "tests/unit/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>

using namespace core::queue;
using unit_test::TempDir;

namespace {

NewMessage message(std::uint32_t id, std::vector<std::string> rcpts) {
    NewMessage m;
    m.id = MsgId(id);
    m.created = 1700000000;
    m.body = "Subject: test\r\n\r\nbody of " + std::to_string(id) + "\r\n";
    std::uint32_t low = 1;
    for (auto& r : rcpts) {
        Envelope e;
        e.id = EvpId((static_cast<std::uint64_t>(id) << 32) | low++);
        e.origin = Origin::inet4;
        e.type = DeliveryType::mda;
        e.sender = "alice@example.org";
        e.rcpt = r;
        e.dest = r;
        e.created = m.created;
        e.expires = m.created + 4 * 86400;
        e.next_try = m.created;
        m.envelopes.push_back(e);
    }
    return m;
}

} // namespace

TEST(QueueIds, HexAndParse) {
    const EvpId e(0x0c1d2e3f4a5b6c7dULL);
    EXPECT_EQ(e.hex(), "0c1d2e3f4a5b6c7d");
    EXPECT_EQ(e.msgid().hex(), "0c1d2e3f");
    EXPECT_EQ(EvpId::parse("0c1d2e3f4a5b6c7d"), e);
    EXPECT_FALSE(EvpId::parse("0c1d2e3f"));
    EXPECT_FALSE(EvpId::parse("00000000ffffffff"));
    EXPECT_FALSE(EvpId::parse("0c1d2e3f4a5b6c7z"));
    EXPECT_EQ(MsgId::parse("0c1d2e3f"), MsgId(0x0c1d2e3f));
    EXPECT_FALSE(MsgId::parse("00000000"));
    const auto m = MsgId::random();
    EXPECT_TRUE(m.valid());
    EXPECT_EQ(EvpId::random(m).msgid(), m);
}

TEST(QueueStore, CommitsAndReadsBackAcrossReopen) {
    TempDir dir;
    {
        auto store = QueueStore::open(dir.path(), QueueStore::Access::writer);
        ASSERT_TRUE(store) << store.error().message;
        const std::vector<NewMessage> batch{message(0x22222222, {"a@x.org", "b@x.org"}), message(0x11111111, {"c@y.org"})};
        ASSERT_TRUE(store->commit(batch));
    }
    auto reader = QueueStore::open(dir.path(), QueueStore::Access::reader);
    ASSERT_TRUE(reader);
    EXPECT_EQ(*reader->envelope_count(), 3u);
    EXPECT_EQ(*reader->message_count(), 2u);
    std::vector<std::string> order;
    ASSERT_TRUE(reader->for_each_envelope([&](const Envelope& e) {
        order.push_back(e.rcpt);
        EXPECT_EQ(e.sender, "alice@example.org");
        EXPECT_EQ(e.origin, Origin::inet4);
        return true;
    }));
    EXPECT_EQ(order, (std::vector<std::string>{"c@y.org", "a@x.org", "b@x.org"}));
    EXPECT_EQ(**reader->message_body(MsgId(0x11111111)), "Subject: test\r\n\r\nbody of 286331153\r\n");
    EXPECT_FALSE(*reader->message_body(MsgId(0x33333333)));
}

TEST(QueueStore, AFailedBatchStoresNothing) {
    TempDir dir;
    auto store = QueueStore::open(dir.path(), QueueStore::Access::writer);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->commit(std::vector{message(0x10000000, {"a@x.org"})}));
    // The second message of the batch reuses an id: the whole batch is refused.
    const std::vector<NewMessage> batch{message(0x20000000, {"b@x.org"}), message(0x10000000, {"c@x.org"})};
    EXPECT_FALSE(store->commit(batch));
    EXPECT_EQ(*store->envelope_count(), 1u);
    EXPECT_EQ(*store->message_count(), 1u);
}

TEST(QueueStore, ChangesUpdateAndRemoveEnvelopesAndTheLastOneTakesTheMessage) {
    TempDir dir;
    auto store = QueueStore::open(dir.path(), QueueStore::Access::writer);
    ASSERT_TRUE(store);
    const auto first = message(0x10000000, {"a@x.org", "b@x.org"});
    ASSERT_TRUE(store->commit(std::vector{first}));

    // A temporary failure: the retry fields change and survive a reopen.
    auto retried = first.envelopes[0];
    retried.retries = 2;
    retried.last_try = 1700000100;
    retried.next_try = 1700000900;
    retried.last_error = "451 4.3.0 try later";
    retried.warnings = 1;
    QueueChanges changes;
    changes.updates.push_back(retried);
    // The second envelope fails for good: its bounce is queued in the same transaction.
    changes.removals.push_back(first.envelopes[1].id);
    changes.messages.push_back(message(0x20000000, {"alice@example.org"}));
    ASSERT_TRUE(store->apply(std::vector{changes}));
    EXPECT_EQ(*store->envelope_count(), 2u);
    const auto read = store->envelope(retried.id);
    ASSERT_TRUE(read && *read);
    EXPECT_EQ((*read)->retries, 2);
    EXPECT_EQ((*read)->next_try, 1700000900);
    EXPECT_EQ((*read)->last_error, "451 4.3.0 try later");
    EXPECT_EQ((*read)->warnings, 1);
    EXPECT_FALSE(store->envelope(first.envelopes[1].id)->has_value());

    // Delivered: the last envelope leaves, and its message with it.
    QueueChanges delivered;
    delivered.removals.push_back(retried.id);
    ASSERT_TRUE(store->apply(std::vector{delivered}));
    EXPECT_FALSE(*store->message_body(MsgId(0x10000000)));
    EXPECT_EQ(*store->message_count(), 1u);
    EXPECT_EQ(*store->envelope_count(), 1u);
}

TEST(QueueStore, AWritersCommitsLeaveTheCheckpointToItsOwner) {
    TempDir dir;
    auto store = QueueStore::open(dir.path(), QueueStore::Access::writer);
    ASSERT_TRUE(store);
    const auto database = dir.path() / "queue.db";
    const auto before = std::filesystem::file_size(database);
    // 400 messages of 4 KB, one commit each: the WAL passes the 1000 pages at which SQLite
    // would checkpoint inside a COMMIT.
    for (std::uint32_t n = 1; n <= 400; ++n) {
        auto m = message(0x10000000 + n, {"a@x.org"});
        m.body.append(4000, 'x');
        ASSERT_TRUE(store->commit(std::vector{m}));
    }
    EXPECT_EQ(std::filesystem::file_size(database), before) << "a commit ran a checkpoint";
    ASSERT_TRUE(store->checkpoint_when_due());
    EXPECT_GT(std::filesystem::file_size(database), before + 400 * 4000);
    EXPECT_EQ(*store->message_count(), 400u);
}

TEST(ShowQueueLine, HasSmtpctlsFourteenFields) {
    auto m = message(0x0c1d2e3f, {"bob@example.org"});
    auto e = m.envelopes[0];
    e.sender = "";
    e.flags = k_flag_auth | k_flag_bounce;
    e.last_error = "451 try\nlater|x";
    const auto line = show_queue_line(e, "pending", 1700000010);
    EXPECT_EQ(line, "0c1d2e3f00000001|inet4|mda|bounce,auth|@|bob@example.org|bob@example.org|1700000000|1700345600|0|0|"
                    "pending|-10|451 try\\nlater|x");
}
