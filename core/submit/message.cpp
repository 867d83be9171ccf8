// SPDX-License-Identifier: ISC
#include "core/submit/message.hpp"

#include "core/smtp/headers.hpp"
#include "core/util/strings.hpp"

#include <cctype>
#include <optional>

namespace core::submit {

namespace {

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

// Field names compare without regard to case (RFC 5322 1.2.2).
bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && starts_with_nocase(a, b);
}

// RFC 5322 3.2.3 specials: a display name that holds one must be a quoted-string.
bool is_special(char c) {
    switch (c) {
    case '(':
    case ')':
    case '<':
    case '>':
    case '[':
    case ']':
    case ':':
    case ';':
    case '@':
    case '\\':
    case ',':
    case '.':
    case '"':
        return true;
    default:
        return false;
    }
}

// The end of the line that starts at `pos`: past its LF, or the end of the text.
std::size_t line_end(std::string_view text, std::size_t pos) {
    const auto lf = text.find('\n', pos);
    return lf == std::string_view::npos ? text.size() : lf + 1;
}

// The length of a line's content: without its LF or CRLF.
std::size_t content_length(std::string_view line) {
    std::size_t n = line.size();
    if (n > 0 && line[n - 1] == '\n') {
        --n;
        if (n > 0 && line[n - 1] == '\r') {
            --n;
        }
    }
    return n;
}

// The field name that starts `line`, when the line is a field: printable ASCII but the
// colon (RFC 5322 3.6.8 ftext), then optional blanks, then the colon.
std::optional<std::string_view> field_name(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && line[i] > 32 && line[i] < 127 && line[i] != ':') {
        ++i;
    }
    if (i == 0) {
        return std::nullopt;
    }
    std::size_t colon = i;
    while (colon < line.size() && is_blank(line[colon])) {
        ++colon;
    }
    if (colon >= line.size() || line[colon] != ':') {
        return std::nullopt;
    }
    return line.substr(0, i);
}

// Appends `text` with control characters and line ends dropped, so that nothing a user gives
// can start a new header line.
void append_printable(std::string& out, std::string_view text) {
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 32 && u != 127) {
            out.push_back(c);
        } else if (c == '\t') {
            out.push_back(' ');
        }
    }
}

// Appends text meant for a comment of a trace line: printable ASCII only, and no parentheses
// or backslashes that would end or escape the comment.
void append_comment_safe(std::string& out, std::string_view text) {
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        out.push_back(u > 32 && u < 127 && c != '(' && c != ')' && c != '\\' ? c : '?');
    }
}

} // namespace

Result<std::string> read_message(std::istream& in, DotEnds dot_ends, std::size_t max_size) {
    std::string message;
    std::string line;
    while (std::getline(in, line)) {
        const bool had_newline = !in.eof();
        if (dot_ends == DotEnds::yes && (line == "." || line == ".\r") && had_newline) {
            return message;
        }
        if (dot_ends == DotEnds::yes && line == "." && !had_newline) {
            return message; // a last line of a single dot without its LF ends it too
        }
        if (message.size() + line.size() + 1 > max_size) {
            return fail(Errc::invalid_argument,
                        "message larger than " + std::to_string(max_size) + " bytes");
        }
        message += line;
        if (had_newline) {
            message += '\n';
        }
    }
    if (in.bad()) {
        return fail(Errc::io, "read error on standard input");
    }
    return message;
}

std::string_view without_mbox_from_line(std::string_view message) {
    if (!message.starts_with("From ")) {
        return message;
    }
    const auto end = line_end(message, 0);
    return message.substr(end);
}

HeaderSection parse_header_section(std::string_view message) {
    HeaderSection section;
    std::size_t pos = 0;
    while (pos < message.size()) {
        const auto end = line_end(message, pos);
        const auto line = message.substr(pos, end - pos);
        if (content_length(line) == 0) {
            section.end = pos;
            section.separated = true;
            return section;
        }
        if (is_blank(line[0]) && !section.fields.empty()) {
            section.fields.back().end = end; // a continuation line
            pos = end;
            continue;
        }
        const auto name = field_name(line);
        if (!name) {
            section.end = pos;
            return section;
        }
        section.fields.push_back(Field{*name, pos, end});
        pos = end;
    }
    section.end = message.size();
    return section;
}

std::string field_value(std::string_view message, const Field& field) {
    const auto text = message.substr(field.begin, field.end - field.begin);
    const auto colon = text.find(':');
    std::string value;
    for (std::size_t i = colon + 1; i < text.size(); ++i) {
        if (text[i] != '\r' && text[i] != '\n') {
            value.push_back(text[i]);
        }
    }
    return std::string(trim(value));
}

Result<std::vector<std::string>> parse_address_list(std::string_view value) {
    std::vector<std::string> out;
    std::string plain; // the mailbox outside comments and angle brackets, blanks dropped
    std::string angle; // what is inside <...>
    bool has_angle = false;
    bool in_angle = false;
    bool quoted = false;
    int comment = 0;
    auto finish = [&] {
        std::string address = has_angle ? angle : plain;
        if (!address.empty()) {
            out.push_back(std::move(address));
        }
        plain.clear();
        angle.clear();
        has_angle = false;
    };
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        std::string& target = in_angle ? angle : plain;
        if (comment > 0) {
            if (c == '\\') {
                ++i;
            } else if (c == '(') {
                ++comment;
            } else if (c == ')') {
                --comment;
            }
            continue;
        }
        if (quoted) {
            target.push_back(c);
            if (c == '\\' && i + 1 < value.size()) {
                target.push_back(value[++i]);
            } else if (c == '"') {
                quoted = false;
            }
            continue;
        }
        switch (c) {
        case '"':
            quoted = true;
            target.push_back(c);
            break;
        case '(':
            comment = 1;
            break;
        case '<':
            if (in_angle) {
                return fail(Errc::parse, "'<' inside an angle address");
            }
            in_angle = true;
            has_angle = true;
            angle.clear();
            break;
        case '>':
            if (!in_angle) {
                return fail(Errc::parse, "'>' without '<'");
            }
            in_angle = false;
            break;
        case ':':
            if (in_angle) {
                target.push_back(c); // a source route, `<@a:b@c>`
            } else {
                plain.clear(); // the display name of a group (RFC 5322 3.4)
                has_angle = false;
            }
            break;
        case ',':
        case ';':
            if (in_angle) {
                target.push_back(c);
            } else {
                finish();
            }
            break;
        case ' ':
        case '\t':
        case '\r':
        case '\n':
            break;
        default:
            target.push_back(c);
        }
    }
    if (quoted || comment > 0 || in_angle) {
        return fail(Errc::parse, quoted        ? "unclosed quote"
                                 : comment > 0 ? "unclosed comment"
                                               : "unclosed '<'");
    }
    finish();
    // Words before an angle address are a display name, dropped above; a mailbox without
    // brackets has no display name, so `plain` is its address.
    return out;
}

Result<Extracted> extract_recipients(std::string_view message) {
    const auto section = parse_header_section(message);
    Extracted extracted;
    std::size_t copied = 0;
    for (const auto& field : section.fields) {
        const bool bcc = iequals(field.name, "bcc");
        if (bcc || iequals(field.name, "to") || iequals(field.name, "cc")) {
            auto addresses = parse_address_list(field_value(message, field));
            if (!addresses) {
                return fail(Errc::parse,
                            std::string(field.name) + ": " + addresses.error().message);
            }
            for (auto& a : *addresses) {
                extracted.recipients.push_back(std::move(a));
            }
        }
        if (bcc) {
            extracted.message.append(message.substr(copied, field.begin - copied));
            copied = field.end;
        }
    }
    extracted.message.append(message.substr(copied));
    return extracted;
}

std::string to_crlf(std::string_view message) {
    std::string out;
    out.reserve(message.size() + message.size() / 32 + 2);
    for (std::size_t i = 0; i < message.size(); ++i) {
        const char c = message[i];
        if (c == '\r') {
            out.append("\r\n");
            if (i + 1 < message.size() && message[i + 1] == '\n') {
                ++i;
            }
        } else if (c == '\n') {
            out.append("\r\n");
        } else {
            out.push_back(c);
        }
    }
    if (!out.empty() && !out.ends_with("\r\n")) {
        out.append("\r\n");
    }
    return out;
}

std::string gecos_full_name(std::string_view gecos, std::string_view login) {
    const auto comma = gecos.find(',');
    const auto first = gecos.substr(0, comma);
    std::string out;
    for (const char c : first) {
        if (c == '&') {
            const auto at = out.size();
            out.append(login);
            if (at < out.size()) {
                out[at] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[at])));
            }
        } else {
            out.push_back(c);
        }
    }
    return std::string(trim(out));
}

std::string from_field(std::string_view full_name, std::string_view address) {
    std::string name;
    append_printable(name, full_name);
    const auto trimmed = std::string(trim(name));
    std::string out = "From: ";
    if (!trimmed.empty()) {
        bool needs_quotes = false;
        for (const char c : trimmed) {
            needs_quotes = needs_quotes || is_special(c);
        }
        if (needs_quotes) {
            out.push_back('"');
            for (const char c : trimmed) {
                if (c == '"' || c == '\\') {
                    out.push_back('\\');
                }
                out.push_back(c);
            }
            out.push_back('"');
        } else {
            out.append(trimmed);
        }
        out.push_back(' ');
    }
    out.push_back('<');
    append_printable(out, address);
    out.append(">\r\n");
    return out;
}

std::string local_received_header(const LocalReceived& info) {
    std::string out = "Received: ";
    if (!info.mask_source) {
        out.append("from local (user ");
        append_comment_safe(out, info.user);
        out.append(" uid ").append(std::to_string(info.uid)).append(")\r\n\t");
    }
    out.append("by ");
    append_comment_safe(out, info.by_host);
    out.append(" (mxd) id ");
    append_comment_safe(out, info.id);
    if (!info.recipient.empty()) {
        // RFC 5321 4.4: the for clause names one recipient, never several.
        out.append("\r\n\tfor <");
        append_comment_safe(out, info.recipient);
        out.push_back('>');
    }
    out.append(";\r\n\t").append(core::smtp::rfc5322_date(info.date)).append("\r\n");
    return out;
}

std::string complete_headers(std::string_view message, const Completion& completion) {
    const auto section = parse_header_section(message);
    bool date = false;
    bool message_id = false;
    bool from = false;
    for (const auto& f : section.fields) {
        date = date || iequals(f.name, "date");
        message_id = message_id || iequals(f.name, "message-id");
        from = from || iequals(f.name, "from");
    }
    std::string added;
    if (!date) {
        added.append("Date: ").append(core::smtp::rfc5322_date(completion.date)).append("\r\n");
    }
    if (!message_id) {
        added.append("Message-ID: ").append(core::smtp::message_id(completion.host)).append("\r\n");
    }
    if (!from) {
        added.append(completion.from);
    }
    std::string out;
    out.reserve(message.size() + added.size() + 2);
    out.append(message.substr(0, section.end));
    if (!out.empty() && !out.ends_with('\n')) {
        out.append("\r\n");
    }
    out.append(added);
    // A body that does not start with the empty line (or a message without fields) gets one:
    // otherwise its first line would read as part of the header section.
    if (!section.separated && section.end < message.size()) {
        out.append("\r\n");
    }
    out.append(message.substr(section.end));
    return out;
}

} // namespace core::submit
