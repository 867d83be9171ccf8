// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

// DNS messages (RFC 1035 section 4): building a query and parsing a response. No I/O; the
// parser treats every packet as hostile and answers Errc::parse rather than reading past it.
namespace core::dns {

// Record types mxd asks for or meets (RFC 1035 3.2.2, RFC 3596 2.1 for AAAA). Any other
// 16-bit value may appear in a parsed response.
enum class RecordType : std::uint16_t {
    a = 1,
    ns = 2,
    cname = 5,
    soa = 6,
    ptr = 12,
    mx = 15,
    txt = 16,
    aaaa = 28,
};

// Response codes (RFC 1035 4.1.1); any other 4-bit value may appear in a parsed response.
enum class Rcode : std::uint8_t {
    noerror = 0,
    formerr = 1,
    servfail = 2,
    nxdomain = 3,
    notimp = 4,
    refused = 5,
};

// "A", "AAAA", ... or "TYPE65" (RFC 3597 5) for others.
std::string record_type_name(RecordType type);
// "NOERROR", "NXDOMAIN", ... or "RCODE11" for others.
std::string rcode_name(Rcode rcode);

inline constexpr std::uint16_t k_class_in = 1;
// RFC 1035 2.3.4: a label has at most 63 octets, a name at most 255 in wire form.
inline constexpr std::size_t k_label_max = 63;
inline constexpr std::size_t k_name_max = 255;
// How many CNAMEs find_answer follows inside one answer before it gives up (a loop, or a
// chain no sane zone has).
inline constexpr std::size_t k_cname_chain_max = 8;
// RFC 1035 4.2.1: a UDP message without EDNS has at most 512 octets.
inline constexpr std::size_t k_udp_message_max = 512;
// RFC 1035 4.2.2: a TCP message carries a 16-bit length, so it has at most 65535 octets.
inline constexpr std::size_t k_tcp_message_max = 65535;

// A question. `name` is in canonical text form: labels joined by '.', no trailing dot, "."
// for the root; see parse_response for how unusual octets are escaped.
struct Question {
    std::string name;
    RecordType type = RecordType::a;
    std::uint16_t klass = k_class_in;
};

// A query ready to send: its id, its question and its wire form.
struct Query {
    std::uint16_t id = 0;
    Question question;
    std::vector<std::uint8_t> wire;
};

// A 16-bit query id from getrandom(2): RFC 5452 wants ids that cannot be predicted.
std::uint16_t random_id();

// Builds a standard query with one question of class IN and RD set, without EDNS.
// Errc::invalid_argument when `name` is not a domain name mxd asks for: empty or root,
// an empty label, a label over 63 or a name over 255 octets, or a character outside
// printable ASCII, a space or a backslash. One trailing dot is accepted.
Result<Query> make_query(std::string_view name, RecordType type, std::uint16_t id);
// The same with a fresh random id.
Result<Query> make_query(std::string_view name, RecordType type);

// Record data of the types mxd uses; std::monostate for every other type.
struct Ipv4 {
    std::array<std::uint8_t, 4> bytes{};
    bool operator==(const Ipv4&) const = default;
};
struct Ipv6 {
    std::array<std::uint8_t, 16> bytes{};
    bool operator==(const Ipv6&) const = default;
};
// The target of a CNAME, PTR or NS record.
struct Target {
    std::string name;
    bool operator==(const Target&) const = default;
};
struct Mx {
    std::uint16_t preference = 0;
    std::string exchange; // "." for the null MX of RFC 7505
    bool operator==(const Mx&) const = default;
};
using RData = std::variant<std::monostate, Ipv4, Ipv6, Target, Mx>;

struct Record {
    std::string name;
    RecordType type = RecordType::a;
    std::uint16_t klass = k_class_in;
    std::uint32_t ttl = 0;
    RData data;
};

struct Response {
    std::uint16_t id = 0;
    std::uint8_t opcode = 0;
    bool authoritative = false;
    bool truncated = false; // TC: the answer did not fit; ask again over TCP
    bool recursion_available = false;
    Rcode rcode = Rcode::noerror;
    std::vector<Question> questions;
    std::vector<Record> answers;
    std::vector<Record> authority;
    std::vector<Record> additional;
};

// Parses a response (QR set). Errc::parse, never a read past `wire`, for: a short header or
// section, counts larger than the records present, a label type other than 0 or 0xC0, a
// compression pointer that does not point before the name it continues (forward pointers,
// loops), a name over 255 octets, rdata whose length does not match its type (A, AAAA,
// CNAME, PTR, NS, MX). Octets after the last record are ignored. In names, '.' and '\' inside
// a label become "\." and "\\", and octets outside 0x21-0x7E become "\DDD" (RFC 1035 5.1), so
// a hostile name cannot fake a label boundary or put spaces or controls into a log line.
Result<Response> parse_response(std::span<const std::uint8_t> wire);

// True when `response` answers `query`: same id, opcode QUERY, and exactly the question
// asked (name compared ASCII-case-insensitively, RFC 4343).
bool answers_query(const Response& response, const Query& query);

// Names compared as DNS does: ASCII case-insensitively, ignoring one trailing dot.
bool same_name(std::string_view a, std::string_view b);

// The records of `type` (class IN) that the answer section gives for `name`, following CNAMEs
// from `name` (at most k_cname_chain_max). `canonical_name` is where the chain ended. An empty
// `data` when the answer holds none: NODATA, or a chain that leaves the answer. Errc::parse
// for a CNAME loop or a longer chain.
struct Answer {
    std::string canonical_name;
    std::vector<RData> data;
};
Result<Answer> find_answer(const Response& response, std::string_view name, RecordType type);

// The reverse-lookup name of an address: "4.3.2.1.in-addr.arpa" for 1.2.3.4 (RFC 1035 3.5),
// 32 nibbles under "ip6.arpa" for IPv6 (RFC 3596 2.5).
std::string reverse_name(const Ipv4& address);
std::string reverse_name(const Ipv6& address);
// The same from text ("192.0.2.1", "2001:db8::1"); Errc::invalid_argument for anything else.
// An IPv4-mapped IPv6 address is taken literally (ip6.arpa): callers map it first if they want.
Result<std::string> reverse_name(std::string_view address);

// Text form of an address ("192.0.2.1", "2001:db8::1").
std::string to_string(const Ipv4& address);
std::string to_string(const Ipv6& address);

} // namespace core::dns
