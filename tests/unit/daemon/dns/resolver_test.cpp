// SPDX-License-Identifier: ISC
#include "daemon/dns/resolver.hpp"

#include "core/util/log.hpp"
#include "tests/unit/daemon/dns/dnsmasq.hpp"
#include "tests/unit/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <stdexcept>

using namespace std::chrono_literals;
using asio::ip::make_address;
using asio::ip::udp;
using core::Errc;
using mxd::dns::MxHost;
using mxd::dns::Resolver;
using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;

namespace {

// The zone dnsmasq serves. --local makes it authoritative, so unknown names are NXDOMAIN
// rather than REFUSED (it has no upstream).
std::vector<std::string> zone() {
    std::vector<std::string> records{
        "--local=/example.test/",
        "--local=/in-addr.arpa/",
        "--local=/ip6.arpa/",
        // host-record also answers the PTR of each address.
        "--host-record=mail.example.test,192.0.2.10,2001:db8::10",
        "--host-record=v4only.example.test,192.0.2.11",
        "--cname=alias.example.test,mail.example.test",
        "--mx-host=example.test,mx20.example.test,20",
        "--mx-host=example.test,mx10.example.test,10",
        "--mx-host=example.test,mx30.example.test,30",
        // 192.0.2.20 claims a name whose address is another one.
        "--ptr-record=20.2.0.192.in-addr.arpa,liar.example.test",
        "--host-record=liar.example.test,192.0.2.99",
        // 192.0.2.21 has two names, and only the second one points back.
        "--ptr-record=21.2.0.192.in-addr.arpa,liar.example.test",
        "--ptr-record=21.2.0.192.in-addr.arpa,honest.example.test",
        "--address=/honest.example.test/192.0.2.21",
    };
    // More A records than fit in 512 octets: the UDP reply is truncated.
    for (int i = 1; i <= 40; ++i) {
        records.push_back("--host-record=big.example.test,198.51.100." + std::to_string(i));
    }
    return records;
}

// Runs the io_context until `done` holds, at most 30 s (or until nothing is left to run).
void run_until(asio::io_context& io, const std::function<bool()>& done) {
    io.restart();
    const auto limit = Clock::now() + 30s;
    while (!done() && Clock::now() < limit) {
        if (io.run_one_for(100ms) == 0 && io.stopped()) {
            break;
        }
    }
}

template <typename T> asio::awaitable<void> store(asio::awaitable<T> task, std::optional<T>& out) {
    out.emplace(co_await std::move(task));
}

// Runs one lookup to its end and returns its result.
template <typename T> T run(asio::io_context& io, asio::awaitable<T> task) {
    std::optional<T> result;
    asio::co_spawn(io, store(std::move(task), result), asio::detached);
    run_until(io, [&] { return result.has_value(); });
    if (!result) {
        throw std::runtime_error("the lookup did not end within 30 s");
    }
    return std::move(*result);
}

std::vector<std::string> texts(const std::vector<asio::ip::address>& addresses) {
    std::vector<std::string> out;
    for (const auto& a : addresses) {
        out.push_back(a.to_string());
    }
    return out;
}

// A datagram for ScriptedServer to send; a forged one comes from another port.
struct Datagram {
    Datagram(Bytes b, bool forged = false) : bytes(std::move(b)), forged_source(forged) {}
    Bytes bytes;
    bool forged_source;
};

// A UDP server on 127.0.0.1 that the test scripts: for each query, it sends what `reply`
// returns (nothing, for a black hole), and counts the queries.
class ScriptedServer {
  public:
    using Reply = std::function<std::vector<Datagram>(const Bytes& query)>;

    ScriptedServer(asio::io_context& io, Reply reply) : m_state(std::make_shared<State>(io)) {
        m_state->reply = std::move(reply);
        asio::co_spawn(io, serve(m_state), asio::detached);
    }
    ~ScriptedServer() {
        asio::error_code ignored;
        static_cast<void>(m_state->socket.close(ignored));
    }
    std::uint16_t port() const { return m_state->socket.local_endpoint().port(); }
    std::string nameserver_line() const {
        return "nameserver 127.0.0.1:" + std::to_string(port()) + "\n";
    }
    std::size_t queries() const { return m_state->queries; }

  private:
    struct State {
        explicit State(asio::io_context& io)
            : socket(io, udp::endpoint(make_address("127.0.0.1"), 0)),
              forger(io, udp::endpoint(make_address("127.0.0.1"), 0)) {}
        udp::socket socket;
        udp::socket forger;
        Reply reply;
        std::size_t queries = 0;
    };

    // Holds the state itself, so that it never outlives it.
    static asio::awaitable<void> serve(std::shared_ptr<State> state) {
        Bytes buffer(4096);
        for (;;) {
            udp::endpoint from;
            asio::error_code ec;
            const auto n = co_await state->socket.async_receive_from(
                asio::buffer(buffer), from, asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                co_return;
            }
            ++state->queries;
            for (const auto& d : state->reply(Bytes(buffer.begin(), buffer.begin() + n))) {
                auto& socket = d.forged_source ? state->forger : state->socket;
                co_await socket.async_send_to(asio::buffer(d.bytes), from,
                                              asio::redirect_error(asio::use_awaitable, ec));
            }
        }
    }

    std::shared_ptr<State> m_state;
};

// A reply to `query` (which is a header and one question): QR and RA set, `rcode`, and, when
// the question is of type A, one A record per address. `id_delta` and `qtype` spoil it.
Bytes reply_to(const Bytes& query, unsigned rcode, const std::vector<std::uint32_t>& addresses,
               int id_delta = 0, std::optional<unsigned> qtype = std::nullopt) {
    Bytes out = query;
    const bool type_a = query[query.size() - 4] == 0 && query[query.size() - 3] == 1;
    const auto id = static_cast<unsigned>((query[0] << 8 | query[1]) + id_delta);
    out[0] = static_cast<std::uint8_t>(id >> 8);
    out[1] = static_cast<std::uint8_t>(id);
    out[2] |= 0x80;
    out[3] = static_cast<std::uint8_t>(0x80 | rcode);
    if (qtype) {
        out[out.size() - 4] = static_cast<std::uint8_t>(*qtype >> 8);
        out[out.size() - 3] = static_cast<std::uint8_t>(*qtype);
    }
    if (type_a) {
        out[7] = static_cast<std::uint8_t>(addresses.size());
        for (const auto a : addresses) {
            const std::uint8_t rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4};
            out.insert(out.end(), std::begin(rr), std::end(rr));
            for (int shift = 24; shift >= 0; shift -= 8) {
                out.push_back(static_cast<std::uint8_t>(a >> shift));
            }
        }
    }
    return out;
}

class ResolverTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!unit_test::Dnsmasq::available()) {
            GTEST_SKIP() << unit_test::Dnsmasq::k_program << " is not installed";
        }
        m_dns = std::make_unique<unit_test::Dnsmasq>(m_dir.path() / "dnsmasq.log", zone());
        ASSERT_TRUE(m_dns->running()) << "dnsmasq did not start:\n" << m_dns->log();
    }
    void TearDown() override {
        if (HasFailure() && m_dns) {
            std::cerr << "dnsmasq log:\n" << m_dns->log();
        }
    }

    // A resolver configured the way the daemon is, through MXD_RESOLV_CONF.
    Resolver system_resolver(const std::string& resolv_conf) {
        const auto path = m_dir.write("resolv.conf", resolv_conf);
        ::setenv("MXD_RESOLV_CONF", path.c_str(), 1);
        auto resolver = Resolver::from_system(m_io.get_executor());
        ::unsetenv("MXD_RESOLV_CONF");
        return resolver;
    }
    // A resolver that asks dnsmasq only.
    Resolver resolver() { return system_resolver(m_dns->nameserver_line()); }

    asio::io_context m_io;
    unit_test::TempDir m_dir;
    std::unique_ptr<unit_test::Dnsmasq> m_dns;
};

} // namespace

TEST_F(ResolverTest, ReadsTheFileNamedByMxdResolvConf) {
    const auto r = system_resolver("nameserver 127.0.0.1:" + std::to_string(m_dns->port()) +
                                   "\noptions timeout:3 attempts:4\n");
    ASSERT_EQ(r.conf().nameservers.size(), 1u);
    EXPECT_EQ(r.conf().nameservers[0].port, m_dns->port());
    EXPECT_EQ(r.conf().timeout, 3s);
    EXPECT_EQ(r.conf().attempts, 4);
}

TEST_F(ResolverTest, FindsIpv4AndIpv6Addresses) {
    const auto r = resolver();
    auto both = run(m_io, r.addresses("mail.example.test"));
    ASSERT_TRUE(both) << both.error().message;
    EXPECT_EQ(texts(*both), (std::vector<std::string>{"192.0.2.10", "2001:db8::10"}));

    auto v4 = run(m_io, r.addresses("V4ONLY.example.test."));
    ASSERT_TRUE(v4) << v4.error().message;
    EXPECT_EQ(texts(*v4), (std::vector<std::string>{"192.0.2.11"}));

    auto alias = run(m_io, r.addresses("alias.example.test"));
    ASSERT_TRUE(alias) << alias.error().message;
    EXPECT_EQ(texts(*alias), (std::vector<std::string>{"192.0.2.10", "2001:db8::10"}));
}

TEST_F(ResolverTest, NxdomainIsNotFound) {
    const auto r = resolver();
    auto a = run(m_io, r.addresses("nope.example.test"));
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code, Errc::not_found);
    auto mx = run(m_io, r.mx("nope.example.test"));
    ASSERT_FALSE(mx);
    EXPECT_EQ(mx.error().code, Errc::not_found);
}

TEST_F(ResolverTest, NoRecordOfTheTypeIsAnEmptyAnswer) {
    const auto r = resolver();
    auto mx = run(m_io, r.mx("mail.example.test"));
    ASSERT_TRUE(mx) << mx.error().message;
    EXPECT_TRUE(mx->empty());
}

TEST_F(ResolverTest, SortsMailExchangersByPreference) {
    const auto r = resolver();
    auto mx = run(m_io, r.mx("example.test"));
    ASSERT_TRUE(mx) << mx.error().message;
    EXPECT_EQ(*mx, (std::vector<MxHost>{{10, "mx10.example.test"},
                                        {20, "mx20.example.test"},
                                        {30, "mx30.example.test"}}));
}

TEST_F(ResolverTest, FindsPointerRecords) {
    const auto r = resolver();
    auto v4 = run(m_io, r.ptr(make_address("192.0.2.10")));
    ASSERT_TRUE(v4) << v4.error().message;
    EXPECT_EQ(*v4, (std::vector<std::string>{"mail.example.test"}));
    auto v6 = run(m_io, r.ptr(make_address("2001:db8::10")));
    ASSERT_TRUE(v6) << v6.error().message;
    EXPECT_EQ(*v6, (std::vector<std::string>{"mail.example.test"}));
    // How a dual-stack listener sees an IPv4 peer.
    auto mapped = run(m_io, r.ptr(make_address("::ffff:192.0.2.10")));
    ASSERT_TRUE(mapped) << mapped.error().message;
    EXPECT_EQ(*mapped, (std::vector<std::string>{"mail.example.test"}));
    auto none = run(m_io, r.ptr(make_address("192.0.2.200")));
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, Errc::not_found);
}

TEST_F(ResolverTest, ForwardConfirmsTheNameThatPointsBack) {
    const auto r = resolver();
    auto good = run(m_io, r.forward_confirmed(make_address("192.0.2.10")));
    ASSERT_TRUE(good) << good.error().message;
    EXPECT_EQ(*good, std::optional<std::string>("mail.example.test"));
    auto v6 = run(m_io, r.forward_confirmed(make_address("2001:db8::10")));
    ASSERT_TRUE(v6) << v6.error().message;
    EXPECT_EQ(*v6, std::optional<std::string>("mail.example.test"));
    auto mapped = run(m_io, r.forward_confirmed(make_address("::ffff:192.0.2.10")));
    ASSERT_TRUE(mapped) << mapped.error().message;
    EXPECT_EQ(*mapped, std::optional<std::string>("mail.example.test"));

    // Of two names, the one that does not point back is skipped.
    auto names = run(m_io, r.ptr(make_address("192.0.2.21")));
    ASSERT_TRUE(names) << names.error().message;
    EXPECT_EQ(names->size(), 2u);
    auto second = run(m_io, r.forward_confirmed(make_address("192.0.2.21")));
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_EQ(*second, std::optional<std::string>("honest.example.test"));
}

TEST_F(ResolverTest, ForwardConfirmationFailsForALiarAndForNoPtr) {
    const auto r = resolver();
    auto liar = run(m_io, r.forward_confirmed(make_address("192.0.2.20")));
    ASSERT_TRUE(liar) << liar.error().message;
    EXPECT_EQ(*liar, std::nullopt);
    auto none = run(m_io, r.forward_confirmed(make_address("192.0.2.200")));
    ASSERT_TRUE(none) << none.error().message;
    EXPECT_EQ(*none, std::nullopt);
}

TEST_F(ResolverTest, RetriesATruncatedAnswerOverTcp) {
    // The trace lines say what happened on the wire.
    std::vector<std::string> lines;
    core::log::set_trace_sink([&lines](core::Subsystem, std::string_view, const std::string& line) {
        lines.push_back(line);
    });
    core::SubsystemSet lookup;
    lookup.add(core::Subsystem::lookup);
    core::log::set_followed(lookup);
    const auto r = resolver();
    auto big = run(m_io, r.addresses("big.example.test"));
    core::log::set_followed({});
    core::log::set_trace_sink({});
    ASSERT_TRUE(big) << big.error().message;
    // Only 29 of the 40 A records fit in a 512-octet UDP reply.
    EXPECT_EQ(big->size(), 40u);
    const auto truncated = std::count_if(lines.begin(), lines.end(), [](const std::string& line) {
        return line.starts_with("lookup dns-truncated name=big.example.test type=A ");
    });
    EXPECT_EQ(truncated, 1);
}

TEST_F(ResolverTest, RefusesNamesThatCannotBeAsked) {
    const auto r = resolver();
    auto bad = run(m_io, r.addresses("two words.example.test"));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::invalid_argument);
}

TEST_F(ResolverTest, ManyConcurrentLookupsOnOneResolver) {
    const auto r = resolver();
    constexpr int k_lookups = 300;
    int ok = 0;
    int done = 0;
    for (int i = 0; i < k_lookups; ++i) {
        asio::co_spawn(
            m_io,
            [&r, &ok, &done, i]() -> asio::awaitable<void> {
                bool good = false;
                if (i % 3 == 0) {
                    auto a = co_await r.addresses("mail.example.test");
                    good = a && a->size() == 2;
                } else if (i % 3 == 1) {
                    auto mx = co_await r.mx("example.test");
                    good = mx && mx->size() == 3;
                } else {
                    auto name = co_await r.forward_confirmed(make_address("192.0.2.10"));
                    good = name && *name == std::optional<std::string>("mail.example.test");
                }
                ok += good ? 1 : 0;
                ++done;
            },
            asio::detached);
    }
    run_until(m_io, [&] { return done == k_lookups; });
    EXPECT_EQ(done, k_lookups);
    EXPECT_EQ(ok, k_lookups);
}

TEST_F(ResolverTest, ADeadServerFailsWithinTheDeadlineWhileOtherLookupsGoOn) {
    ScriptedServer black_hole(m_io, [](const Bytes&) { return std::vector<Datagram>{}; });
    // Without the overall deadline, 30 s per try and 5 rounds would wait 150 s per query.
    const Resolver dead(m_io.get_executor(),
                        core::dns::parse_resolv_conf(black_hole.nameserver_line() +
                                                     "options timeout:30 attempts:5\n"),
                        2s);
    const auto good = resolver();
    std::optional<core::Result<std::vector<asio::ip::address>>> dead_result;
    std::optional<core::Result<std::vector<asio::ip::address>>> good_result;
    Clock::time_point dead_end;
    Clock::time_point good_end;
    const auto start = Clock::now();
    asio::co_spawn(
        m_io,
        [&]() -> asio::awaitable<void> {
            dead_result.emplace(co_await dead.addresses("mail.example.test"));
            dead_end = Clock::now();
        },
        asio::detached);
    asio::co_spawn(
        m_io,
        [&]() -> asio::awaitable<void> {
            good_result.emplace(co_await good.addresses("mail.example.test"));
            good_end = Clock::now();
        },
        asio::detached);
    run_until(m_io, [&] { return dead_result && good_result; });
    ASSERT_TRUE(dead_result && good_result);
    ASSERT_FALSE(*dead_result);
    EXPECT_EQ(dead_result->error().code, Errc::temp_failure) << dead_result->error().message;
    EXPECT_LT(dead_end - start, 20s);
    EXPECT_GE(black_hole.queries(), 2u) << "A and AAAA were both sent";
    ASSERT_TRUE(*good_result) << good_result->error().message;
    EXPECT_EQ((*good_result)->size(), 2u);
    EXPECT_LT(good_end, dead_end) << "the good lookup did not wait for the dead one";
}

TEST_F(ResolverTest, MovesOnToTheNextServerAfterATimeout) {
    ScriptedServer black_hole(m_io, [](const Bytes&) { return std::vector<Datagram>{}; });
    const auto r = system_resolver(black_hole.nameserver_line() + m_dns->nameserver_line() +
                                   "options timeout:1 attempts:1\n");
    auto a = run(m_io, r.addresses("mail.example.test"));
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->size(), 2u);
    EXPECT_GE(black_hole.queries(), 2u);
}

TEST_F(ResolverTest, AClosedPortFailsWithoutWaitingForTheTimeout) {
    std::uint16_t closed = 0;
    {
        udp::socket probe(m_io, udp::endpoint(make_address("127.0.0.1"), 0));
        closed = probe.local_endpoint().port();
    }
    const Resolver r(m_io.get_executor(),
                     core::dns::parse_resolv_conf("nameserver 127.0.0.1:" + std::to_string(closed) +
                                                  "\noptions timeout:30 attempts:1\n"),
                     20s);
    const auto start = Clock::now();
    auto a = run(m_io, r.records("mail.example.test", core::dns::RecordType::a));
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code, Errc::temp_failure);
    EXPECT_NE(a.error().message.find("refused"), std::string::npos) << a.error().message;
    EXPECT_LT(Clock::now() - start, 20s);
}

TEST_F(ResolverTest, ServfailIsATemporaryFailureAndRefusedTriesTheNextServer) {
    ScriptedServer servfail(
        m_io, [](const Bytes& q) { return std::vector<Datagram>{{reply_to(q, 2, {})}}; });
    const auto failing = system_resolver(servfail.nameserver_line());
    auto a = run(m_io, failing.addresses("mail.example.test"));
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code, Errc::temp_failure);
    EXPECT_NE(a.error().message.find("SERVFAIL"), std::string::npos) << a.error().message;

    ScriptedServer refused(
        m_io, [](const Bytes& q) { return std::vector<Datagram>{{reply_to(q, 5, {})}}; });
    const auto fallback = system_resolver(refused.nameserver_line() + m_dns->nameserver_line());
    auto b = run(m_io, fallback.addresses("mail.example.test"));
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ(b->size(), 2u);
}

TEST_F(ResolverTest, IgnoresRepliesThatDoNotMatchTheQuery) {
    // Before the real answer (192.0.2.55): a forged one from another port, one with the
    // wrong id, one with another question, and garbage.
    ScriptedServer spoofed(m_io, [](const Bytes& q) {
        return std::vector<Datagram>{
            {reply_to(q, 0, {0x06060606}), true},  {reply_to(q, 0, {0x06060607}, 1)},
            {reply_to(q, 0, {0x06060608}, 0, 16)}, {Bytes{0xde, 0xad}},
            {reply_to(q, 0, {0xc0000237})},
        };
    });
    const auto r = system_resolver(spoofed.nameserver_line() + "options timeout:5 attempts:1\n");
    auto a = run(m_io, r.records("spoof.example.test", core::dns::RecordType::a));
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_EQ(a->size(), 1u);
    EXPECT_EQ(core::dns::to_string(std::get<core::dns::Ipv4>((*a)[0])), "192.0.2.55");
}
