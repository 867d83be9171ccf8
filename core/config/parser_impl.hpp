// SPDX-License-Identifier: ISC
#pragma once

#include "core/config/config.hpp"
#include "core/config/diagnostic.hpp"
#include "core/config/lexer.hpp"
#include "core/config/parser.hpp"
#include "core/table/service.hpp"

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

// Internals of the parser, shared by parser.cpp (modern grammar), legacy.cpp (old grammar),
// check.cpp (checks after parsing) and migrate.cpp. Not for use outside core/config.
namespace core::config::detail {

// Thrown by Parser::fail() once the diagnostic is recorded; it ends the current statement only
// and never leaves the parser.
struct StatementError {};

// A legacy statement of the main file and its modern replacement, for `config migrate`.
struct LegacyEdit {
    int first_line = 0;
    int last_line = 0;
    std::string modern;
};

// The lookup services of table(5), which decide whether a table may be used somewhere.
using core::table::needs_mapping;
using core::table::Service;

class Parser {
  public:
    explicit Parser(const LoadOptions& options);

    // Parses one file's text; depth counts include levels (0 for the main file).
    void parse_text(std::string_view text, const std::filesystem::path& path, int depth);
    // Checks that need the whole file: pki files, unused or shadowed rules, missing match.
    void finish();

    Config m_config;
    std::vector<Diagnostic> m_diagnostics;
    std::vector<LegacyEdit> m_edits;

    // Diagnostics.
    void report(Severity severity, const Location& where, std::string message,
                std::string hint = {});
    [[noreturn]] void fail(const Token& at, std::string message, std::string hint = {});
    void error(const Token& at, std::string message, std::string hint = {});
    void warning(const Token& at, std::string message, std::string hint = {});
    Location location(const Token& at) const;

    // Token cursor over the current statement.
    const Token& cur() const;
    const Token& peek(std::size_t ahead) const;
    bool at_eol() const { return m_pos >= m_tokens.size(); }
    bool is(std::string_view word) const { return cur().is_word(word); }
    bool accept(std::string_view word);
    Token take();
    void expect(std::string_view word, std::string_view context);
    void expect_eol(std::string_view context);
    [[noreturn]] void unexpected(std::string_view context,
                                 const std::vector<std::string_view>& expected);
    std::string value(std::string_view what);
    std::string path_value(std::string_view what);
    long long number(std::string_view what, long long min, long long max);
    long long duration(std::string_view what);
    long long size(std::string_view what);
    std::string table_name(std::string_view what, Service service);
    TableOperand operand(std::string_view what, Service service);
    bool operand_follows(const std::set<std::string_view>& stop) const;
    void use_table(const Token& at, const std::string& name, Service service,
                   std::string_view what);
    void once(std::set<std::string>& seen, const Token& at, std::string_view context);
    void unsupported(const Token& at, std::string_view what);
    // Reports each value of `op` (literal, or the keys of an inline table) that is not an IP
    // address; `what` names the option.
    void check_addresses(const TableOperand& op, std::string_view what);

    // Statements (parser.cpp).
    void statement();
    void macro_definition();
    void include_statement(int depth);
    void table_statement();
    void pki_statement();
    void ca_statement();
    void listen_statement();
    void action_statement();
    void match_statement();
    void smtp_statement();
    void queue_statement();
    void bounce_statement();
    void mta_statement();
    void mda_statement();
    void scheduler_statement();
    void srs_statement();
    void proc_statement();
    void filter_statement();
    void control_statement();
    std::vector<std::string> filter_names(std::string_view context);
    void action_option(Action& action, std::set<std::string>& seen);
    void finish_listener(Listener& listener, const Token& at, const Token* auth_at);

    // Old grammar (legacy.cpp).
    void legacy_rule();
    void legacy_global();
    void legacy_warning(const Token& at, const std::string& modern);
    std::string add_legacy_action(Action action);

    const LoadOptions& m_options;
    std::map<std::string, std::string> m_macros;
    std::map<std::filesystem::path, std::vector<std::string>> m_lines;
    std::filesystem::path m_path;
    int m_depth = 0;
    std::vector<Token> m_tokens;
    std::size_t m_pos = 0;
    Token m_eol;
    int m_first_line = 0;
    int m_last_line = 0;
    bool m_in_legacy_statement = false;
    std::string m_legacy_modern;
    std::map<std::string, std::string> m_legacy_actions; // action text -> generated name
    std::set<std::string> m_builtin_tables_used;
    int m_rule_statements = 0;
    std::map<std::string, int> m_singletons; // one-value settings seen, and their line  // match,
                                             // accept and reject statements, parsed or not
};

// The candidate closest to a mistyped word ("did you mean"), or empty when none is close.
std::string_view suggest(std::string_view word, const std::vector<std::string_view>& candidates);

// The system aliases file that the built-in <aliases> table reads.
std::filesystem::path system_aliases_path();

} // namespace core::config::detail
