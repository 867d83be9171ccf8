// SPDX-License-Identifier: ISC
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

// The smtpd.conf(5) tokenizer: words, quoted strings and punctuation, one statement at a time,
// with `\` line continuation, `#` comments and `$macro` expansion.
namespace core::config {

enum class TokenKind { word, string, lbrace, rbrace, comma, lt, gt, equals, bang, end };

// One token. Quoted strings are never keywords. Positions are 1-based.
struct Token {
    TokenKind kind = TokenKind::end;
    std::string text;
    int line = 0;
    int column = 0;

    bool is_word(std::string_view w) const { return kind == TokenKind::word && text == w; }
    bool is_value() const { return kind == TokenKind::word || kind == TokenKind::string; }
};

// A lexical error: position and message.
struct LexError {
    int line = 0;
    int column = 0;
    std::string message;
};

// Reads statements from one file's text. Macros are looked up through `macros` at the moment
// a statement is read, so that a macro defined on one line is usable on the next.
class Lexer {
  public:
    Lexer(std::string_view text, const std::map<std::string, std::string>& macros);

    // The tokens of the next statement (up to a newline outside braces), without the newline;
    // empty at the end of the input. Errors are appended to `errors`; the statement still comes.
    std::vector<Token> next_statement(std::vector<LexError>& errors);

    // True once the whole input has been read.
    bool at_end() const;

    // The line on which the last statement returned ended.
    int last_line() const { return m_last_line; }

  private:
    int peek(std::size_t ahead = 0) const;
    int get();
    bool read_token(Token& token, std::vector<LexError>& errors, bool& newline);

    std::string_view m_text;
    std::size_t m_pos = 0;
    int m_line = 1;
    int m_column = 1;
    int m_last_line = 0;
    // Text of an expanded macro, read before the rest of the input, all at the `$` position.
    std::string m_pending;
    std::size_t m_pending_pos = 0;
    int m_pending_line = 0;
    int m_pending_column = 0;
    int m_expansions = 0;
    const std::map<std::string, std::string>& m_macros;
};

// OpenSMTPD's rule for characters allowed in an unquoted word.
bool allowed_in_word(int c);

} // namespace core::config
