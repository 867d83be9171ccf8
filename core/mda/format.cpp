// SPDX-License-Identifier: ISC
#include "core/mda/format.hpp"

#include "core/util/strings.hpp"

#include <charconv>

namespace core::mda {

namespace {

// OpenSMTPD's MAXTOKENLEN: the longest `name[range]:modifiers` between the braces.
constexpr std::size_t k_token_max = 128;

struct Address {
    std::string_view user;
    std::string_view domain;
};

Address split_address(std::string_view address) {
    const auto at = address.rfind('@');
    if (at == std::string_view::npos) {
        return {address, {}};
    }
    return {address.substr(0, at), address.substr(at + 1)};
}

// %{sender}, %{rcpt}, %{dest}: the address, or nothing for the null sender.
std::string address_text(std::string_view address) {
    return address == "@" ? std::string() : std::string(address);
}

// Whether a byte may stay in an expanded address part. OpenSMTPD replaces the characters of
// MAILADDR_ESCAPE ("!#$%&'*/?^`{|}~") with ':'; its address parser never lets anything else
// through that a shell or a path would interpret. Ours accepts quoted local parts (RFC 5321
// 4.1.2), so we keep only what is inert: letters, digits, ". @ - + = _ :" and UTF-8 bytes.
bool is_inert(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80) {
        return true;
    }
    return std::string_view(".@-+=_:").find(static_cast<char>(c)) != std::string_view::npos;
}

// `:raw` lifts the escaping but, as OpenSMTPD, never lets a '/' (nor a control character) in.
bool is_inert_raw(unsigned char c) {
    return c != '/' && c >= 0x20 && c != 0x7f;
}

// An offset of a range: a decimal in [-k_format_max, k_format_max] (OpenSMTPD's strtonum
// bounds).
bool parse_offset(std::string_view text, long& out) {
    const char* first = text.data();
    const char* last = text.data() + text.size();
    const auto [end, ec] = std::from_chars(first, last, out);
    const long bound = static_cast<long>(k_format_max);
    return ec == std::errc{} && end == last && !text.empty() && out >= -bound && out <= bound;
}

class TokenExpander {
  public:
    TokenExpander(std::string_view token, const FormatContext& context)
        : m_token(token), m_context(context) {}

    Result<std::string> expand() {
        if (m_token.size() >= k_token_max) {
            return bad("the specifier is too long");
        }
        MXD_TRY(parse_token());
        MXD_TRY(lookup());
        MXD_TRY(apply_modifiers());
        if (m_replace) {
            for (char& c : m_value) {
                const auto u = static_cast<unsigned char>(c);
                if (m_raw ? !is_inert_raw(u) : !is_inert(u)) {
                    c = ':';
                }
            }
        }
        return apply_range();
    }

  private:
    Unexpected bad(const std::string& why) const {
        return fail(Errc::invalid_argument, "%{" + std::string(m_token) + "}: " + why);
    }

    // name[range]:modifiers, or name:modifiers.
    Result<void> parse_token() {
        m_name = m_token;
        std::string_view rest;
        const auto lb = m_token.find('[');
        if (lb != std::string_view::npos) {
            const auto rb = m_token.find(']', lb);
            if (rb == std::string_view::npos) {
                return bad("unterminated range");
            }
            const std::string_view range = m_token.substr(lb + 1, rb - lb - 1);
            if (range.empty()) {
                return bad("empty range");
            }
            MXD_TRY(parse_range(range));
            m_name = m_token.substr(0, lb);
            rest = m_token.substr(rb + 1);
            if (!rest.empty() && rest.front() != ':') {
                return bad("unexpected '" + std::string(rest) + "' after the range");
            }
        } else if (const auto colon = m_token.find(':'); colon != std::string_view::npos) {
            m_name = m_token.substr(0, colon);
            rest = m_token.substr(colon);
        }
        if (!rest.empty()) {
            m_modifiers = rest.substr(1);
            m_has_modifiers = true;
        }
        return {};
    }

    // `[n]` is the single character n; `[n:m]`, `[n:]` and `[:m]` a substring, m inclusive.
    Result<void> parse_range(std::string_view range) {
        const auto sep = range.find(':');
        if (sep == std::string_view::npos) {
            if (!parse_offset(range, m_begin)) {
                return bad("bad range offset '" + std::string(range) + "'");
            }
            m_end = m_begin;
            return {};
        }
        const std::string_view first = range.substr(0, sep);
        const std::string_view second = range.substr(sep + 1);
        if (!first.empty() && !parse_offset(first, m_begin)) {
            return bad("bad range offset '" + std::string(first) + "'");
        }
        if (!second.empty() && !parse_offset(second, m_end)) {
            return bad("bad range offset '" + std::string(second) + "'");
        }
        return {};
    }

    Result<void> lookup() {
        const std::string name = to_lower(m_name);
        const FormatContext& c = m_context;
        if (name == "sender") {
            m_value = address_text(c.sender);
        } else if (name == "rcpt") {
            m_value = address_text(c.rcpt);
        } else if (name == "dest") {
            m_value = address_text(c.dest);
        } else if (name == "sender.user") {
            m_value = split_address(c.sender).user;
        } else if (name == "sender.domain") {
            m_value = split_address(c.sender).domain;
        } else if (name == "rcpt.user") {
            m_value = split_address(c.rcpt).user;
        } else if (name == "rcpt.domain") {
            m_value = split_address(c.rcpt).domain;
        } else if (name == "dest.user") {
            m_value = split_address(c.dest).user;
        } else if (name == "dest.domain") {
            m_value = split_address(c.dest).domain;
        } else if (name == "user.username") {
            m_value = c.username;
        } else if (name == "user.directory") {
            m_value = c.directory;
            m_replace = false;
        } else if (name == "mda") {
            if (c.mda.empty()) {
                return bad("only an mda wrapper has the mda command to expand");
            }
            m_value = c.mda;
            m_replace = false;
        } else if (name == "mbox.from") {
            m_value = address_text(c.sender);
            if (m_value.empty()) {
                m_value = "MAILER-DAEMON";
            }
        } else {
            return bad("unknown name '" + std::string(m_name) + "'");
        }
        if (m_value.size() >= k_format_max) {
            return bad("the value is too long");
        }
        return {};
    }

    Result<void> apply_modifiers() {
        if (!m_has_modifiers) {
            return {};
        }
        for (const auto modifier : core::split(m_modifiers, '|')) {
            const std::string name = to_lower(modifier);
            if (name == "lowercase") {
                m_value = to_lower(m_value);
            } else if (name == "uppercase") {
                for (char& ch : m_value) {
                    if (ch >= 'a' && ch <= 'z') {
                        ch = static_cast<char>(ch - 'a' + 'A');
                    }
                }
            } else if (name == "strip") {
                // gilles+hackers@poolp.org -> gilles@poolp.org, gilles+hackers -> gilles
                const auto tag = m_value.find(m_context.subaddress_delimiter);
                if (tag != std::string::npos) {
                    const auto at = m_value.find('@', tag);
                    m_value.erase(tag, at == std::string::npos ? std::string::npos : at - tag);
                }
            } else if (name == "raw") {
                m_raw = true;
            } else {
                return bad("unknown modifier '" + std::string(modifier) + "'");
            }
        }
        return {};
    }

    Result<std::string> apply_range() {
        const long length = static_cast<long>(m_value.size());
        if (length == 0) {
            return std::string();
        }
        long begin = m_begin;
        long end = m_end;
        if (begin >= length) {
            return bad("the range starts beyond the end of '" + m_value + "'");
        }
        if (end >= length) {
            end = length - 1;
        }
        if (begin < 0) {
            begin += length;
        }
        // As OpenSMTPD: a negative end counts from the last character but one.
        if (end < 0) {
            end += length - 1;
        }
        if (begin < 0 || end < 0 || end < begin) {
            return bad("the range is outside '" + m_value + "'");
        }
        std::string result = m_value.substr(static_cast<std::size_t>(begin),
                                            static_cast<std::size_t>(end - begin + 1));
        // A value such as ".." or ".ssh" would reach another directory than the one the
        // format names, even with every '/' escaped.
        if (m_replace && result[0] == '.') {
            return bad("expands to '" + result + "', which starts with '.'");
        }
        return result;
    }

    std::string_view m_token;
    const FormatContext& m_context;
    std::string_view m_name;
    std::string_view m_modifiers;
    bool m_has_modifiers = false;
    long m_begin = 0;
    long m_end = static_cast<long>(k_format_max);
    std::string m_value;
    bool m_replace = true;
    bool m_raw = false;
};

} // namespace

Result<std::string> expand_format(std::string_view format, const FormatContext& context) {
    const auto bad = [&](const std::string& why) {
        return fail(Errc::invalid_argument,
                    "cannot expand \"" + std::string(format) + "\": " + why);
    };
    std::string out;
    std::size_t i = 0;
    // smtpd.conf(5): `~/` is the user's home directory, and only at the very start.
    if (format.substr(0, 2) == "~/") {
        if (context.directory.empty()) {
            return bad("~/ needs the user's home directory, and there is none");
        }
        out = context.directory + "/";
        i = 2;
    }
    while (i < format.size()) {
        if (format[i] == '%' && i + 1 < format.size() && format[i + 1] == '%') {
            out += '%';
            i += 2;
        } else if (format[i] == '%' && i + 1 < format.size() && format[i + 1] == '{') {
            const auto close = format.find('}', i + 2);
            if (close == std::string_view::npos) {
                return bad("unterminated %{");
            }
            auto value = TokenExpander(format.substr(i + 2, close - i - 2), context).expand();
            if (!value) {
                return bad(value.error().message);
            }
            out += *value;
            i = close + 1;
        } else {
            out += format[i++];
        }
        if (out.size() >= k_format_max) {
            return bad("the result is longer than " + std::to_string(k_format_max - 1) + " bytes");
        }
    }
    return out;
}

} // namespace core::mda
