// SPDX-License-Identifier: ISC
#include "core/mta/relay_url.hpp"

#include <gtest/gtest.h>

using namespace core::mta;
using RelayTls = core::config::Action::RelayTls;

TEST(RelayUrl, ParsesSchemesLabelsHostsAndDefaultPorts) {
    struct Case {
        std::string_view text;
        Scheme scheme;
        std::string_view label;
        std::string_view host;
        std::uint16_t port;
        bool port_given;
    };
    const Case cases[] = {
        {"mx.example.org", Scheme::smtp, "", "mx.example.org", 25, false},
        {"smtp://mx.example.org", Scheme::smtp, "", "mx.example.org", 25, false},
        {"smtp+tls://label@smarthost.example.org:587", Scheme::smtp_tls, "label",
         "smarthost.example.org", 587, true},
        {"smtp+notls://192.0.2.1", Scheme::smtp_notls, "", "192.0.2.1", 25, false},
        {"smtps://secret@[2001:db8::1]", Scheme::smtps, "secret", "2001:db8::1", 465, false},
        {"smtps://[::1]:4650", Scheme::smtps, "", "::1", 4650, true},
        {"lmtp://127.0.0.1", Scheme::lmtp, "", "127.0.0.1", 24, false},
        {"lmtp://127.0.0.1:2424", Scheme::lmtp, "", "127.0.0.1", 2424, true},
        {"smtp://me@work@relay:26", Scheme::smtp, "me@work", "relay", 26, true},
    };
    for (const auto& c : cases) {
        auto url = parse_relay_url(c.text);
        ASSERT_TRUE(url) << c.text << ": " << url.error().message;
        EXPECT_EQ(url->scheme, c.scheme) << c.text;
        EXPECT_EQ(url->label, c.label) << c.text;
        EXPECT_EQ(url->host, c.host) << c.text;
        EXPECT_EQ(url->port, c.port) << c.text;
        EXPECT_EQ(url->port_given, c.port_given) << c.text;
        EXPECT_TRUE(url->socket_path.empty());
    }
}

TEST(RelayUrl, RefusesMalformedUrlsWithAReason) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"smtpx://host", "unknown scheme 'smtpx'"},
        {"smtp://", "missing host"},
        {"smtp://host:0", "port out of range: 0"},
        {"smtp://host:65536", "port out of range: 65536"},
        {"smtp://host:2x", "invalid port '2x'"},
        {"smtp://host:", "invalid port ''"},
        {"smtp://::1", "an IPv6 address must be in brackets, as in [::1]:25"},
        {"smtp://[::1", "missing ']' after an IPv6 address"},
        {"smtp://[nope]", "invalid IPv6 address 'nope'"},
        {"smtp://[::1]x", "unexpected text after ']'"},
        {"smtp://@host", "empty label before '@'"},
        {"smtp://bad host", "invalid host name 'bad host'"},
        {"smtp://host/path", "invalid host name 'host/path'"},
    };
    for (const auto& [text, reason] : cases) {
        auto url = parse_relay_url(text);
        ASSERT_FALSE(url) << text;
        EXPECT_EQ(url.error().code, core::Errc::parse);
        EXPECT_EQ(url.error().message, reason) << text;
    }
}

TEST(RelayUrl, PrintsTheCanonicalForm) {
    for (const std::string_view text :
         {"smtp+tls://label@mx.example.org:587", "smtps://[::1]:465", "lmtp://127.0.0.1:24"}) {
        auto url = parse_relay_url(text);
        ASSERT_TRUE(url);
        EXPECT_EQ(url->to_string(), text);
        EXPECT_EQ(*parse_relay_url(url->to_string()), *url);
    }
    EXPECT_EQ(parse_relay_url("host")->to_string(), "smtp://host:25");
}

TEST(RelayUrl, LmtpDestinationIsASocketPathOrHostAndPort) {
    auto socket = parse_lmtp_destination("/var/run/dovecot/lmtp");
    ASSERT_TRUE(socket);
    EXPECT_EQ(socket->scheme, Scheme::lmtp);
    EXPECT_EQ(socket->socket_path, "/var/run/dovecot/lmtp");
    EXPECT_TRUE(socket->host.empty());
    EXPECT_EQ(socket->to_string(), "lmtp:///var/run/dovecot/lmtp");

    auto inet = parse_lmtp_destination("localhost:2003");
    ASSERT_TRUE(inet);
    EXPECT_EQ(inet->host, "localhost");
    EXPECT_EQ(inet->port, 2003);
    EXPECT_EQ(parse_lmtp_destination("[::1]")->port, 24);
    EXPECT_EQ(parse_lmtp_destination("lmtp://mail:25")->port, 25);
    EXPECT_FALSE(parse_lmtp_destination("relative/path"));
    EXPECT_FALSE(parse_lmtp_destination(""));
}

TEST(RelayUrl, TlsPolicyFollowsSchemeAndTheActionsTlsOption) {
    const std::tuple<Scheme, RelayTls, TlsPolicy> cases[] = {
        {Scheme::smtp, RelayTls::default_, {TlsMode::opportunistic, Verify::no}},
        {Scheme::smtp, RelayTls::required, {TlsMode::required, Verify::yes}},
        {Scheme::smtp, RelayTls::no_verify, {TlsMode::required, Verify::no}},
        {Scheme::smtp_tls, RelayTls::default_, {TlsMode::required, Verify::yes}},
        {Scheme::smtp_tls, RelayTls::no_verify, {TlsMode::required, Verify::no}},
        {Scheme::smtps, RelayTls::default_, {TlsMode::implicit, Verify::yes}},
        {Scheme::smtps, RelayTls::no_verify, {TlsMode::implicit, Verify::no}},
        {Scheme::smtp_notls, RelayTls::default_, {TlsMode::none, Verify::no}},
        {Scheme::lmtp, RelayTls::default_, {TlsMode::none, Verify::no}},
    };
    for (const auto& [scheme, tls, expected] : cases) {
        EXPECT_EQ(tls_policy(scheme, tls), expected) << scheme_name(scheme);
    }
}

TEST(RelayUrl, CredentialsSplitAtTheFirstColon) {
    auto c = parse_credentials("user@example.org:pa:ss");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->username, "user@example.org");
    EXPECT_EQ(c->password, "pa:ss");
    for (const std::string_view bad : {"nocolon", ":secret", "user:"}) {
        auto r = parse_credentials(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().message.find("secret"), std::string::npos);
    }
}
