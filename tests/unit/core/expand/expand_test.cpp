// SPDX-License-Identifier: ISC
#include "core/expand/expand.hpp"

#include "core/table/lookup.hpp"
#include "core/table/table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

using namespace core::expand;
using core::Errc;
using core::config::Action;

namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

// A configuration, its tables (all inline), the users' .forward files and :include: files.
struct World {
    core::config::Config config;
    std::map<std::string, core::table::TablePtr> tables;
    std::map<std::string, std::string> forwards; // home -> .forward text
    std::map<std::string, std::string> includes; // path -> text
    bool with_router = false;

    World() {
        table("users", {{"roger", "1000:1000:/home/roger"},
                        {"shirley", "1001:1001:/home/shirley"},
                        {"admin", "1002:1002:/home/admin"},
                        {"root", "0:0:/root"},
                        {"postmaster", "1003:1003:/home/postmaster"}});
    }

    void table(const std::string& name, Entries entries) {
        tables[name] = core::table::make_inline_table(name, std::move(entries), false);
    }

    Action& action(const std::string& name, Action::Method method) {
        Action a;
        a.name = name;
        a.method = method;
        a.userbase_table = "users";
        config.actions.push_back(a);
        return config.actions.back();
    }

    const Action& named(const std::string& name) const { return *config.find_action(name); }

    // Routes every address to the action whose virtual table knows it, else "relay".
    const Action* route(const std::string& address) const {
        for (const auto& a : config.actions) {
            if (!a.virtual_table.empty()) {
                const auto match =
                    core::table::lookup_virtual(*tables.at(a.virtual_table), address, '+');
                if (match && *match) {
                    return &a;
                }
            }
        }
        return config.find_action("relay");
    }

    core::Result<Expansion> run(const std::string& action_name, const std::string& rcpt) const {
        Context context{
            config,
            [this](const std::string& name) {
                const auto it = tables.find(name);
                return it == tables.end() ? nullptr : it->second;
            },
            [this](const std::string& home, uid_t) -> core::Result<std::optional<std::string>> {
                const auto it = forwards.find(home);
                return it == forwards.end() ? std::nullopt : std::optional<std::string>(it->second);
            },
            [this](const std::string& path) -> core::Result<std::optional<std::string>> {
                const auto it = includes.find(path);
                return it == includes.end() ? std::nullopt : std::optional<std::string>(it->second);
            },
            {}};
        if (with_router) {
            context.route = [this](const std::string& address) -> core::Result<const Action*> {
                return route(address);
            };
        }
        return expand(context, named(action_name), rcpt);
    }
};

std::vector<std::string> described(const Expansion& e) {
    std::vector<std::string> out;
    for (const auto& d : e.deliveries) {
        out.push_back(d.describe());
    }
    return out;
}

using Lines = std::vector<std::string>;

// The deliveries of a successful expansion.
Lines deliveries(const World& w, const std::string& action, const std::string& rcpt) {
    auto r = w.run(action, rcpt);
    EXPECT_TRUE(r) << r.error().message;
    return r ? described(*r) : Lines{};
}

World& reserve(World& w) {
    w.config.actions.reserve(16); // references from action() stay valid
    return w;
}

} // namespace

TEST(ExpandTarget, ParsesEachFormOfAliases5) {
    struct Case {
        std::string text;
        std::optional<Target::Kind> kind;
        std::string value;
        int code = 0;
    };
    const std::vector<Case> cases{
        {"roger", Target::Kind::user, "roger"},
        {"Roger.Rulz", Target::Kind::user, "roger.rulz"},
        {"\\roger", Target::Kind::user, "roger"},
        {"roger.rulz@gmail.com", Target::Kind::address, "roger.rulz@gmail.com"},
        {"postmaster@", Target::Kind::address, "postmaster@"},
        {"| /usr/lib/sympa/libexec/queue list@mail.example.org", Target::Kind::command,
         "/usr/lib/sympa/libexec/queue list@mail.example.org"},
        {"\"|/usr/bin/vacation roger\"", Target::Kind::command, "/usr/bin/vacation roger"},
        {"/var/mail/archive", Target::Kind::file, "/var/mail/archive"},
        {":include:/etc/mail/staff", Target::Kind::include, "/etc/mail/staff"},
        {"include:/etc/mail/staff", Target::Kind::include, "/etc/mail/staff"},
        {"error:550 no such list", Target::Kind::error, "no such list", 550},
        {":error:450 try later", Target::Kind::error, "try later", 450},
        {"error:250 fine", std::nullopt, ""},
        {"error:550", std::nullopt, ""},
        {":include:relative", std::nullopt, ""},
        {"@example.org", std::nullopt, ""},
        {"two words", std::nullopt, ""},
        {"|", std::nullopt, ""},
    };
    for (const auto& c : cases) {
        const auto t = parse_target(c.text);
        ASSERT_EQ(t.has_value(), c.kind.has_value()) << c.text;
        if (t) {
            EXPECT_EQ(t->kind, *c.kind) << c.text;
            EXPECT_EQ(t->value, c.value) << c.text;
            EXPECT_EQ(t->code, c.code) << c.text;
        }
    }
}

// The Sympa seed: `action "sympa" expand-only virtual <sympa>`.
TEST(Expand, SympaVirtualPipeIsACommandWithItsArgument) {
    World w;
    w.table("sympa",
            {{"list@mail.example.org", "\"| /usr/lib/sympa/libexec/queue list@mail.example.org\""},
             {"sympa-request@mail.example.org", "postmaster@"}});
    w.action("sympa", Action::Method::expand_only).virtual_table = "sympa";
    auto r = w.run("sympa", "list@mail.example.org");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->deliveries.size(), 1u);
    const auto& d = r->deliveries[0];
    EXPECT_EQ(d.kind, Delivery::Kind::command);
    EXPECT_EQ(d.target, "/usr/lib/sympa/libexec/queue list@mail.example.org");
    EXPECT_EQ(d.action, "sympa");
    EXPECT_EQ(d.recipient, "list@mail.example.org");
    EXPECT_FALSE(d.run_as); // the action's `user`, else unprivileged
}

TEST(Expand, SympaEmptyDomainMeansTheRecipientsDomainThroughTheRules) {
    World w;
    w.table("sympa", {{"sympa-request@mail.example.org", "postmaster@"}});
    w.action("sympa", Action::Method::expand_only).virtual_table = "sympa";
    EXPECT_EQ(deliveries(w, "sympa", "sympa-request@mail.example.org"),
              Lines{"address postmaster@mail.example.org"});
}

// The wiki seed: `action "vmbox" mbox virtual <vusers>`.
TEST(Expand, WikiVirtualUsersGiveLocalUsersAndExternalAddresses) {
    World w;
    reserve(w);
    w.table("vusers", {{"newsletters@personaldomain.org", "roger,roger.rulz@gmail.com"},
                       {"contact@businessname.com", "info@businessname.com"},
                       {"info@businessname.com", "roger,shirley"}});
    w.action("vmbox", Action::Method::mbox).virtual_table = "vusers";
    w.action("relay", Action::Method::relay);

    auto r = w.run("vmbox", "newsletters@personaldomain.org");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(described(*r), (Lines{"user roger", "address roger.rulz@gmail.com"}));
    EXPECT_EQ(r->deliveries[0].user.uid, 1000u);
    EXPECT_EQ(r->deliveries[0].user.home, "/home/roger");
    EXPECT_EQ(r->deliveries[0].action, "vmbox");
    EXPECT_EQ(r->deliveries[0].recipient, "newsletters@personaldomain.org");

    // Without a router, an address goes back to the caller's rules, even in the same domain.
    EXPECT_EQ(deliveries(w, "vmbox", "contact@businessname.com"),
              Lines{"address info@businessname.com"});

    // With one, the chain continues in one expansion.
    w.with_router = true;
    EXPECT_EQ(deliveries(w, "vmbox", "contact@businessname.com"),
              (Lines{"user roger", "user shirley"}));
    EXPECT_EQ(deliveries(w, "vmbox", "newsletters@personaldomain.org"),
              (Lines{"user roger", "relay roger.rulz@gmail.com (action relay)"}));
}

TEST(Expand, VirtualLookupOrderAndSubaddress) {
    World w;
    w.table(
        "v",
        {{"roger+lists@example.org", "shirley"}, {"roger", "roger"}, {"@example.org", "admin"}});
    w.action("v", Action::Method::maildir).virtual_table = "v";
    EXPECT_EQ(deliveries(w, "v", "roger+lists@example.org"), Lines{"user shirley"});
    EXPECT_EQ(deliveries(w, "v", "roger+other@example.org"), Lines{"user roger"});
    EXPECT_EQ(deliveries(w, "v", "anyone@example.org"), Lines{"user admin"});
    auto r = w.run("v", "anyone@elsewhere.org");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::not_found);
}

TEST(Expand, LocalUserWithoutAliasTable) {
    World w;
    w.action("local", Action::Method::mbox);
    auto r = w.run("local", "Roger@example.org");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(described(*r), Lines{"user roger"});
    EXPECT_EQ(r->deliveries[0].recipient, "Roger@example.org");
}

TEST(Expand, AliasesRecurseAndSelfReferenceDelivers) {
    World w;
    w.table(
        "aliases",
        {{"postmaster", "root"}, {"root", "root, admin"}, {"webmaster", "postmaster, shirley"}});
    w.action("local", Action::Method::mbox).alias_table = "aliases";
    auto r = w.run("local", "webmaster@example.org");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(described(*r), (Lines{"user shirley", "user root", "user admin"}));
    const Lines& steps = r->steps;
    EXPECT_NE(std::find(steps.begin(), steps.end(), "alias root -> root, admin"), steps.end());
}

TEST(Expand, AliasSubaddressFallsBackToTheUser) {
    World w;
    w.table("aliases", {{"roger+spam", "/dev/null"}, {"shirley", "roger"}});
    w.action("local", Action::Method::mbox).alias_table = "aliases";
    EXPECT_EQ(deliveries(w, "local", "roger+spam@example.org"), Lines{"file /dev/null"});
    EXPECT_EQ(deliveries(w, "local", "roger+news@example.org"),
              Lines{"user roger (subaddress news)"});
    EXPECT_EQ(deliveries(w, "local", "shirley+x@example.org"), Lines{"user roger"});
}

TEST(Expand, AliasLoopFailsOnlyWhenNothingIsDelivered) {
    World w;
    w.table("aliases", {{"a", "b"}, {"b", "c"}, {"c", "a"}, {"d", "a, shirley"}});
    w.action("local", Action::Method::mbox).alias_table = "aliases";
    auto r = w.run("local", "a@example.org");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_NE(r.error().message.find("a -> b -> c -> a"), std::string::npos) << r.error().message;
    EXPECT_EQ(deliveries(w, "local", "d@example.org"), Lines{"user shirley"});
}

TEST(Expand, DiamondIsDeduplicatedNotALoop) {
    World w;
    w.table("aliases", {{"team", "x, y"}, {"x", "roger"}, {"y", "roger, shirley"}});
    w.action("local", Action::Method::mbox).alias_table = "aliases";
    auto r = w.run("local", "team@example.org");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(described(*r), (Lines{"user roger", "user shirley"}));
}

TEST(Expand, DepthLimit) {
    World w;
    Entries chain;
    for (int i = 0; i < 20; ++i) {
        chain.emplace_back("l" + std::to_string(i), "l" + std::to_string(i + 1));
    }
    chain.emplace_back("l20", "roger");
    w.table("aliases", chain);
    w.action("local", Action::Method::mbox).alias_table = "aliases";
    auto r = w.run("local", "l0@example.org");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_NE(r.error().message.find("deeper than 10"), std::string::npos) << r.error().message;
    EXPECT_EQ(deliveries(w, "local", "l14@example.org"), Lines{"user roger"}); // 6 aliases deep
}

TEST(Expand, SizeLimit) {
    World w;
    std::string many;
    for (std::size_t i = 0; i <= k_expand_deliveries_max; ++i) {
        many += "|/bin/cmd" + std::to_string(i) + ",";
    }
    w.table("aliases", {{"all", many}});
    w.action("local", Action::Method::mbox).alias_table = "aliases";
    auto r = w.run("local", "all@example.org");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_NE(r.error().message.find("more than 1000 deliveries"), std::string::npos)
        << r.error().message;
}

TEST(Expand, ErrorTargetCarriesCodeAndText) {
    World w;
    w.table("aliases", {{"gone", "error:550 5.1.6 this user has moved"}});
    w.action("local", Action::Method::mbox).alias_table = "aliases";
    auto r = w.run("local", "gone@example.org");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_NE(r->first_error(), nullptr);
    EXPECT_EQ(r->first_error()->code, 550);
    EXPECT_EQ(r->first_error()->text, "5.1.6 this user has moved");
}

TEST(Expand, IncludeFileExpandsAsAliasTargets) {
    World w;
    w.table("aliases", {{"staff", ":include:/etc/mail/staff, admin"}});
    w.includes["/etc/mail/staff"] =
        "# the staff\nroger, shirley\nlist@elsewhere.net\n:include:/etc/mail/other\n";
    w.action("local", Action::Method::mbox).alias_table = "aliases";
    auto r = w.run("local", "staff@example.org");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(described(*r),
              (Lines{"user roger", "user shirley", "address list@elsewhere.net", "user admin"}));
}

TEST(Expand, ForwardCommandRunsAsTheUser) {
    World w;
    w.forwards["/home/roger"] = "\\roger\n\"|/usr/bin/vacation roger\"\n";
    w.action("local", Action::Method::mbox);
    auto r = w.run("local", "roger@example.org");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(described(*r),
              (Lines{"user roger", "command \"|/usr/bin/vacation roger\" as roger"}));
    EXPECT_EQ(r->deliveries[1].run_as->uid, 1000u);
}

TEST(Expand, ForwardToAnotherAddressAndOnlyForwardActions) {
    World w;
    reserve(w);
    w.forwards["/home/roger"] = "roger.rulz@gmail.com";
    w.action("local", Action::Method::mbox);
    w.action("fwd", Action::Method::forward_only);
    w.action("exp", Action::Method::expand_only);
    EXPECT_EQ(deliveries(w, "local", "roger@example.org"), Lines{"address roger.rulz@gmail.com"});
    EXPECT_EQ(deliveries(w, "fwd", "roger@example.org"), Lines{"address roger.rulz@gmail.com"});

    auto no_forward = w.run("fwd", "shirley@example.org");
    ASSERT_FALSE(no_forward);
    EXPECT_EQ(no_forward.error().code, Errc::temp_failure);
    auto expand_only = w.run("exp", "shirley@example.org");
    ASSERT_FALSE(expand_only);
    EXPECT_EQ(expand_only.error().code, Errc::invalid_argument);

    w.forwards["/home/shirley"] = "|/usr/bin/procmail";
    auto command = w.run("fwd", "shirley@example.org");
    ASSERT_FALSE(command);
    EXPECT_EQ(command.error().code, Errc::temp_failure);
}

TEST(Expand, RootsForwardMayNotRunCommands) {
    World w;
    w.forwards["/root"] = "|/bin/sh -c 'echo pwned'";
    w.action("local", Action::Method::mbox);
    auto r = w.run("local", "root@example.org");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::temp_failure);
}

TEST(Expand, UnknownUserIsNotFound) {
    World w;
    w.table("aliases", {{"team", "roger, nobody"}});
    w.action("local", Action::Method::mbox).alias_table = "aliases";
    auto r = w.run("local", "stranger@example.org");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::not_found);
    EXPECT_EQ(r.error().message, "user unknown: stranger");
    auto team = w.run("local", "team@example.org");
    ASSERT_FALSE(team);
    EXPECT_EQ(team.error().code, Errc::not_found);
}

TEST(Expand, InvalidAliasTargetDefers) {
    World w;
    w.table("aliases", {{"bad", "roger, not valid"}});
    w.action("local", Action::Method::mbox).alias_table = "aliases";
    auto r = w.run("local", "bad@example.org");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::temp_failure);
}

TEST(Expand, RelayActionPassesTheAddressThrough) {
    World w;
    w.action("relay", Action::Method::relay);
    EXPECT_EQ(deliveries(w, "relay", "someone@elsewhere.net"),
              Lines{"relay someone@elsewhere.net (action relay)"});
}

TEST(Expand, AddressLoopThroughTheRulesIsNamed) {
    World w;
    w.table("v", {{"a@example.org", "b@example.org"}, {"b@example.org", "a@example.org"}});
    w.action("v", Action::Method::mbox).virtual_table = "v";
    w.with_router = true;
    auto r = w.run("v", "a@example.org");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_NE(r.error().message.find("a@example.org -> b@example.org -> a@example.org"),
              std::string::npos)
        << r.error().message;
}

TEST(Expand, RouterRefusalIsNotFound) {
    World w;
    w.table("v", {{"a@example.org", "someone@elsewhere.net"}});
    w.action("v", Action::Method::mbox).virtual_table = "v";
    w.with_router = true; // no "relay" action: the router refuses other domains
    auto r = w.run("v", "a@example.org");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::not_found);
}

TEST(Expand, StepLogTellsWhatHappened) {
    World w;
    w.table("aliases", {{"root", "admin, |/usr/bin/foo"}});
    w.forwards["/home/admin"] = "admin, admin@elsewhere.net";
    w.action("local", Action::Method::mbox).alias_table = "aliases";
    auto r = w.run("local", "root@example.org");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->steps, (Lines{
                            "expand root@example.org with action \"local\"",
                            "alias root -> admin, |/usr/bin/foo",
                            "user admin (uid 1002, gid 1002, home /home/admin)",
                            "forward admin -> admin, admin@elsewhere.net",
                            "deliver command \"|/usr/bin/foo\"",
                            "user admin (uid 1002, gid 1002, home /home/admin)",
                            "deliver user admin",
                            "address admin@elsewhere.net: back through the rules",
                            "deliver address admin@elsewhere.net",
                        }));
}

TEST(Expand, DefaultUserbaseIsGetpwnam) {
    World w;
    w.action("local", Action::Method::mbox).userbase_table.clear();
    auto r = w.run("local", "root@example.org");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->deliveries.size(), 1u);
    EXPECT_EQ(r->deliveries[0].user.uid, 0u);
    auto unknown = w.run("local", "no-such-user-mxd-test@example.org");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, Errc::not_found);
}
