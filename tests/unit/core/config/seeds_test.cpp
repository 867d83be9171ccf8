// SPDX-License-Identifier: ISC
// The configurations of the two seed documents (shared/seeds): the Sympa smtpd.conf lines and the
// wiki's local-only, hybrid and nine-line setups. Each must pass with only legacy warnings, and
// its migrated form must pass with none.
#include "core/config/parser.hpp"
#include "core/table/table_file_format.hpp"
#include "tests/unit/temp_dir.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace core::config {
namespace {

using unit_test::replace_all;
using unit_test::TempDir;

constexpr std::string_view k_sympa = R"(table sympa db:$SYSCONFIDR/sympa_domain_aliases.db
accept from any for any recipient <sympa> virtual <sympa>

table lists db:$SENDMAIL_ALIASES.db
accept from any for any recipient <lists> virtual <lists>

#
# Here may be the rules for addresses excluded from mailing list service.
#

table sympa_domains { "mail.example.org" }
reject from any for domain <sympa_domains>
)";

constexpr std::string_view k_local_only = R"(listen on localhost
accept for local alias <aliases> deliver to mbox

)";

constexpr std::string_view k_hybrid = R"(accept for local alias <aliases> deliver to mbox
accept for any relay via "smtp://smtp.foo.bar" as "@foo.bar"

)";

constexpr std::string_view k_nine_lines =
    R"(pki mx.domain.tld certificate  "/etc/smtpd/tls/smtpd.crt"
pki mx.domain.tld key          "/etc/smtpd/tls/smtpd.key"

table creds                    "/etc/smtpd/creds"
table vdoms                    "/etc/smtpd/vdoms"
table vusers                   "/etc/smtpd/vusers"

listen on eth0 tls pki mx.domain.tld
listen on eth0 port 587 tls-require pki mx.domain.tld auth <creds>

accept from any for domain <vdoms> virtual <vusers> deliver to mbox
accept for any relay

)";

constexpr std::string_view k_sympa_domain_aliases =
    R"(sympa@mail.example.org             "| $LIBEXECDIR/queue sympa@mail.example.org"
listmaster@mail.example.org        "| $LIBEXECDIR/queue listmaster@mail.example.org"
bounce@mail.example.org            "| $LIBEXECDIR/bouncequeue sympa@mail.example.org"
abuse-feedback-report@mail.example.org "| $LIBEXECDIR/bouncequeue sympa@mail.example.org"
sympa-request@mail.example.org     postmaster@
sympa-owner@mail.example.org       postmaster@
#listserv@mail.example.org         sympa@mail.example.org
#listserv-request@mail.example.org sympa-request@mail.example.org
#majordomo@mail.example.org        sympa@mail.example.org
#listserv-owner@mail.example.org   sympa-owner@mail.example.org

)";

constexpr std::string_view k_vdoms = "personaldomain.org\nbusinessname.com\n\n";

constexpr std::string_view k_vusers = R"(roger@personaldomain.org          roger
newsletters@personaldomain.org    roger,roger.rulz@gmail.com

roger@businessname.com            roger
shirley@businessname.com          shirley
info@businessname.com             roger,shirley
contact@businessname.com          info@businessname.com

)";

constexpr std::string_view k_creds =
    "roger                              "
    "$2b$08$ANGFKBL.BnDLL0bUp0Rb0.xLLQDvEvHtbqfwf4MvL6XJYvAWBLi6e\n"
    "shirley                            "
    "$2b$08$7Z3.kYGyHBfTT/1KLY.dHOqPQ9Oh6gCN7pFJzIAvbhCW6Ir1bdyw6\n";

bool make_certificate(const std::filesystem::path& dir) {
    // As the wiki does it, with a smaller key so that the unit suite stays fast.
    const std::string command =
        "openssl req -new -x509 -nodes -newkey rsa:2048 -subj /CN=mx.domain.tld"
        " -keyout '" +
        (dir / "smtpd.key").string() + "' -out '" + (dir / "smtpd.crt").string() +
        "' -days 1095 >/dev/null 2>&1";
    return std::system(command.c_str()) == 0;
}

// Loads `path`: no errors, every warning is a legacy one; then migrates it and loads the
// result: no diagnostics at all.
void expect_seed_passes(const TempDir& dir, const std::filesystem::path& path) {
    const LoadOptions options;
    const auto result = load_file(path, options);
    ASSERT_TRUE(result.ok()) << format_diagnostics(result.diagnostics);
    EXPECT_TRUE(result.has_warnings());
    for (const auto& d : result.diagnostics) {
        EXPECT_EQ(d.severity, Severity::warning) << format_diagnostics({d});
        EXPECT_NE(d.message.find("old smtpd.conf grammar"), std::string::npos)
            << format_diagnostics({d});
    }
    auto migrated = migrate_file(path, options);
    ASSERT_TRUE(migrated) << migrated.error().message;
    const auto modern_path = dir.write(path.filename().string() + ".modern", *migrated);
    const auto modern = load_file(modern_path, options);
    EXPECT_TRUE(modern.ok()) << format_diagnostics(modern.diagnostics) << *migrated;
    EXPECT_TRUE(modern.diagnostics.empty()) << format_diagnostics(modern.diagnostics) << *migrated;
    // Migrating the modern file changes nothing.
    auto again = migrate_file(modern_path, options);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *migrated);
}

TEST(ConfigSeeds, SympaSmtpdConf) {
    TempDir dir;
    dir.write("etc/sympa_domain_aliases.db", "");
    dir.write("aliases/sympa_aliases.db", "");
    std::string text(k_sympa);
    text = replace_all(text, "$SYSCONFIDR", (dir.path() / "etc").string());
    text = replace_all(text, "$SENDMAIL_ALIASES", (dir.path() / "aliases/sympa_aliases").string());
    const auto path = dir.write("smtpd.conf", text);
    expect_seed_passes(dir, path);

    const auto result = load_file(path, {});
    ASSERT_TRUE(result.config);
    const Config& c = *result.config;
    ASSERT_EQ(c.rules.size(), 3u);
    EXPECT_EQ(c.rules[0].for_, Rule::For::any);
    EXPECT_TRUE(c.rules[0].rcpt_to.present);
    EXPECT_EQ(c.rules[0].rcpt_to.operand.table, "sympa");
    EXPECT_EQ(c.find_action(c.rules[0].action)->method, Action::Method::expand_only);
    EXPECT_EQ(c.find_action(c.rules[0].action)->virtual_table, "sympa");
    EXPECT_TRUE(c.rules[2].reject);
    EXPECT_EQ(c.rules[2].for_operand.table, "sympa_domains");
}

TEST(ConfigSeeds, SympaDomainAliasesTableParses) {
    const auto table = core::table::parse_table_text(k_sympa_domain_aliases);
    EXPECT_TRUE(table.errors.empty());
    EXPECT_EQ(table.kind, core::table::FileKind::mapping);
    ASSERT_EQ(table.entries.size(), 6u);
    EXPECT_EQ(table.entries[0].key, "sympa@mail.example.org");
    EXPECT_EQ(table.entries[0].value, "| $LIBEXECDIR/queue sympa@mail.example.org");
    EXPECT_EQ(table.entries[4].value, "postmaster@");
}

TEST(ConfigSeeds, WikiLocalOnly) {
    TempDir dir;
    expect_seed_passes(dir, dir.write("smtpd.conf", k_local_only));
}

TEST(ConfigSeeds, WikiHybrid) {
    TempDir dir;
    const auto path = dir.write("smtpd.conf", k_hybrid);
    expect_seed_passes(dir, path);
    const auto result = load_file(path, {});
    ASSERT_TRUE(result.config);
    const auto* relay = result.config->find_action(result.config->rules[1].action);
    ASSERT_NE(relay, nullptr);
    // Old smtp:// never tried STARTTLS.
    EXPECT_EQ(relay->host, "smtp+notls://smtp.foo.bar");
    EXPECT_EQ(relay->mail_from, "@foo.bar");
}

TEST(ConfigSeeds, WikiNineLines) {
    TempDir dir;
    ASSERT_TRUE(make_certificate(dir.path())) << "openssl req failed";
    dir.write("creds", k_creds);
    dir.write("vdoms", k_vdoms);
    dir.write("vusers", k_vusers);
    std::string text(k_nine_lines);
    text = replace_all(text, "/etc/smtpd/tls/", dir.path().string() + "/");
    text = replace_all(text, "/etc/smtpd/", dir.path().string() + "/");
    const auto path = dir.write("smtpd.conf", text);
    expect_seed_passes(dir, path);

    const auto result = load_file(path, {});
    ASSERT_TRUE(result.config);
    const Config& c = *result.config;
    ASSERT_EQ(c.listeners.size(), 2u);
    EXPECT_EQ(c.listeners[1].port, 587);
    EXPECT_EQ(c.listeners[1].auth_table, "creds");
    // `accept for any relay` also matched authenticated sessions before 6.4.
    ASSERT_EQ(c.rules.size(), 3u);
    EXPECT_TRUE(c.rules[2].auth.present);
    EXPECT_EQ(c.rules[2].from, Rule::From::any);
}

TEST(ConfigSeeds, WikiNineLinesWithMismatchedKeyFails) {
    TempDir dir;
    ASSERT_TRUE(make_certificate(dir.path()));
    TempDir other;
    ASSERT_TRUE(make_certificate(other.path()));
    dir.write("creds", k_creds);
    dir.write("vdoms", k_vdoms);
    dir.write("vusers", k_vusers);
    std::string text(k_nine_lines);
    text = replace_all(text, "/etc/smtpd/tls/smtpd.key", (other.path() / "smtpd.key").string());
    text = replace_all(text, "/etc/smtpd/tls/", dir.path().string() + "/");
    text = replace_all(text, "/etc/smtpd/", dir.path().string() + "/");
    const auto path = dir.write("smtpd.conf", text);
    const auto result = load_file(path, {});
    ASSERT_FALSE(result.ok());
    EXPECT_NE(format_diagnostics(result.diagnostics).find("does not match certificate"),
              std::string::npos)
        << format_diagnostics(result.diagnostics);
    // --skip-files: the same file passes on a machine without the certificates.
    EXPECT_TRUE(load_file(path, LoadOptions{{}, CheckFiles::no}).ok());
}

} // namespace
} // namespace core::config
