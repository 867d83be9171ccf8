// SPDX-License-Identifier: ISC
#include "core/smtp/reply.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace core::smtp;

namespace {

// What ReplyAccumulator::add said: "more", "complete" or "error".
std::string_view outcome(const core::Result<bool>& added) {
    if (!added) {
        return "error";
    }
    return *added ? "complete" : "more";
}

} // namespace

TEST(SmtpReply, RendersSingleAndMultiLineReplies) {
    const std::pair<Reply, std::string_view> cases[] = {
        {{250, "2.0.0", "Ok"}, "250 2.0.0 Ok\r\n"},
        {{354, "", "Go ahead"}, "354 Go ahead\r\n"},
        {{250, "", ""}, "250\r\n"},
        {{250, "2.0.0", ""}, "250 2.0.0\r\n"},
        {{250, "", "mx.example.org Hello\nPIPELINING\nSIZE 1000\n8BITMIME"},
         "250-mx.example.org Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n"},
        {{550, "5.1.1", "No such user\nSee the docs"},
         "550-5.1.1 No such user\r\n550 5.1.1 See the docs\r\n"},
        {{250, "", "a\n"}, "250-a\r\n250\r\n"},
        {{451, "4.3.0", "injected\r"}, "451 4.3.0 injected\r\n"},
    };
    for (const auto& [reply, wire] : cases) {
        EXPECT_EQ(reply.render(), wire);
    }
    std::string out = "prefix ";
    reply::ok().render_to(out);
    EXPECT_EQ(out, "prefix 250 2.0.0 Ok\r\n");
}

TEST(SmtpReply, HelpersCarryTheRightCodes) {
    const std::tuple<Reply, int, std::string_view> cases[] = {
        {reply::ok(), 250, "2.0.0"},
        {reply::greeting("mx"), 220, ""},
        {reply::closing(), 221, "2.0.0"},
        {reply::sender_ok(), 250, "2.1.0"},
        {reply::recipient_ok(), 250, "2.1.5"},
        {reply::start_data(), 354, ""},
        {reply::message_accepted("0c1d2e3f"), 250, "2.0.0"},
        {reply::starttls_ready(), 220, "2.0.0"},
        {reply::auth_ok(), 235, "2.7.0"},
        {reply::auth_challenge("VXNlcm5hbWU6"), 334, ""},
        {reply::unavailable("mx"), 421, "4.3.0"},
        {reply::timeout("mx"), 421, "4.4.2"},
        {reply::local_error(), 451, "4.3.0"},
        {reply::too_many_recipients(), 452, "4.5.3"},
        {reply::insufficient_storage(), 452, "4.3.1"},
        {reply::command_unrecognized(), 500, "5.5.2"},
        {reply::line_too_long(), 500, "5.5.2"},
        {reply::syntax_error(), 501, "5.5.4"},
        {reply::not_implemented(), 502, "5.5.1"},
        {reply::bad_sequence(), 503, "5.5.1"},
        {reply::auth_mechanism_unsupported(), 504, "5.5.4"},
        {reply::auth_cancelled(), 501, "5.7.0"},
        {reply::auth_required(), 530, "5.7.0"},
        {reply::auth_failed(), 535, "5.7.8"},
        {reply::encryption_required(), 538, "5.7.11"},
        {reply::no_such_user(), 550, "5.1.1"},
        {reply::bad_address("invalid domain"), 553, "5.1.3"},
        {reply::message_too_big(), 552, "5.3.4"},
        {reply::relay_denied(), 554, "5.7.1"},
        {reply::parameters_unrecognized(), 555, "5.5.4"},
        {reply::content_rejected("bare LF"), 550, "5.6.0"},
    };
    for (const auto& [reply, code, enhanced] : cases) {
        EXPECT_EQ(reply.code, code) << reply.text;
        EXPECT_EQ(reply.enhanced, enhanced) << reply.text;
        EXPECT_FALSE(reply.render().empty());
    }
    EXPECT_EQ(reply::auth_challenge("").render(), "334\r\n");
    EXPECT_EQ(reply::auth_challenge("VXNlcm5hbWU6").render(), "334 VXNlcm5hbWU6\r\n");
    EXPECT_EQ(reply::greeting("mx.example.org").render(), "220 mx.example.org ESMTP mxd\r\n");
    EXPECT_TRUE(reply::ok().positive());
    EXPECT_TRUE(reply::local_error().transient());
    EXPECT_TRUE(reply::relay_denied().permanent());
}

TEST(SmtpReply, ParsesReplyLines) {
    const std::tuple<std::string_view, int, bool, std::string_view> cases[] = {
        {"250 Ok", 250, true, "Ok"},
        {"250-PIPELINING", 250, false, "PIPELINING"},
        {"220", 220, true, ""},
        {"354 ", 354, true, ""},
        {"550 5.1.1 No such user", 550, true, "5.1.1 No such user"},
    };
    for (const auto& [line, code, last, text] : cases) {
        const auto parsed = parse_reply_line(line);
        ASSERT_TRUE(parsed) << line;
        EXPECT_EQ(parsed->code, code);
        EXPECT_EQ(parsed->last, last);
        EXPECT_EQ(parsed->text, text);
    }
    for (const std::string_view bad :
         {"", "25", "2500 x", "250x", "150 x", "650 x", "260 x", "2a0 x", "abc"}) {
        EXPECT_FALSE(parse_reply_line(bad)) << bad;
    }
}

TEST(SmtpReply, ExtractsEnhancedCodes) {
    const std::tuple<std::string_view, int, std::string_view, std::string_view> cases[] = {
        {"2.1.0 Ok", 2, "2.1.0", "Ok"},
        {"5.7.11 Need TLS", 5, "5.7.11", "Need TLS"},
        {"4.123.456 x", 4, "4.123.456", "x"},
        {"2.0.0", 2, "2.0.0", ""},
        {"5.1.1 No", 4, "", "5.1.1 No"}, // class must match the reply code
        {"2.1 Ok", 2, "", "2.1 Ok"},
        {"2.1.0Ok", 2, "", "2.1.0Ok"},
        {"2.1234.0 x", 2, "", "2.1234.0 x"},
        {"2..0 x", 2, "", "2..0 x"},
        {"Ok", 2, "", "Ok"},
    };
    for (const auto& [input, reply_class, code, rest] : cases) {
        std::string_view text = input;
        EXPECT_EQ(take_enhanced_code(text, reply_class), code) << input;
        EXPECT_EQ(text, rest) << input;
    }
}

TEST(SmtpReply, AccumulatesMultiLineReplies) {
    ReplyAccumulator acc;
    EXPECT_TRUE(acc.empty());
    EXPECT_EQ(outcome(acc.add("250-mx.example.net")), "more");
    EXPECT_EQ(outcome(acc.add("250-SIZE 35882577")), "more");
    EXPECT_EQ(outcome(acc.add("250 PIPELINING")), "complete");
    const auto ehlo = acc.take();
    EXPECT_EQ(ehlo.code, 250);
    EXPECT_EQ(ehlo.enhanced, "");
    EXPECT_EQ(ehlo.text, "mx.example.net\nSIZE 35882577\nPIPELINING");
    EXPECT_TRUE(acc.empty());

    EXPECT_EQ(outcome(acc.add("550-5.1.1 The email account does not exist.")), "more");
    EXPECT_EQ(outcome(acc.add("550 5.1.1 Please try again.")), "complete");
    const auto rejected = acc.take();
    EXPECT_EQ(rejected.enhanced, "5.1.1");
    EXPECT_EQ(rejected.text, "The email account does not exist.\nPlease try again.");
    EXPECT_EQ(rejected.render(),
              "550-5.1.1 The email account does not exist.\r\n550 5.1.1 Please try again.\r\n");
}

TEST(SmtpReply, AccumulatorRefusesBrokenReplies) {
    ReplyAccumulator acc;
    EXPECT_EQ(outcome(acc.add("250-a")), "more");
    const auto changed = acc.add("251 b");
    ASSERT_FALSE(changed);
    EXPECT_TRUE(acc.empty()) << "reset after a failure";
    EXPECT_EQ(outcome(acc.add("hello")), "error");
    EXPECT_EQ(outcome(acc.add("221 2.0.0 Bye")), "complete");
    EXPECT_EQ(acc.take().one_line(), "Bye");

    for (std::size_t i = 0; i + 1 < k_reply_lines_max; ++i) {
        ASSERT_EQ(outcome(acc.add("250-x")), "more");
    }
    EXPECT_EQ(outcome(acc.add("250-x")), "more");
    EXPECT_EQ(outcome(acc.add("250 x")), "error") << "one line too many";

    const std::string big = "250-" + std::string(1000, 'x');
    bool failed = false;
    for (int i = 0; i < 100 && !failed; ++i) {
        failed = !acc.add(big);
    }
    EXPECT_TRUE(failed) << "byte limit";
}

TEST(SmtpReply, AddAfterCompletionStartsANewReply) {
    ReplyAccumulator acc;
    EXPECT_EQ(outcome(acc.add("250 first")), "complete");
    EXPECT_EQ(outcome(acc.add("354 second")), "complete");
    const auto second = acc.take();
    EXPECT_EQ(second.code, 354);
    EXPECT_EQ(second.text, "second");
}
