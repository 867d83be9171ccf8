// SPDX-License-Identifier: ISC
// Tables against a real mxd: the Sympa flow of seed 000 (makemap, db tables picked up with no
// command), the wiki's tables of seed 003, update table, show tables, newaliases, access.
#include "tests/integration/daemon_fixture.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>

#include <fstream>

using namespace mxd_test;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using nlohmann::json;

namespace {

class Tables : public DaemonFixture {
protected:
    std::filesystem::path write(const std::string& name, const std::string& text) {
        const auto path = dir() / name;
        std::ofstream(path) << text;
        return path;
    }
    void append(const std::string& name, const std::string& text) {
        std::ofstream(dir() / name, std::ios::app) << text;
    }
    void configure(const std::string& text) { std::ofstream(config_path(), std::ios::app) << text; }
    // The mxctl binary under another name, as the multicall links install it.
    std::string personality(const std::string& name) {
        const auto link = dir() / name;
        std::filesystem::create_symlink(std::filesystem::absolute(mxctl_binary()), link);
        return link.string();
    }
};

// The list aliases that Sympa's list_aliases.tt2 (seed 000) makes for one list.
std::string list_aliases(const std::string& list) {
    const std::string libexec = "/usr/lib/sympa/libexec";
    return "#--- " + list + "@mail.example.org: list virtual table created at today\n" +
           list + "@mail.example.org               \"| " + libexec + "/queue " + list + "@mail.example.org\"\n" +
           list + "-request@mail.example.org       \"| " + libexec + "/queue " + list + "-request@mail.example.org\"\n" +
           list + "-editor@mail.example.org        \"| " + libexec + "/queue " + list + "-editor@mail.example.org\"\n" +
           "#" + list + "-subscribe@mail.example.org    \"| " + libexec + "/queue " + list + "-subscribe@mail.example.org\"\n" +
           list + "-unsubscribe@mail.example.org   \"| " + libexec + "/queue " + list + "-unsubscribe@mail.example.org\"\n" +
           list + "-owner@mail.example.org \"| " + libexec + "/bouncequeue " + list + "@mail.example.org\"\n";
}

} // namespace

TEST_F(Tables, SympaFlowOfSeed000) {
    const auto makemap = personality("makemap");
    write("sympa_domain_aliases",
          "sympa@mail.example.org             \"| /usr/lib/sympa/libexec/queue sympa@mail.example.org\"\n"
          "listmaster@mail.example.org        \"| /usr/lib/sympa/libexec/queue listmaster@mail.example.org\"\n"
          "bounce@mail.example.org            \"| /usr/lib/sympa/libexec/bouncequeue sympa@mail.example.org\"\n"
          "abuse-feedback-report@mail.example.org \"| /usr/lib/sympa/libexec/bouncequeue sympa@mail.example.org\"\n"
          "sympa-request@mail.example.org     postmaster@\n"
          "sympa-owner@mail.example.org       postmaster@\n"
          "#listserv@mail.example.org         sympa@mail.example.org\n");
    write("sympa_aliases", list_aliases("first"));
    ASSERT_EQ(run({makemap, (dir() / "sympa_domain_aliases").string()}).status, 0);
    const auto built = run({makemap, (dir() / "sympa_aliases").string()});
    ASSERT_EQ(built.status, 0) << built.err;
    EXPECT_EQ(built.out, "");
    configure("table sympa db:" + (dir() / "sympa_domain_aliases.db").string() + "\n"
              "accept from any for any recipient <sympa> virtual <sympa>\n"
              "table lists db:" + (dir() / "sympa_aliases.db").string() + "\n"
              "accept from any for any recipient <lists> virtual <lists>\n"
              "table sympa_domains { \"mail.example.org\" }\n"
              "reject from any for domain <sympa_domains>\n");
    ASSERT_TRUE(start());

    auto r = mxctl({"table", "lookup", "sympa", "listmaster@mail.example.org"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "| /usr/lib/sympa/libexec/queue listmaster@mail.example.org\n");
    r = mxctl({"table", "lookup", "lists", "first-request@mail.example.org"});
    EXPECT_EQ(r.out, "| /usr/lib/sympa/libexec/queue first-request@mail.example.org\n");
    EXPECT_EQ(mxctl({"table", "lookup", "lists", "first-subscribe@mail.example.org"}).status, 1) << "commented out";
    EXPECT_EQ(mxctl({"table", "lookup", "sympa_domains", "mail.example.org", "--service", "domain"}).status, 0);

    // A new list: Sympa appends its aliases and runs makemap; no control command follows.
    EXPECT_EQ(mxctl({"table", "lookup", "lists", "second@mail.example.org"}).status, 1);
    append("sympa_aliases", list_aliases("second"));
    ASSERT_EQ(run({makemap, (dir() / "sympa_aliases").string()}).status, 0);
    r = mxctl({"table", "lookup", "lists", "second@mail.example.org"});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out, "| /usr/lib/sympa/libexec/queue second@mail.example.org\n");
    EXPECT_EQ(mxctl({"table", "lookup", "lists", "first@mail.example.org"}).status, 0);

    // mxctl expand: each list address reaches Sympa's program through the rule of its table,
    // and the rest of the list domain meets the reject rule.
    auto expanded = mxctl({"expand", "second-request@mail.example.org"});
    EXPECT_EQ(expanded.status, 0) << expanded.out << expanded.err;
    EXPECT_EQ(expanded.out,
              "second-request@mail.example.org\n"
              "  rule 2: mxd.conf:7 (action \"lists\")\n"
              "  action lists\n"
              "  expand: expand second-request@mail.example.org with action \"lists\"\n"
              "  expand: virtual second-request@mail.example.org -> | /usr/lib/sympa/libexec/queue "
              "second-request@mail.example.org\n"
              "  expand: deliver command \"|/usr/lib/sympa/libexec/queue second-request@mail.example.org\"\n"
              "  -> |/usr/lib/sympa/libexec/queue second-request@mail.example.org (mda, action lists)\n");
    // sympa-request goes to postmaster@ of the list domain, which this configuration rejects.
    expanded = mxctl({"expand", "sympa-request@mail.example.org", "--src", "192.0.2.7"});
    EXPECT_EQ(expanded.status, 2);
    EXPECT_THAT(expanded.out, HasSubstr("  rule 1: mxd.conf:5 (action \"sympa\")\n"));
    EXPECT_THAT(expanded.out, HasSubstr("  error: the rules refuse postmaster@mail.example.org\n"));
    expanded = mxctl({"expand", "nobody@mail.example.org"});
    EXPECT_EQ(expanded.status, 2);
    EXPECT_EQ(expanded.out, "nobody@mail.example.org\n  rule 3: mxd.conf:9 (reject)\n  rejected: by this rule\n");
    const auto as_json = json::parse(mxctl({"-j", "expand", "first@mail.example.org"}).out);
    EXPECT_EQ(as_json["deliverable"], true);
    EXPECT_EQ(as_json["deliveries"][0]["dest"], "|/usr/lib/sympa/libexec/queue first@mail.example.org");
    EXPECT_EQ(as_json["rule"]["number"], 2);
}

TEST_F(Tables, WikiTablesOfSeed003) {
    const auto hash = run({mxctl_binary(), "encrypt", "roger-secret"});
    ASSERT_EQ(hash.status, 0);
    const std::string roger_hash = hash.out.substr(0, hash.out.size() - 1);
    write("creds", "roger                              " + roger_hash + "\n");
    write("vdoms", "personaldomain.org\nbusinessname.com\n\n");
    write("vusers", "roger@personaldomain.org          roger\n"
                    "newsletters@personaldomain.org    roger,roger.rulz@gmail.com\n\n"
                    "roger@businessname.com            roger\n"
                    "shirley@businessname.com          shirley\n"
                    "info@businessname.com             roger,shirley\n"
                    "contact@businessname.com          info@businessname.com\n");
    configure("table creds \"" + (dir() / "creds").string() + "\"\n"
              "table vdoms \"" + (dir() / "vdoms").string() + "\"\n"
              "table vusers \"" + (dir() / "vusers").string() + "\"\n"
              "action \"local\" mbox virtual <vusers>\n"
              "match from any for domain <vdoms> action \"local\"\n");
    ASSERT_TRUE(start());
    EXPECT_EQ(mxctl({"table", "lookup", "vdoms", "BusinessName.com", "--service", "domain"}).out, "businessname.com\n");
    EXPECT_EQ(mxctl({"table", "lookup", "vdoms", "example.com", "--service", "domain"}).status, 1);
    EXPECT_EQ(mxctl({"table", "lookup", "vusers", "newsletters@personaldomain.org", "--service", "virtual"}).out,
              "roger,roger.rulz@gmail.com\n");
    EXPECT_EQ(mxctl({"table", "lookup", "vusers", "info@businessname.com"}).out, "roger,shirley\n");
    EXPECT_EQ(mxctl({"table", "lookup", "vusers", "contact@businessname.com"}).out, "info@businessname.com\n");
    EXPECT_EQ(mxctl({"table", "lookup", "creds", "roger", "--service", "credentials"}).out, roger_hash + "\n");

    const auto tables = mxctl({"-j", "show", "tables"});
    ASSERT_EQ(tables.status, 0) << tables.err;
    std::map<std::string, json> by_name;
    std::istringstream lines(tables.out);
    for (std::string line; std::getline(lines, line);) {
        const auto row = json::parse(line);
        by_name[row["name"]] = row;
    }
    ASSERT_EQ(by_name.count("vusers"), 1u) << tables.out;
    EXPECT_EQ(by_name["vusers"]["backend"], "file");
    EXPECT_EQ(by_name["vusers"]["entries"], 6);
    EXPECT_EQ(by_name["vusers"]["kind"], "mapping");
    EXPECT_EQ(by_name["vusers"]["uses"], json({"alias"}));
    EXPECT_EQ(by_name["vdoms"]["uses"], json({"domain"}));
    EXPECT_EQ(by_name["vdoms"]["source"], (dir() / "vdoms").string());
    const auto text = mxctl({"show", "tables"});
    EXPECT_THAT(text.out, StartsWith("NAME "));
    EXPECT_THAT(text.out, HasSubstr("vdoms "));

    // mxctl expand: the wiki's virtual users, one alias leading to another.
    // roger and shirley are system users on the wiki's machine, not on this one: the chain is
    // shown up to the lookup that fails.
    auto expanded = mxctl({"expand", "contact@businessname.com", "--src", "203.0.113.9"});
    EXPECT_EQ(expanded.status, 2);
    EXPECT_EQ(expanded.out,
              "contact@businessname.com\n"
              "  rule 1: mxd.conf:8 (action \"local\")\n"
              "  action local\n"
              "  expand: expand contact@businessname.com with action \"local\"\n"
              "  expand: virtual contact@businessname.com -> info@businessname.com\n"
              "  expand: route info@businessname.com -> action \"local\"\n"
              "  expand: virtual info@businessname.com -> roger, shirley\n"
              "  error: user unknown: roger\n");
    expanded = mxctl({"expand", "nobody@example.com", "--src", "203.0.113.9"});
    EXPECT_EQ(expanded.status, 2);
    EXPECT_EQ(expanded.out, "nobody@example.com\n  rejected: no rule matches\n");
}

TEST_F(Tables, UpdateOfABrokenFileFailsWithFileAndLineAndKeepsTheOldValues) {
    write("vusers", "a@example.org alice\n");
    configure("table vusers file:" + (dir() / "vusers").string() + "\n");
    ASSERT_TRUE(start());
    EXPECT_EQ(mxctl({"table", "lookup", "vusers", "a@example.org"}).out, "alice\n");
    write("vusers", "a@example.org alice2\nb@example.org\n");
    const auto r = mxctl({"update", "table", "vusers"});
    EXPECT_EQ(r.status, 65);
    EXPECT_THAT(r.err, HasSubstr("mxctl: update table: " + (dir() / "vusers").string() + ":2: "));
    EXPECT_EQ(mxctl({"table", "lookup", "vusers", "a@example.org"}).out, "alice\n") << "old contents answer";
    write("vusers", "a@example.org alice2\nb@example.org bob\n");
    const auto ok = mxctl({"update", "table", "vusers"});
    EXPECT_EQ(ok.status, 0) << ok.err;
    EXPECT_THAT(ok.out, HasSubstr("2 entries"));
    EXPECT_EQ(mxctl({"table", "lookup", "vusers", "b@example.org"}).out, "bob\n");
    EXPECT_EQ(mxctl({"update", "table", "nosuch"}).status, 65);
}

TEST_F(Tables, NewaliasesRebuildsAndTellsTheDaemon) {
    const auto newaliases = personality("newaliases");
    write("aliases", "root: admin@example.org\npostmaster: root\n");
    ASSERT_EQ(run({mxctl_binary(), "makemap", "-t", "aliases", (dir() / "aliases").string()}).status, 0);
    configure("table aliases db:" + (dir() / "aliases.db").string() + "\n"
              "action \"local\" mbox alias <aliases>\n"
              "match for local action \"local\"\n");
    ASSERT_TRUE(start());
    append("aliases", "abuse: root\n");
    const auto r = run({newaliases, "-f", config_path().string()}, {.env = {{"MXD_SOCKET", socket_path().string()}}});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, (dir() / "aliases").string() + ": 3 aliases\n");
    EXPECT_EQ(mxctl({"table", "lookup", "aliases", "abuse"}).out, "root\n");

    append("aliases", "broken: error:200 not an error\n");
    const auto bad = run({newaliases, "-f", config_path().string()}, {.env = {{"MXD_SOCKET", socket_path().string()}}});
    EXPECT_EQ(bad.status, 65);
    EXPECT_THAT(bad.err, HasSubstr((dir() / "aliases").string() + ":4: "));
}

TEST_F(Tables, MakemapKeepsModeAndOwnerAndNeverLeavesHalfATable) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to give the source to another owner";
    }
    const auto src = write("list", "a@example.org x\n");
    const passwd* nobody = ::getpwnam("nobody");
    ASSERT_EQ(::chown(src.c_str(), nobody->pw_uid, nobody->pw_gid), 0);
    ASSERT_EQ(::chmod(src.c_str(), 0640), 0);
    ASSERT_EQ(run({mxctl_binary(), "makemap", src.string()}).status, 0);
    struct stat st{};
    ASSERT_EQ(::stat((src.string() + ".db").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(st.st_uid, nobody->pw_uid);
    EXPECT_EQ(st.st_gid, nobody->pw_gid);

    write("list", "a@example.org x\na@example.org y\n");
    const auto dup = run({mxctl_binary(), "makemap", src.string()});
    EXPECT_EQ(dup.status, 65);
    EXPECT_EQ(dup.err, "mxctl: makemap: " + src.string() + ":2: duplicate key 'a@example.org'\n");
    const auto dumped = run({mxctl_binary(), "makemap", "-U", src.string() + ".db"});
    EXPECT_EQ(dumped.out, "a@example.org\tx\n") << "the old db is intact";
    for (const auto& entry : std::filesystem::directory_iterator(dir())) {
        EXPECT_THAT(entry.path().filename().string(), ::testing::Not(HasSubstr(".tmp"))) << "temporary left behind";
    }
}

TEST_F(Tables, LookupsNeedAdminAndListingNeedsRead) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to run mxctl as nobody";
    }
    configure("table t { a = b }\n");
    ASSERT_TRUE(start());
    const RunOptions as_nobody{.user = "nobody"};
    EXPECT_EQ(mxctl({"table", "lookup", "t", "a"}, as_nobody).status, 77);
    EXPECT_EQ(mxctl({"show", "tables"}, as_nobody).status, 77);
    EXPECT_EQ(mxctl({"update", "table", "t"}, as_nobody).status, 77);
    EXPECT_EQ(mxctl({"table", "lookup", "t", "a"}).out, "b\n");
}
