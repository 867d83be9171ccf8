// SPDX-License-Identifier: ISC
#include "core/smtp/headers.hpp"

#include "core/util/strings.hpp"

#include <random>
#include <thread>

namespace core::smtp {

namespace {

constexpr std::string_view k_days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::string_view k_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void append_2digits(std::string& out, long value) {
    out.push_back(static_cast<char>('0' + value / 10 % 10));
    out.push_back(static_cast<char>('0' + value % 10));
}

enum class Where { bare, comment, path };

// Client-controlled text in a header: nothing may end the line or the comment it sits in.
void append_safe(std::string& out, std::string_view text, Where where) {
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        bool ok = c > 32 && c < 127;
        if (where == Where::comment) {
            ok = (ok || c == ' ') && c != '(' && c != ')' && c != '\\';
        }
        if (where == Where::path && (c == '<' || c == '>' || c == ' ')) {
            ok = c == ' '; // quoted local parts may hold spaces
        }
        out.push_back(ok ? ch : '?');
    }
}

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool name_is(std::string_view name, std::string_view expected) {
    if (name.size() != expected.size()) {
        return false;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (lower(name[i]) != expected[i]) {
            return false;
        }
    }
    return true;
}

void append_hex(std::string& out, std::uint64_t value, int digits) {
    constexpr std::string_view k_hex = "0123456789abcdef";
    for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
        out.push_back(k_hex[value >> shift & 0xf]);
    }
}

} // namespace

std::string rfc5322_date(std::time_t when, Zone zone) {
    std::tm tm{};
    if (zone == Zone::utc) {
        gmtime_r(&when, &tm);
    } else {
        localtime_r(&when, &tm);
    }
    const long offset_minutes = zone == Zone::utc ? 0 : tm.tm_gmtoff / 60;
    std::string out;
    out.reserve(32);
    out.append(k_days[tm.tm_wday % 7]).append(", ");
    append_2digits(out, tm.tm_mday);
    out.push_back(' ');
    out.append(k_months[tm.tm_mon % 12]).push_back(' ');
    out.append(std::to_string(tm.tm_year + 1900)).push_back(' ');
    append_2digits(out, tm.tm_hour);
    out.push_back(':');
    append_2digits(out, tm.tm_min);
    out.push_back(':');
    append_2digits(out, tm.tm_sec);
    out.push_back(' ');
    out.push_back(offset_minutes < 0 ? '-' : '+');
    const long magnitude = offset_minutes < 0 ? -offset_minutes : offset_minutes;
    append_2digits(out, magnitude / 60);
    append_2digits(out, magnitude % 60);
    return out;
}

std::string_view with_protocol(const ReceivedInfo& info) {
    // RFC 3848 2 and 3; RFC 2033 for LMTP. HELO sessions are plain SMTP whatever else.
    if (info.lmtp) {
        if (info.tls && info.authenticated) {
            return "LMTPSA";
        }
        if (info.tls) {
            return "LMTPS";
        }
        return info.authenticated ? "LMTPA" : "LMTP";
    }
    if (!info.esmtp) {
        return "SMTP";
    }
    if (info.tls && info.authenticated) {
        return "ESMTPSA";
    }
    if (info.tls) {
        return "ESMTPS";
    }
    return info.authenticated ? "ESMTPA" : "ESMTP";
}

std::string received_header(const ReceivedInfo& info) {
    std::string out;
    out.reserve(256);
    out.append("Received: ");
    // smtpd.conf(5) mask-src: the trace line keeps nothing of the client.
    if (!info.mask_source) {
        out.append("from ");
        append_safe(out, info.helo.empty() ? std::string_view("unknown") : info.helo, Where::bare);
        out.append(" (");
        if (!info.rdns.empty()) {
            append_safe(out, info.rdns, Where::comment);
            out.push_back(' ');
        }
        // RFC 5321 4.1.3: IPv6 address literals carry the "IPv6:" tag.
        out.append(info.ip.find(':') != std::string_view::npos ? "[IPv6:" : "[");
        append_safe(out, info.ip, Where::comment);
        out.append("])\r\n\t");
    }
    out.append("by ");
    append_safe(out, info.by_host, Where::bare);
    out.append(" (mxd) with ").append(with_protocol(info));
    if (!info.tls_info.empty()) {
        out.append(" (");
        append_safe(out, info.tls_info, Where::comment);
        out.push_back(')');
    }
    // The words OpenSMTPD writes for `received-auth`.
    if (info.received_auth) {
        out.append(info.authenticated ? " auth=yes" : " auth=no");
        if (info.authenticated && !info.auth_user.empty()) {
            out.append(" user=");
            append_safe(out, info.auth_user, Where::bare);
        }
    }
    if (!info.id.empty()) {
        out.append(" id ");
        append_safe(out, info.id, Where::bare);
    }
    // RFC 5321 4.4: the "for" clause names one recipient; with several, none is shown, so
    // that a copy does not reveal the other recipients.
    if (!info.recipient.empty()) {
        out.append("\r\n\tfor <");
        append_safe(out, info.recipient, Where::path);
        out.push_back('>');
    }
    out.append(";\r\n\t").append(rfc5322_date(info.date, info.zone)).append("\r\n");
    return out;
}

void HeaderScanner::field_name_complete() {
    if (m_name_length <= sizeof(m_name)) {
        const std::string_view name(m_name, m_name_length);
        if (name_is(name, "date")) {
            m_presence.date = true;
        } else if (name_is(name, "message-id")) {
            m_presence.message_id = true;
        } else if (name_is(name, "from")) {
            m_presence.from = true;
        }
    }
    m_state = State::skip_line;
}

void HeaderScanner::feed(std::string_view bytes) {
    std::size_t i = 0;
    while (i < bytes.size() && m_state != State::done) {
        const char c = bytes[i];
        switch (m_state) {
        case State::line_start:
            if (c == '\r') {
                m_state = State::empty_cr;
                ++i;
            } else if (c == '\n') {
                m_state = State::done;
                ++i;
            } else if (c == ' ' || c == '\t') {
                // RFC 5322 2.2.3: a folded continuation of the previous field.
                m_state = State::skip_line;
            } else {
                m_name_length = 0;
                m_state = State::name;
            }
            break;
        case State::empty_cr:
            if (c == '\n') {
                m_state = State::done;
                ++i;
            } else {
                m_state = State::skip_line;
            }
            break;
        case State::name: {
            const auto u = static_cast<unsigned char>(c);
            if (c == ':') {
                field_name_complete();
                ++i;
            } else if (c == ' ' || c == '\t') {
                m_state = State::name_blank;
                ++i;
            } else if (u > 32 && u < 127) {
                // RFC 5322 3.6.8 ftext; names longer than the buffer cannot match.
                if (m_name_length < sizeof(m_name)) {
                    m_name[m_name_length] = c;
                }
                ++m_name_length;
                ++i;
            } else {
                m_state = State::skip_line;
            }
            break;
        }
        case State::name_blank:
            if (c == ':') {
                field_name_complete();
                ++i;
            } else if (c == ' ' || c == '\t') {
                ++i;
            } else {
                m_state = State::skip_line; // "From user@host ..." (an mbox line) is no field
            }
            break;
        case State::skip_line: {
            const auto newline = bytes.find('\n', i);
            if (newline == std::string_view::npos) {
                i = bytes.size();
            } else {
                i = newline + 1;
                m_state = State::line_start;
            }
            break;
        }
        case State::done:
            break;
        }
    }
}

HeaderPresence scan_headers(std::string_view message) {
    HeaderScanner scanner;
    scanner.feed(message);
    return scanner.presence();
}

std::string message_id(std::string_view host) {
    // One generator per thread: no lock on the hot path. Seeded from the OS and the thread, so
    // that two threads (or two processes started in the same second) do not share a sequence.
    thread_local std::mt19937_64 generator = [] {
        std::random_device device;
        std::seed_seq seed{
            device(), device(), device(), device(),
            static_cast<unsigned>(std::hash<std::thread::id>{}(std::this_thread::get_id()))};
        return std::mt19937_64(seed);
    }();
    std::string out;
    out.reserve(host.size() + 32);
    out.push_back('<');
    append_hex(out, static_cast<std::uint64_t>(std::time(nullptr)), 8);
    out.push_back('.');
    append_hex(out, generator(), 16);
    out.push_back('@');
    append_safe(out, host.empty() ? std::string_view("localhost") : host, Where::bare);
    out.push_back('>');
    return out;
}

std::optional<std::string> masquerade_from(std::string_view message, std::string_view sender) {
    const auto header_end = message.find("\r\n\r\n");
    const std::string_view header =
        message.substr(0, header_end == std::string_view::npos ? message.size() : header_end + 2);
    // The From: field: a line that starts with the name, and its folded continuation lines.
    std::size_t start = std::string_view::npos;
    for (std::size_t line = 0; line < header.size();) {
        if (header.size() - line >= 5 && starts_with_nocase(header.substr(line), "from:")) {
            start = line;
            break;
        }
        const auto next = header.find("\r\n", line);
        if (next == std::string_view::npos) {
            break;
        }
        line = next + 2;
    }
    if (start == std::string_view::npos) {
        return std::nullopt;
    }
    std::size_t end = start;
    for (;;) {
        const auto next = header.find("\r\n", end);
        if (next == std::string_view::npos) {
            return std::nullopt;
        }
        end = next + 2;
        if (end >= header.size() || (header[end] != ' ' && header[end] != '\t')) {
            break;
        }
    }
    const std::size_t value_begin = start + 5;
    const std::string_view value = header.substr(value_begin, end - 2 - value_begin);
    // Find the angle-bracketed address outside quotes and comments; refuse lists and groups.
    bool quoted = false;
    bool escaped = false;
    int comment = 0;
    std::size_t open = std::string_view::npos;
    std::size_t close = std::string_view::npos;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (escaped) {
            escaped = false;
            continue;
        }
        if (c == '\\') {
            escaped = true;
        } else if (quoted) {
            quoted = c != '"';
        } else if (c == '"') {
            quoted = true;
        } else if (c == '(') {
            ++comment;
        } else if (c == ')' && comment > 0) {
            --comment;
        } else if (comment == 0) {
            if (c == ',' || c == ':' || c == ';') {
                return std::nullopt;
            }
            if (c == '<') {
                if (open != std::string_view::npos) {
                    return std::nullopt;
                }
                open = i;
            } else if (c == '>') {
                close = i;
            }
        }
    }
    if (quoted || escaped || comment != 0 ||
        (open == std::string_view::npos) != (close == std::string_view::npos) ||
        (open != std::string_view::npos && close < open)) {
        return std::nullopt;
    }
    std::string field(header.substr(start, value_begin - start));
    if (open != std::string_view::npos) {
        field.append(value.substr(0, open + 1)).append(sender).append(value.substr(close));
    } else {
        field.append(" ").append(sender);
    }
    field.append("\r\n");
    std::string out;
    out.reserve(message.size() + sender.size());
    out.append(message.substr(0, start)).append(field).append(message.substr(end));
    return out;
}

} // namespace core::smtp
