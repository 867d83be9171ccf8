// SPDX-License-Identifier: ISC
#include "core/config/lexer.hpp"

#include <cctype>

namespace core::config {

namespace {

constexpr int k_eof = -1;
// A macro whose value refers to macros again could loop; OpenSMTPD stops such chains too.
constexpr int k_max_expansions_per_statement = 64;

bool is_macro_char(int c) {
    return c != k_eof && (std::isalnum(c) != 0 || c == '_');
}

} // namespace

bool allowed_in_word(int c) {
    // parse.y allowed_in_string(): alnum, or punctuation other than ( ) { } < > ! = # ,
    if (c == k_eof || c < 0 || c > 127) {
        return c > 127;
    }
    if (std::isalnum(c) != 0) {
        return true;
    }
    if (std::ispunct(c) == 0) {
        return false;
    }
    switch (c) {
    case '(':
    case ')':
    case '{':
    case '}':
    case '<':
    case '>':
    case '!':
    case '=':
    case '#':
    case ',':
    case '"':
    case '\'':
        return false;
    default:
        return true;
    }
}

Lexer::Lexer(std::string_view text, const std::map<std::string, std::string>& macros)
    : m_text(text), m_macros(macros) {}

bool Lexer::at_end() const {
    return m_pending_pos >= m_pending.size() && m_pos >= m_text.size();
}

int Lexer::peek(std::size_t ahead) const {
    const std::size_t pending_left = m_pending.size() - m_pending_pos;
    if (ahead < pending_left) {
        return static_cast<unsigned char>(m_pending[m_pending_pos + ahead]);
    }
    ahead -= pending_left;
    if (m_pos + ahead < m_text.size()) {
        return static_cast<unsigned char>(m_text[m_pos + ahead]);
    }
    return k_eof;
}

int Lexer::get() {
    if (m_pending_pos < m_pending.size()) {
        return static_cast<unsigned char>(m_pending[m_pending_pos++]);
    }
    if (m_pos >= m_text.size()) {
        return k_eof;
    }
    const int c = static_cast<unsigned char>(m_text[m_pos++]);
    if (c == '\n') {
        ++m_line;
        m_column = 1;
    } else {
        ++m_column;
    }
    return c;
}

std::vector<Token> Lexer::next_statement(std::vector<LexError>& errors) {
    std::vector<Token> tokens;
    int depth = 0;
    m_expansions = 0;
    for (;;) {
        Token token;
        bool newline = false;
        if (!read_token(token, errors, newline)) {
            break;
        }
        if (newline) {
            if (depth > 0) {
                continue; // inline tables may span lines (OpenSMTPD 7.5+)
            }
            if (tokens.empty()) {
                continue; // blank or comment-only line
            }
            break;
        }
        if (token.kind == TokenKind::lbrace) {
            ++depth;
        } else if (token.kind == TokenKind::rbrace && depth > 0) {
            --depth;
        }
        m_last_line = token.line;
        tokens.push_back(std::move(token));
    }
    return tokens;
}

bool Lexer::read_token(Token& token, std::vector<LexError>& errors, bool& newline) {
    for (;;) {
        int c = peek();
        if (c == ' ' || c == '\t' || c == '\r') {
            get();
            continue;
        }
        if (c == '\\' && (peek(1) == '\n' || (peek(1) == '\r' && peek(2) == '\n'))) {
            get();
            if (peek() == '\r') {
                get();
            }
            get();
            continue;
        }
        if (c == '#') {
            while (peek() != '\n' && peek() != k_eof) {
                get();
            }
            continue;
        }
        break;
    }
    const bool from_pending = m_pending_pos < m_pending.size();
    token.line = from_pending ? m_pending_line : m_line;
    token.column = from_pending ? m_pending_column : m_column;
    const int c = peek();
    if (c == k_eof) {
        return false;
    }
    if (c == '\n') {
        get();
        newline = true;
        return true;
    }
    switch (c) {
    case '{':
        get();
        token.kind = TokenKind::lbrace;
        token.text = "{";
        return true;
    case '}':
        get();
        token.kind = TokenKind::rbrace;
        token.text = "}";
        return true;
    case ',':
        get();
        token.kind = TokenKind::comma;
        token.text = ",";
        return true;
    case '<':
        get();
        token.kind = TokenKind::lt;
        token.text = "<";
        return true;
    case '>':
        get();
        token.kind = TokenKind::gt;
        token.text = ">";
        return true;
    case '!':
        get();
        token.kind = TokenKind::bang;
        token.text = "!";
        return true;
    case '=':
        get();
        token.kind = TokenKind::equals;
        token.text = "=";
        if (peek() == '>') { // `k => v` in inline tables
            get();
            token.text = "=>";
        }
        return true;
    case '"':
    case '\'': {
        const int quote = get();
        token.kind = TokenKind::string;
        for (;;) {
            int d = get();
            // Deliberate deviation: parse.y lets a quoted string run over a newline (dropping
            // it), so a missing quote swallows the rest of the file; mxd reports the quote.
            if (d == k_eof || d == '\n') {
                errors.push_back({token.line, token.column, "unterminated quoted string"});
                if (d == '\n') {
                    newline = false;
                    // Keep the statement boundary: the caller sees the newline next time.
                    --m_pos;
                    --m_line;
                }
                return true;
            }
            if (d == quote) {
                break;
            }
            if (d == '\\') {
                // parse.y escapes only the quote, a blank and the newline; any other backslash,
                // a doubled one included, stays in the string (regexes rely on it).
                const int e = peek();
                if (e == quote || e == ' ' || e == '\t') {
                    token.text += static_cast<char>(get());
                    continue;
                }
                if (e == '\n') {
                    get();
                    continue;
                }
            }
            token.text += static_cast<char>(d);
        }
        return true;
    }
    case '$': {
        get();
        std::string name;
        while (is_macro_char(peek())) {
            name += static_cast<char>(get());
        }
        if (name.empty()) {
            errors.push_back({token.line, token.column, "'$' must be followed by a macro name"});
            token.kind = TokenKind::word;
            token.text = "$";
            return true;
        }
        const auto it = m_macros.find(name);
        if (it == m_macros.end()) {
            errors.push_back({token.line, token.column, "macro '" + name + "' not defined"});
            token.kind = TokenKind::word;
            token.text = "$" + name;
            return true;
        }
        if (++m_expansions > k_max_expansions_per_statement) {
            errors.push_back({token.line, token.column, "macro '" + name + "' expands too often"});
            token.kind = TokenKind::word;
            token.text = "$" + name;
            return true;
        }
        // Push the value back in front of the input, like parse.y's lungetc() loop.
        m_pending = it->second + m_pending.substr(m_pending_pos);
        m_pending_pos = 0;
        m_pending_line = token.line;
        m_pending_column = token.column;
        return read_token(token, errors, newline);
    }
    default:
        break;
    }
    if (!allowed_in_word(c)) {
        get();
        errors.push_back({token.line, token.column,
                          std::string("unexpected character '") + static_cast<char>(c) + "'"});
        token.kind = TokenKind::word;
        token.text = std::string(1, static_cast<char>(c));
        return true;
    }
    token.kind = TokenKind::word;
    while (allowed_in_word(peek())) {
        token.text += static_cast<char>(get());
    }
    return true;
}

} // namespace core::config
