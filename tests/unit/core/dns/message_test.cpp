// SPDX-License-Identifier: ISC
#include "core/dns/message.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

using namespace core::dns;
using Bytes = std::vector<std::uint8_t>;

namespace {

// Builds DNS packets octet by octet, so that tests can say exactly what is on the wire.
class Packet {
  public:
    Packet& u8(unsigned v) {
        m_bytes.push_back(static_cast<std::uint8_t>(v));
        return *this;
    }
    Packet& u16(unsigned v) { return u8(v >> 8).u8(v & 0xff); }
    Packet& u32(std::uint32_t v) { return u16(v >> 16).u16(v & 0xffff); }
    Packet& header(unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns = 0,
                   unsigned ar = 0) {
        return u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
    }
    // Uncompressed labels of a dotted name, with the final zero octet unless `pointer` follows.
    Packet& labels(std::string_view name) {
        std::size_t start = 0;
        while (start < name.size()) {
            auto dot = name.find('.', start);
            if (dot == std::string_view::npos) {
                dot = name.size();
            }
            u8(static_cast<unsigned>(dot - start));
            for (std::size_t i = start; i < dot; ++i) {
                u8(static_cast<unsigned char>(name[i]));
            }
            start = dot + 1;
        }
        return *this;
    }
    Packet& name(std::string_view n) { return labels(n).u8(0); }
    Packet& pointer(unsigned offset) { return u16(0xc000 | offset); }
    Packet& question(std::string_view n, RecordType type) {
        return name(n).u16(static_cast<unsigned>(type)).u16(k_class_in);
    }
    // Type, class IN, TTL and rdlength after an owner name written by the caller.
    Packet& rr(RecordType type, unsigned rdlength, std::uint32_t ttl = 300) {
        return u16(static_cast<unsigned>(type)).u16(k_class_in).u32(ttl).u16(rdlength);
    }
    std::size_t size() const { return m_bytes.size(); }
    const Bytes& bytes() const { return m_bytes; }
    Bytes& bytes() { return m_bytes; }

  private:
    Bytes m_bytes;
};

constexpr unsigned k_response = 0x8180; // QR, RD, RA, NOERROR

// Offset of the question name in every packet built here.
constexpr unsigned k_qname = 12;

// A response to "mail.example.org A" with two A records, owner names compressed.
Packet good_a_response() {
    Packet p;
    p.header(0x1234, k_response, 1, 2).question("mail.example.org", RecordType::a);
    p.pointer(k_qname).rr(RecordType::a, 4).u8(192).u8(0).u8(2).u8(1);
    p.pointer(k_qname).rr(RecordType::a, 4).u8(192).u8(0).u8(2).u8(2);
    return p;
}

core::Result<Response> parse(const Packet& p) {
    return parse_response(p.bytes());
}

std::string error_of(const Packet& p) {
    auto r = parse(p);
    return r ? std::string("(parsed)") : r.error().message;
}

} // namespace

TEST(DnsQuery, BuildsTheWireFormOfAStandardQuery) {
    auto q = make_query("mail.example.org", RecordType::mx, 0xbeef);
    ASSERT_TRUE(q) << q.error().message;
    Packet want;
    want.header(0xbeef, 0x0100, 1, 0).question("mail.example.org", RecordType::mx);
    EXPECT_EQ(q->wire, want.bytes());
    EXPECT_EQ(q->id, 0xbeef);
    EXPECT_EQ(q->question.name, "mail.example.org");
    EXPECT_EQ(q->question.type, RecordType::mx);
}

TEST(DnsQuery, AcceptsOneTrailingDot) {
    auto with = make_query("example.org.", RecordType::a, 7);
    auto without = make_query("example.org", RecordType::a, 7);
    ASSERT_TRUE(with);
    ASSERT_TRUE(without);
    EXPECT_EQ(with->wire, without->wire);
    EXPECT_EQ(with->question.name, "example.org");
}

TEST(DnsQuery, RefusesNamesThatAreNotDomainNames) {
    const std::string long_label(64, 'a');
    std::string long_name;
    while (long_name.size() < 254) {
        long_name += "abcdefghi.";
    }
    long_name += "org";
    const std::string cases[] = {
        "",
        ".",
        "..",
        "a..b",
        ".a",
        "a b",
        "a\\.b",
        "tab\there",
        std::string("nul\0x", 5),
        "caf\xc3\xa9.example",
        long_label + ".org",
        long_name,
    };
    for (const auto& name : cases) {
        auto q = make_query(name, RecordType::a, 1);
        ASSERT_FALSE(q) << name;
        EXPECT_EQ(q.error().code, core::Errc::invalid_argument) << name;
    }
    // The limits themselves are fine: a 63-octet label, a 255-octet name.
    EXPECT_TRUE(make_query(std::string(63, 'a') + ".org", RecordType::a, 1));
    std::string longest;
    for (int i = 0; i < 4; ++i) {
        longest += std::string(i < 3 ? 63 : 61, 'x') + (i < 3 ? "." : "");
    }
    auto q = make_query(longest, RecordType::a, 1);
    ASSERT_TRUE(q) << q.error().message;
    EXPECT_EQ(q->wire.size(), 12u + 255u + 4u);
}

TEST(DnsQuery, RandomIdsVary) {
    std::set<std::uint16_t> ids;
    for (int i = 0; i < 32; ++i) {
        auto q = make_query("example.org", RecordType::a);
        ASSERT_TRUE(q);
        ids.insert(q->id);
    }
    EXPECT_GT(ids.size(), 16u);
}

TEST(DnsResponse, ParsesCompressedAnswers) {
    auto r = parse(good_a_response());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->id, 0x1234);
    EXPECT_EQ(r->rcode, Rcode::noerror);
    EXPECT_FALSE(r->truncated);
    EXPECT_TRUE(r->recursion_available);
    ASSERT_EQ(r->questions.size(), 1u);
    EXPECT_EQ(r->questions[0].name, "mail.example.org");
    ASSERT_EQ(r->answers.size(), 2u);
    EXPECT_EQ(r->answers[0].name, "mail.example.org");
    EXPECT_EQ(r->answers[0].ttl, 300u);
    EXPECT_EQ(std::get<Ipv4>(r->answers[1].data), (Ipv4{{192, 0, 2, 2}}));
    auto answer = find_answer(*r, "MAIL.Example.ORG", RecordType::a);
    ASSERT_TRUE(answer);
    ASSERT_EQ(answer->data.size(), 2u);
    EXPECT_EQ(to_string(std::get<Ipv4>(answer->data[0])), "192.0.2.1");
}

TEST(DnsResponse, ParsesMxPtrAndAaaaWithCompressionInsideRdata) {
    Packet p;
    p.header(9, k_response, 1, 4).question("example.org", RecordType::mx);
    // MX 10 mx1.example.org: the exchange ends in a pointer to the question's "example.org".
    p.pointer(k_qname).rr(RecordType::mx, 2 + 4 + 2).u16(10).labels("mx1").pointer(k_qname);
    const unsigned mx1 = static_cast<unsigned>(p.size() - 6); // "mx1" + pointer, as a name
    // MX 5 to a name that points to the previous exchange (two hops).
    p.pointer(k_qname).rr(RecordType::mx, 2 + 2).u16(5).pointer(mx1);
    p.pointer(mx1).rr(RecordType::aaaa, 16);
    for (int i = 0; i < 15; ++i) {
        p.u8(i == 0 ? 0x20 : 0);
    }
    p.u8(1);
    p.pointer(k_qname).rr(RecordType::ptr, 2).pointer(mx1);
    auto r = parse(p);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->answers.size(), 4u);
    EXPECT_EQ(std::get<Mx>(r->answers[0].data), (Mx{10, "mx1.example.org"}));
    EXPECT_EQ(std::get<Mx>(r->answers[1].data), (Mx{5, "mx1.example.org"}));
    EXPECT_EQ(r->answers[2].name, "mx1.example.org");
    EXPECT_EQ(to_string(std::get<Ipv6>(r->answers[2].data)), "2000::1");
    EXPECT_EQ(std::get<Target>(r->answers[3].data).name, "mx1.example.org");
}

TEST(DnsResponse, ReportsRcodeAndTruncation) {
    Packet nx;
    nx.header(1, 0x8183, 1, 0).question("nope.example.org", RecordType::a);
    auto r = parse(nx);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->rcode, Rcode::nxdomain);
    EXPECT_EQ(rcode_name(r->rcode), "NXDOMAIN");

    Packet servfail;
    servfail.header(1, 0x8182, 1, 0).question("example.org", RecordType::a);
    EXPECT_EQ(parse(servfail)->rcode, Rcode::servfail);

    Packet tc;
    tc.header(1, 0x8380, 1, 0).question("example.org", RecordType::a);
    EXPECT_TRUE(parse(tc)->truncated);

    Packet other;
    other.header(1, 0x818b, 1, 0).question("example.org", RecordType::a);
    EXPECT_EQ(rcode_name(parse(other)->rcode), "RCODE11");
}

TEST(DnsResponse, KeepsUnknownTypesAndSkipsTheirData) {
    Packet p;
    p.header(1, k_response, 1, 2, 1, 1).question("example.org", RecordType::a);
    p.pointer(k_qname).rr(static_cast<RecordType>(99), 3).u8(1).u8(2).u8(3);
    p.pointer(k_qname).rr(RecordType::a, 4).u32(0x7f000001);
    p.pointer(k_qname).rr(RecordType::soa, 2).u16(0);
    p.u8(0).u16(41).u16(4096).u32(0).u16(0); // an EDNS OPT record in the additional section
    auto r = parse(p);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(std::holds_alternative<std::monostate>(r->answers[0].data));
    EXPECT_EQ(record_type_name(r->answers[0].type), "TYPE99");
    EXPECT_EQ(find_answer(*r, "example.org", RecordType::a)->data.size(), 1u);
    EXPECT_EQ(r->authority.size(), 1u);
    EXPECT_EQ(r->additional.size(), 1u);
}

TEST(DnsResponse, EscapesOddOctetsInNames) {
    Packet p;
    p.header(1, k_response, 1, 1).question("1.0.0.127.in-addr.arpa", RecordType::ptr);
    // PTR "a.b" (one label with a dot), then a label with a space, a backslash and 0xff.
    p.pointer(k_qname).rr(RecordType::ptr, 4 + 5 + 1);
    p.u8(3).u8('a').u8('.').u8('b').u8(4).u8(' ').u8('\\').u8(0xff).u8('x').u8(0);
    auto r = parse(p);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(std::get<Target>(r->answers[0].data).name, "a\\.b.\\032\\\\\\255x");
    // Such a name cannot be asked for again.
    EXPECT_FALSE(make_query(std::get<Target>(r->answers[0].data).name, RecordType::a, 1));
}

TEST(DnsResponse, FollowsCnameChainsInsideTheAnswer) {
    Packet p;
    p.header(1, k_response, 1, 3).question("www.example.org", RecordType::a);
    p.pointer(k_qname).rr(RecordType::cname, 6).labels("web").pointer(k_qname + 4);
    const unsigned web = static_cast<unsigned>(p.size() - 6);
    p.pointer(web).rr(RecordType::cname, 3 + 2).labels("ha").pointer(k_qname + 4);
    const unsigned ha = static_cast<unsigned>(p.size() - 5);
    p.pointer(ha).rr(RecordType::a, 4).u32(0xc0000205);
    auto r = parse(p);
    ASSERT_TRUE(r) << r.error().message;
    auto answer = find_answer(*r, "www.example.org", RecordType::a);
    ASSERT_TRUE(answer) << answer.error().message;
    EXPECT_EQ(answer->canonical_name, "ha.example.org");
    ASSERT_EQ(answer->data.size(), 1u);
    EXPECT_EQ(to_string(std::get<Ipv4>(answer->data[0])), "192.0.2.5");
    // Asking for the CNAME itself stops at the first step.
    EXPECT_EQ(std::get<Target>(find_answer(*r, "www.example.org", RecordType::cname)->data[0]).name,
              "web.example.org");
    // No AAAA at the end of the chain: NODATA, not an error.
    auto none = find_answer(*r, "www.example.org", RecordType::aaaa);
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->data.empty());
}

TEST(DnsResponse, RefusesCnameLoopsAndOverlongChains) {
    Packet loop;
    loop.header(1, k_response, 1, 2).question("a.example.org", RecordType::a);
    loop.pointer(k_qname).rr(RecordType::cname, 4).labels("b").pointer(k_qname + 2);
    const unsigned b = static_cast<unsigned>(loop.size() - 4);
    loop.pointer(b).rr(RecordType::cname, 2).pointer(k_qname);
    auto r = parse(loop);
    ASSERT_TRUE(r) << r.error().message;
    auto answer = find_answer(*r, "a.example.org", RecordType::a);
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error().code, core::Errc::parse);

    // c0 -> c1 -> ... -> c9, then an A record: nine hops is one too many.
    Packet chain;
    chain.header(1, k_response, 1, 10).question("c0.example.org", RecordType::a);
    for (int i = 0; i < 9; ++i) {
        chain.labels("c" + std::to_string(i)).pointer(k_qname + 3);
        chain.rr(RecordType::cname, 5).labels("c" + std::to_string(i + 1)).pointer(k_qname + 3);
    }
    chain.labels("c9").pointer(k_qname + 3).rr(RecordType::a, 4).u32(0x7f000001);
    r = parse(chain);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(find_answer(*r, "c0.example.org", RecordType::a));
    EXPECT_TRUE(find_answer(*r, "c1.example.org", RecordType::a));
}

TEST(DnsResponse, MatchesOnlyTheQueryItAnswers) {
    auto q = make_query("mail.example.org", RecordType::a, 0x1234);
    ASSERT_TRUE(q);
    auto r = parse(good_a_response());
    ASSERT_TRUE(r);
    EXPECT_TRUE(answers_query(*r, *q));
    // RFC 4343: case does not matter (and resolvers that randomise it rely on that).
    auto upper = make_query("MAIL.EXAMPLE.ORG", RecordType::a, 0x1234);
    EXPECT_TRUE(answers_query(*r, *upper));
    EXPECT_FALSE(answers_query(*r, *make_query("mail.example.org", RecordType::a, 0x1235)));
    EXPECT_FALSE(answers_query(*r, *make_query("mail.example.org", RecordType::aaaa, 0x1234)));
    EXPECT_FALSE(answers_query(*r, *make_query("mail.example.net", RecordType::a, 0x1234)));
    Packet none;
    none.header(0x1234, 0x8181, 0, 0); // FORMERR without the question
    EXPECT_FALSE(answers_query(*parse(none), *q));
}

TEST(DnsResponse, RefusesEveryTruncationOfAGoodResponse) {
    const auto full = good_a_response().bytes();
    for (std::size_t n = 0; n < full.size(); ++n) {
        const Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
        auto r = parse_response(prefix);
        EXPECT_FALSE(r) << "prefix of " << n << " octets";
        if (!r) {
            EXPECT_EQ(r.error().code, core::Errc::parse);
        }
    }
    EXPECT_TRUE(parse_response(full));
}

TEST(DnsResponse, RefusesMalformedPackets) {
    struct Case {
        const char* what;
        Packet packet;
        const char* error; // a substring of the message
    };
    std::vector<Case> cases;
    {
        Packet p;
        p.header(1, 0x0100, 1, 0).question("example.org", RecordType::a);
        cases.push_back({"a query, not a response", p, "QR"});
    }
    {
        Packet p;
        p.header(1, k_response, 1, 0).pointer(k_qname).u16(1).u16(1);
        cases.push_back({"pointer to itself", p, "earlier name"});
    }
    {
        Packet p;
        p.header(1, k_response, 1, 0).pointer(k_qname + 2).u8(0).u16(1).u16(1);
        cases.push_back({"forward pointer", p, "earlier name"});
    }
    {
        Packet p;
        p.header(1, k_response, 1, 0).labels("a").pointer(k_qname).u16(1).u16(1);
        cases.push_back({"pointer back into its own name", p, "earlier name"});
    }
    {
        // "x" then a pointer to 14, where the pointer itself sits: a two-step loop.
        Packet p;
        p.header(1, k_response, 1, 1).question("x", RecordType::a);
        p.labels("y").pointer(k_qname + 9).rr(RecordType::a, 4).u32(0);
        cases.push_back({"pointer loop through a later name", p, "earlier name"});
    }
    {
        Packet p;
        p.header(1, k_response, 1, 0).pointer(2).u16(1).u16(1);
        cases.push_back({"pointer into the header", p, "earlier name"});
    }
    {
        Packet p;
        p.header(1, k_response, 1, 0).u8(0x40).u8(0).u16(1).u16(1);
        cases.push_back({"extended label type", p, "label type"});
    }
    {
        Packet p;
        p.header(1, k_response, 1, 0).u8(0x80).u8(0).u16(1).u16(1);
        cases.push_back({"reserved label type", p, "label type"});
    }
    {
        Packet p;
        p.header(1, k_response, 1, 0);
        for (int i = 0; i < 5; ++i) {
            p.labels(std::string(60, 'a'));
        }
        p.u8(0).u16(1).u16(1);
        cases.push_back({"name over 255 octets", p, "255"});
    }
    {
        // Each name adds 62 octets by pointing to the previous one: the fifth is too long.
        Packet p;
        p.header(1, k_response, 5, 0);
        unsigned previous = 0;
        for (int i = 0; i < 5; ++i) {
            const auto at = static_cast<unsigned>(p.size());
            p.labels(std::string(61, 'a' + static_cast<char>(i)));
            if (i == 0) {
                p.u8(0);
            } else {
                p.pointer(previous);
            }
            p.u16(1).u16(1);
            previous = at;
        }
        cases.push_back({"name over 255 octets through pointers", p, "255"});
    }
    {
        Packet p;
        p.header(1, k_response, 2, 0).question("example.org", RecordType::a);
        cases.push_back({"question count that lies", p, "past the end"});
    }
    {
        Packet p = good_a_response();
        p.bytes()[7] = 3;
        cases.push_back({"answer count that lies", p, "past the end"});
    }
    {
        Packet p = good_a_response();
        p.bytes()[11] = 1;
        cases.push_back({"additional count that lies", p, "past the end"});
    }
    {
        Packet p;
        p.header(1, k_response, 1, 1).question("example.org", RecordType::a);
        p.pointer(k_qname).rr(RecordType::a, 40).u32(0);
        cases.push_back({"rdlength past the end", p, "past the end"});
    }
    {
        Packet p;
        p.header(1, k_response, 1, 1).question("example.org", RecordType::a);
        p.pointer(k_qname).rr(RecordType::a, 5).u32(0).u8(0);
        cases.push_back({"A record of 5 octets", p, "A record"});
    }
    {
        Packet p;
        p.header(1, k_response, 1, 1).question("example.org", RecordType::aaaa);
        p.pointer(k_qname).rr(RecordType::aaaa, 4).u32(0);
        cases.push_back({"AAAA record of 4 octets", p, "AAAA record"});
    }
    {
        // The CNAME target's labels run past its rdlength into the next octets.
        Packet p;
        p.header(1, k_response, 1, 1).question("example.org", RecordType::a);
        p.pointer(k_qname).rr(RecordType::cname, 3).labels("abcd").u8(0);
        cases.push_back({"CNAME longer than its rdata", p, "past the end"});
    }
    {
        Packet p;
        p.header(1, k_response, 1, 1).question("example.org", RecordType::a);
        p.pointer(k_qname).rr(RecordType::cname, 4).u8(0).u8(0).u8(0).u8(0);
        cases.push_back({"CNAME shorter than its rdata", p, "longer than its name"});
    }
    {
        Packet p;
        p.header(1, k_response, 1, 1).question("example.org", RecordType::mx);
        p.pointer(k_qname).rr(RecordType::mx, 2).u16(10);
        cases.push_back({"MX without an exchange", p, "MX record too short"});
    }
    {
        Packet p;
        p.header(1, k_response, 1, 0).labels("abc");
        cases.push_back({"name without its end", p, "past the end"});
    }
    {
        Packet p;
        p.u16(1).u16(k_response);
        cases.push_back({"short header", p, "header"});
    }
    for (const auto& c : cases) {
        EXPECT_NE(error_of(c.packet).find(c.error), std::string::npos)
            << c.what << ": " << error_of(c.packet);
    }
}

TEST(DnsResponse, SurvivesRandomCorruption) {
    // Every outcome is fine except a crash or an over-read (which the sanitizer build catches).
    Packet base;
    base.header(0x4242, k_response, 1, 3, 0, 1).question("example.org", RecordType::mx);
    base.pointer(k_qname).rr(RecordType::mx, 2 + 4 + 2).u16(10).labels("mx1").pointer(k_qname);
    base.pointer(k_qname).rr(RecordType::cname, 2).pointer(k_qname);
    base.pointer(k_qname).rr(RecordType::aaaa, 16).u32(1).u32(2).u32(3).u32(4);
    base.labels("x").pointer(k_qname).rr(RecordType::a, 4).u32(5);
    std::mt19937 rng(1035);
    std::size_t parsed = 0;
    for (int round = 0; round < 20000; ++round) {
        auto bytes = base.bytes();
        const int flips = 1 + round % 4;
        for (int i = 0; i < flips; ++i) {
            bytes[rng() % bytes.size()] = static_cast<std::uint8_t>(rng());
        }
        if (round % 7 == 0) {
            bytes.resize(rng() % bytes.size());
        }
        auto r = parse_response(bytes);
        if (r) {
            ++parsed;
            static_cast<void>(find_answer(*r, "example.org", RecordType::mx));
        }
    }
    EXPECT_GT(parsed, 0u);
}

TEST(DnsReverse, BuildsInAddrAndIp6ArpaNames) {
    EXPECT_EQ(*reverse_name("192.0.2.1"), "1.2.0.192.in-addr.arpa");
    EXPECT_EQ(*reverse_name("2001:db8::567:89ab"),
              "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
    EXPECT_EQ(reverse_name(Ipv4{{10, 0, 0, 255}}), "255.0.0.10.in-addr.arpa");
    for (const auto* bad :
         {"", "192.0.2", "192.0.2.256", "example.org", "2001:db8::1::2", "1.2.3.4 "}) {
        auto r = reverse_name(std::string_view(bad));
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, core::Errc::invalid_argument);
    }
}
