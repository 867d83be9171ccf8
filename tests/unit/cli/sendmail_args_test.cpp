// SPDX-License-Identifier: ISC
#include "cli/sendmail_args.hpp"

#include <gtest/gtest.h>

using namespace mxctl;

namespace {

SendmailArgs parse(const std::vector<std::string>& args) {
    auto parsed = parse_sendmail_args(args);
    EXPECT_TRUE(parsed) << parsed.error().message;
    return parsed ? *parsed : SendmailArgs{};
}

std::string error_of(const std::vector<std::string>& args) {
    auto parsed = parse_sendmail_args(args);
    return parsed ? std::string("parsed") : parsed.error().message;
}

} // namespace

TEST(SendmailArgs, CronsInvocation) {
    const auto a = parse({"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"});
    EXPECT_EQ(a.mode, SendmailMode::deliver);
    EXPECT_EQ(a.full_name, "CronDaemon");
    EXPECT_FALSE(a.dot_ends);
    EXPECT_EQ(a.recipients, (std::vector<std::string>{"root"}));
    EXPECT_EQ(a.ignored, (std::vector<std::string>{"-B8BITMIME", "-oem"}));
}

TEST(SendmailArgs, SympasInvocation) {
    const auto a =
        parse({"-oi", "-odi", "-oem", "-f", "list-owner@example.org", "rcpt@example.org"});
    EXPECT_FALSE(a.dot_ends);
    EXPECT_EQ(a.sender, std::optional<std::string>("list-owner@example.org"));
    EXPECT_EQ(a.recipients, (std::vector<std::string>{"rcpt@example.org"}));
}

TEST(SendmailArgs, GroupedFlagsValuesAndModes) {
    const auto a =
        parse({"-tiv", "-F", "Full Name", "-rbounce@x", "-C/etc/x.conf", "--", "-not-an-option"});
    EXPECT_TRUE(a.extract);
    EXPECT_FALSE(a.dot_ends);
    EXPECT_TRUE(a.verbose);
    EXPECT_EQ(a.full_name, "Full Name");
    EXPECT_EQ(a.sender, std::optional<std::string>("bounce@x"));
    EXPECT_EQ(a.config, "/etc/x.conf");
    EXPECT_EQ(a.recipients, (std::vector<std::string>{"-not-an-option"}));
    EXPECT_EQ(parse({"-bs"}).mode, SendmailMode::smtp);
    EXPECT_EQ(parse({"-b", "p"}).mode, SendmailMode::print_queue);
    EXPECT_EQ(parse({"-bi"}).mode, SendmailMode::rebuild_aliases);
    EXPECT_EQ(parse({"-q"}).mode, SendmailMode::queue_run);
    EXPECT_EQ(parse({"-q30m"}).mode, SendmailMode::queue_run);
    EXPECT_EQ(parse({"--help"}).mode, SendmailMode::help);
}

TEST(SendmailArgs, IgnoredOptionsTakeTheirValues) {
    const auto a = parse({"-N", "never", "-R", "hdrs", "-V", "envid", "-X", "/tmp/log", "-L", "tag",
                          "-odq", "-U", "-h", "17", "-d0.1", "a"});
    EXPECT_EQ(a.recipients, (std::vector<std::string>{"a"}));
    EXPECT_EQ(a.ignored.size(), 9u);
}

TEST(SendmailArgs, RecipientsMaySeparateAddressesWithCommas) {
    const auto a = parse({"a@x, b@y", "Carol <carol@z>"});
    EXPECT_EQ(a.recipients, (std::vector<std::string>{"a@x", "b@y", "carol@z"}));
    // Options end at the first recipient, as with Postfix's sendmail.
    EXPECT_EQ(parse({"root", "-t"}).recipients, (std::vector<std::string>{"root", "-t"}));
}

TEST(SendmailArgs, UnknownOptionsMissingValuesAndModesAreErrors) {
    EXPECT_EQ(error_of({"-Z"}), "unknown option -Z");
    EXPECT_EQ(error_of({"-tZ"}), "unknown option -Z");
    EXPECT_EQ(error_of({"--frobnicate"}), "unknown option --frobnicate");
    EXPECT_EQ(error_of({"-f"}), "option -f needs a value");
    EXPECT_NE(error_of({"-bt"}).find("-bt is not supported"), std::string::npos);
    EXPECT_NE(error_of({"Name <unclosed"}).find("recipient"), std::string::npos);
}
