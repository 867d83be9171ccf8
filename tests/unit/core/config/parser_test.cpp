// SPDX-License-Identifier: ISC
#include "core/config/parser.hpp"

#include <gtest/gtest.h>

#include <string>

namespace core::config {
namespace {

LoadResult load(std::string_view text, LoadOptions options = {}) {
    options.check_files = CheckFiles::no;
    return load_string(text, "test.conf", options);
}

std::string errors_of(const LoadResult& r) {
    return format_diagnostics(r.diagnostics);
}

const Diagnostic* first_error(const LoadResult& r) {
    for (const auto& d : r.diagnostics) {
        if (d.severity == Severity::error) {
            return &d;
        }
    }
    return nullptr;
}

TEST(ConfigParser, ParsesDaemonTestConfiguration) {
    const auto r = load("queue directory \"/tmp/x\"\n"
                        "listen on 127.0.0.1 port 0\n"
                        "control group read \"staff\"\n"
                        "control group admin \"wheel\"\n"
                        "action \"local\" mbox\n"
                        "match from local for local action \"local\"\n");
    ASSERT_TRUE(r.ok()) << errors_of(r);
    EXPECT_FALSE(r.has_warnings()) << errors_of(r);
    const Config& c = *r.config;
    EXPECT_EQ(c.queue_directory, "/tmp/x");
    ASSERT_EQ(c.listeners.size(), 1u);
    EXPECT_EQ(c.listeners[0].interface, "127.0.0.1");
    EXPECT_EQ(c.listeners[0].port, 0);
    EXPECT_EQ(c.listeners[0].kind, Listener::Kind::inet);
    EXPECT_EQ(c.control_read_groups, std::vector<std::string>{"staff"});
    EXPECT_EQ(c.control_admin_groups, std::vector<std::string>{"wheel"});
    ASSERT_EQ(c.rules.size(), 1u);
    EXPECT_EQ(c.rules[0].action, "local");
}

TEST(ConfigParser, ListenerOptions) {
    const auto r =
        load("pki mx cert \"/c.pem\"\npki mx key \"/k.pem\"\n"
             "table creds { alice = \"$2b$x\" }\n"
             "listen on ::1 inet6 port submission tls-require verify pki mx "
             "auth <creds> hostname mx.example.org tag SUB mask-src no-dsn received-auth\n"
             "listen on lo smtps pki mx\n"
             "listen on socket tag LOCAL\n"
             "action a mbox\nmatch for local action a\n");
    ASSERT_TRUE(r.ok()) << errors_of(r);
    const auto& l = r.config->listeners;
    ASSERT_EQ(l.size(), 3u);
    EXPECT_EQ(l[0].family, Family::inet6);
    EXPECT_EQ(l[0].port, 587);
    EXPECT_EQ(l[0].tls, Listener::Tls::require);
    EXPECT_TRUE(l[0].tls_verify);
    EXPECT_EQ(l[0].auth, Listener::Auth::required);
    EXPECT_EQ(l[0].auth_table, "creds");
    EXPECT_EQ(l[0].hostname, "mx.example.org");
    EXPECT_TRUE(l[0].mask_src);
    EXPECT_EQ(l[1].port, 465);
    EXPECT_EQ(l[2].kind, Listener::Kind::socket);
}

TEST(ConfigParser, MacrosExpandAndCommandLineWins) {
    LoadOptions options;
    options.macros["smtp_port"] = "2525";
    const auto r = load("smtp_port = 25\naddr = \"127.0.0.1\"\nlisten on $addr port $smtp_port\n"
                        "action a mbox\nmatch action a\n",
                        options);
    ASSERT_TRUE(r.ok()) << errors_of(r);
    EXPECT_EQ(r.config->listeners[0].interface, "127.0.0.1");
    EXPECT_EQ(r.config->listeners[0].port, 2525);
}

TEST(ConfigParser, UndefinedMacroIsAnError) {
    const auto r = load("listen on $nowhere\n");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(first_error(r)->message.find("macro 'nowhere' not defined"), std::string::npos);
    EXPECT_EQ(first_error(r)->line, 1);
    EXPECT_EQ(first_error(r)->column, 11);
}

TEST(ConfigParser, ReportsEveryErrorWithPositionAndSuggestion) {
    const auto r = load("listen on lo\n"
                        "action \"out\" relya\n"
                        "lisen on lo\n"
                        "match for any action \"nope\"\n");
    ASSERT_FALSE(r.ok());
    std::vector<const Diagnostic*> errors;
    for (const auto& d : r.diagnostics) {
        if (d.severity == Severity::error) {
            errors.push_back(&d);
        }
    }
    ASSERT_EQ(errors.size(), 3u) << errors_of(r);
    EXPECT_EQ(errors[0]->line, 2);
    EXPECT_EQ(errors[0]->column, 14);
    EXPECT_EQ(errors[0]->hint, "did you mean 'relay'?");
    EXPECT_EQ(errors[1]->line, 3);
    EXPECT_EQ(errors[1]->hint, "did you mean 'listen'?");
    EXPECT_EQ(errors[2]->line, 4);
    EXPECT_NE(errors[2]->message.find("undefined action 'nope'"), std::string::npos);
    const auto text = format_diagnostics(r.diagnostics);
    EXPECT_NE(text.find("test.conf:2:14: error: "), std::string::npos) << text;
    EXPECT_NE(text.find("    action \"out\" relya\n                 ^\n"), std::string::npos)
        << text;
}

TEST(ConfigParser, InlineTablesAndMatchCriteria) {
    const auto r =
        load("table doms { example.org, example.net }\n"
             "table map { a = b, \"c\" => d }\n"
             "action \"v\" maildir \"~/Maildir\" junk virtual <map> ttl 2d\n"
             "action \"r\" relay host smtp+tls://mx.example.org:587 mail-from \"@example.org\"\n"
             "match from any for domain <doms> !tag regex \"^X\" action \"v\"\n"
             "match from src { 10.0.0.0/8, 192.168.0.0/16 } for any tls action \"r\"\n"
             "match auth from any for rcpt-to <doms> reject\n");
    ASSERT_TRUE(r.ok()) << errors_of(r);
    const Config& c = *r.config;
    ASSERT_EQ(c.actions.size(), 2u);
    EXPECT_EQ(c.actions[0].method, Action::Method::maildir);
    EXPECT_EQ(c.actions[0].destination, "~/Maildir");
    EXPECT_TRUE(c.actions[0].junk);
    EXPECT_EQ(*c.actions[0].ttl, 2 * 86400);
    EXPECT_EQ(c.actions[1].host, "smtp+tls://mx.example.org:587");
    ASSERT_EQ(c.rules.size(), 3u);
    EXPECT_EQ(c.rules[0].for_, Rule::For::domain);
    EXPECT_TRUE(c.rules[0].tag.negated);
    EXPECT_TRUE(c.rules[0].tag.regex);
    EXPECT_EQ(c.rules[1].from_operand.values.size(), 2u);
    EXPECT_TRUE(c.rules[1].tls.present);
    EXPECT_TRUE(c.rules[2].reject);
}

TEST(ConfigParser, SizesAndDurations) {
    const auto r =
        load("smtp max-message-size 50M\nsmtp limit max-mails 10 max-rcpt 20\n"
             "queue ttl 3d\nbounce warn-interval 1h, 6h\naction a mbox\nmatch action a\n");
    ASSERT_TRUE(r.ok()) << errors_of(r);
    EXPECT_EQ(r.config->smtp.max_message_size, 50LL * 1024 * 1024);
    EXPECT_EQ(r.config->smtp.max_mails, 10);
    EXPECT_EQ(r.config->queue.ttl, 3 * 86400);
    EXPECT_EQ(r.config->bounce_warn_intervals, (std::vector<long long>{3600, 6 * 3600}));
}

TEST(ConfigParser, BuiltinDefault) {
    core::paths::Defaults d;
    d.spool = "/var/spool/mxd";
    d.smtp_port = 2525;
    const Config c = builtin_default(d);
    EXPECT_EQ(c.queue_directory, "/var/spool/mxd");
    ASSERT_EQ(c.listeners.size(), 1u);
    EXPECT_EQ(c.listeners[0].interface, "localhost");
    EXPECT_EQ(c.listeners[0].port, 2525);
    ASSERT_EQ(c.rules.size(), 1u);
    EXPECT_EQ(c.rules[0].for_, Rule::For::local);
    EXPECT_EQ(c.rules[0].from, Rule::From::local);
    // The canonical form of the default parses again without any diagnostic.
    const auto r = load(to_canonical(c));
    EXPECT_TRUE(r.ok()) << errors_of(r) << to_canonical(c);
    EXPECT_FALSE(r.has_warnings()) << errors_of(r);
}

TEST(ConfigParser, CanonicalFormRoundTrips) {
    const std::string text = "table doms { example.org }\n"
                             "pki mx cert \"/c.pem\"\npki mx key \"/k.pem\"\n"
                             "listen on eth0 port 587 tls pki mx auth-optional\n"
                             "action \"r\" relay host smtp://relay.example.org tls no-verify\n"
                             "action \"l\" lmtp \"/run/lmtp.sock\" rcpt-to alias <aliases>\n"
                             "match from any for domain <doms> action \"l\"\n"
                             "match !from local for any reject\n"
                             "match from local for any action \"r\"\n";
    const auto first = load(text);
    ASSERT_TRUE(first.ok()) << errors_of(first);
    const std::string canonical = to_canonical(*first.config);
    const auto second = load(canonical);
    ASSERT_TRUE(second.ok()) << errors_of(second) << canonical;
    EXPECT_EQ(to_canonical(*second.config), canonical);
}

TEST(ConfigParser, LegacyRulesAreTranslatedWithWarnings) {
    const auto r = load("listen on localhost\n"
                        "accept for local alias <aliases> deliver to mbox\n"
                        "accept for any relay via \"smtp://smtp.foo.bar\" as \"@foo.bar\"\n");
    ASSERT_TRUE(r.ok()) << errors_of(r);
    ASSERT_TRUE(r.has_warnings());
    const Config& c = *r.config;
    ASSERT_EQ(c.actions.size(), 2u);
    EXPECT_EQ(c.actions[1].host, "smtp+notls://smtp.foo.bar");
    EXPECT_EQ(c.actions[1].mail_from, "@foo.bar");
    ASSERT_EQ(c.rules.size(), 2u);
    EXPECT_EQ(c.rules[1].for_, Rule::For::any);
    EXPECT_NE(r.diagnostics[0].hint.find("match from local for local action \"local\""),
              std::string::npos)
        << r.diagnostics[0].hint;
}

TEST(ConfigParser, MigrateKeepsCommentsAndPassesWithoutWarnings) {
    const std::string text = "# local mail\n"
                             "listen on localhost   # loopback only\n"
                             "accept for local alias <aliases> deliver to mbox  # users\n"
                             "accept from any for any recipient <lists> virtual <lists>\n";
    const std::string with_table = "table lists { \"l@example.org\" = \"|/bin/true\" }\n" + text;
    auto migrated = migrate_string(with_table, "test.conf", LoadOptions{{}, CheckFiles::no});
    ASSERT_TRUE(migrated) << migrated.error().message;
    EXPECT_NE(migrated->find("# local mail\n"), std::string::npos) << *migrated;
    EXPECT_NE(migrated->find("listen on localhost   # loopback only\n"), std::string::npos)
        << *migrated;
    EXPECT_NE(migrated->find("match from local for local action \"local\"  # users"),
              std::string::npos)
        << *migrated;
    EXPECT_NE(migrated->find("action \"lists\" expand-only virtual <lists>"), std::string::npos)
        << *migrated;
    const auto r = load(*migrated);
    EXPECT_TRUE(r.ok()) << errors_of(r);
    EXPECT_FALSE(r.has_warnings()) << errors_of(r) << *migrated;
}

TEST(ConfigParser, QuotedStringsEscapeOnlyQuoteAndBlanks) {
    // As parse.y: \" is a quote, "\ " a blank; other backslashes are kept, doubled ones too.
    const auto r = load("table t { \"a\\\"b\", \"c\\\\.d\", \"e\\.f\" }\n"
                        "action \"local\" mbox\nmatch for local action \"local\"\n");
    ASSERT_TRUE(r.ok()) << errors_of(r);
    const auto* t = r.config->find_table("t");
    ASSERT_NE(t, nullptr);
    ASSERT_EQ(t->entries.size(), 3u);
    EXPECT_EQ(t->entries[0].first, "a\"b");
    EXPECT_EQ(t->entries[1].first, "c\\\\.d");
    EXPECT_EQ(t->entries[2].first, "e\\.f");
    const auto again = load(to_canonical(*r.config));
    ASSERT_TRUE(again.ok()) << errors_of(again);
    EXPECT_EQ(again.config->find_table("t")->entries, t->entries);
}

} // namespace
} // namespace core::config
