// SPDX-License-Identifier: ISC
#include "core/dns/message.hpp"

#include <arpa/inet.h>
#include <sys/random.h>

#include <cstring>
#include <optional>

namespace core::dns {

namespace {

constexpr std::size_t k_header_size = 12;
constexpr std::uint16_t k_flag_qr = 0x8000;
constexpr std::uint16_t k_flag_aa = 0x0400;
constexpr std::uint16_t k_flag_tc = 0x0200;
constexpr std::uint16_t k_flag_rd = 0x0100;
constexpr std::uint16_t k_flag_ra = 0x0080;
// Belt and braces: the "pointer before the segment" rule already ends every walk.
constexpr std::size_t k_pointer_hops_max = 127;

Unexpected malformed(std::string what) {
    return fail(Errc::parse, "malformed DNS response: " + std::move(what));
}

char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Reads big-endian integers at `pos`, which the caller has bounds-checked.
std::uint16_t get16(std::span<const std::uint8_t> wire, std::size_t pos) {
    return static_cast<std::uint16_t>((wire[pos] << 8) | wire[pos + 1]);
}
std::uint32_t get32(std::span<const std::uint8_t> wire, std::size_t pos) {
    return (static_cast<std::uint32_t>(get16(wire, pos)) << 16) | get16(wire, pos + 2);
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t value) {
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value & 0xff));
}

// Appends a label's octets in text form, escaping as RFC 1035 5.1's master files do.
void append_label(std::string& out, std::span<const std::uint8_t> label) {
    for (const auto octet : label) {
        if (octet == '.' || octet == '\\') {
            out += '\\';
            out += static_cast<char>(octet);
        } else if (octet < 0x21 || octet > 0x7e) {
            out += '\\';
            out += static_cast<char>('0' + octet / 100);
            out += static_cast<char>('0' + octet / 10 % 10);
            out += static_cast<char>('0' + octet % 10);
        } else {
            out += static_cast<char>(octet);
        }
    }
}

// Reads a possibly compressed name at `pos` and moves `pos` past it (past the first pointer
// when there is one).
Result<std::string> read_name(std::span<const std::uint8_t> wire, std::size_t& pos) {
    std::string text;
    std::size_t at = pos;
    // Where the labels being read started: a pointer must point before it (RFC 1035 4.1.4
    // says "a prior occurrence"), so each jump goes strictly backwards and no loop survives.
    std::size_t segment_start = pos;
    std::size_t wire_length = 1; // the final zero octet
    std::size_t hops = 0;
    std::optional<std::size_t> end;
    for (;;) {
        if (at >= wire.size()) {
            return malformed("name runs past the end");
        }
        const std::uint8_t length = wire[at];
        if ((length & 0xc0) == 0xc0) {
            if (at + 1 >= wire.size()) {
                return malformed("name runs past the end");
            }
            const std::size_t target = static_cast<std::size_t>(get16(wire, at) & 0x3fff);
            if (target >= segment_start || target < k_header_size) {
                return malformed("compression pointer does not point to an earlier name");
            }
            if (++hops > k_pointer_hops_max) {
                return malformed("too many compression pointers");
            }
            if (!end) {
                end = at + 2;
            }
            at = segment_start = target;
            continue;
        }
        if ((length & 0xc0) != 0) {
            // 0x40 (RFC 2671 extended labels, retired by RFC 6891) and 0x80 are not in use.
            return malformed("unknown label type");
        }
        if (length == 0) {
            if (!end) {
                end = at + 1;
            }
            break;
        }
        wire_length += 1 + length;
        if (wire_length > k_name_max) {
            return malformed("name longer than 255 octets");
        }
        if (at + 1 + length > wire.size()) {
            return malformed("label runs past the end");
        }
        if (!text.empty()) {
            text += '.';
        }
        append_label(text, wire.subspan(at + 1, length));
        at += 1 + length;
    }
    pos = *end;
    if (text.empty()) {
        text = ".";
    }
    return text;
}

Result<Question> read_question(std::span<const std::uint8_t> wire, std::size_t& pos) {
    MXD_TRY_ASSIGN(auto name, read_name(wire, pos));
    if (pos + 4 > wire.size()) {
        return malformed("question runs past the end");
    }
    Question q{std::move(name), static_cast<RecordType>(get16(wire, pos)), get16(wire, pos + 2)};
    pos += 4;
    return q;
}

// Reads a name that must fill the rdata exactly.
Result<std::string> read_rdata_name(std::span<const std::uint8_t> wire, std::size_t& pos,
                                    std::size_t rdata_end) {
    // The name may point to earlier parts of the message, but its own labels stay inside the
    // rdata: parse within a view that ends there.
    const auto view = wire.first(rdata_end);
    MXD_TRY_ASSIGN(auto name, read_name(view, pos));
    if (pos != rdata_end) {
        return malformed("record data longer than its name");
    }
    return name;
}

Result<Record> read_record(std::span<const std::uint8_t> wire, std::size_t& pos) {
    Record record;
    MXD_TRY_ASSIGN(record.name, read_name(wire, pos));
    if (pos + 10 > wire.size()) {
        return malformed("record header runs past the end");
    }
    record.type = static_cast<RecordType>(get16(wire, pos));
    record.klass = get16(wire, pos + 2);
    record.ttl = get32(wire, pos + 4);
    const std::size_t rdlength = get16(wire, pos + 8);
    pos += 10;
    if (pos + rdlength > wire.size()) {
        return malformed("record data runs past the end");
    }
    const std::size_t rdata_end = pos + rdlength;
    switch (record.type) {
    case RecordType::a: {
        if (rdlength != 4) {
            return malformed("A record with " + std::to_string(rdlength) + " octets");
        }
        Ipv4 address;
        std::memcpy(address.bytes.data(), wire.data() + pos, 4);
        record.data = address;
        break;
    }
    case RecordType::aaaa: {
        if (rdlength != 16) {
            return malformed("AAAA record with " + std::to_string(rdlength) + " octets");
        }
        Ipv6 address;
        std::memcpy(address.bytes.data(), wire.data() + pos, 16);
        record.data = address;
        break;
    }
    case RecordType::cname:
    case RecordType::ptr:
    case RecordType::ns: {
        std::size_t at = pos;
        MXD_TRY_ASSIGN(auto name, read_rdata_name(wire, at, rdata_end));
        record.data = Target{std::move(name)};
        break;
    }
    case RecordType::mx: {
        if (rdlength < 3) {
            return malformed("MX record too short");
        }
        std::size_t at = pos + 2;
        MXD_TRY_ASSIGN(auto exchange, read_rdata_name(wire, at, rdata_end));
        record.data = Mx{get16(wire, pos), std::move(exchange)};
        break;
    }
    case RecordType::soa:
    case RecordType::txt:
        break;
    }
    pos = rdata_end;
    return record;
}

Result<std::vector<Record>> read_section(std::span<const std::uint8_t> wire, std::size_t& pos,
                                         std::size_t count) {
    // No reserve(count): a lying count must not make us allocate.
    std::vector<Record> records;
    for (std::size_t i = 0; i < count; ++i) {
        MXD_TRY_ASSIGN(auto record, read_record(wire, pos));
        records.push_back(std::move(record));
    }
    return records;
}

// Builds `v` as an address from text; false when it is not one.
template <typename T> bool parse_address(int family, std::string_view text, T& v) {
    char buffer[INET6_ADDRSTRLEN + 1];
    if (text.size() >= sizeof buffer) {
        return false;
    }
    std::memcpy(buffer, text.data(), text.size());
    buffer[text.size()] = '\0';
    return ::inet_pton(family, buffer, v.bytes.data()) == 1;
}

} // namespace

std::string record_type_name(RecordType type) {
    switch (type) {
    case RecordType::a:
        return "A";
    case RecordType::ns:
        return "NS";
    case RecordType::cname:
        return "CNAME";
    case RecordType::soa:
        return "SOA";
    case RecordType::ptr:
        return "PTR";
    case RecordType::mx:
        return "MX";
    case RecordType::txt:
        return "TXT";
    case RecordType::aaaa:
        return "AAAA";
    }
    return "TYPE" + std::to_string(static_cast<unsigned>(type));
}

std::string rcode_name(Rcode rcode) {
    switch (rcode) {
    case Rcode::noerror:
        return "NOERROR";
    case Rcode::formerr:
        return "FORMERR";
    case Rcode::servfail:
        return "SERVFAIL";
    case Rcode::nxdomain:
        return "NXDOMAIN";
    case Rcode::notimp:
        return "NOTIMP";
    case Rcode::refused:
        return "REFUSED";
    }
    return "RCODE" + std::to_string(static_cast<unsigned>(rcode));
}

std::uint16_t random_id() {
    std::uint16_t value = 0;
    // getrandom(2) on 2 bytes never returns short once the pool is initialised.
    while (::getrandom(&value, sizeof value, 0) != static_cast<ssize_t>(sizeof value)) {
    }
    return value;
}

Result<Query> make_query(std::string_view name, RecordType type, std::uint16_t id) {
    if (name.size() > 1 && name.back() == '.') {
        name.remove_suffix(1);
    }
    if (name.empty() || name == ".") {
        return fail(Errc::invalid_argument, "empty domain name");
    }
    Query query;
    query.id = id;
    query.question = Question{std::string(name), type, k_class_in};
    auto& out = query.wire;
    out.reserve(k_header_size + name.size() + 6);
    put16(out, id);
    put16(out, k_flag_rd);
    put16(out, 1); // QDCOUNT
    put16(out, 0);
    put16(out, 0);
    put16(out, 0);
    std::size_t start = 0;
    for (;;) {
        const auto dot = name.find('.', start);
        const auto label = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (label.empty()) {
            return fail(Errc::invalid_argument,
                        "empty label in domain name '" + std::string(name) + "'");
        }
        if (label.size() > k_label_max) {
            return fail(Errc::invalid_argument, "label longer than 63 octets in domain name");
        }
        out.push_back(static_cast<std::uint8_t>(label.size()));
        for (const char c : label) {
            // A backslash would start an escape: mxd never needs one, so it never sends one.
            if (c < 0x21 || c > 0x7e || c == '\\') {
                return fail(Errc::invalid_argument, "invalid character in domain name");
            }
            out.push_back(static_cast<std::uint8_t>(c));
        }
        if (dot == std::string_view::npos) {
            break;
        }
        start = dot + 1;
    }
    out.push_back(0);
    if (out.size() - k_header_size > k_name_max) {
        return fail(Errc::invalid_argument, "domain name longer than 255 octets");
    }
    put16(out, static_cast<std::uint16_t>(type));
    put16(out, k_class_in);
    return query;
}

Result<Query> make_query(std::string_view name, RecordType type) {
    return make_query(name, type, random_id());
}

Result<Response> parse_response(std::span<const std::uint8_t> wire) {
    if (wire.size() < k_header_size) {
        return malformed("shorter than a header");
    }
    Response response;
    response.id = get16(wire, 0);
    const std::uint16_t flags = get16(wire, 2);
    if ((flags & k_flag_qr) == 0) {
        return malformed("QR bit clear, not a response");
    }
    response.opcode = static_cast<std::uint8_t>((flags >> 11) & 0x0f);
    response.authoritative = (flags & k_flag_aa) != 0;
    response.truncated = (flags & k_flag_tc) != 0;
    response.recursion_available = (flags & k_flag_ra) != 0;
    response.rcode = static_cast<Rcode>(flags & 0x0f);
    const std::size_t qdcount = get16(wire, 4);
    const std::size_t ancount = get16(wire, 6);
    const std::size_t nscount = get16(wire, 8);
    const std::size_t arcount = get16(wire, 10);
    std::size_t pos = k_header_size;
    for (std::size_t i = 0; i < qdcount; ++i) {
        MXD_TRY_ASSIGN(auto question, read_question(wire, pos));
        response.questions.push_back(std::move(question));
    }
    MXD_TRY_ASSIGN(response.answers, read_section(wire, pos, ancount));
    MXD_TRY_ASSIGN(response.authority, read_section(wire, pos, nscount));
    MXD_TRY_ASSIGN(response.additional, read_section(wire, pos, arcount));
    return response;
}

bool same_name(std::string_view a, std::string_view b) {
    if (a.size() > 1 && a.back() == '.') {
        a.remove_suffix(1);
    }
    if (b.size() > 1 && b.back() == '.') {
        b.remove_suffix(1);
    }
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) {
            return false;
        }
    }
    return true;
}

bool answers_query(const Response& response, const Query& query) {
    return response.id == query.id && response.opcode == 0 && response.questions.size() == 1 &&
           response.questions[0].type == query.question.type &&
           response.questions[0].klass == query.question.klass &&
           same_name(response.questions[0].name, query.question.name);
}

Result<Answer> find_answer(const Response& response, std::string_view name, RecordType type) {
    Answer answer;
    answer.canonical_name = std::string(name);
    for (std::size_t hops = 0;; ++hops) {
        const Record* cname = nullptr;
        for (const auto& record : response.answers) {
            if (record.klass != k_class_in || !same_name(record.name, answer.canonical_name)) {
                continue;
            }
            if (record.type == type) {
                answer.data.push_back(record.data);
            } else if (record.type == RecordType::cname && cname == nullptr) {
                cname = &record;
            }
        }
        // RFC 1034 3.6.2: a name with a CNAME has no other data, so data found ends the walk.
        if (!answer.data.empty() || cname == nullptr || type == RecordType::cname) {
            return answer;
        }
        if (hops == k_cname_chain_max) {
            return fail(Errc::parse, "CNAME chain from " + std::string(name) + " is longer than " +
                                         std::to_string(k_cname_chain_max) + " or loops");
        }
        answer.canonical_name = std::get<Target>(cname->data).name;
    }
}

std::string reverse_name(const Ipv4& address) {
    std::string out;
    for (std::size_t i = address.bytes.size(); i-- > 0;) {
        out += std::to_string(address.bytes[i]);
        out += '.';
    }
    return out + "in-addr.arpa";
}

std::string reverse_name(const Ipv6& address) {
    constexpr char k_hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = address.bytes.size(); i-- > 0;) {
        out += k_hex[address.bytes[i] & 0x0f];
        out += '.';
        out += k_hex[address.bytes[i] >> 4];
        out += '.';
    }
    return out + "ip6.arpa";
}

Result<std::string> reverse_name(std::string_view address) {
    Ipv4 v4;
    if (parse_address(AF_INET, address, v4)) {
        return reverse_name(v4);
    }
    Ipv6 v6;
    if (parse_address(AF_INET6, address, v6)) {
        return reverse_name(v6);
    }
    return fail(Errc::invalid_argument, "not an IP address: '" + std::string(address) + "'");
}

std::string to_string(const Ipv4& address) {
    char buffer[INET_ADDRSTRLEN];
    return ::inet_ntop(AF_INET, address.bytes.data(), buffer, sizeof buffer) ? buffer : "";
}

std::string to_string(const Ipv6& address) {
    char buffer[INET6_ADDRSTRLEN];
    return ::inet_ntop(AF_INET6, address.bytes.data(), buffer, sizeof buffer) ? buffer : "";
}

} // namespace core::dns
