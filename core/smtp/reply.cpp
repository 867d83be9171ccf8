// SPDX-License-Identifier: ISC
#include "core/smtp/reply.hpp"

#include <algorithm>

namespace core::smtp {

namespace {

Reply make(int code, std::string_view enhanced, std::string_view text) {
    return Reply{code, std::string(enhanced), std::string(text)};
}

void append_code(std::string& out, int code) {
    out.push_back(static_cast<char>('0' + code / 100 % 10));
    out.push_back(static_cast<char>('0' + code / 10 % 10));
    out.push_back(static_cast<char>('0' + code % 10));
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// 1*3DIGIT at the start of `text`; returns how many digits, 0 when none or more than 3.
std::size_t digits(std::string_view text) {
    std::size_t n = 0;
    while (n < text.size() && is_digit(text[n])) {
        ++n;
    }
    return n <= 3 ? n : 0;
}

} // namespace

void Reply::render_to(std::string& out) const {
    std::string_view rest = text;
    while (true) {
        const auto newline = rest.find('\n');
        const auto line = rest.substr(0, newline);
        const bool last = newline == std::string_view::npos;
        append_code(out, code);
        // RFC 5321 4.2.1: "-" after the code on every line but the last.
        const bool has_text = !enhanced.empty() || !line.empty();
        if (!last) {
            out.push_back('-');
        } else if (has_text) {
            out.push_back(' ');
        }
        if (!enhanced.empty()) {
            // RFC 2034 4: the enhanced code starts the text of every line of the reply.
            out.append(enhanced);
            if (!line.empty()) {
                out.push_back(' ');
            }
        }
        for (const char c : line) {
            if (c != '\r') {
                out.push_back(c);
            }
        }
        out.append("\r\n");
        if (last) {
            return;
        }
        rest.remove_prefix(newline + 1);
    }
}

std::string Reply::render() const {
    std::string out;
    out.reserve(text.size() + enhanced.size() + 8);
    render_to(out);
    return out;
}

std::string Reply::one_line() const {
    std::string out = text;
    for (auto& c : out) {
        if (c == '\n') {
            c = ' ';
        }
    }
    return out;
}

namespace reply {

Reply ok(std::string_view text) {
    return make(250, "2.0.0", text);
}
Reply greeting(std::string_view host) {
    return make(220, "", std::string(host) + " ESMTP mxd");
}
Reply closing() {
    return make(221, "2.0.0", "Bye");
}
Reply sender_ok() {
    return make(250, "2.1.0", "Ok");
}
Reply recipient_ok() {
    return make(250, "2.1.5", "Destination address valid");
}
// RFC 2034 3: 354 is an intermediate reply and carries no enhanced code.
Reply start_data() {
    return make(354, "", "Enter mail, end with \".\" on a line by itself");
}
Reply message_accepted(std::string_view msgid) {
    return make(250, "2.0.0", std::string(msgid) + " Message accepted for delivery");
}
Reply starttls_ready() {
    return make(220, "2.0.0", "Ready to start TLS");
}
Reply auth_ok() {
    return make(235, "2.7.0", "Authentication successful");
}
// RFC 4954 4: the 334 text is the base64 challenge alone.
Reply auth_challenge(std::string_view base64) {
    return make(334, "", base64);
}
Reply unavailable(std::string_view host, std::string_view text) {
    return make(421, "4.3.0", std::string(host) + " " + std::string(text));
}
Reply timeout(std::string_view host) {
    return make(421, "4.4.2", std::string(host) + " Timeout exceeded, closing channel");
}
Reply local_error() {
    return make(451, "4.3.0", "Temporary local error, try again later");
}
Reply too_many_recipients() {
    return make(452, "4.5.3", "Too many recipients");
}
Reply insufficient_storage() {
    return make(452, "4.3.1", "Insufficient system storage");
}
Reply command_unrecognized() {
    return make(500, "5.5.2", "Command unrecognized");
}
Reply line_too_long() {
    return make(500, "5.5.2", "Line too long");
}
Reply syntax_error(std::string_view text) {
    return make(501, "5.5.4", text);
}
Reply not_implemented() {
    return make(502, "5.5.1", "Command not implemented");
}
Reply bad_sequence() {
    return make(503, "5.5.1", "Bad sequence of commands");
}
Reply auth_mechanism_unsupported() {
    return make(504, "5.5.4", "Unrecognized authentication type");
}
Reply auth_cancelled() {
    return make(501, "5.7.0", "Authentication cancelled");
}
Reply auth_required() {
    return make(530, "5.7.0", "Authentication required");
}
Reply auth_failed() {
    return make(535, "5.7.8", "Authentication credentials invalid");
}
Reply encryption_required() {
    return make(538, "5.7.11", "Encryption required for requested authentication mechanism");
}
Reply starttls_required() { return make(530, "5.7.0", "Must issue a STARTTLS command first"); }
Reply no_such_user() {
    return make(550, "5.1.1", "Invalid recipient");
}
Reply bad_address(std::string_view reason) {
    return make(553, "5.1.3", "Invalid address: " + std::string(reason));
}
Reply message_too_big() {
    return make(552, "5.3.4", "Message too big for system");
}
Reply relay_denied() {
    return make(554, "5.7.1", "Relay denied");
}
Reply parameters_unrecognized(std::string_view text) {
    return make(555, "5.5.4", text);
}
Reply content_rejected(std::string_view text) {
    return make(550, "5.6.0", text);
}

} // namespace reply

Result<ReplyLine> parse_reply_line(std::string_view line) {
    // RFC 5321 4.2: Reply-code = %x32-35 %x30-35 %x30-39.
    if (line.size() < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' ||
        !is_digit(line[2])) {
        return fail(Errc::parse, "malformed reply code");
    }
    ReplyLine out;
    out.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (line.size() == 3) {
        out.last = true;
        return out;
    }
    if (line[3] != ' ' && line[3] != '-') {
        return fail(Errc::parse, "malformed reply separator");
    }
    out.last = line[3] == ' ';
    out.text = line.substr(4);
    return out;
}

std::string_view take_enhanced_code(std::string_view& text, int reply_class) {
    // RFC 3463 2: class "." subject "." detail, subject and detail 1*3DIGIT; the class must
    // match the reply's (RFC 2034 3).
    if (text.size() < 5 || text[0] != static_cast<char>('0' + reply_class) || text[1] != '.') {
        return {};
    }
    const auto subject = digits(text.substr(2));
    if (subject == 0 || 2 + subject >= text.size() || text[2 + subject] != '.') {
        return {};
    }
    const auto detail = digits(text.substr(3 + subject));
    if (detail == 0) {
        return {};
    }
    const auto end = 3 + subject + detail;
    if (end < text.size() && text[end] != ' ') {
        return {};
    }
    const auto code = text.substr(0, end);
    text.remove_prefix(end < text.size() ? end + 1 : end);
    return code;
}

Result<bool> ReplyAccumulator::add(std::string_view line) {
    if (m_complete) {
        m_reply = Reply{};
        m_lines = 0;
        m_complete = false;
    }
    auto parsed = parse_reply_line(line);
    if (!parsed) {
        m_reply = Reply{};
        m_lines = 0;
        return fail(std::move(parsed).error());
    }
    if (m_lines > 0 && parsed->code != m_reply.code) {
        m_reply = Reply{};
        m_lines = 0;
        return fail(Errc::parse, "reply code changed within a multi-line reply");
    }
    if (m_lines + 1 > k_reply_lines_max || m_reply.text.size() + line.size() > k_reply_bytes_max) {
        m_reply = Reply{};
        m_lines = 0;
        return fail(Errc::parse, "reply too long");
    }
    auto text = parsed->text;
    if (m_lines == 0) {
        m_reply.code = parsed->code;
        m_reply.enhanced = std::string(take_enhanced_code(text, parsed->code / 100));
    } else {
        m_reply.text.push_back('\n');
        if (!m_reply.enhanced.empty() &&
            text.substr(0, m_reply.enhanced.size()) == m_reply.enhanced &&
            (text.size() == m_reply.enhanced.size() || text[m_reply.enhanced.size()] == ' ')) {
            text.remove_prefix(std::min(text.size(), m_reply.enhanced.size() + 1));
        }
    }
    m_reply.text.append(text);
    ++m_lines;
    m_complete = parsed->last;
    return m_complete;
}

Reply ReplyAccumulator::take() {
    Reply out = std::move(m_reply);
    m_reply = Reply{};
    m_lines = 0;
    m_complete = false;
    return out;
}

} // namespace core::smtp
