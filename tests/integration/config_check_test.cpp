// SPDX-License-Identifier: ISC
// `mxd -n`, `mxctl check-config` and `mxctl config migrate` on the seed documents'
// configurations, run as an unprivileged user with no daemon, the way a CI job runs them.
#include "tests/integration/process.hpp"
#include "tests/integration/daemon_fixture.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>

#include <fstream>

using namespace mxd_test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

class ConfigCheck : public ::testing::Test {
protected:
    void SetUp() override {
        char templ[] = "/tmp/mxd-check-XXXXXX";
        ASSERT_NE(::mkdtemp(templ), nullptr);
        m_dir = templ;
        ::chmod(m_dir.c_str(), 0755);
        if (::geteuid() == 0) {
            m_as = RunOptions{.user = "nobody"};
        }
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(m_dir, ec);
    }
    std::filesystem::path write(const std::string& name, const std::string& text) {
        const auto path = m_dir / name;
        std::filesystem::create_directories(path.parent_path());
        std::ofstream(path) << text;
        ::chmod(path.c_str(), 0644);
        return path;
    }
    // Every seed configuration passes `mxd -n` with legacy warnings only; its migrated form
    // passes `mxctl check-config --strict` with none.
    void expect_seed_passes(const std::filesystem::path& conf) {
        const auto check = run({mxd_binary(), "-n", "-f", conf.string()}, m_as);
        EXPECT_EQ(check.status, 0) << check.err;
        EXPECT_EQ(check.out, "configuration OK\n");
        EXPECT_THAT(check.err, HasSubstr("warning: old smtpd.conf grammar"));
        EXPECT_THAT(check.err, Not(HasSubstr("error:")));

        const auto migrated = run({mxctl_binary(), "config", "migrate", conf.string()}, m_as);
        ASSERT_EQ(migrated.status, 0) << migrated.err << migrated.out;
        EXPECT_THAT(migrated.out, HasSubstr("match "));
        const auto modern = write(conf.filename().string() + ".modern", migrated.out);

        const auto strict = run({mxctl_binary(), "check-config", "--strict", modern.string()}, m_as);
        EXPECT_EQ(strict.status, 0) << strict.out << strict.err;
        EXPECT_EQ(strict.out, "configuration OK\n") << migrated.out;
        const auto again = run({mxd_binary(), "-n", "-f", modern.string()}, m_as);
        EXPECT_EQ(again.status, 0);
        EXPECT_EQ(again.err, "") << "the migrated file has no warnings";
    }

    std::filesystem::path m_dir;
    RunOptions m_as;
};

} // namespace

TEST_F(ConfigCheck, SympaConfigurationOfSeed000) {
    write("etc/sympa_domain_aliases.db", "");
    write("aliases/sympa_aliases.db", "");
    const auto conf = write("smtpd.conf",
                            "table sympa db:" + (m_dir / "etc/sympa_domain_aliases.db").string() + "\n"
                            "accept from any for any recipient <sympa> virtual <sympa>\n\n"
                            "table lists db:" + (m_dir / "aliases/sympa_aliases.db").string() + "\n"
                            "accept from any for any recipient <lists> virtual <lists>\n\n"
                            "#\n# Here may be the rules for addresses excluded from mailing list service.\n#\n\n"
                            "table sympa_domains { \"mail.example.org\" }\n"
                            "reject from any for domain <sympa_domains>\n");
    expect_seed_passes(conf);
}

TEST_F(ConfigCheck, WikiLocalOnlyAndHybridOfSeed003) {
    expect_seed_passes(write("local.conf", "listen on localhost\naccept for local alias <aliases> deliver to mbox\n"));
    expect_seed_passes(write("hybrid.conf", "accept for local alias <aliases> deliver to mbox\n"
                                            "accept for any relay via \"smtp://smtp.foo.bar\" as \"@foo.bar\"\n"));
}

TEST_F(ConfigCheck, WikiNineLinesOfSeed003WithARealCertificate) {
    const auto tls = m_dir / "tls";
    std::filesystem::create_directories(tls);
    ASSERT_EQ(run({"openssl", "req", "-new", "-x509", "-nodes", "-newkey", "rsa:2048", "-subj", "/CN=mx.domain.tld",
                   "-keyout", (tls / "smtpd.key").string(), "-out", (tls / "smtpd.crt").string(), "-days", "1095"})
                  .status,
              0);
    ::chmod((tls / "smtpd.key").c_str(), 0644);  // nobody runs the check
    ::chmod(tls.c_str(), 0755);
    const auto hash = run({mxctl_binary(), "encrypt", "roger-password"});
    ASSERT_EQ(hash.status, 0);
    write("creds", "roger                              " + hash.out);
    write("vdoms", "personaldomain.org\nbusinessname.com\n");
    write("vusers", "roger@personaldomain.org          roger\n"
                    "newsletters@personaldomain.org    roger,roger.rulz@gmail.com\n\n"
                    "roger@businessname.com            roger\n"
                    "shirley@businessname.com          shirley\n"
                    "info@businessname.com             roger,shirley\n"
                    "contact@businessname.com          info@businessname.com\n");
    const auto d = m_dir.string();
    const auto conf = write("smtpd.conf",
                            "pki mx.domain.tld certificate  \"" + d + "/tls/smtpd.crt\"\n"
                            "pki mx.domain.tld key          \"" + d + "/tls/smtpd.key\"\n\n"
                            "table creds                    \"" + d + "/creds\"\n"
                            "table vdoms                    \"" + d + "/vdoms\"\n"
                            "table vusers                   \"" + d + "/vusers\"\n\n"
                            "listen on lo tls pki mx.domain.tld\n"
                            "listen on lo port 587 tls-require pki mx.domain.tld auth <creds>\n\n"
                            "accept from any for domain <vdoms> virtual <vusers> deliver to mbox\n"
                            "accept for any relay\n");
    expect_seed_passes(conf);
}

TEST_F(ConfigCheck, ErrorsAreReportedAllAtOnceWithFileLineAndColumn) {
    const auto conf = write("bad.conf", "listen on localhost\n"
                                        "acton \"local\" mbox\n"
                                        "match from any for local action \"nowhere\"\n");
    const auto text = run({mxctl_binary(), "check-config", conf.string()}, m_as);
    EXPECT_EQ(text.status, 78);
    EXPECT_THAT(text.out, HasSubstr(conf.string() + ":2:1: error: "));
    EXPECT_THAT(text.out, HasSubstr("did you mean 'action'?"));
    EXPECT_THAT(text.out, HasSubstr(conf.string() + ":3:"));
    EXPECT_EQ(text.err, "mxctl: check-config: " + conf.string() + ": 2 errors, 0 warnings\n");

    const auto json = run({mxctl_binary(), "check-config", "--json", conf.string()}, m_as);
    EXPECT_EQ(json.status, 78);
    const auto j = nlohmann::json::parse(json.out);
    EXPECT_EQ(j["ok"], false);
    ASSERT_EQ(j["diagnostics"].size(), 2u);
    EXPECT_EQ(j["diagnostics"][0]["line"], 2);
    EXPECT_EQ(j["diagnostics"][0]["column"], 1);
    EXPECT_EQ(j["diagnostics"][0]["severity"], "error");
    EXPECT_EQ(j["diagnostics"][0]["hint"], "did you mean 'action'?");

    const auto mxd = run({mxd_binary(), "-n", "-f", conf.string()}, m_as);
    EXPECT_EQ(mxd.status, 1);
    EXPECT_THAT(mxd.err, HasSubstr(conf.string() + ":2:1: error: "));
}

TEST_F(ConfigCheck, SkipFilesChecksAConfigWhoseFilesAreElsewhere) {
    const auto conf = write("prod.conf", "pki mx cert \"/etc/prod/mx.crt\"\n"
                                         "pki mx key \"/etc/prod/mx.key\"\n"
                                         "table vdoms file:/etc/prod/vdoms\n"
                                         "listen on localhost tls pki mx\n"
                                         "action \"local\" mbox\n"
                                         "match from any for domain <vdoms> action \"local\"\n");
    EXPECT_EQ(run({mxctl_binary(), "check-config", conf.string()}, m_as).status, 78);
    const auto skipped = run({mxctl_binary(), "check-config", "--skip-files", conf.string()}, m_as);
    EXPECT_EQ(skipped.status, 0) << skipped.out;
    EXPECT_EQ(skipped.out, "configuration OK\n");
}
