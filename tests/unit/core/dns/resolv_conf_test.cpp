// SPDX-License-Identifier: ISC
#include "core/dns/resolv_conf.hpp"
#include "tests/unit/temp_dir.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

using namespace core::dns;
using namespace std::chrono_literals;

namespace {

struct Case {
    const char* what;
    std::string_view text;
    std::vector<Nameserver> servers;
    std::chrono::seconds timeout;
    int attempts;
    std::size_t warnings;
};

} // namespace

TEST(ResolvConf, ParsesNameserversAndOptions) {
    const Case cases[] = {
        {"empty file", "", {{"127.0.0.1", 53}}, 2s, 2, 0},
        {"comments only", "# nothing\n; nothing\n", {{"127.0.0.1", 53}}, 2s, 2, 0},
        {"one IPv4", "nameserver 192.0.2.53\n", {{"192.0.2.53", 53}}, 2s, 2, 0},
        {"IPv6 and scope",
         "nameserver 2001:db8::53\nnameserver fe80::1%lo\n",
         {{"2001:db8::53", 53}, {"fe80::1%lo", 53}},
         2s,
         2,
         0},
        {"tabs, CRLF, no final newline",
         "nameserver\t192.0.2.1 \r\nnameserver 192.0.2.2",
         {{"192.0.2.1", 53}, {"192.0.2.2", 53}},
         2s,
         2,
         0},
        {"mxd ports",
         "nameserver 127.0.0.1:5353\nnameserver [::1]:5354\nnameserver [::1]\n",
         {{"127.0.0.1", 5353}, {"::1", 5354}, {"::1", 53}},
         2s,
         2,
         0},
        {"at most three, as glibc",
         "nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\nnameserver 192.0.2.4\n",
         {{"192.0.2.1", 53}, {"192.0.2.2", 53}, {"192.0.2.3", 53}},
         2s,
         2,
         1},
        {"options",
         "options ndots:2 timeout:1 rotate attempts:3 edns0\nnameserver 192.0.2.1\n",
         {{"192.0.2.1", 53}},
         1s,
         3,
         0},
        {"later options win",
         "options timeout:7\noptions timeout:4\n",
         {{"127.0.0.1", 53}},
         4s,
         2,
         0},
        {"options clamped", "options timeout:0 attempts:99\n", {{"127.0.0.1", 53}}, 1s, 5, 0},
        {"timeout capped at 30",
         "options timeout:600 attempts:0\n",
         {{"127.0.0.1", 53}},
         30s,
         1,
         0},
        {"bad option values",
         "options timeout:x attempts:-1 timeout:\n",
         {{"127.0.0.1", 53}},
         2s,
         2,
         3},
        {"other keywords ignored",
         "domain example.org\nsearch a.example b.example\nsortlist 10.0.0.0/8\nnameserver "
         "192.0.2.9\n",
         {{"192.0.2.9", 53}},
         2s,
         2,
         0},
        {"keyword must be a whole word",
         "nameserver192.0.2.1\nnameservers 192.0.2.2\n",
         {{"127.0.0.1", 53}},
         2s,
         2,
         0},
        {"bad addresses skipped",
         "nameserver\nnameserver dns.example.org\nnameserver 192.0.2.300\nnameserver 1.2.3.4:0\n"
         "nameserver 1.2.3.4:65536\nnameserver [::1\nnameserver [::1]x\nnameserver [1.2.3.4]:53\n"
         "nameserver 192.0.2.7\n",
         {{"192.0.2.7", 53}},
         2s,
         2,
         8},
        {"indented comment is not a comment",
         "  # nameserver 192.0.2.1\n",
         {{"127.0.0.1", 53}},
         2s,
         2,
         0},
    };
    for (const auto& c : cases) {
        const auto conf = parse_resolv_conf(c.text);
        EXPECT_EQ(conf.nameservers, c.servers) << c.what;
        EXPECT_EQ(conf.timeout, c.timeout) << c.what;
        EXPECT_EQ(conf.attempts, c.attempts) << c.what;
        EXPECT_EQ(conf.warnings.size(), c.warnings) << c.what;
    }
}

TEST(ResolvConf, WarningsNameTheLine) {
    const auto conf = parse_resolv_conf("nameserver 192.0.2.1\n\nnameserver bogus\n");
    ASSERT_EQ(conf.warnings.size(), 1u);
    EXPECT_EQ(conf.warnings[0], "line 3: invalid nameserver 'bogus', ignoring");
}

TEST(ResolvConf, PrintsServersWithTheirPort) {
    EXPECT_EQ((Nameserver{"192.0.2.1", 53}).to_string(), "192.0.2.1:53");
    EXPECT_EQ((Nameserver{"::1", 5353}).to_string(), "[::1]:5353");
}

TEST(ResolvConf, LoadsAFileAndDefaultsWhenItIsMissing) {
    unit_test::TempDir dir;
    const auto path = dir.write("resolv.conf", "nameserver 127.0.0.1:5300\noptions attempts:1\n");
    auto conf = load_resolv_conf(path);
    ASSERT_TRUE(conf) << conf.error().message;
    EXPECT_EQ(conf->nameservers, (std::vector<Nameserver>{{"127.0.0.1", 5300}}));
    EXPECT_EQ(conf->attempts, 1);

    auto missing = load_resolv_conf(dir.path() / "none");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->nameservers, (std::vector<Nameserver>{{"127.0.0.1", 53}}));

    auto directory = load_resolv_conf(dir.path());
    EXPECT_FALSE(directory);
}
