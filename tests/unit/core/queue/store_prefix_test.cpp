// SPDX-License-Identifier: ISC
// QueueStore::ids_with_prefix, what shell completion of queue ids reads: msgids and evpids by
// prefix, in order, at most `limit` of each, across the top bit of the id.
#include "core/queue/store.hpp"
#include "tests/unit/temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace core::queue;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using unit_test::TempDir;

namespace {

// Messages of one envelope each, with these msgids and the envelope's low half 1.
std::vector<NewMessage> messages(const std::vector<std::uint32_t>& ids) {
    std::vector<NewMessage> out;
    for (auto id : ids) {
        NewMessage m;
        m.id = MsgId(id);
        m.created = 1700000000;
        m.body = "Subject: x\r\n\r\nx\r\n";
        Envelope e;
        e.id = EvpId((static_cast<std::uint64_t>(id) << 32) | 1);
        e.sender = "a@example.org";
        e.rcpt = e.dest = "b@example.org";
        m.envelopes.push_back(e);
        out.push_back(std::move(m));
    }
    return out;
}

std::vector<std::string> hex(const std::vector<MsgId>& ids) {
    std::vector<std::string> out;
    for (const auto& id : ids) {
        out.push_back(id.hex());
    }
    return out;
}

std::vector<std::string> hex(const std::vector<EvpId>& ids) {
    std::vector<std::string> out;
    for (const auto& id : ids) {
        out.push_back(id.hex());
    }
    return out;
}

class StorePrefix : public ::testing::Test {
protected:
    void SetUp() override {
        auto store = QueueStore::open(m_dir.path(), QueueStore::Access::writer);
        ASSERT_TRUE(store) << store.error().message;
        // Ids on both sides of 2^63 (stored as negative integers).
        ASSERT_TRUE(store->commit(messages({0x0a000001, 0x0a000002, 0x0b000001, 0xf0000001, 0x80000000})));
        m_store.emplace(std::move(*store));
    }
    TempDir m_dir;
    std::optional<QueueStore> m_store;
};

} // namespace

TEST_F(StorePrefix, EverythingInUnsignedOrderForAnEmptyPrefix) {
    const auto all = m_store->ids_with_prefix("", 100);
    ASSERT_TRUE(all) << all.error().message;
    EXPECT_THAT(hex(all->msgids), ElementsAre("0a000001", "0a000002", "0b000001", "80000000", "f0000001"));
    EXPECT_THAT(hex(all->evpids), ElementsAre("0a00000100000001", "0a00000200000001", "0b00000100000001",
                                              "8000000000000001", "f000000100000001"));
}

TEST_F(StorePrefix, APrefixIsARange) {
    const auto a = m_store->ids_with_prefix("0a", 100);
    ASSERT_TRUE(a);
    EXPECT_THAT(hex(a->msgids), ElementsAre("0a000001", "0a000002"));
    EXPECT_THAT(hex(a->evpids), ElementsAre("0a00000100000001", "0a00000200000001"));
    const auto f = m_store->ids_with_prefix("f", 100);
    ASSERT_TRUE(f);
    EXPECT_THAT(hex(f->msgids), ElementsAre("f0000001"));
    // A whole msgid: the message and its envelopes; longer: envelopes only.
    const auto msg = m_store->ids_with_prefix("0b000001", 100);
    EXPECT_THAT(hex(msg->msgids), ElementsAre("0b000001"));
    EXPECT_THAT(hex(msg->evpids), ElementsAre("0b00000100000001"));
    const auto evp = m_store->ids_with_prefix("0b0000010", 100);
    EXPECT_THAT(evp->msgids, IsEmpty());
    EXPECT_THAT(hex(evp->evpids), ElementsAre("0b00000100000001"));
    const auto none = m_store->ids_with_prefix("c", 100);
    EXPECT_THAT(none->msgids, IsEmpty());
    EXPECT_THAT(none->evpids, IsEmpty());
}

TEST_F(StorePrefix, TheLimitKeepsTheFirstOfEachKind) {
    const auto two = m_store->ids_with_prefix("", 2);
    ASSERT_TRUE(two);
    EXPECT_THAT(hex(two->msgids), ElementsAre("0a000001", "0a000002"));
    EXPECT_THAT(hex(two->evpids), ElementsAre("0a00000100000001", "0a00000200000001"));
    // The limit holds across the two signed ranges of an empty prefix.
    const auto four = m_store->ids_with_prefix("", 4);
    EXPECT_THAT(hex(four->evpids), ElementsAre("0a00000100000001", "0a00000200000001", "0b00000100000001",
                                               "8000000000000001"));
}

TEST_F(StorePrefix, NotHexOrTooLongIsAnError) {
    EXPECT_FALSE(m_store->ids_with_prefix("0g", 10));
    EXPECT_FALSE(m_store->ids_with_prefix("0A", 10));
    EXPECT_FALSE(m_store->ids_with_prefix("0a0000010000000100", 10));
}
