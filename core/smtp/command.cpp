// SPDX-License-Identifier: ISC
#include "core/smtp/command.hpp"

#include <limits>

namespace core::smtp {

namespace {

struct VerbEntry {
    std::string_view name;
    Verb verb;
};

constexpr std::array<VerbEntry, 14> k_verbs{{
    {"HELO", Verb::helo},
    {"EHLO", Verb::ehlo},
    {"MAIL", Verb::mail},
    {"RCPT", Verb::rcpt},
    {"DATA", Verb::data},
    {"BDAT", Verb::bdat},
    {"RSET", Verb::rset},
    {"NOOP", Verb::noop},
    {"QUIT", Verb::quit},
    {"VRFY", Verb::vrfy},
    {"EXPN", Verb::expn},
    {"HELP", Verb::help},
    {"STARTTLS", Verb::starttls},
    {"AUTH", Verb::auth},
}};

char upper(char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (upper(a[i]) != upper(b[i])) {
            return false;
        }
    }
    return true;
}

bool istarts_with(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim_blanks(std::string_view text) {
    while (!text.empty() && is_blank(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_blank(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

Verb find_verb(std::string_view word) {
    for (const auto& entry : k_verbs) {
        if (iequals(word, entry.name)) {
            return entry.verb;
        }
    }
    return Verb::unknown;
}

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 5321 4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-").
bool valid_keyword(std::string_view keyword) {
    if (keyword.empty() || !is_alnum(keyword.front())) {
        return false;
    }
    for (const char c : keyword) {
        if (!is_alnum(c) && c != '-') {
            return false;
        }
    }
    return true;
}

// RFC 5321 4.1.2: esmtp-value = 1*(%d33-60 / %d62-126); RFC 6531 3.3 adds UTF-8.
bool valid_value(std::string_view value) {
    if (value.empty()) {
        return false;
    }
    for (const char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '=' || c < 33 || c == 127) {
            return false;
        }
    }
    return true;
}

Result<void> parse_params(std::string_view text, Command& command) {
    while (true) {
        while (!text.empty() && is_blank(text.front())) {
            text.remove_prefix(1);
        }
        if (text.empty()) {
            return {};
        }
        auto end = text.find_first_of(" \t");
        if (end == std::string_view::npos) {
            end = text.size();
        }
        const auto word = text.substr(0, end);
        text.remove_prefix(end);
        EsmtpParam param;
        const auto eq = word.find('=');
        if (eq == std::string_view::npos) {
            param.keyword = word;
        } else {
            param.keyword = word.substr(0, eq);
            param.value = word.substr(eq + 1);
            param.has_value = true;
            if (!valid_value(param.value)) {
                return fail(Errc::parse,
                            "invalid value for parameter " + std::string(param.keyword));
            }
        }
        if (!valid_keyword(param.keyword)) {
            return fail(Errc::parse, "invalid parameter");
        }
        if (command.find_param(param.keyword) != nullptr) {
            return fail(Errc::parse, "duplicate parameter " + std::string(param.keyword));
        }
        if (command.param_count == k_esmtp_params_max) {
            return fail(Errc::parse, "too many parameters");
        }
        command.param_storage[command.param_count++] = param;
    }
}

// MAIL FROM:<path> params and RCPT TO:<path> params.
Result<void> parse_path_command(Command& command, std::string_view prefix, PathKind kind,
                                const CommandOptions& options) {
    auto rest = command.argument;
    if (!istarts_with(rest, prefix)) {
        return fail(Errc::parse, "syntax: " + std::string(verb_name(command.verb)) + " " +
                                     std::string(prefix) + "<address>");
    }
    rest.remove_prefix(prefix.size());
    // RFC 5321 has no space after the colon, but many clients send one ("MAIL FROM: <a@b>");
    // Postfix, Exim and OpenSMTPD all accept it.
    while (!rest.empty() && is_blank(rest.front())) {
        rest.remove_prefix(1);
    }
    const auto extent = path_extent(rest);
    if (extent == std::string_view::npos) {
        return fail(Errc::parse, "missing '>'");
    }
    command.path_text = rest.substr(0, extent);
    const auto params = rest.substr(extent);
    if (!params.empty() && !is_blank(params.front())) {
        return fail(Errc::parse, "garbage after address");
    }
    MXD_TRY(parse_params(params, command));

    ParseOptions path_options;
    path_options.brackets_optional = options.brackets_optional;
    path_options.domain_optional = options.domain_optional;
    // RFC 6531 3.4: a UTF-8 reverse-path needs the SMTPUTF8 parameter on the same line.
    path_options.smtputf8 =
        options.smtputf8 && (kind == PathKind::forward || command.find_param("SMTPUTF8"));
    MXD_TRY_ASSIGN(command.path, parse_path(command.path_text, kind, path_options));
    return {};
}

Result<std::uint64_t> parse_number(std::string_view text, std::string_view what) {
    if (text.empty() || text.size() > 20) {
        return fail(Errc::parse, "invalid " + std::string(what));
    }
    std::uint64_t value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return fail(Errc::parse, "invalid " + std::string(what));
        }
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
            return fail(Errc::parse, std::string(what) + " out of range");
        }
        value = value * 10 + digit;
    }
    return value;
}

Result<std::string_view> required_value(const EsmtpParam& param) {
    if (!param.has_value) {
        return fail(Errc::parse, std::string(param.keyword) + " needs a value");
    }
    return param.value;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

} // namespace

std::string_view verb_name(Verb verb) {
    for (const auto& entry : k_verbs) {
        if (entry.verb == verb) {
            return entry.name;
        }
    }
    return "UNKNOWN";
}

const EsmtpParam* Command::find_param(std::string_view keyword) const {
    for (std::size_t i = 0; i < param_count; ++i) {
        if (iequals(param_storage[i].keyword, keyword)) {
            return &param_storage[i];
        }
    }
    return nullptr;
}

Result<Command> parse_command(std::string_view line, CommandOptions options) {
    if (line.size() > options.max_line) {
        return fail(Errc::invalid_argument, "line too long");
    }
    // A NUL or a line break inside a command line is never legitimate (RFC 5321 2.3.8).
    if (line.find_first_of(std::string_view("\0\r\n", 3)) != std::string_view::npos) {
        return fail(Errc::parse, "invalid character in command");
    }
    Command command;
    const auto text = trim_blanks(line);
    auto end = text.find_first_of(" \t");
    if (end == std::string_view::npos) {
        end = text.size();
    }
    command.verb_text = text.substr(0, end);
    command.verb = find_verb(command.verb_text);
    command.argument = trim_blanks(text.substr(end));

    switch (command.verb) {
    case Verb::helo:
    case Verb::ehlo:
        if (command.argument.empty()) {
            return fail(Errc::parse, std::string(verb_name(command.verb)) + " requires a domain");
        }
        break;
    case Verb::mail:
        MXD_TRY(parse_path_command(command, "FROM:", PathKind::reverse, options));
        break;
    case Verb::rcpt:
        MXD_TRY(parse_path_command(command, "TO:", PathKind::forward, options));
        break;
    case Verb::data:
    case Verb::rset:
    case Verb::quit:
    case Verb::starttls:
        // RFC 5321 4.1.1.4, 4.1.1.5, 4.1.1.10; RFC 3207 4: these take no argument.
        if (!command.argument.empty()) {
            return fail(Errc::parse, std::string(verb_name(command.verb)) + " takes no arguments");
        }
        break;
    case Verb::bdat:
    case Verb::auth:
    case Verb::vrfy:
    case Verb::expn:
        if (command.argument.empty()) {
            return fail(Errc::parse,
                        std::string(verb_name(command.verb)) + " requires an argument");
        }
        break;
    case Verb::noop:
    case Verb::help:
    case Verb::unknown:
        break;
    }
    return command;
}

Result<MailParams> parse_mail_params(const Command& command) {
    MailParams out;
    for (const auto& param : command.params()) {
        const auto& key = param.keyword;
        if (iequals(key, "SIZE")) {
            MXD_TRY_ASSIGN(const auto value, required_value(param));
            MXD_TRY_ASSIGN(out.size, parse_number(value, "SIZE"));
        } else if (iequals(key, "BODY")) {
            MXD_TRY_ASSIGN(const auto value, required_value(param));
            if (iequals(value, "7BIT")) {
                out.body = Body::seven_bit;
            } else if (iequals(value, "8BITMIME")) {
                out.body = Body::eight_bit_mime;
            } else if (iequals(value, "BINARYMIME")) {
                out.body = Body::binary_mime;
            } else {
                return fail(Errc::parse, "invalid BODY value");
            }
        } else if (iequals(key, "RET")) {
            MXD_TRY_ASSIGN(const auto value, required_value(param));
            if (iequals(value, "FULL")) {
                out.ret = Ret::full;
            } else if (iequals(value, "HDRS")) {
                out.ret = Ret::hdrs;
            } else {
                return fail(Errc::parse, "invalid RET value");
            }
        } else if (iequals(key, "ENVID")) {
            MXD_TRY_ASSIGN(const auto value, required_value(param));
            // RFC 3461 4.4: ENVID is at most 100 characters (encoded).
            if (value.size() > 100) {
                return fail(Errc::parse, "ENVID too long");
            }
            MXD_TRY_ASSIGN(out.envid, xtext_decode(value));
        } else if (iequals(key, "AUTH")) {
            MXD_TRY_ASSIGN(const auto value, required_value(param));
            if (value == "<>") {
                out.auth = std::string();
            } else {
                MXD_TRY_ASSIGN(out.auth, xtext_decode(value));
            }
        } else if (iequals(key, "SMTPUTF8")) {
            if (param.has_value) {
                return fail(Errc::parse, "SMTPUTF8 takes no value");
            }
            out.smtputf8 = true;
        } else {
            return fail(Errc::unsupported, "unknown parameter " + std::string(key));
        }
    }
    return out;
}

Result<RcptParams> parse_rcpt_params(const Command& command) {
    RcptParams out;
    for (const auto& param : command.params()) {
        const auto& key = param.keyword;
        if (iequals(key, "NOTIFY")) {
            MXD_TRY_ASSIGN(auto value, required_value(param));
            // RFC 3461 4.1: "NEVER" alone, or a comma list of SUCCESS, FAILURE, DELAY.
            while (true) {
                const auto comma = value.find(',');
                const auto item = value.substr(0, comma);
                if (iequals(item, "NEVER")) {
                    out.notify |= notify_never;
                } else if (iequals(item, "SUCCESS")) {
                    out.notify |= notify_success;
                } else if (iequals(item, "FAILURE")) {
                    out.notify |= notify_failure;
                } else if (iequals(item, "DELAY")) {
                    out.notify |= notify_delay;
                } else {
                    return fail(Errc::parse, "invalid NOTIFY value");
                }
                if (comma == std::string_view::npos) {
                    break;
                }
                value.remove_prefix(comma + 1);
            }
            if ((out.notify & notify_never) != 0 && out.notify != notify_never) {
                return fail(Errc::parse, "NOTIFY=NEVER cannot be combined");
            }
        } else if (iequals(key, "ORCPT")) {
            MXD_TRY_ASSIGN(const auto value, required_value(param));
            // RFC 3461 4.2: at most 500 characters; addr-type ";" xtext.
            if (value.size() > 500) {
                return fail(Errc::parse, "ORCPT too long");
            }
            const auto semicolon = value.find(';');
            if (semicolon == std::string_view::npos || semicolon == 0 ||
                semicolon + 1 == value.size()) {
                return fail(Errc::parse, "invalid ORCPT value");
            }
            const auto type = value.substr(0, semicolon);
            if (!valid_keyword(type)) {
                return fail(Errc::parse, "invalid ORCPT address type");
            }
            out.orcpt_type = std::string(type);
            MXD_TRY_ASSIGN(out.orcpt, xtext_decode(value.substr(semicolon + 1)));
        } else {
            return fail(Errc::unsupported, "unknown parameter " + std::string(key));
        }
    }
    return out;
}

Result<BdatArgs> parse_bdat(std::string_view argument) {
    argument = trim_blanks(argument);
    const auto space = argument.find_first_of(" \t");
    BdatArgs out;
    MXD_TRY_ASSIGN(out.size, parse_number(argument.substr(0, space), "chunk size"));
    if (space != std::string_view::npos) {
        if (!iequals(trim_blanks(argument.substr(space)), "LAST")) {
            return fail(Errc::parse, "syntax: BDAT size [LAST]");
        }
        out.last = true;
    }
    return out;
}

Result<std::string> xtext_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '+') {
            if (i + 2 >= text.size()) {
                return fail(Errc::parse, "invalid xtext");
            }
            const int hi = hex_value(text[i + 1]);
            const int lo = hex_value(text[i + 2]);
            if (hi < 0 || lo < 0) {
                return fail(Errc::parse, "invalid xtext");
            }
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else if (c < 33 || c > 126 || c == '=') {
            return fail(Errc::parse, "invalid xtext");
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    return out;
}

std::string xtext_encode(std::string_view text) {
    constexpr std::string_view k_hex = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 33 || c > 126 || c == '+' || c == '=') {
            out.push_back('+');
            out.push_back(k_hex[c >> 4]);
            out.push_back(k_hex[c & 0x0f]);
        } else {
            out.push_back(ch);
        }
    }
    return out;
}

} // namespace core::smtp
