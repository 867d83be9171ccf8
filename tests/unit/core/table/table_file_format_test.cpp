// SPDX-License-Identifier: ISC
#include "core/table/table_file_format.hpp"

#include <gtest/gtest.h>

namespace core::table {
namespace {

TEST(TableFileFormat, ListDetectedFromFirstEntry) {
    const auto t = parse_table_text("# domains\n\nExample.ORG\n  example.net  \n");
    EXPECT_TRUE(t.errors.empty());
    EXPECT_EQ(t.kind, FileKind::list);
    ASSERT_EQ(t.entries.size(), 2u);
    EXPECT_EQ(t.entries[0].key, "example.org");
    EXPECT_EQ(t.entries[0].line, 3);
    EXPECT_EQ(t.entries[1].key, "example.net");
}

TEST(TableFileFormat, MappingSplitsAtBlankTabOrColon) {
    const auto t = parse_table_text("root: admin\nPostmaster\troot\nabuse   \"root, admin\"\n");
    EXPECT_TRUE(t.errors.empty());
    EXPECT_EQ(t.kind, FileKind::mapping);
    ASSERT_EQ(t.entries.size(), 3u);
    EXPECT_EQ(t.entries[0].value, "admin");
    EXPECT_EQ(t.entries[1].key, "postmaster");
    EXPECT_EQ(t.entries[1].value, "root");
    EXPECT_EQ(t.entries[2].value, "root, admin");
}

TEST(TableFileFormat, MappingEntryWithoutValueIsAnErrorWithItsLine) {
    const auto t = parse_table_text("a b\n# comment\nlonely\nc d\n");
    ASSERT_EQ(t.errors.size(), 1u);
    EXPECT_EQ(t.errors[0].line, 3);
    EXPECT_NE(t.errors[0].message.find("invalid map entry"), std::string::npos);
}

TEST(TableFileFormat, ListDirectiveKeepsWholeLines) {
    const auto t = parse_table_text("# @list\nuser:secret\nwith blanks inside\n");
    EXPECT_TRUE(t.errors.empty());
    EXPECT_EQ(t.kind, FileKind::list);
    ASSERT_EQ(t.entries.size(), 2u);
    EXPECT_EQ(t.entries[0].key, "user:secret");
    EXPECT_EQ(t.entries[1].key, "with blanks inside");
}

TEST(TableFileFormat, BracketedIpv6Keys) {
    const auto t = parse_table_text("[::1] localhost\n[2001:db8::]/32 net6\n192.0.2.1 v4\n");
    EXPECT_TRUE(t.errors.empty());
    ASSERT_EQ(t.entries.size(), 3u);
    EXPECT_EQ(t.entries[0].key, "[::1]");
    EXPECT_EQ(t.entries[0].value, "localhost");
    EXPECT_EQ(t.entries[1].key, "[2001:db8::]/32");
    EXPECT_EQ(t.entries[1].value, "net6");
    const auto bad = parse_table_text("[::1 x\n");
    ASSERT_EQ(bad.errors.size(), 1u);
    EXPECT_EQ(bad.errors[0].line, 1);
}

TEST(TableFileFormat, LaterDuplicateKeyWins) {
    const auto t = parse_table_text("a 1\nA 2\n");
    ASSERT_EQ(t.entries.size(), 1u);
    EXPECT_EQ(t.entries[0].value, "2");
    EXPECT_EQ(t.entries[0].line, 2);
}

TEST(TableFileFormat, EmptyFileIsAnEmptyList) {
    const auto t = parse_table_text("");
    EXPECT_TRUE(t.errors.empty());
    EXPECT_TRUE(t.entries.empty());
}

TEST(TableFileFormat, CrLfLinesAndLongKeys) {
    const auto t = parse_table_text("a b\r\nc d\r\n");
    ASSERT_EQ(t.entries.size(), 2u);
    EXPECT_EQ(t.entries[0].value, "b");
    const auto long_key = parse_table_text(std::string(1024, 'k') + " v\n");
    EXPECT_EQ(long_key.errors.size(), 1u);
}

TEST(TableFileFormat, SplitsAliasValues) {
    EXPECT_EQ(split_alias_value("roger, roger.rulz@gmail.com"),
              (std::vector<std::string>{"roger", "roger.rulz@gmail.com"}));
    EXPECT_EQ(split_alias_value("\"|/usr/bin/queue a,b\", admin"),
              (std::vector<std::string>{"|/usr/bin/queue a,b", "admin"}));
    EXPECT_EQ(split_alias_value("a\\,b, c"), (std::vector<std::string>{"a\\,b", "c"}));
    EXPECT_EQ(split_alias_value("error:550 no such user"),
              (std::vector<std::string>{"error:550 no such user"}));
}

TEST(TableFileFormat, ReadFileReportsErrno) {
    const auto r = read_table_file("/nonexistent/table");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("No such file or directory"), std::string::npos);
}

} // namespace
} // namespace core::table
