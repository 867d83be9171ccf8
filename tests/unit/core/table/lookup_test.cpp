// SPDX-License-Identifier: ISC
#include "core/table/lookup.hpp"
#include "core/table/table.hpp"
#include "tests/unit/temp_dir.hpp"

#include <gtest/gtest.h>

using namespace core::table;
using unit_test::TempDir;

namespace {

TablePtr mapping(std::vector<std::pair<std::string, std::string>> entries) {
    return make_inline_table("t", std::move(entries), false);
}

TablePtr list(std::vector<std::string> keys) {
    std::vector<std::pair<std::string, std::string>> entries;
    for (auto& k : keys) {
        entries.emplace_back(std::move(k), "");
    }
    return make_inline_table("t", std::move(entries), true);
}

std::optional<std::string> key_of(const Table& table, Service service, std::string_view key) {
    auto found = lookup(table, service, key);
    EXPECT_TRUE(found) << found.error().message;
    return found && *found ? std::optional<std::string>((*found)->key) : std::nullopt;
}

} // namespace

TEST(TableLookup, DomainsMatchExactlyAndByWildcard) {
    const auto t = list({"Example.org", "*.example.net"});
    EXPECT_EQ(key_of(*t, Service::domain, "EXAMPLE.ORG"), "example.org");
    EXPECT_EQ(key_of(*t, Service::domain, "mx.example.net"), "*.example.net");
    EXPECT_EQ(key_of(*t, Service::domain, "a.b.example.net"), "*.example.net");
    EXPECT_EQ(key_of(*t, Service::domain, "example.net"), std::nullopt);
    EXPECT_EQ(key_of(*t, Service::domain, "sub.example.org"), std::nullopt);
}

TEST(TableLookup, NetaddrMatchesAddressesAndCidrBlocks) {
    const auto t = list({"192.168.1.0/24", "10.0.0.1", "[2001:db8::]/32"});
    EXPECT_EQ(key_of(*t, Service::netaddr, "192.168.1.77"), "192.168.1.0/24");
    EXPECT_EQ(key_of(*t, Service::netaddr, "10.0.0.1"), "10.0.0.1");
    EXPECT_EQ(key_of(*t, Service::netaddr, "10.0.0.2"), std::nullopt);
    EXPECT_EQ(key_of(*t, Service::netaddr, "2001:db8:1::5"), "[2001:db8::]/32");
    EXPECT_EQ(key_of(*t, Service::netaddr, "2001:db9::5"), std::nullopt);
    EXPECT_EQ(key_of(*t, Service::netaddr, "not-an-ip"), std::nullopt);
    EXPECT_TRUE(netaddr_match("172.16.5.4", "172.16.0.0/12"));
    EXPECT_FALSE(netaddr_match("172.32.0.1", "172.16.0.0/12"));
    EXPECT_FALSE(netaddr_match("::1", "127.0.0.1"));
}

TEST(TableLookup, MailaddrMatchesAddressDomainOrUser) {
    const auto t = list({"roger@personaldomain.org", "@businessname.com", "postmaster"});
    EXPECT_EQ(key_of(*t, Service::mailaddr, "Roger@PersonalDomain.org"), "roger@personaldomain.org");
    EXPECT_EQ(key_of(*t, Service::mailaddr, "anyone@businessname.com"), "@businessname.com");
    EXPECT_EQ(key_of(*t, Service::mailaddr, "postmaster@elsewhere.org"), "postmaster");
    EXPECT_EQ(key_of(*t, Service::mailaddr, "shirley@personaldomain.org"), std::nullopt);
}

TEST(TableLookup, MappingServicesRefuseLists) {
    const auto t = list({"a"});
    auto r = lookup(*t, Service::credentials, "a");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("needs a mapping"), std::string::npos);
}

TEST(TableLookup, VirtualOrderOfTable5) {
    const auto t = mapping({{"user+tag@dom.org", "1"}, {"user@dom.org", "2"}, {"user+tag", "3"},
                            {"user", "4"}, {"@dom.org", "5"}, {"@", "6"}});
    auto value = [&](std::string_view address) {
        auto r = lookup_virtual(*t, address, '+');
        EXPECT_TRUE(r);
        return r && *r ? (*r)->value : std::string("none");
    };
    EXPECT_EQ(value("user+tag@dom.org"), "1");
    EXPECT_EQ(value("user+other@dom.org"), "2");
    EXPECT_EQ(value("User@Dom.org"), "2");
    EXPECT_EQ(value("user+tag@else.org"), "3");
    EXPECT_EQ(value("user@else.org"), "4");
    EXPECT_EQ(value("other@dom.org"), "5");
    EXPECT_EQ(value("other@else.org"), "6");
    const auto no_catchall = mapping({{"@dom.org", "x"}});
    auto none = lookup_virtual(*no_catchall, "a@b.org", '+');
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);
}

TEST(TableLookup, HostnamePatterns) {
    EXPECT_TRUE(hostname_match("mx1.example.org", "mx*.example.org"));
    EXPECT_TRUE(hostname_match("MX1.example.org", "*.example.org"));
    EXPECT_FALSE(hostname_match("example.org", "*.example.org"));
    EXPECT_TRUE(hostname_match("anything", "*"));
}

TEST(FileTable, LoadsTheWikiTablesOfSeed003) {
    TempDir dir;
    const auto vdoms = open_file_table(dir.write("vdoms", "personaldomain.org\nbusinessname.com\n\n"));
    ASSERT_TRUE(vdoms) << vdoms.error().message;
    EXPECT_TRUE((*vdoms)->is_list());
    EXPECT_EQ(key_of(**vdoms, Service::domain, "businessname.com"), "businessname.com");

    const auto vusers = open_file_table(dir.write("vusers", "roger@personaldomain.org          roger\n"
                                                            "newsletters@personaldomain.org    roger,roger.rulz@gmail.com\n\n"
                                                            "info@businessname.com             roger,shirley\n"
                                                            "contact@businessname.com          info@businessname.com\n"));
    ASSERT_TRUE(vusers);
    EXPECT_FALSE((*vusers)->is_list());
    EXPECT_EQ(*(*vusers)->size(), 4u);
    auto r = lookup_virtual(**vusers, "newsletters@personaldomain.org", '+');
    ASSERT_TRUE(r && *r);
    EXPECT_EQ((*r)->value, "roger,roger.rulz@gmail.com");
    r = lookup_virtual(**vusers, "contact@businessname.com", '+');
    ASSERT_TRUE(r && *r);
    EXPECT_EQ((*r)->value, "info@businessname.com");
}

TEST(FileTable, ABrokenLineIsAnErrorWithFileAndLine) {
    TempDir dir;
    const auto path = dir.write("t", "a 1\nb\n");
    const auto t = open_file_table(path);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, core::Errc::parse);
    EXPECT_NE(t.error().message.find(path.string() + ":2: "), std::string::npos) << t.error().message;
}

TEST(GetpwnamTable, KnowsRoot) {
    const auto t = make_getpwnam_table();
    auto root = t->get("root");
    ASSERT_TRUE(root && *root);
    EXPECT_EQ(root->value().substr(0, 4), "0:0:");
    auto none = t->get("no-such-user-here");
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);
}

TEST(TableLookup, SendersEntriesAllowAddresses) {
    const char delim = '+';
    EXPECT_TRUE(core::table::mailaddr_allowed("alice@example.org", "alice@example.org", delim));
    EXPECT_TRUE(core::table::mailaddr_allowed("Alice@Example.ORG", "bob@example.org, alice@example.org", delim));
    EXPECT_TRUE(core::table::mailaddr_allowed("alice+lists@example.org", "alice@example.org", delim));
    EXPECT_FALSE(core::table::mailaddr_allowed("alice@example.org", "alice+lists@example.org", delim));
    EXPECT_TRUE(core::table::mailaddr_allowed("anyone@example.net", "@example.net", delim));
    EXPECT_TRUE(core::table::mailaddr_allowed("alice@anywhere.test", "alice", delim));
    EXPECT_TRUE(core::table::mailaddr_allowed("x@y.z", "@", delim));
    EXPECT_FALSE(core::table::mailaddr_allowed("mallory@example.org", "alice@example.org @example.net", delim));
    EXPECT_FALSE(core::table::mailaddr_allowed("alice@example.org", "", delim));
}
