// SPDX-License-Identifier: ISC
#include "core/table/lookup.hpp"
#include "core/table/makemap.hpp"
#include "core/table/table.hpp"
#include "tests/unit/temp_dir.hpp"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <sstream>

using namespace core::table;
using unit_test::TempDir;

namespace {

core::Result<std::size_t> build(const std::string& text, const std::filesystem::path& out,
                                MakemapType type = MakemapType::map) {
    std::istringstream in(text);
    MakemapOptions options;
    options.type = type;
    options.mode = 0640;
    return build_db(in, "src", out, options);
}

} // namespace

TEST(Makemap, BuildsADbThatTheDbBackendReads) {
    TempDir dir;
    const auto out = dir.path() / "aliases.db";
    auto n = build("# comment\nroot: admin@example.org\nList@Example.org \"| /usr/lib/sympa/bin/queue list@example.org\"\n", out);
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(*n, 2u);
    struct stat st{};
    ASSERT_EQ(::stat(out.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
    auto t = open_db_table(out);
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ((*t)->backend(), "db");
    EXPECT_FALSE((*t)->is_list());
    EXPECT_EQ(*(*t)->size(), 2u);
    EXPECT_EQ((*t)->get("list@example.org")->value(), "| /usr/lib/sympa/bin/queue list@example.org");
    EXPECT_FALSE((*t)->get("nobody")->has_value());
}

TEST(Makemap, DuplicatesAndBrokenLinesNameEveryLineAndKeepTheOldDb) {
    TempDir dir;
    const auto out = dir.path() / "t.db";
    ASSERT_TRUE(build("a 1\n", out));
    auto bad = build("a 1\nb 2\na 3\nc\n", out);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, core::Errc::parse);
    EXPECT_NE(bad.error().message.find("src:3: duplicate key 'a'"), std::string::npos) << bad.error().message;
    EXPECT_NE(bad.error().message.find("src:4: "), std::string::npos);
    auto t = open_db_table(out);
    ASSERT_TRUE(t);
    EXPECT_EQ((*t)->get("a")->value(), "1") << "the old db is untouched";
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1) << "no temporary file left";
}

TEST(Makemap, AliasesTypeChecksEveryTarget) {
    TempDir dir;
    EXPECT_TRUE(build("root: admin, |/bin/prog, /var/mail/x, :include:/etc/l, error:550 gone, a@b\n",
                      dir.path() / "ok.db", MakemapType::aliases));
    auto bad = build("x: error:200 fine\ny: :include:relative\nz: a b\n", dir.path() / "bad.db", MakemapType::aliases);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("src:1: "), std::string::npos);
    EXPECT_NE(bad.error().message.find("src:2: "), std::string::npos);
    EXPECT_NE(bad.error().message.find("src:3: "), std::string::npos);
}

TEST(Makemap, SetStoresKeysOnlyAndDumpRoundTrips) {
    TempDir dir;
    const auto set = dir.path() / "set.db";
    ASSERT_TRUE(build("b.org whatever\na.org\n", set, MakemapType::set));
    auto t = open_db_table(set);
    ASSERT_TRUE(t);
    EXPECT_TRUE((*t)->is_list());
    std::ostringstream dumped;
    ASSERT_TRUE(dump_db(set, dumped));
    EXPECT_EQ(dumped.str(), "a.org\nb.org\n");

    const auto map = dir.path() / "map.db";
    ASSERT_TRUE(build("k1 v one\nk2 v2\n", map));
    std::ostringstream text;
    ASSERT_TRUE(dump_db(map, text));
    const auto again = dir.path() / "again.db";
    ASSERT_TRUE(build(text.str(), again));
    auto t2 = open_db_table(again);
    EXPECT_EQ((*t2)->get("k1")->value(), "v one");
}

TEST(DbTable, NoticesWhenMakemapReplacesTheFile) {
    TempDir dir;
    const auto out = dir.path() / "t.db";
    ASSERT_TRUE(build("a 1\n", out));
    auto t = open_db_table(out);
    ASSERT_TRUE(t);
    EXPECT_FALSE((*t)->stale());
    ASSERT_TRUE(build("a 1\nb 2\n", out));
    EXPECT_TRUE((*t)->stale());
    EXPECT_EQ((*t)->get("b")->has_value(), false) << "a snapshot never changes";
    auto fresh = (*t)->reload();
    ASSERT_TRUE(fresh);
    EXPECT_EQ((*fresh)->get("b")->value(), "2");
}

TEST(DbTable, RefusesFilesThatAreNotOurs) {
    TempDir dir;
    const auto path = dir.write("bdb.db", std::string(4096, '\x01'));
    auto t = open_db_table(path);
    ASSERT_FALSE(t);
    auto missing = open_db_table(dir.path() / "missing.db");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, core::Errc::not_found);
}

TEST(DbTable, DomainWildcardsWithoutScanning) {
    TempDir dir;
    const auto out = dir.path() / "d.db";
    ASSERT_TRUE(build("*.example.org\nexample.net\n", out));
    auto t = open_db_table(out);
    ASSERT_TRUE(t);
    auto r = lookup(**t, Service::domain, "mx.sub.example.org");
    ASSERT_TRUE(r && *r);
    EXPECT_EQ((*r)->key, "*.example.org");
}
