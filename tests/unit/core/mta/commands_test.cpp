// SPDX-License-Identifier: ISC
#include "core/mta/commands.hpp"

#include <gtest/gtest.h>

using namespace core::mta;

TEST(MtaCommands, MailFromCarriesOnlyTheParametersGiven) {
    EXPECT_EQ(mail_command("", {}), "MAIL FROM:<>");
    EXPECT_EQ(mail_command("a@example.org", {}), "MAIL FROM:<a@example.org>");
    MailParameters p;
    p.size = 1234;
    p.body_8bitmime = true;
    p.ret = "hdrs";
    p.envid = "id+1=x";
    EXPECT_EQ(mail_command("a@example.org", p),
              "MAIL FROM:<a@example.org> SIZE=1234 BODY=8BITMIME RET=HDRS ENVID=id+2B1+3Dx");
    p = {};
    p.ret = "bogus";
    EXPECT_EQ(mail_command("a@b", p), "MAIL FROM:<a@b>");
}

TEST(MtaCommands, RcptToWithDsnParameters) {
    EXPECT_EQ(rcpt_command("b@example.org", {}), "RCPT TO:<b@example.org>");
    RcptParameters p;
    p.notify = "success,failure";
    p.orcpt = "b+x@example.org";
    EXPECT_EQ(rcpt_command("b@example.org", p),
              "RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Bx@example.org");
    p = {};
    p.notify = "SUCCESS\r\nRSET";
    EXPECT_EQ(rcpt_command("b@example.org", p), "RCPT TO:<b@example.org>");
}

TEST(MtaCommands, PathTextRefusesCommandInjection) {
    EXPECT_TRUE(check_path_text("user@example.org"));
    EXPECT_TRUE(check_path_text("\"a b\"@example.org"));
    EXPECT_TRUE(check_path_text(""));
    for (const std::string_view bad :
         {std::string_view("a@b>\r\nRCPT TO:<c@d"), std::string_view("a@b\nx"),
          std::string_view("a\0b", 3), std::string_view("<a@b>")}) {
        auto r = check_path_text(bad);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, core::Errc::parse);
    }
    EXPECT_FALSE(check_path_text(std::string(300, 'a')));
}
