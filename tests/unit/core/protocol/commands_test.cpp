// SPDX-License-Identifier: ISC
#include "core/protocol/args.hpp"
#include "core/protocol/commands.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <set>

using namespace core::protocol;

TEST(CommandTable, EveryIdHasExactlyOneRow) {
    std::set<int> ids;
    std::set<std::string> names;
    for (const auto& c : commands()) {
        EXPECT_TRUE(ids.insert(static_cast<int>(c.id)).second) << c.words;
        EXPECT_TRUE(names.insert(wire_name(c)).second) << c.words;
        EXPECT_EQ(&command(c.id), &c);
        EXPECT_FALSE(c.summary.empty()) << c.words;
    }
}

TEST(CommandTable, WireNamesUseDots) {
    EXPECT_EQ(wire_name(command(CommandId::show_status)), "show.status");
    EXPECT_EQ(find_by_wire_name("show.status"), &command(CommandId::show_status));
    EXPECT_EQ(find_by_wire_name("show status"), nullptr);
}

TEST(CommandTable, OptionKeysDropDashes) {
    const ArgSpec spec{"--dry-run", ArgType::flag, Arity::optional, "x"};
    EXPECT_EQ(wire_key(spec), "dry_run");
}

TEST(Resolve, AcceptsUniquePrefixes) {
    // "sh sta" is ambiguous, stats or status, as in smtpctl.
    auto r = resolve({"sh", "statu"});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->command->id, CommandId::show_status);
    EXPECT_EQ(r->words, (std::vector<std::string>{"show", "status"}));
}

TEST(Resolve, StopsAtTheCommandAndLeavesArguments) {
    auto r = resolve({"tr", "smtp"});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->command->id, CommandId::trace);
    EXPECT_EQ(r->words_used, 1u);
}

TEST(Resolve, AmbiguousPrefixListsPossibilities) {
    // "s" is show, stop.
    auto r = resolve({"s"});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("ambiguous"), std::string::npos);
    EXPECT_NE(r.error().message.find("show"), std::string::npos);
    EXPECT_NE(r.error().message.find("stop"), std::string::npos);
}

TEST(Resolve, UnknownAndIncompleteCommands) {
    auto unknown = resolve({"frobnicate"});
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message.find("unknown command"), std::string::npos);
    auto incomplete = resolve({"log"});
    ASSERT_FALSE(incomplete);
    EXPECT_NE(incomplete.error().message.find("log verbose"), std::string::npos);
}

TEST(ValidateArgs, ChecksTypesAndRequiredArguments) {
    const auto& trace = command(CommandId::trace);
    EXPECT_TRUE(validate_args(trace, {{"subsystem", "smtp"}}));
    EXPECT_TRUE(validate_args(trace, {{"subsystem", "all"}}));
    EXPECT_FALSE(validate_args(trace, {{"subsystem", "smpt"}}));
    EXPECT_FALSE(validate_args(trace, {{"subsystem", 3}}));
    EXPECT_FALSE(validate_args(trace, nlohmann::json::object()));
    EXPECT_FALSE(validate_args(trace, {{"subsystem", "smtp"}, {"extra", 1}}));
    const auto& encrypt = command(CommandId::encrypt);
    EXPECT_TRUE(validate_args(encrypt, {{"scheme", "bcrypt"}}));
    EXPECT_FALSE(validate_args(encrypt, {{"scheme", "md5"}}));
}

TEST(ParseDuration, UnitsAndErrors) {
    EXPECT_EQ(*parse_duration_seconds("30"), 30);
    EXPECT_EQ(*parse_duration_seconds("30m"), 1800);
    EXPECT_EQ(*parse_duration_seconds("2h"), 7200);
    EXPECT_EQ(*parse_duration_seconds("1d"), 86400);
    EXPECT_FALSE(parse_duration_seconds("m"));
    EXPECT_FALSE(parse_duration_seconds("5w"));
    EXPECT_FALSE(parse_duration_seconds("-5m"));
    EXPECT_FALSE(parse_duration_seconds("99999999999999d"));
}
