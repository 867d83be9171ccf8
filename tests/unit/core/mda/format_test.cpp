// SPDX-License-Identifier: ISC
#include "core/mda/format.hpp"

#include <gtest/gtest.h>

#include <string>

using core::mda::expand_format;
using core::mda::FormatContext;

namespace {

FormatContext context() {
    FormatContext c;
    c.sender = "Gilles+Hackers@Poolp.org";
    c.rcpt = "eric+tag@example.org";
    c.dest = "eric@example.org";
    c.username = "eric";
    c.directory = "/home/eric";
    return c;
}

std::string expand(const std::string& format, const FormatContext& c = context()) {
    auto result = expand_format(format, c);
    EXPECT_TRUE(result) << format << ": " << result.error().message;
    return result ? *result : std::string("<error>");
}

std::string refusal(const std::string& format, const FormatContext& c = context()) {
    auto result = expand_format(format, c);
    EXPECT_FALSE(result) << format << " expanded to " << (result ? *result : "");
    return result ? std::string() : result.error().message;
}

TEST(FormatSpecifiers, ExpandsEveryName) {
    const struct {
        const char* format;
        const char* expected;
    } cases[] = {
        {"%{sender}", "Gilles+Hackers@Poolp.org"},
        {"%{sender.user}", "Gilles+Hackers"},
        {"%{sender.domain}", "Poolp.org"},
        {"%{rcpt}", "eric+tag@example.org"},
        {"%{rcpt.user}", "eric+tag"},
        {"%{rcpt.domain}", "example.org"},
        {"%{dest}", "eric@example.org"},
        {"%{dest.user}", "eric"},
        {"%{dest.domain}", "example.org"},
        {"%{user.username}", "eric"},
        {"%{user.directory}", "/home/eric"},
        {"%{mbox.from}", "Gilles+Hackers@Poolp.org"},
        {"%{RCPT.USER}", "eric+tag"},
        {"/var/vmail/%{dest.domain}/%{dest.user}", "/var/vmail/example.org/eric"},
        {"100%% sure", "100% sure"},
        {"50% off", "50% off"},
        {"no specifier", "no specifier"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(expand(c.format), c.expected) << c.format;
    }
}

TEST(FormatSpecifiers, TildeSlashIsTheHomeDirectoryOnlyAtTheStart) {
    EXPECT_EQ(expand("~/Maildir"), "/home/eric/Maildir");
    EXPECT_EQ(expand("/x/~/Maildir"), "/x/~/Maildir");
    FormatContext no_home = context();
    no_home.directory.clear();
    EXPECT_NE(refusal("~/Maildir", no_home).find("home directory"), std::string::npos);
}

TEST(FormatSpecifiers, Modifiers) {
    EXPECT_EQ(expand("%{sender:lowercase}"), "gilles+hackers@poolp.org");
    EXPECT_EQ(expand("%{sender:uppercase}"), "GILLES+HACKERS@POOLP.ORG");
    EXPECT_EQ(expand("%{sender:strip}"), "Gilles@Poolp.org");
    EXPECT_EQ(expand("%{rcpt.user:strip}"), "eric");
    EXPECT_EQ(expand("%{sender:strip|lowercase}"), "gilles@poolp.org");
    EXPECT_EQ(expand("%{sender:LowerCase}"), "gilles+hackers@poolp.org");
    FormatContext dash = context();
    dash.subaddress_delimiter = '-';
    dash.rcpt = "eric-list@example.org";
    EXPECT_EQ(expand("%{rcpt:strip}", dash), "eric@example.org");
}

TEST(FormatSpecifiers, Ranges) {
    EXPECT_EQ(expand("%{dest.user[0]}"), "e");
    EXPECT_EQ(expand("%{dest.user[1]}"), "r");
    EXPECT_EQ(expand("%{dest.user[0:1]}"), "er");
    EXPECT_EQ(expand("%{dest.user[1:]}"), "ric");
    EXPECT_EQ(expand("%{dest.user[:2]}"), "eri");
    // OpenSMTPD counts a negative end from the last character but one (mda_variables.c), so
    // `[-3:-1]` is "ri" and a single negative index selects nothing; mxd means the same.
    EXPECT_EQ(expand("%{dest.user[-3:-1]}"), "ri");
    EXPECT_FALSE(expand_format("%{dest.user[-1]}", context()));
    EXPECT_EQ(expand("%{dest.user[-2:]}"), "ic");
    EXPECT_EQ(expand("%{dest.user[0:100]}"), "eric");
    EXPECT_EQ(expand("%{dest.user[0]:uppercase}"), "E");
    EXPECT_EQ(expand("/var/mail/%{dest.user[0]}/%{dest.user}"), "/var/mail/e/eric");
}

TEST(FormatSpecifiers, NullSender) {
    FormatContext bounce = context();
    bounce.sender.clear();
    EXPECT_EQ(expand("[%{sender}]", bounce), "[]");
    EXPECT_EQ(expand("[%{sender.user}]", bounce), "[]");
    EXPECT_EQ(expand("%{mbox.from}", bounce), "MAILER-DAEMON");
    // An empty value has no characters to select: no range error.
    EXPECT_EQ(expand("[%{sender.user[3]}]", bounce), "[]");
}

TEST(FormatSpecifiers, ShellAndPathCharactersBecomeColons) {
    FormatContext evil = context();
    evil.rcpt = "\"a/b;$(rm -rf ~)`x`|y\"@example.org";
    EXPECT_EQ(expand("%{rcpt.user}", evil), ":a:b:::rm:-rf::::x::y:");
    evil.rcpt = "a!#$%&'*/?^`{|}~b@example.org";
    EXPECT_EQ(expand("%{rcpt.user}", evil), "a:::::::::::::::b");
    // :raw keeps them, except '/'.
    EXPECT_EQ(expand("%{rcpt.user:raw}", evil), "a!#$%&'*:?^`{|}~b");
    // The home directory is the user database's, not a peer's: kept as it is.
    evil.directory = "/home/with space";
    EXPECT_EQ(expand("%{user.directory}/x", evil), "/home/with space/x");
}

TEST(FormatSpecifiers, RefusesValuesStartingWithADot) {
    FormatContext dots = context();
    dots.rcpt = "..@example.org";
    EXPECT_NE(refusal("/var/vmail/%{rcpt.user}/Maildir", dots).find("starts with '.'"),
              std::string::npos);
    dots.rcpt = ".ssh@example.org";
    EXPECT_NE(refusal("~/%{rcpt.user}", dots).find("%{rcpt.user}"), std::string::npos);
    // A dot inside is fine, and a range that starts past it too.
    dots.rcpt = "first.last@example.org";
    EXPECT_EQ(expand("%{rcpt.user}", dots), "first.last");
    EXPECT_EQ(expand("%{rcpt.user[6:]}", dots), "last");
    EXPECT_FALSE(expand_format("%{rcpt.user[5:]}", dots));
}

TEST(FormatSpecifiers, RefusesWhatOpenSmtpdRefuses) {
    const char* refused[] = {
        "%{nosuch}",            // unknown name
        "%{sender:nosuch}",     // unknown modifier
        "%{sender:}",           // empty modifier
        "%{sender:lowercase|}", // empty modifier in a list
        "%{dest.user[]}",       // empty range
        "%{dest.user[x]}",      // not a number
        "%{dest.user[4]}",      // starts beyond the end
        "%{dest.user[2:1]}",    // end before start
        "%{dest.user[-9]}",     // before the start
        "%{dest.user[99999]}",  // beyond the bounds
        "%{dest.user[0}",       // unterminated range
        "%{dest.user",          // unterminated specifier
        "%{mda}",               // only in a wrapper
    };
    for (const char* format : refused) {
        const std::string message = refusal(format);
        EXPECT_NE(message.find("cannot expand"), std::string::npos) << format << ": " << message;
    }
    EXPECT_NE(refusal("%{nosuch}").find("unknown name 'nosuch'"), std::string::npos);
    EXPECT_FALSE(expand_format("%{" + std::string(200, 'a') + "}", context()));
    FormatContext big = context();
    big.directory = "/" + std::string(900, 'd');
    EXPECT_FALSE(expand_format("%{user.directory}/%{user.directory}", big));
}

TEST(FormatSpecifiers, WrapperGetsTheMdaCommand) {
    FormatContext wrapped = context();
    wrapped.mda = "/usr/bin/procmail -f %{sender}";
    EXPECT_EQ(expand("/usr/bin/wrap -- %{mda}", wrapped),
              "/usr/bin/wrap -- /usr/bin/procmail -f %{sender}");
}

} // namespace
