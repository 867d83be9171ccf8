// SPDX-License-Identifier: ISC
#include "core/config/parser.hpp"
#include "core/rules/ruleset.hpp"
#include "tests/unit/temp_dir.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace core::rules;
using unit_test::TempDir;

namespace {

// A configuration, its ruleset and its tables, loaded from text.
struct Loaded {
    core::config::Config config;
    Ruleset rules;
    std::map<std::string, core::table::TablePtr> tables;

    TableResolver resolver() const {
        return [this](const std::string& name) {
            const auto it = tables.find(name);
            return it == tables.end() ? nullptr : it->second;
        };
    }
    // The action of the matching rule, "reject", or "none".
    std::string decide(const Facts& facts) const {
        auto m = rules.match(facts, resolver());
        EXPECT_TRUE(m) << m.error().message;
        if (!m || !*m) {
            return "none";
        }
        const auto& rule = rules.rule(**m);
        return rule.reject ? "reject" : rule.action;
    }
};

Loaded load(const std::string& text) {
    core::config::LoadOptions options;
    options.check_files = core::config::CheckFiles::no;
    auto result = core::config::load_string(text, "test.conf", options);
    EXPECT_TRUE(result.ok()) << core::config::format_diagnostics(result.diagnostics);
    Loaded l{*result.config, *Ruleset::compile(*result.config), {}};
    for (const auto& t : l.config.tables) {
        if (t.backend != core::config::Table::Backend::file) {
            auto opened = core::table::open_table(t);
            if (opened) {
                l.tables[t.name] = *opened;
            }
        }
    }
    return l;
}

Facts remote(std::string rcpt, std::string from = "someone@elsewhere.net") {
    Facts f;
    f.src = "192.0.2.7";
    f.helo = "client.example.net";
    f.mail_from = std::move(from);
    f.rcpt_to = std::move(rcpt);
    f.local_names = {"mx.example.org", "localhost"};
    return f;
}

Facts local(std::string rcpt) {
    Facts f = remote(std::move(rcpt));
    f.src = "127.0.0.1";
    return f;
}

} // namespace

TEST(Ruleset, BuiltInDefaultDeliversLocalMailAndRelaysNothing) {
    const auto defaults = core::paths::defaults_for(1000, {{"HOME", "/nonexistent"}});
    const auto config = core::config::builtin_default(defaults);
    const auto rules = Ruleset::compile(config);
    ASSERT_TRUE(rules);
    auto decide = [&](const Facts& f) {
        auto m = rules->match(f, [](const std::string&) { return core::table::make_inline_table("x", {}, false); });
        return m && *m ? rules->rule(**m).action : std::string("none");
    };
    EXPECT_EQ(decide(local("root@localhost")), "local");
    EXPECT_EQ(decide(local("root")), "local");
    EXPECT_EQ(decide(local("someone@gmail.com")), "none") << "no relaying";
    EXPECT_EQ(decide(remote("root@localhost")), "none") << "the default listens for local clients only";
}

TEST(Ruleset, FirstMatchWinsAndRejectRejects) {
    const auto l = load("table vdoms { example.org, example.com }\n"
                        "action \"spam\" maildir \"/var/spam\"\n"
                        "action \"local\" mbox\n"
                        "match from any for any mail-from \"spammer@bad.org\" reject\n"
                        "match from any for domain <vdoms> action \"local\"\n"
                        "match from src 192.0.2.0/24 for any action \"spam\"\n");
    EXPECT_EQ(l.decide(remote("bob@example.org")), "local");
    EXPECT_EQ(l.decide(remote("bob@example.org", "spammer@bad.org")), "reject");
    EXPECT_EQ(l.decide(remote("bob@other.org")), "spam");
    Facts elsewhere = remote("bob@other.org");
    elsewhere.src = "198.51.100.1";
    EXPECT_EQ(l.decide(elsewhere), "none");
}

TEST(Ruleset, NegationTlsAuthAndTag) {
    const auto l = load("action \"relay\" relay\n"
                        "action \"tagged\" mbox\n"
                        "action \"local\" mbox\n"
                        "match from any tag \"submission\" for local action \"tagged\"\n"
                        "match from any auth for any action \"relay\"\n"
                        "match from any !tls for local action \"local\"\n");
    Facts f = remote("bob@elsewhere.org");
    EXPECT_EQ(l.decide(f), "none") << "not authenticated: no relay";
    f.auth_user = "roger";
    EXPECT_EQ(l.decide(f), "relay");
    Facts t = remote("bob@mx.example.org");
    EXPECT_EQ(l.decide(t), "local");
    t.tls = true;
    EXPECT_EQ(l.decide(t), "none") << "!tls";
    t.tag = "submission";
    EXPECT_EQ(l.decide(t), "tagged");
}

TEST(Ruleset, NegatedForAndRegex) {
    const auto l = load("action \"out\" relay\n"
                        "action \"lists\" mbox\n"
                        "match from local !for domain example.org action \"out\"\n"
                        "match from any for any rcpt-to regex \"^list-.*@example[.]org$\" action \"lists\"\n");
    EXPECT_EQ(l.decide(local("x@gmail.com")), "out");
    EXPECT_EQ(l.decide(local("x@example.org")), "none");
    EXPECT_EQ(l.decide(remote("list-dev@example.org")), "lists");
    EXPECT_EQ(l.decide(remote("dev@example.org")), "none");
}

TEST(Ruleset, WikiNineLinesIsNoOpenRelay) {
    TempDir dir;
    const auto vdoms = dir.write("vdoms", "personaldomain.org\nbusinessname.com\n");
    auto l = load("table vdoms \"" + vdoms.string() + "\"\n"
                  "table vusers { roger@personaldomain.org = roger }\n"
                  "pki mx cert \"/etc/mx.crt\"\npki mx key \"/etc/mx.key\"\n"
                  "listen on lo port 587 tls-require pki mx auth-optional\n"
                  "accept from any for domain <vdoms> virtual <vusers> deliver to mbox\n"
                  "accept for any relay\n");
    l.tables["vdoms"] = *core::table::open_file_table(vdoms);
    EXPECT_NE(l.decide(remote("roger@personaldomain.org")), "none");
    EXPECT_EQ(l.decide(remote("victim@gmail.com")), "none") << "an open relay";
    Facts authenticated = remote("victim@gmail.com");
    authenticated.auth_user = "roger";
    EXPECT_NE(l.decide(authenticated), "none") << "authenticated users relay";
    EXPECT_NE(l.decide(local("anyone@gmail.com")), "none") << "local users relay";
}
