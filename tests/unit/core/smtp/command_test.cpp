// SPDX-License-Identifier: ISC
#include "core/smtp/command.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace core::smtp;

TEST(SmtpCommand, RecognizesVerbsCaseInsensitively) {
    const std::pair<std::string_view, Verb> cases[] = {
        {"HELO mx.example.org", Verb::helo},
        {"ehlo mx.example.org", Verb::ehlo},
        {"Mail FROM:<>", Verb::mail},
        {"rcpt to:<a@b.c>", Verb::rcpt},
        {"DATA", Verb::data},
        {"bdat 100 LAST", Verb::bdat},
        {"RSET", Verb::rset},
        {"NOOP", Verb::noop},
        {"noop whatever", Verb::noop},
        {"QUIT", Verb::quit},
        {"VRFY postmaster", Verb::vrfy},
        {"EXPN list", Verb::expn},
        {"HELP", Verb::help},
        {"help mail", Verb::help},
        {"StartTLS", Verb::starttls},
        {"AUTH PLAIN", Verb::auth},
        {"XCLIENT ADDR=1.2.3.4", Verb::unknown},
        {"", Verb::unknown},
        {"MAILX FROM:<>", Verb::unknown},
        {"GET / HTTP/1.0", Verb::unknown},
    };
    for (const auto& [line, verb] : cases) {
        const auto command = parse_command(line);
        ASSERT_TRUE(command) << line << ": " << command.error().message;
        EXPECT_EQ(command->verb, verb) << line;
    }
    EXPECT_EQ(verb_name(Verb::starttls), "STARTTLS");
    EXPECT_EQ(verb_name(Verb::unknown), "UNKNOWN");
}

TEST(SmtpCommand, KeepsTheArgumentTrimmed) {
    const auto ehlo = parse_command("EHLO   client.example.org  ");
    ASSERT_TRUE(ehlo);
    EXPECT_EQ(ehlo->verb_text, "EHLO");
    EXPECT_EQ(ehlo->argument, "client.example.org");
    const auto auth = parse_command("AUTH PLAIN AGFsaWNlAHNlY3JldA==");
    ASSERT_TRUE(auth);
    EXPECT_EQ(auth->argument, "PLAIN AGFsaWNlAHNlY3JldA==");
    const auto tab = parse_command("HELO\tclient");
    ASSERT_TRUE(tab);
    EXPECT_EQ(tab->argument, "client");
}

TEST(SmtpCommand, ParsesMailAndRcptPaths) {
    struct Case {
        std::string_view line;
        Verb verb;
        std::string_view address;
        std::size_t params;
    };
    const Case cases[] = {
        {"MAIL FROM:<alice@example.org>", Verb::mail, "alice@example.org", 0},
        {"MAIL FROM:<>", Verb::mail, "", 0},
        {"mail from:<alice@EXAMPLE.org> SIZE=1000 BODY=8BITMIME", Verb::mail, "alice@example.org",
         2},
        // A space after the colon is common and tolerated.
        {"MAIL FROM: <alice@example.org>", Verb::mail, "alice@example.org", 0},
        {"MAIL FROM:  <alice@example.org>  SIZE=5  ", Verb::mail, "alice@example.org", 1},
        {"RCPT TO:<bob@example.net>", Verb::rcpt, "bob@example.net", 0},
        {"RCPT TO:<postmaster>", Verb::rcpt, "postmaster", 0},
        {"RCPT TO: <bob@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.net",
         Verb::rcpt, "bob@example.net", 2},
        {"RCPT TO:<@hop.example:bob@example.net>", Verb::rcpt, "bob@example.net", 0},
        {"RCPT TO:<\"odd> name\"@example.net> NOTIFY=NEVER", Verb::rcpt,
         "\"odd> name\"@example.net", 1},
    };
    for (const auto& c : cases) {
        const auto command = parse_command(c.line);
        ASSERT_TRUE(command) << c.line << ": " << command.error().message;
        EXPECT_EQ(command->verb, c.verb) << c.line;
        EXPECT_EQ(command->path.to_string(), c.address) << c.line;
        EXPECT_EQ(command->params().size(), c.params) << c.line;
    }
}

TEST(SmtpCommand, RefusesMalformedLines) {
    struct Case {
        std::string_view line;
        core::Errc code;
        std::string_view reason;
    };
    const Case cases[] = {
        {"HELO", core::Errc::parse, "requires a domain"},
        {"EHLO   ", core::Errc::parse, "requires a domain"},
        {"MAIL", core::Errc::parse, "syntax"},
        {"MAIL TO:<a@b.c>", core::Errc::parse, "syntax"},
        {"MAIL FROM<a@b.c>", core::Errc::parse, "syntax"},
        {"MAIL FROM:", core::Errc::parse, "enclosed"},
        {"MAIL FROM:a@b.c", core::Errc::parse, "enclosed"},
        {"MAIL FROM:<a@b.c", core::Errc::parse, "'>'"},
        {"MAIL FROM:<a@b.c>SIZE=10", core::Errc::parse, "garbage"},
        {"MAIL FROM:<a@b.c> SIZE=", core::Errc::parse, "invalid value"},
        {"MAIL FROM:<a@b.c> SIZE=1=2", core::Errc::parse, "invalid value"},
        {"MAIL FROM:<a@b.c> -SIZE=1", core::Errc::parse, "invalid parameter"},
        {"MAIL FROM:<a@b.c> SI_ZE=1", core::Errc::parse, "invalid parameter"},
        {"MAIL FROM:<a@b.c> =1", core::Errc::parse, "invalid parameter"},
        {"MAIL FROM:<a@b.c> SIZE=1 size=2", core::Errc::parse, "duplicate parameter"},
        {"MAIL FROM:<a@b.c> BODY=7BIT Body=8BITMIME", core::Errc::parse, "duplicate"},
        {"RCPT TO:<>", core::Errc::parse, "empty recipient"},
        {"RCPT TO:<bob>", core::Errc::parse, "missing domain"},
        {"RCPT FROM:<a@b.c>", core::Errc::parse, "syntax"},
        {"DATA now", core::Errc::parse, "no arguments"},
        {"RSET x", core::Errc::parse, "no arguments"},
        {"QUIT bye", core::Errc::parse, "no arguments"},
        {"STARTTLS x", core::Errc::parse, "no arguments"},
        {"AUTH", core::Errc::parse, "requires an argument"},
        {"BDAT", core::Errc::parse, "requires an argument"},
        {"VRFY", core::Errc::parse, "requires an argument"},
        {std::string_view("NOOP \0", 6), core::Errc::parse, "invalid character"},
        {"NOOP a\rb", core::Errc::parse, "invalid character"},
        {"MAIL FROM:<j\xc3\xb6rg@example.org>", core::Errc::parse, "SMTPUTF8"},
    };
    for (const auto& c : cases) {
        const auto command = parse_command(c.line);
        ASSERT_FALSE(command) << c.line;
        EXPECT_EQ(command.error().code, c.code) << c.line;
        EXPECT_NE(command.error().message.find(c.reason), std::string::npos)
            << c.line << ": " << command.error().message;
    }
}

TEST(SmtpCommand, EnforcesTheLineAndParameterLimits) {
    const std::string at_limit = "NOOP " + std::string(k_command_line_max - 5, 'x');
    EXPECT_TRUE(parse_command(at_limit));
    const auto over = parse_command(at_limit + "x");
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().code, core::Errc::invalid_argument);

    CommandOptions strict;
    strict.max_line = 512; // RFC 5321 4.5.3.1.4
    EXPECT_FALSE(parse_command("NOOP " + std::string(508, 'x'), strict));
    EXPECT_TRUE(parse_command("NOOP " + std::string(507, 'x'), strict));

    std::string many = "MAIL FROM:<a@b.c>";
    for (std::size_t i = 0; i < k_esmtp_params_max; ++i) {
        many += " X" + std::to_string(i);
    }
    EXPECT_TRUE(parse_command(many));
    const auto too_many = parse_command(many + " Y");
    ASSERT_FALSE(too_many);
    EXPECT_EQ(too_many.error().message, "too many parameters");
}

TEST(SmtpCommand, Utf8PathsNeedSmtputf8) {
    CommandOptions utf8;
    utf8.smtputf8 = true;
    EXPECT_FALSE(parse_command("MAIL FROM:<j\xc3\xb6rg@example.org>", utf8))
        << "MAIL needs the SMTPUTF8 parameter on the line";
    const auto mail = parse_command("MAIL FROM:<j\xc3\xb6rg@example.org> SMTPUTF8", utf8);
    ASSERT_TRUE(mail) << mail.error().message;
    EXPECT_TRUE(parse_mail_params(*mail)->smtputf8);
    EXPECT_TRUE(parse_command("RCPT TO:<j\xc3\xb6rg@example.org>", utf8));
    EXPECT_FALSE(parse_command("RCPT TO:<j\xc3\xb6rg@example.org>"));
    EXPECT_FALSE(parse_command("MAIL FROM:<j\xc3\xb6rg@example.org> SMTPUTF8"))
        << "not offered by the server";
}

TEST(SmtpCommand, LenientOptionsReachTheAddressParser) {
    CommandOptions lenient;
    lenient.brackets_optional = true;
    lenient.domain_optional = true;
    const auto mail = parse_command("MAIL FROM:alice@example.org SIZE=10", lenient);
    ASSERT_TRUE(mail) << mail.error().message;
    EXPECT_EQ(mail->path.to_string(), "alice@example.org");
    EXPECT_EQ(mail->path_text, "alice@example.org");
    EXPECT_EQ(mail->params().size(), 1U);
    const auto rcpt = parse_command("RCPT TO:<root>", lenient);
    ASSERT_TRUE(rcpt);
    EXPECT_EQ(rcpt->path.local, "root");
}

TEST(SmtpCommand, ExposesRawParameters) {
    const auto command = parse_command("MAIL FROM:<a@b.c> SIZE=10 smtputf8 X-Y=z");
    ASSERT_TRUE(command);
    ASSERT_EQ(command->params().size(), 3U);
    EXPECT_EQ(command->params()[0].keyword, "SIZE");
    EXPECT_EQ(command->params()[0].value, "10");
    EXPECT_TRUE(command->params()[0].has_value);
    EXPECT_FALSE(command->params()[1].has_value);
    ASSERT_NE(command->find_param("SmtpUtf8"), nullptr);
    EXPECT_EQ(command->find_param("x-y")->value, "z");
    EXPECT_EQ(command->find_param("BODY"), nullptr);
}

TEST(SmtpCommand, TypesMailParameters) {
    const auto command = parse_command(
        "MAIL FROM:<a@b.c> SIZE=12345 BODY=8bitmime RET=HDRS ENVID=QQ+2B314 AUTH=a+2Bb@c.d");
    ASSERT_TRUE(command) << command.error().message;
    const auto params = parse_mail_params(*command);
    ASSERT_TRUE(params) << params.error().message;
    EXPECT_EQ(params->size, 12345U);
    EXPECT_EQ(params->body, Body::eight_bit_mime);
    EXPECT_EQ(params->ret, Ret::hdrs);
    EXPECT_EQ(params->envid, "QQ+314");
    EXPECT_EQ(params->auth, "a+b@c.d");
    EXPECT_FALSE(params->smtputf8);

    const auto none = parse_mail_params(*parse_command("MAIL FROM:<>"));
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->size);
    EXPECT_EQ(none->body, Body::unspecified);
    EXPECT_EQ(none->ret, Ret::unspecified);
    EXPECT_FALSE(none->envid);
    EXPECT_FALSE(none->auth);

    const auto empty_auth = parse_mail_params(*parse_command("MAIL FROM:<> AUTH=<> BODY=7BIT"));
    ASSERT_TRUE(empty_auth);
    EXPECT_EQ(empty_auth->auth, "");
    EXPECT_EQ(empty_auth->body, Body::seven_bit);
    EXPECT_EQ(parse_mail_params(*parse_command("MAIL FROM:<> BODY=BINARYMIME"))->body,
              Body::binary_mime);
    EXPECT_EQ(parse_mail_params(*parse_command("MAIL FROM:<> RET=full"))->ret, Ret::full);
    EXPECT_EQ(parse_mail_params(*parse_command("MAIL FROM:<> SIZE=18446744073709551615"))->size,
              18446744073709551615ULL);
}

TEST(SmtpCommand, RefusesBadMailParameters) {
    const std::pair<std::string_view, core::Errc> cases[] = {
        {"MAIL FROM:<> SIZE=abc", core::Errc::parse},
        {"MAIL FROM:<> SIZE=-1", core::Errc::parse},
        {"MAIL FROM:<> SIZE=18446744073709551616", core::Errc::parse},
        {"MAIL FROM:<> SIZE", core::Errc::parse},
        {"MAIL FROM:<> BODY=9BIT", core::Errc::parse},
        {"MAIL FROM:<> RET=ALL", core::Errc::parse},
        {"MAIL FROM:<> ENVID=a+2", core::Errc::parse},
        {"MAIL FROM:<> ENVID=a+ZZ", core::Errc::parse},
        {"MAIL FROM:<> AUTH=a+", core::Errc::parse},
        {"MAIL FROM:<> SMTPUTF8=yes", core::Errc::parse},
        {"MAIL FROM:<> NOTIFY=NEVER", core::Errc::unsupported},
        {"MAIL FROM:<> XFORWARD=1", core::Errc::unsupported},
    };
    for (const auto& [line, code] : cases) {
        const auto command = parse_command(line);
        ASSERT_TRUE(command) << line << ": " << command.error().message;
        const auto params = parse_mail_params(*command);
        ASSERT_FALSE(params) << line;
        EXPECT_EQ(params.error().code, code) << line;
    }
    const auto long_envid = parse_command("MAIL FROM:<> ENVID=" + std::string(101, 'e'));
    ASSERT_TRUE(long_envid);
    EXPECT_FALSE(parse_mail_params(*long_envid));
}

TEST(SmtpCommand, TypesRcptParameters) {
    const auto command =
        parse_command("RCPT TO:<b@c.d> NOTIFY=success,Delay ORCPT=rfc822;b+2Bx@c.d");
    ASSERT_TRUE(command);
    const auto params = parse_rcpt_params(*command);
    ASSERT_TRUE(params) << params.error().message;
    EXPECT_EQ(params->notify, notify_success | notify_delay);
    EXPECT_EQ(params->orcpt_type, "rfc822");
    EXPECT_EQ(params->orcpt, "b+x@c.d");
    const auto never = parse_rcpt_params(*parse_command("RCPT TO:<b@c.d> NOTIFY=NEVER"));
    ASSERT_TRUE(never);
    EXPECT_EQ(never->notify, notify_never);
    const auto none = parse_rcpt_params(*parse_command("RCPT TO:<b@c.d>"));
    ASSERT_TRUE(none);
    EXPECT_EQ(none->notify, 0U);
    EXPECT_FALSE(none->orcpt);
}

TEST(SmtpCommand, RefusesBadRcptParameters) {
    const std::pair<std::string_view, core::Errc> cases[] = {
        {"RCPT TO:<b@c.d> NOTIFY=NEVER,SUCCESS", core::Errc::parse},
        {"RCPT TO:<b@c.d> NOTIFY=SOMETIMES", core::Errc::parse},
        {"RCPT TO:<b@c.d> NOTIFY=SUCCESS,", core::Errc::parse},
        {"RCPT TO:<b@c.d> NOTIFY", core::Errc::parse},
        {"RCPT TO:<b@c.d> ORCPT=b@c.d", core::Errc::parse},
        {"RCPT TO:<b@c.d> ORCPT=;b@c.d", core::Errc::parse},
        {"RCPT TO:<b@c.d> ORCPT=rfc822;", core::Errc::parse},
        {"RCPT TO:<b@c.d> ORCPT=rfc822;b+4", core::Errc::parse},
        {"RCPT TO:<b@c.d> SIZE=10", core::Errc::unsupported},
    };
    for (const auto& [line, code] : cases) {
        const auto command = parse_command(line);
        ASSERT_TRUE(command) << line << ": " << command.error().message;
        const auto params = parse_rcpt_params(*command);
        ASSERT_FALSE(params) << line;
        EXPECT_EQ(params.error().code, code) << line;
    }
    const auto long_orcpt = parse_command("RCPT TO:<b@c.d> ORCPT=rfc822;" + std::string(494, 'o'));
    ASSERT_TRUE(long_orcpt);
    EXPECT_FALSE(parse_rcpt_params(*long_orcpt));
}

TEST(SmtpCommand, ParsesBdatArguments) {
    const auto plain = parse_bdat("1000");
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->size, 1000U);
    EXPECT_FALSE(plain->last);
    const auto last = parse_bdat("0 last");
    ASSERT_TRUE(last);
    EXPECT_EQ(last->size, 0U);
    EXPECT_TRUE(last->last);
    EXPECT_FALSE(parse_bdat(""));
    EXPECT_FALSE(parse_bdat("LAST"));
    EXPECT_FALSE(parse_bdat("10 FIRST"));
    EXPECT_FALSE(parse_bdat("-1"));
}

TEST(SmtpCommand, XtextRoundTrips) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"", ""},
        {"plain", "plain"},
        {"a+b", "a+2Bb"},
        {"a=b", "a+3Db"},
        {"sp ace", "sp+20ace"},
        {std::string_view("\x01\x7f\xff", 3), "+01+7F+FF"},
    };
    for (const auto& [raw, encoded] : cases) {
        EXPECT_EQ(xtext_encode(raw), encoded);
        const auto decoded = xtext_decode(encoded);
        ASSERT_TRUE(decoded) << encoded;
        EXPECT_EQ(*decoded, raw);
    }
    EXPECT_EQ(*xtext_decode("a+2bb"), "a+b") << "lower-case hex is tolerated";
    for (const std::string_view bad : {"+", "+2", "+G0", "a b", "a=b", "\x7f"}) {
        EXPECT_FALSE(xtext_decode(bad)) << bad;
    }
}
