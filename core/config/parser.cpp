// SPDX-License-Identifier: ISC
#include "core/config/parser.hpp"

#include "core/config/canonical.hpp"
#include "core/config/keywords.hpp"
#include "core/config/parser_impl.hpp"
#include "core/table/table_file_format.hpp"
#include "core/util/limits.hpp"
#include "core/util/strings.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>

namespace core::config {

namespace fs = std::filesystem;

namespace detail {

namespace {

// Tables every configuration has (OpenSMTPD creates them in config.c), plus mxd's <aliases>.
const std::set<std::string_view> k_builtin_tables = {"localhost",      "localnames", "anyhost",
                                                     "anydestination", "getpwnam",   "aliases"};

const std::vector<std::string_view> k_statement_keywords = {
    "include", "table", "pki",    "ca",      "listen", "action",    "match",
    "smtp",    "queue", "bounce", "mta",     "mda",    "scheduler", "srs",
    "filter",  "proc",  "admd",   "control", "accept", "reject"};

std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> lines;
    for (auto line : split(text, '\n')) {
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        lines.emplace_back(line);
    }
    return lines;
}

bool read_text(const fs::path& path, std::string& text, std::string& error) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        error = "is a directory";
        return false;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = std::strerror(errno);
        return false;
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
    if (text.size() > core::limits::k_config_file_max) {
        error = "file too large";
        return false;
    }
    return true;
}

} // namespace

std::string_view suggest(std::string_view word, const std::vector<std::string_view>& candidates) {
    // Optimal string alignment distance: like Levenshtein, but a swap of two neighbouring
    // letters ("relya") is one typo, not two.
    const std::string w = to_lower(word);
    std::string_view best;
    std::size_t best_distance = std::string_view::npos;
    for (auto candidate : candidates) {
        const std::size_t n = w.size();
        const std::size_t m = candidate.size();
        std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
        for (std::size_t i = 0; i <= n; ++i) {
            d[i][0] = i;
        }
        for (std::size_t j = 0; j <= m; ++j) {
            d[0][j] = j;
        }
        for (std::size_t i = 1; i <= n; ++i) {
            for (std::size_t j = 1; j <= m; ++j) {
                const std::size_t cost = w[i - 1] == candidate[j - 1] ? 0 : 1;
                d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
                if (i > 1 && j > 1 && w[i - 1] == candidate[j - 2] &&
                    w[i - 2] == candidate[j - 1]) {
                    d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        if (d[n][m] < best_distance) {
            best_distance = d[n][m];
            best = candidate;
        }
    }
    const std::size_t limit = std::clamp<std::size_t>(word.size() / 3, 1, 3);
    return best_distance <= limit && best_distance > 0 ? best : std::string_view{};
}

fs::path system_aliases_path() {
    std::error_code ec;
    if (fs::exists("/etc/mail/aliases", ec)) {
        return "/etc/mail/aliases";
    }
    return "/etc/aliases";
}

Parser::Parser(const LoadOptions& options) : m_options(options) {
    m_macros = options.macros;
    set_default_limits(m_config);
}

// ---------------------------------------------------------------------------------------------
// Diagnostics

Location Parser::location(const Token& at) const {
    return Location{m_path, at.line, at.column};
}

void Parser::report(Severity severity, const Location& where, std::string message,
                    std::string hint) {
    Diagnostic d;
    d.file = where.file;
    d.line = where.line;
    d.column = where.column;
    d.severity = severity;
    d.message = std::move(message);
    d.hint = std::move(hint);
    const auto it = m_lines.find(where.file);
    if (it != m_lines.end() && where.line > 0 &&
        static_cast<std::size_t>(where.line) <= it->second.size()) {
        d.source_line = it->second[static_cast<std::size_t>(where.line - 1)];
    }
    m_diagnostics.push_back(std::move(d));
}

void Parser::error(const Token& at, std::string message, std::string hint) {
    report(Severity::error, location(at), std::move(message), std::move(hint));
}

void Parser::warning(const Token& at, std::string message, std::string hint) {
    report(Severity::warning, location(at), std::move(message), std::move(hint));
}

void Parser::fail(const Token& at, std::string message, std::string hint) {
    error(at, std::move(message), std::move(hint));
    throw StatementError{};
}

void Parser::unsupported(const Token& at, std::string_view what) {
    error(at, std::string(what) + " is not supported by mxd yet");
}

// ---------------------------------------------------------------------------------------------
// Token cursor

const Token& Parser::cur() const {
    return m_pos < m_tokens.size() ? m_tokens[m_pos] : m_eol;
}

const Token& Parser::peek(std::size_t ahead) const {
    return m_pos + ahead < m_tokens.size() ? m_tokens[m_pos + ahead] : m_eol;
}

bool Parser::accept(std::string_view word) {
    if (is(word)) {
        ++m_pos;
        return true;
    }
    return false;
}

Token Parser::take() {
    Token t = cur();
    if (!at_eol()) {
        ++m_pos;
    }
    return t;
}

namespace {

// True for an IPv4 or IPv6 address in text form.
bool is_ip_address(const std::string& text) {
    in6_addr buffer{};
    return ::inet_pton(AF_INET, text.c_str(), &buffer) == 1 ||
           ::inet_pton(AF_INET6, text.c_str(), &buffer) == 1;
}

} // namespace

void Parser::check_addresses(const TableOperand& op, std::string_view what) {
    for (const auto& v : op.values) {
        if (!is_ip_address(v)) {
            report(Severity::error, op.where,
                   std::string(what) + " '" + v + "' is not an IP address");
        }
    }
    if (!op.is_table()) {
        return;
    }
    // Inline tables are known now; file and db tables are checked when they are loaded.
    const Table* table = m_config.find_table(op.table);
    if (table == nullptr || table->backend != Table::Backend::inline_static) {
        return;
    }
    for (const auto& [key, value] : table->entries) {
        if (!is_ip_address(key)) {
            report(Severity::error, table->where,
                   "table <" + table->name + "> is used for " + std::string(what) + ", but '" +
                       key + "' is not an IP address");
        }
    }
}

namespace {

std::string describe(const Token& t) {
    switch (t.kind) {
    case TokenKind::end:
        return "end of line";
    case TokenKind::string:
        return "\"" + t.text + "\"";
    default:
        return "'" + t.text + "'";
    }
}

std::string expected_list(const std::vector<std::string_view>& expected) {
    std::string out;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        if (i != 0) {
            out += i + 1 == expected.size() ? " or " : ", ";
        }
        out += "'" + std::string(expected[i]) + "'";
    }
    return out;
}

} // namespace

void Parser::unexpected(std::string_view context, const std::vector<std::string_view>& expected) {
    const Token& t = cur();
    std::string hint;
    if (t.kind == TokenKind::word) {
        const auto near = suggest(t.text, expected);
        if (!near.empty()) {
            hint = "did you mean '" + std::string(near) + "'?";
        }
    }
    std::string message;
    if (t.kind == TokenKind::word && !is_keyword(t.text)) {
        message = "unknown keyword '" + t.text + "' in " + std::string(context);
    } else {
        message = "unexpected " + describe(t) + " in " + std::string(context);
    }
    if (hint.empty() && !expected.empty() && expected.size() <= 8) {
        message += "; expected " + expected_list(expected);
    }
    fail(t, message, hint);
}

void Parser::expect(std::string_view word, std::string_view context) {
    if (!accept(word)) {
        unexpected(context, {word});
    }
}

void Parser::expect_eol(std::string_view context) {
    if (!at_eol()) {
        fail(cur(), "unexpected " + describe(cur()) + " at the end of " + std::string(context));
    }
}

std::string Parser::value(std::string_view what) {
    const Token& t = cur();
    if (!t.is_value()) {
        fail(t, "expected " + std::string(what) + ", found " + describe(t));
    }
    return take().text;
}

std::string Parser::path_value(std::string_view what) {
    const Token at = cur();
    std::string path = value(what);
    if (path.empty() || path.front() != '/') {
        error(at, std::string(what) + " must be an absolute path: '" + path + "'");
    }
    return path;
}

long long Parser::number(std::string_view what, long long min, long long max) {
    const Token at = cur();
    const std::string text = value(what);
    long long n = 0;
    bool ok = !text.empty() && text.size() <= 18;
    for (char c : text) {
        if (!std::isdigit(static_cast<unsigned char>(c))) {
            ok = false;
            break;
        }
        n = n * 10 + (c - '0');
    }
    if (!ok) {
        fail(at, "invalid " + std::string(what) + ": '" + text + "' is not a number");
    }
    if (n < min || n > max) {
        fail(at, "invalid " + std::string(what) + ": " + text + " is out of range (" +
                     std::to_string(min) + "-" + std::to_string(max) + ")");
    }
    return n;
}

long long Parser::duration(std::string_view what) {
    // parse.y delaytonum(): a number and a mandatory unit s, m, h or d.
    const Token at = cur();
    const std::string text = value(what);
    long long n = 0;
    std::size_t i = 0;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && i < 12; ++i) {
        n = n * 10 + (text[i] - '0');
    }
    long long factor = 0;
    if (i > 0 && i + 1 == text.size()) {
        switch (text[i]) {
        case 's':
            factor = 1;
            break;
        case 'm':
            factor = 60;
            break;
        case 'h':
            factor = 3600;
            break;
        case 'd':
            factor = 86400;
            break;
        default:
            break;
        }
    }
    if (factor == 0) {
        fail(at, "invalid " + std::string(what) + ": '" + text + "'",
             "a delay is a number followed by s, m, h or d, as in 4h");
    }
    return n * factor;
}

long long Parser::size(std::string_view what) {
    // scan_scaled(3): a number with an optional unit B, K, M, G or T (either case).
    const Token at = cur();
    const std::string text = value(what);
    long long n = 0;
    std::size_t i = 0;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && i < 15; ++i) {
        n = n * 10 + (text[i] - '0');
    }
    long long factor = 1;
    bool ok = i > 0;
    if (ok && i < text.size()) {
        ok = i + 1 == text.size();
        switch (std::toupper(static_cast<unsigned char>(text[i]))) {
        case 'B':
            break;
        case 'K':
            factor = 1024LL;
            break;
        case 'M':
            factor = 1024LL * 1024;
            break;
        case 'G':
            factor = 1024LL * 1024 * 1024;
            break;
        case 'T':
            factor = 1024LL * 1024 * 1024 * 1024;
            break;
        default:
            ok = false;
        }
    }
    if (!ok) {
        fail(at, "invalid " + std::string(what) + ": '" + text + "'",
             "a size is a number with an optional unit K, M or G, as in 35M");
    }
    return n * factor;
}

void Parser::once(std::set<std::string>& seen, const Token& at, std::string_view context) {
    if (!seen.insert(at.text).second) {
        fail(at, "'" + at.text + "' given twice in " + std::string(context));
    }
}

// ---------------------------------------------------------------------------------------------
// Tables

void Parser::use_table(const Token& at, const std::string& name, Service service,
                       std::string_view what) {
    const Table* table = m_config.find_table(name);
    if (table == nullptr && name == "aliases") {
        // mxd extension: <aliases> without a `table aliases` line is the system aliases file,
        // which is what the old default configuration of OpenSMTPD declared.
        Table t;
        t.name = "aliases";
        t.backend = Table::Backend::builtin;
        t.backend_name = "file";
        t.source = system_aliases_path();
        t.kind = Table::Kind::mapping;
        t.where = location(at);
        m_config.tables.push_back(t);
        table = &m_config.tables.back();
    }
    if (table == nullptr && k_builtin_tables.count(name) != 0) {
        Table t;
        t.name = name;
        t.backend = Table::Backend::builtin;
        t.backend_name = name;
        t.kind = name == "getpwnam" ? Table::Kind::mapping : Table::Kind::list;
        t.where = location(at);
        m_config.tables.push_back(t);
        table = &m_config.tables.back();
    }
    if (table == nullptr) {
        std::vector<std::string_view> names;
        for (const auto& t : m_config.tables) {
            names.push_back(t.name);
        }
        const auto near = suggest(name, names);
        fail(at, "undefined table <" + name + ">",
             near.empty() ? "declare it first with `table " + name + " ...`"
                          : "did you mean <" + std::string(near) + ">?");
    }
    // Remembered for `mxctl show tables`.
    for (auto& t : m_config.tables) {
        if (t.name == name && std::find(t.uses.begin(), t.uses.end(), service) == t.uses.end()) {
            t.uses.push_back(service);
        }
    }
    if (table->backend == Table::Backend::builtin) {
        if (name == "getpwnam" && service != Service::userinfo) {
            fail(at, "table <getpwnam> cannot be used for " + std::string(what),
                 "<getpwnam> only serves userinfo lookups (`userbase <getpwnam>`)");
        }
        if (name != "getpwnam" && name != "aliases" && needs_mapping(service)) {
            fail(at, "table <" + name + "> cannot be used for " + std::string(what),
                 "it is a built-in list of addresses or names");
        }
        if (name == "aliases" && service != Service::alias && needs_mapping(service)) {
            fail(at, "table <aliases> cannot be used for " + std::string(what));
        }
        return;
    }
    if (service == Service::userinfo && table->kind == Table::Kind::list) {
        fail(at, "table <" + name + "> is a list, but " + std::string(what) +
                     " needs a mapping of user names to uid:gid:home");
    }
    if (needs_mapping(service) && table->kind == Table::Kind::list) {
        fail(at, "table <" + name + "> is a list, but " + std::string(what) + " needs a mapping",
             "a mapping has a key and a value on each line, or `key = value` inline");
    }
}

std::string Parser::table_name(std::string_view what, Service service) {
    if (cur().kind != TokenKind::lt) {
        fail(cur(), "expected a table reference <name> for " + std::string(what) + ", found " +
                        describe(cur()));
    }
    const Token at = take();
    std::string name = value("table name");
    if (cur().kind != TokenKind::gt) {
        fail(cur(), "expected '>' after table name");
    }
    take();
    use_table(at, name, service, what);
    return name;
}

TableOperand Parser::operand(std::string_view what, Service service) {
    TableOperand op;
    op.where = location(cur());
    if (cur().kind == TokenKind::lt) {
        op.table = table_name(what, service);
        return op;
    }
    if (cur().kind == TokenKind::lbrace) {
        take();
        while (cur().kind != TokenKind::rbrace) {
            op.values.push_back(value("a value in the inline list"));
            if (cur().kind == TokenKind::comma) {
                take();
            } else if (cur().kind != TokenKind::rbrace) {
                fail(cur(), "expected ',' or '}' in inline list, found " + describe(cur()));
            }
        }
        take();
        if (op.values.empty()) {
            error(cur(), "empty inline list for " + std::string(what));
        }
        return op;
    }
    op.values.push_back(value(std::string(what) + " (a value, <table> or { list })"));
    return op;
}

bool Parser::operand_follows(const std::set<std::string_view>& stop) const {
    const Token& t = cur();
    if (t.kind == TokenKind::lt || t.kind == TokenKind::lbrace || t.kind == TokenKind::string) {
        return true;
    }
    return t.kind == TokenKind::word && stop.count(t.text) == 0;
}

// ---------------------------------------------------------------------------------------------
// Files and statements

void Parser::parse_text(std::string_view text, const fs::path& path, int depth) {
    const fs::path saved_path = m_path;
    const int saved_depth = m_depth;
    m_path = path;
    m_depth = depth;
    m_lines[path] = split_lines(text);
    Lexer lexer(text, m_macros);
    while (!lexer.at_end()) {
        std::vector<LexError> lex_errors;
        std::vector<Token> tokens = lexer.next_statement(lex_errors);
        for (const auto& e : lex_errors) {
            report(Severity::error, Location{m_path, e.line, e.column}, e.message);
        }
        if (tokens.empty()) {
            continue;
        }
        m_tokens = std::move(tokens);
        m_pos = 0;
        m_first_line = m_tokens.front().line;
        m_last_line = lexer.last_line();
        const Token& last = m_tokens.back();
        m_eol = Token{TokenKind::end, "", last.line,
                      last.column + static_cast<int>(last.text.size()) +
                          (last.kind == TokenKind::string ? 2 : 0)};
        if (!lex_errors.empty()) {
            continue; // the statement is already reported; parsing it would add noise
        }
        m_in_legacy_statement = false;
        try {
            if (m_tokens.front().is_word("include")) {
                include_statement(depth);
            } else {
                statement();
            }
        } catch (const StatementError&) {
            // Reported already; go on with the next statement so that every error is shown.
        }
    }
    m_path = saved_path;
    m_depth = saved_depth;
}

void Parser::statement() {
    const Token& first = cur();
    if (first.kind == TokenKind::word && peek(1).kind == TokenKind::equals && peek(1).text == "=") {
        macro_definition();
        return;
    }
    if (first.kind != TokenKind::word) {
        fail(first, "expected a statement, found " + describe(first));
    }
    const std::string& w = first.text;
    // Settings that hold one value: a second one would silently replace the first.
    static const std::set<std::string> k_singletons = {"queue directory",
                                                       "queue ttl",
                                                       "queue encryption",
                                                       "smtp max-message-size",
                                                       "smtp sub-addr-delim",
                                                       "smtp ciphers",
                                                       "bounce warn-interval",
                                                       "mta max-deferred",
                                                       "admd",
                                                       "srs ttl",
                                                       "expire",
                                                       "max-message-size",
                                                       "bounce-warn",
                                                       "ciphers",
                                                       "subaddressing-delimiter",
                                                       "max-mta-deferred"};
    const std::string key = peek(1).kind == TokenKind::word && w != "admd" && w != "expire" &&
                                    w.find('-') == std::string::npos && w != "ciphers"
                                ? w + " " + peek(1).text
                                : w;
    if (k_singletons.count(key) != 0) {
        const auto [it, inserted] = m_singletons.emplace(key, first.line);
        if (!inserted) {
            fail(first,
                 "'" + key + "' given twice (also at line " + std::to_string(it->second) + ")");
        }
    }
    if (w == "table") {
        table_statement();
    } else if (w == "pki") {
        pki_statement();
    } else if (w == "ca") {
        ca_statement();
    } else if (w == "listen") {
        listen_statement();
    } else if (w == "action") {
        action_statement();
    } else if (w == "match") {
        match_statement();
    } else if (w == "smtp") {
        smtp_statement();
    } else if (w == "queue") {
        queue_statement();
    } else if (w == "bounce") {
        bounce_statement();
    } else if (w == "mta") {
        mta_statement();
    } else if (w == "mda") {
        mda_statement();
    } else if (w == "scheduler") {
        scheduler_statement();
    } else if (w == "srs") {
        srs_statement();
    } else if (w == "proc") {
        proc_statement();
    } else if (w == "filter") {
        filter_statement();
    } else if (w == "control") {
        control_statement();
    } else if (w == "admd") {
        take();
        m_config.admd = value("an ADMD name");
        expect_eol("admd");
    } else if (w == "accept" || w == "reject") {
        legacy_rule();
    } else if (w == "expire" || w == "max-message-size" || w == "bounce-warn" || w == "ciphers" ||
               w == "subaddressing-delimiter" || w == "max-mta-deferred" || w == "limit") {
        legacy_global();
    } else {
        unexpected("statement", k_statement_keywords);
    }
}

void Parser::macro_definition() {
    const Token name = take();
    take(); // '='
    bool valid = !name.text.empty() && !std::isdigit(static_cast<unsigned char>(name.text[0]));
    for (char c : name.text) {
        valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    }
    if (!valid) {
        fail(name, "invalid macro name '" + name.text + "'",
             "macro names have letters, digits and underscores");
    }
    if (is_keyword(name.text)) {
        fail(name, "'" + name.text + "' is a keyword and cannot be a macro name");
    }
    const std::string text = value("a macro value");
    expect_eol("macro definition");
    // A macro given with -D wins over the file's own definition (smtpd -D).
    if (m_options.macros.count(name.text) == 0) {
        m_macros[name.text] = text;
    }
    m_config.macros[name.text] = m_macros[name.text];
}

void Parser::include_statement(int depth) {
    take();
    const Token at = cur();
    std::string file = value("a file name to include");
    expect_eol("include");
    fs::path path(file);
    if (path.is_relative()) {
        path = m_path.parent_path() / path;
    }
    if (depth + 1 > core::limits::k_config_include_depth_max) {
        fail(at, "includes nested too deeply (more than " +
                     std::to_string(core::limits::k_config_include_depth_max) + " levels)");
    }
    std::string text;
    std::string why;
    if (!read_text(path, text, why)) {
        fail(at, "cannot read included file '" + path.string() + "': " + why);
    }
    const auto saved_tokens = m_tokens;
    const auto saved_pos = m_pos;
    const auto saved_eol = m_eol;
    parse_text(text, path, depth + 1);
    m_tokens = saved_tokens;
    m_pos = saved_pos;
    m_eol = saved_eol;
}

void Parser::table_statement() {
    const Token start = take();
    const Token name_at = cur();
    Table table;
    table.name = value("a table name");
    table.where = location(start);
    for (const auto& t : m_config.tables) {
        if (t.name == table.name && t.backend != Table::Backend::builtin) {
            fail(name_at, "table '" + table.name + "' is already defined");
        }
    }
    if (cur().kind == TokenKind::lbrace) {
        take();
        bool first = true;
        while (cur().kind != TokenKind::rbrace) {
            if (at_eol()) {
                fail(cur(), "missing '}' at the end of inline table");
            }
            const Token entry_at = cur();
            std::string key = value("a table entry");
            std::string val;
            const bool mapping = cur().kind == TokenKind::equals;
            if (mapping) {
                take();
                val = value("the value of '" + key + "'");
            }
            const auto kind = mapping ? Table::Kind::mapping : Table::Kind::list;
            if (first) {
                table.kind = kind;
                first = false;
            } else if (kind != table.kind) {
                fail(entry_at, "inline table '" + table.name +
                                   "' mixes list entries and key = value entries");
            }
            table.entries.emplace_back(std::move(key), std::move(val));
            if (cur().kind == TokenKind::comma) {
                take();
            } else if (cur().kind != TokenKind::rbrace) {
                fail(cur(), "expected ',' or '}' in inline table, found " + describe(cur()));
            }
        }
        take();
        if (table.kind == Table::Kind::unknown) {
            table.kind = Table::Kind::list;
        }
        table.backend = Table::Backend::inline_static;
        table.backend_name = "static";
        expect_eol("table");
        m_config.tables.push_back(std::move(table));
        return;
    }
    const Token source_at = cur();
    const std::string source = value("a table source ([backend:]/path or { ... })");
    expect_eol("table");
    std::string backend = "file";
    std::string path = source;
    const auto colon = source.find(':');
    if (colon != std::string::npos && source.front() != '/') {
        backend = source.substr(0, colon);
        path = source.substr(colon + 1);
    }
    table.backend_name = backend;
    table.source = path;
    if (backend == "file") {
        table.backend = Table::Backend::file;
    } else if (backend == "db") {
        table.backend = Table::Backend::db;
    } else {
        table.backend = Table::Backend::proc;
    }
    if (path.empty() || path.front() != '/') {
        error(source_at, "table path must be absolute: '" + source + "'");
    }
    if (table.backend == Table::Backend::proc) {
        m_config.tables.push_back(table);
        unsupported(source_at, "table backend '" + backend + "'");
        return;
    }
    if (m_options.check_files == CheckFiles::yes && !path.empty() && path.front() == '/') {
        std::error_code ec;
        if (table.backend == Table::Backend::db) {
            if (!fs::is_regular_file(path, ec)) {
                error(
                    source_at,
                    "cannot open table file '" + path + "': " +
                        (fs::exists(path, ec) ? "not a regular file" : "No such file or directory"),
                    "build it with `makemap " +
                        (path.size() > 3 && path.substr(path.size() - 3) == ".db"
                             ? path.substr(0, path.size() - 3)
                             : path) +
                        "`");
            } else {
                std::ifstream in(path, std::ios::binary);
                char header[16] = {};
                in.read(header, sizeof header);
                // makemap writes SQLite databases; an empty file is an empty database.
                if (in.gcount() > 0 &&
                    std::string_view(header, static_cast<std::size_t>(in.gcount())) !=
                        std::string_view("SQLite format 3\0", 16)) {
                    error(source_at,
                          "table file '" + path + "' is not a database built by makemap");
                }
            }
        } else {
            auto parsed = core::table::read_table_file(path);
            if (!parsed) {
                error(source_at, "cannot read table file: " + parsed.error().message);
            } else {
                for (const auto& e : parsed->errors) {
                    std::string text;
                    std::string why;
                    if (m_lines.count(path) == 0 && read_text(path, text, why)) {
                        m_lines[path] = split_lines(text);
                    }
                    report(Severity::error, Location{path, e.line, 1}, e.message);
                }
                table.kind = parsed->kind == core::table::FileKind::list ? Table::Kind::list
                                                                         : Table::Kind::mapping;
                if (parsed->entries.empty()) {
                    table.kind = Table::Kind::unknown; // an empty file serves as either
                }
            }
        }
    }
    m_config.tables.push_back(std::move(table));
}

void Parser::pki_statement() {
    const Token start = take();
    const std::string name = value("a pki name");
    Pki* pki = nullptr;
    for (auto& p : m_config.pkis) {
        if (p.name == name) {
            pki = &p;
        }
    }
    if (pki == nullptr) {
        m_config.pkis.push_back(Pki{name, {}, {}, {}, location(start), {}, {}});
        pki = &m_config.pkis.back();
    }
    const Token kw = cur();
    if (accept("cert") || accept("certificate")) {
        if (!pki->cert.empty()) {
            fail(kw, "pki '" + name + "' has its certificate given twice");
        }
        const Token file_at = cur();
        pki->cert = path_value("certificate file");
        pki->cert_where = location(file_at);
        expect_eol("pki");
        if (kw.text == "certificate") {
            Pki modern{name, pki->cert, {}, {}, {}, {}, {}};
            legacy_warning(kw, format_pki(modern));
        }
    } else if (accept("key")) {
        if (!pki->key.empty()) {
            fail(kw, "pki '" + name + "' has its key given twice");
        }
        const Token file_at = cur();
        pki->key = path_value("key file");
        pki->key_where = location(file_at);
        expect_eol("pki");
    } else if (accept("dhe")) {
        const Token at = cur();
        const std::string dhe = value("dhe parameter (none, legacy or auto)");
        if (dhe != "none" && dhe != "legacy" && dhe != "auto") {
            fail(at, "invalid dhe parameter '" + dhe + "'", "use none, legacy or auto");
        }
        pki->dhe = dhe;
        expect_eol("pki");
    } else {
        unexpected("pki", {"cert", "key", "dhe"});
    }
}

void Parser::ca_statement() {
    const Token start = take();
    const std::string name = value("a ca name");
    const Token kw = cur();
    if (!accept("cert") && !accept("certificate")) {
        unexpected("ca", {"cert"});
    }
    for (const auto& c : m_config.cas) {
        if (c.name == name) {
            fail(start, "ca '" + name + "' is already defined");
        }
    }
    const std::string file = path_value("ca certificate file");
    expect_eol("ca");
    m_config.cas.push_back(Ca{name, file, location(start)});
    if (kw.text == "certificate") {
        legacy_warning(kw, "ca " + quote(name) + " cert " + quote_always(file));
    }
}

namespace {

bool parse_port_name(const std::string& text, std::uint16_t& port) {
    static const std::map<std::string, std::uint16_t> k_known = {
        {"smtp", 25}, {"smtps", 465}, {"submissions", 465}, {"submission", 587}, {"lmtp", 24}};
    const auto it = k_known.find(text);
    if (it != k_known.end()) {
        port = it->second;
        return true;
    }
    if (const servent* s = getservbyname(text.c_str(), "tcp"); s != nullptr) {
        port = ntohs(static_cast<std::uint16_t>(s->s_port));
        return true;
    }
    return false;
}

} // namespace

void Parser::listen_statement() {
    const Token start = take();
    expect("on", "listen");
    Listener l;
    l.where = location(start);
    std::set<std::string> seen;
    const Token* auth_at = nullptr;
    Token auth_token;
    if (accept("socket")) {
        l.kind = Listener::Kind::socket;
        l.interface = "socket";
        while (!at_eol()) {
            const Token kw = cur();
            if (accept("mask-src")) {
                once(seen, kw, "listen on socket");
                l.mask_src = true;
            } else if (accept("no-dsn")) {
                once(seen, kw, "listen on socket");
                l.no_dsn = true;
            } else if (accept("tag")) {
                once(seen, kw, "listen on socket");
                l.tag = value("a tag");
            } else if (accept("filter")) {
                once(seen, kw, "listen on socket");
                l.filters = filter_names("listen on socket");
                unsupported(kw, "filter");
            } else if (accept("senders")) {
                // mxd extension: the addresses a local user may give sendmail -f, by login name.
                once(seen, kw, "listen on socket");
                l.senders_table = table_name("senders", Service::mailaddrmap);
                l.masquerade = accept("masquerade");
            } else {
                unexpected("listen on socket", {"mask-src", "no-dsn", "tag", "filter", "senders"});
            }
        }
        for (const auto& other : m_config.listeners) {
            if (other.kind == Listener::Kind::socket) {
                fail(start, "listen on socket given twice");
            }
        }
        m_config.listeners.push_back(std::move(l));
        return;
    }
    l.interface = value("an interface, address or host name");
    static const std::vector<std::string_view> k_options = {
        "inet4", "inet6",    "port",      "tls",      "tls-require",   "smtps",    "pki",
        "ca",    "ciphers",  "protocols", "auth",     "auth-optional", "hostname", "hostnames",
        "tag",   "mask-src", "no-dsn",    "proxy-v2", "received-auth", "senders",  "filter"};
    while (!at_eol()) {
        const Token kw = cur();
        const std::string& w = kw.text;
        if (kw.kind != TokenKind::word) {
            unexpected("listen on", k_options);
        }
        if (w == "inet4" || w == "inet6") {
            take();
            if (!seen.insert("family").second) {
                fail(kw, "address family given twice in listen on");
            }
            l.family = w == "inet4" ? Family::inet4 : Family::inet6;
        } else if (w == "port") {
            take();
            once(seen, kw, "listen on");
            const Token at = cur();
            const std::string p = value("a port");
            std::uint16_t port = 0;
            if (!p.empty() && std::all_of(p.begin(), p.end(), [](char c) {
                    return std::isdigit(static_cast<unsigned char>(c));
                })) {
                // mxd extension: port 0 lets the kernel choose (tests read the port back).
                if (p.size() > 5 || std::stol(p) > 65535) {
                    fail(at, "invalid port: " + p);
                }
                port = static_cast<std::uint16_t>(std::stol(p));
            } else if (!parse_port_name(p, port)) {
                fail(at, "invalid port: '" + p + "' is not a number or a known service");
            }
            l.port = port;
            l.port_given = true;
        } else if (w == "tls" || w == "tls-require" || w == "smtps") {
            take();
            if (!seen.insert("tls-mode").second) {
                fail(kw, "TLS mode given twice in listen on",
                     "use one of tls, tls-require and smtps");
            }
            l.tls = w == "tls" ? Listener::Tls::starttls
                               : (w == "smtps" ? Listener::Tls::smtps : Listener::Tls::require);
            if (w != "tls" && accept("verify")) {
                l.tls_verify = true;
            }
        } else if (w == "pki") {
            take();
            const Token at = cur();
            const std::string name = value("a pki name");
            if (m_config.find_pki(name) == nullptr) {
                std::vector<std::string_view> names;
                for (const auto& p : m_config.pkis) {
                    names.push_back(p.name);
                }
                const auto near = suggest(name, names);
                fail(at, "undefined pki '" + name + "'",
                     near.empty() ? "declare it first with `pki " + name + " cert ...` and `pki " +
                                        name + " key ...`"
                                  : "did you mean '" + std::string(near) + "'?");
            }
            if (std::find(l.pki.begin(), l.pki.end(), name) != l.pki.end()) {
                fail(at, "pki '" + name + "' given twice in listen on");
            }
            l.pki.push_back(name);
        } else if (w == "ca") {
            take();
            once(seen, kw, "listen on");
            const Token at = cur();
            l.ca = value("a ca name");
            if (m_config.find_ca(l.ca) == nullptr) {
                fail(at, "undefined ca '" + l.ca + "'");
            }
        } else if (w == "ciphers") {
            take();
            once(seen, kw, "listen on");
            l.ciphers = value("a cipher list");
        } else if (w == "protocols") {
            take();
            once(seen, kw, "listen on");
            l.protocols = value("a protocol list");
        } else if (w == "auth" || w == "auth-optional") {
            take();
            if (!seen.insert("auth").second) {
                fail(kw, "auth given twice in listen on", "use one of auth and auth-optional");
            }
            l.auth = w == "auth" ? Listener::Auth::required : Listener::Auth::optional;
            auth_token = kw;
            auth_at = &auth_token;
            if (cur().kind == TokenKind::lt) {
                l.auth_table = table_name("auth (credentials)", Service::credentials);
            }
        } else if (w == "hostname") {
            take();
            once(seen, kw, "listen on");
            l.hostname = value("a host name");
        } else if (w == "hostnames") {
            take();
            once(seen, kw, "listen on");
            l.hostnames_table = table_name("hostnames", Service::addrname);
        } else if (w == "tag") {
            take();
            once(seen, kw, "listen on");
            const Token at = cur();
            l.tag = value("a tag");
            if (l.tag.size() >= 32) {
                fail(at, "tag name too long (at most 31 characters)");
            }
        } else if (w == "mask-src" || w == "mask-source") {
            take();
            if (!seen.insert("mask-src").second) {
                fail(kw, "'mask-src' given twice in listen on");
            }
            l.mask_src = true;
            if (w == "mask-source") {
                m_in_legacy_statement = true;
            }
        } else if (w == "no-dsn") {
            take();
            once(seen, kw, "listen on");
            l.no_dsn = true;
        } else if (w == "proxy-v2") {
            take();
            once(seen, kw, "listen on");
            l.proxy_v2 = true;
            unsupported(kw, "proxy-v2");
        } else if (w == "received-auth") {
            take();
            once(seen, kw, "listen on");
            l.received_auth = true;
        } else if (w == "senders") {
            take();
            once(seen, kw, "listen on");
            l.senders_table = table_name("senders", Service::mailaddrmap);
            l.masquerade = accept("masquerade");
        } else if (w == "filter") {
            take();
            once(seen, kw, "listen on");
            l.filters = filter_names("listen on");
            unsupported(kw, "filter");
        } else if (w == "certificate") {
            // 5.x allowed `listen on ... certificate NAME`; it became `pki NAME`.
            take();
            const std::string name = value("a pki name");
            fail(kw, "'certificate' is not a listen option", "write `pki " + name + "`");
        } else {
            unexpected("listen on", k_options);
        }
    }
    finish_listener(l, start, auth_at);
    if (m_in_legacy_statement) {
        legacy_warning(start, format_listener(l));
    }
    m_config.listeners.push_back(std::move(l));
}

void Parser::finish_listener(Listener& l, const Token& at, const Token* auth_at) {
    if (!l.port_given) {
        l.port = l.tls == Listener::Tls::smtps ? 465 : 25;
    }
    if (l.tls != Listener::Tls::none && l.pki.empty()) {
        error(at, "listen on " + l.interface + ": tls, tls-require and smtps need a pki",
              "add `pki NAME` with a pki declared by `pki NAME cert ...` and `pki NAME key ...`");
    }
    if (l.tls == Listener::Tls::none && !l.pki.empty()) {
        error(at, "listen on " + l.interface + ": pki is given without tls, tls-require or smtps");
    }
    if (auth_at != nullptr && l.tls == Listener::Tls::none) {
        error(*auth_at, "auth needs tls, tls-require or smtps on the same listener",
              "AUTH is only offered over TLS (passwords would travel in clear)");
    }
    if (l.masquerade && l.senders_table.empty()) {
        error(at, "masquerade needs senders <table>");
    }
}

std::vector<std::string> Parser::filter_names(std::string_view context) {
    std::vector<std::string> names;
    const auto check = [&](const Token& at, const std::string& name) {
        const bool known = std::any_of(m_config.filters.begin(), m_config.filters.end(),
                                       [&](const Filter& f) { return f.name == name; });
        if (!known) {
            error(at, "undefined filter '" + name + "'",
                  "declare it first with `filter " + name + " ...`");
        }
    };
    if (cur().kind == TokenKind::lbrace) {
        take();
        while (cur().kind != TokenKind::rbrace) {
            check(cur(), cur().text);
            names.push_back(value("a filter name"));
            if (cur().kind == TokenKind::comma) {
                take();
            } else if (cur().kind != TokenKind::rbrace) {
                fail(cur(), "expected ',' or '}' in filter chain of " + std::string(context));
            }
        }
        take();
        return names;
    }
    check(cur(), cur().text);
    names.push_back(value("a filter name"));
    return names;
}

void Parser::action_statement() {
    const Token start = take();
    const Token name_at = cur();
    Action a;
    a.where = location(start);
    a.name = value("an action name");
    if (m_config.find_action(a.name) != nullptr) {
        fail(name_at, "action '" + a.name + "' is already defined");
    }
    const Token method = cur();
    const std::string& m = method.text;
    static const std::vector<std::string_view> k_methods = {
        "mbox", "maildir", "lmtp", "mda", "forward-only", "expand-only", "relay"};
    static const std::set<std::string_view> k_local_options = {
        "alias", "virtual", "userbase", "user", "wrapper", "ttl", "junk"};
    if (method.kind != TokenKind::word) {
        unexpected("action", k_methods);
    }
    if (m == "mbox") {
        take();
        a.method = Action::Method::mbox;
    } else if (m == "maildir") {
        take();
        a.method = Action::Method::maildir;
        if (operand_follows(k_local_options)) {
            const Token at = cur();
            a.destination = value("a maildir path");
            // `~/Maildir` is relative to the user's home and `%{...}` is expanded per recipient.
            if (a.destination.front() != '/' && a.destination.front() != '~' &&
                a.destination.rfind("%{", 0) != 0) {
                error(at, "maildir path must be absolute, start with ~ or a %{...} format: '" +
                              a.destination + "'");
            }
        }
        a.junk = accept("junk");
    } else if (m == "lmtp") {
        take();
        a.method = Action::Method::lmtp;
        a.destination = value("an LMTP destination (host:port or /socket)");
        a.lmtp_rcpt_to = accept("rcpt-to");
    } else if (m == "mda") {
        take();
        a.method = Action::Method::mda;
        a.destination = value("an MDA command");
    } else if (m == "forward-only") {
        take();
        a.method = Action::Method::forward_only;
    } else if (m == "expand-only") {
        take();
        a.method = Action::Method::expand_only;
    } else if (m == "relay") {
        take();
        a.method = Action::Method::relay;
    } else {
        unexpected("action", k_methods);
    }
    std::set<std::string> seen;
    while (!at_eol()) {
        action_option(a, seen);
    }
    if (a.method == Action::Method::relay) {
        if (a.backup && (!a.host.empty() || !a.domain_table.empty())) {
            error(start, "action '" + a.name + "': backup cannot be combined with host or domain");
        }
        if (!a.relay_auth_table.empty() && a.host.empty()) {
            error(start, "action '" + a.name + "': auth needs host",
                  "relay authentication is done with a smarthost");
        }
        if (!a.host.empty() && !a.domain_table.empty()) {
            error(start, "action '" + a.name + "': host and domain cannot be combined");
        }
    } else {
        if (!a.alias_table.empty() && !a.virtual_table.empty()) {
            error(start, "action '" + a.name + "': alias and virtual cannot be combined");
        }
        if (!a.user.empty() &&
            (a.method == Action::Method::mbox || a.method == Action::Method::forward_only ||
             a.method == Action::Method::expand_only)) {
            error(start, "action '" + a.name +
                             "': user cannot be used with mbox, forward-only or expand-only");
        }
    }
    m_config.actions.push_back(std::move(a));
}

void Parser::action_option(Action& a, std::set<std::string>& seen) {
    const Token kw = cur();
    const std::string& w = kw.text;
    const bool relay = a.method == Action::Method::relay;
    static const std::vector<std::string_view> k_local = {"alias", "virtual", "userbase",
                                                          "user",  "wrapper", "ttl"};
    static const std::vector<std::string_view> k_relay = {
        "backup", "helo", "helo-src", "domain",  "host",      "tls", "auth",   "mail-from",
        "src",    "pki",  "ca",       "ciphers", "protocols", "srs", "filter", "ttl"};
    if (kw.kind != TokenKind::word) {
        unexpected("action", relay ? k_relay : k_local);
    }
    if (w == "ttl") {
        take();
        once(seen, kw, "action");
        a.ttl = duration("ttl");
        return;
    }
    if (!relay) {
        if (w == "alias") {
            take();
            once(seen, kw, "action");
            a.alias_table = table_name("alias", Service::alias);
        } else if (w == "virtual") {
            take();
            once(seen, kw, "action");
            a.virtual_table = table_name("virtual", Service::alias);
        } else if (w == "userbase") {
            take();
            once(seen, kw, "action");
            a.userbase_table = table_name("userbase", Service::userinfo);
        } else if (w == "user") {
            take();
            once(seen, kw, "action");
            a.user = value("a user name");
        } else if (w == "wrapper") {
            take();
            once(seen, kw, "action");
            const Token at = cur();
            a.wrapper = value("a wrapper name");
            if (m_config.mda.wrappers.count(a.wrapper) == 0) {
                fail(at, "undefined mda wrapper '" + a.wrapper + "'",
                     "declare it first with `mda wrapper " + a.wrapper + " \"command\"`");
            }
        } else if (std::find(k_relay.begin(), k_relay.end(), w) != k_relay.end()) {
            fail(kw, "'" + w + "' is an option of relay actions, not of local deliveries");
        } else {
            unexpected("action", k_local);
        }
        return;
    }
    if (w == "backup") {
        take();
        once(seen, kw, "action");
        a.backup = true;
        if (accept("mx")) {
            a.backup_mx = value("an MX name");
        }
    } else if (w == "helo") {
        take();
        once(seen, kw, "action");
        a.helo = value("a HELO name");
    } else if (w == "helo-src") {
        take();
        once(seen, kw, "action");
        a.helo_src_table = table_name("helo-src", Service::addrname);
        TableOperand op;
        op.table = a.helo_src_table;
        check_addresses(op, "helo-src");
    } else if (w == "domain") {
        take();
        once(seen, kw, "action");
        a.domain_table = table_name("domain (relay hosts per domain)", Service::relayhost);
    } else if (w == "host") {
        take();
        once(seen, kw, "action");
        if (cur().kind == TokenKind::lt) {
            a.host = table_name("host", Service::relayhost_list);
            a.host_is_table = true;
            // OpenSMTPD's grammar takes a list of relay URLs here, but smtpd.conf(5) documents
            // only `host relay-url`, so its meaning is not defined well enough to copy.
            error(kw, "relay host <table> is not supported by mxd yet (smtpd.conf(5) defines only "
                      "host relay-url)",
                  "use host with one relay URL, or domain <table> to map each domain to one");
        } else {
            const Token at = cur();
            a.host = value("a relay URL");
            static const std::vector<std::string_view> k_schemes = {"smtp", "smtp+tls",
                                                                    "smtp+notls", "smtps", "lmtp"};
            const auto sep = a.host.find("://");
            if (sep != std::string::npos) {
                const std::string scheme = a.host.substr(0, sep);
                if (std::find(k_schemes.begin(), k_schemes.end(), scheme) == k_schemes.end()) {
                    const auto near = suggest(scheme, k_schemes);
                    fail(at, "unknown relay URL scheme '" + scheme + "'",
                         near.empty() ? "use smtp, smtp+tls, smtp+notls, smtps or lmtp"
                                      : "did you mean '" + std::string(near) + "'?");
                }
                if (scheme == "lmtp" && a.host.find(':', sep + 3) == std::string::npos) {
                    fail(at, "an lmtp:// relay URL needs a port");
                }
            }
            if (a.host.empty() || a.host.substr(sep == std::string::npos ? 0 : sep + 3).empty()) {
                fail(at, "relay URL without a host");
            }
        }
    } else if (w == "tls") {
        take();
        once(seen, kw, "action");
        a.tls_given = true;
        a.relay_tls =
            accept("no-verify") ? Action::RelayTls::no_verify : Action::RelayTls::required;
    } else if (w == "auth") {
        take();
        once(seen, kw, "action");
        a.relay_auth_table = table_name("relay auth (credentials)", Service::credentials);
    } else if (w == "mail-from") {
        take();
        once(seen, kw, "action");
        a.mail_from = value("a sender address");
    } else if (w == "src") {
        take();
        once(seen, kw, "action");
        a.src = operand("src", Service::source);
        check_addresses(a.src, "src");
    } else if (w == "pki") {
        take();
        once(seen, kw, "action");
        const Token at = cur();
        a.relay_pki = value("a pki name");
        if (m_config.find_pki(a.relay_pki) == nullptr) {
            fail(at, "undefined pki '" + a.relay_pki + "'");
        }
    } else if (w == "ca") {
        take();
        once(seen, kw, "action");
        const Token at = cur();
        a.relay_ca = value("a ca name");
        if (m_config.find_ca(a.relay_ca) == nullptr) {
            fail(at, "undefined ca '" + a.relay_ca + "'");
        }
    } else if (w == "ciphers") {
        take();
        once(seen, kw, "action");
        a.ciphers = value("a cipher list");
    } else if (w == "protocols") {
        take();
        once(seen, kw, "action");
        a.protocols = value("a protocol list");
    } else if (w == "srs") {
        take();
        once(seen, kw, "action");
        a.srs = true;
        if (m_config.srs.key.empty()) {
            error(kw, "srs in an action needs an `srs key`");
        }
        unsupported(kw, "srs");
    } else if (w == "filter") {
        take();
        once(seen, kw, "action");
        a.filters = filter_names("action");
        unsupported(kw, "filter");
    } else if (std::find(k_local.begin(), k_local.end(), w) != k_local.end()) {
        fail(kw, "'" + w + "' is an option of local deliveries, not of relay actions");
    } else {
        unexpected("relay action", k_relay);
    }
}

void Parser::match_statement() {
    const Token start = take();
    ++m_rule_statements;
    Rule r;
    r.where = location(start);
    static const std::vector<std::string_view> k_criteria = {
        "from", "for", "auth", "helo", "mail-from", "rcpt-to", "tag", "tls", "action", "reject"};
    static const std::set<std::string_view> k_stop = {
        "from", "for", "auth", "helo", "mail-from", "rcpt-to", "tag", "tls", "action", "reject"};
    auto criterion = [&](Criterion& c, const Token& kw, bool negated, Service service,
                         std::string_view what, bool optional_operand) {
        if (c.present) {
            fail(kw, std::string(what) + " given twice in match");
        }
        c.present = true;
        c.negated = negated;
        if (accept("regex")) {
            c.regex = true;
            c.operand = operand(what, Service::regex);
            return;
        }
        if (optional_operand && !operand_follows(k_stop)) {
            return;
        }
        if (!optional_operand && at_eol()) {
            fail(cur(), std::string(what) + " needs a value, <table> or { list }");
        }
        c.operand = operand(what, service);
    };
    for (;;) {
        if (at_eol()) {
            fail(cur(), "match rule without 'action NAME' or 'reject'");
        }
        bool negated = false;
        const Token bang = cur();
        if (cur().kind == TokenKind::bang) {
            take();
            negated = true;
        }
        const Token kw = cur();
        if (kw.is_word("action") || kw.is_word("reject")) {
            if (negated) {
                fail(bang, "'!' cannot negate " + kw.text);
            }
            break;
        }
        if (kw.kind != TokenKind::word) {
            unexpected("match", k_criteria);
        }
        const std::string& w = kw.text;
        if (w == "from") {
            take();
            if (r.from_given) {
                fail(kw, "from given twice in match");
            }
            r.from_given = true;
            r.from_negated = negated;
            const Token what = cur();
            if (accept("any")) {
                r.from = Rule::From::any;
            } else if (accept("local")) {
                r.from = Rule::From::local;
            } else if (accept("socket")) {
                r.from = Rule::From::socket;
            } else if (accept("src")) {
                r.from = Rule::From::src;
                r.from_regex = accept("regex");
                r.from_operand =
                    operand("from src", r.from_regex ? Service::regex : Service::netaddr);
            } else if (accept("rdns")) {
                r.from = Rule::From::rdns;
                r.from_regex = accept("regex");
                if (r.from_regex || operand_follows(k_stop)) {
                    r.from_operand =
                        operand("from rdns", r.from_regex ? Service::regex : Service::domain);
                }
            } else if (accept("auth")) {
                // parse.y: `from auth` means from any host, with the auth criterion set.
                r.from = Rule::From::auth;
                r.from_negated = false;
                criterion(r.auth, what, negated, Service::string, "auth", true);
            } else if (accept("mail-from")) {
                r.from = Rule::From::mail_from;
                r.from_negated = false;
                criterion(r.mail_from, what, negated, Service::mailaddr, "mail-from", false);
            } else {
                unexpected("match from",
                           {"any", "local", "socket", "src", "rdns", "auth", "mail-from"});
            }
        } else if (w == "for") {
            take();
            if (r.for_given) {
                fail(kw, "for given twice in match");
            }
            r.for_given = true;
            r.for_negated = negated;
            const Token what = cur();
            if (accept("any")) {
                r.for_ = Rule::For::any;
            } else if (accept("local")) {
                r.for_ = Rule::For::local;
            } else if (accept("domain")) {
                r.for_ = Rule::For::domain;
                r.for_regex = accept("regex");
                r.for_operand =
                    operand("for domain", r.for_regex ? Service::regex : Service::domain);
            } else if (accept("rcpt-to")) {
                r.for_ = Rule::For::rcpt_to;
                r.for_negated = false;
                criterion(r.rcpt_to, what, negated, Service::mailaddr, "rcpt-to", false);
            } else {
                unexpected("match for", {"any", "local", "domain", "rcpt-to"});
            }
        } else if (w == "auth") {
            take();
            criterion(r.auth, kw, negated, Service::string, "auth", true);
        } else if (w == "helo") {
            take();
            criterion(r.helo, kw, negated, Service::domain, "helo", false);
        } else if (w == "mail-from") {
            take();
            criterion(r.mail_from, kw, negated, Service::mailaddr, "mail-from", false);
        } else if (w == "rcpt-to") {
            take();
            criterion(r.rcpt_to, kw, negated, Service::mailaddr, "rcpt-to", false);
        } else if (w == "tag") {
            take();
            criterion(r.tag, kw, negated, Service::string, "tag", false);
        } else if (w == "tls") {
            take();
            if (r.tls.present) {
                fail(kw, "tls given twice in match");
            }
            r.tls.present = true;
            r.tls.negated = negated;
        } else {
            unexpected("match", k_criteria);
        }
    }
    if (accept("reject")) {
        r.reject = true;
    } else {
        take(); // action
        const Token at = cur();
        r.action = value("an action name");
        if (m_config.find_action(r.action) == nullptr) {
            std::vector<std::string_view> names;
            for (const auto& a : m_config.actions) {
                names.push_back(a.name);
            }
            const auto near = suggest(r.action, names);
            fail(at, "undefined action '" + r.action + "'",
                 near.empty() ? "declare it before the match with `action \"" + r.action + "\" ...`"
                              : "did you mean '" + std::string(near) + "'?");
        }
    }
    expect_eol("match");
    m_config.rules.push_back(std::move(r));
}

void Parser::smtp_statement() {
    take();
    if (accept("limit")) {
        if (at_eol()) {
            fail(cur(), "smtp limit needs max-mails, max-rcpt, max-sessions or max-sessions-per-client");
        }
        while (!at_eol()) {
            if (accept("max-mails")) {
                m_config.smtp.max_mails = number("max-mails", 1, 1000000000);
            } else if (accept("max-rcpt")) {
                m_config.smtp.max_rcpt = number("max-rcpt", 1, 1000000000);
            } else if (accept("max-sessions")) {
                m_config.smtp.max_sessions = number("max-sessions", 1, 1000000);
            } else if (accept("max-sessions-per-client")) {
                m_config.smtp.max_sessions_per_client = number("max-sessions-per-client", 1, 1000000);
            } else {
                unexpected("smtp limit", {"max-mails", "max-rcpt", "max-sessions", "max-sessions-per-client"});
            }
        }
    } else if (accept("max-message-size")) {
        m_config.smtp.max_message_size = size("max-message-size");
        expect_eol("smtp max-message-size");
    } else if (accept("sub-addr-delim")) {
        const Token at = cur();
        const std::string d = value("a delimiter character");
        if (d.size() != 1) {
            fail(at, "sub-addr-delim must be a single character");
        }
        m_config.smtp.sub_addr_delim = d[0];
        expect_eol("smtp sub-addr-delim");
    } else if (accept("ciphers")) {
        m_config.smtp.ciphers = value("a cipher list");
        expect_eol("smtp ciphers");
    } else {
        unexpected("smtp", {"limit", "max-message-size", "sub-addr-delim", "ciphers"});
    }
}

void Parser::queue_statement() {
    take();
    const Token kw = cur();
    if (accept("ttl")) {
        m_config.queue.ttl = duration("queue ttl");
        expect_eol("queue ttl");
    } else if (accept("compression")) {
        m_config.queue.compression = true;
        expect_eol("queue compression");
        unsupported(kw, "queue compression");
    } else if (accept("encryption")) {
        m_config.queue.encryption = true;
        accept("key"); // 6.0 wrote `queue encryption key KEY`
        if (!at_eol()) {
            const Token at = cur();
            m_config.queue.encryption_key = value("an encryption key");
            const auto& k = m_config.queue.encryption_key;
            if (k != "stdin" && k != "-" && k.size() != 32) {
                error(at, "queue encryption key must be 32 characters (openssl rand -hex 16)");
            }
        }
        expect_eol("queue encryption");
        unsupported(kw, "queue encryption");
    } else if (accept("directory")) {
        m_config.queue_directory = path_value("queue directory");
        expect_eol("queue directory");
    } else if (accept("backoff")) {
        m_config.queue.backoff = duration("queue backoff");
        expect_eol("queue backoff");
    } else {
        unexpected("queue", {"ttl", "compression", "encryption", "directory", "backoff"});
    }
}

void Parser::bounce_statement() {
    take();
    expect("warn-interval", "bounce");
    std::vector<long long> intervals;
    for (;;) {
        const Token at = cur();
        intervals.push_back(duration("warn-interval"));
        if (intervals.size() > 4) {
            fail(at, "at most 4 bounce warn-interval delays");
        }
        if (cur().kind != TokenKind::comma) {
            break;
        }
        take();
    }
    expect_eol("bounce warn-interval");
    m_config.bounce_warn_intervals = intervals;
}

void Parser::mta_statement() {
    take();
    if (accept("max-deferred")) {
        m_config.mta.max_deferred = number("max-deferred", 0, 1000000000);
        expect_eol("mta max-deferred");
        return;
    }
    if (!accept("limit")) {
        unexpected("mta", {"max-deferred", "limit"});
    }
    std::map<std::string, long long>* target = &m_config.mta.limits;
    if (accept("for")) {
        expect("domain", "mta limit for");
        const std::string domain = value("a domain");
        target = &m_config.mta.domain_limits[domain];
    }
    if (at_eol()) {
        fail(cur(), "mta limit needs at least one limit");
    }
    std::vector<std::string_view> keys;
    for (const auto& [k, v] : m_config.mta.limits) {
        keys.push_back(k);
    }
    while (!at_eol()) {
        if (accept("inet4")) {
            m_config.mta.family = Family::inet4;
            continue;
        }
        if (accept("inet6")) {
            m_config.mta.family = Family::inet6;
            continue;
        }
        const Token key = cur();
        if (key.kind != TokenKind::word || m_config.mta.limits.count(key.text) == 0) {
            keys.push_back("inet4");
            keys.push_back("inet6");
            unexpected("mta limit", keys);
        }
        take();
        (*target)[key.text] = number(key.text, 0, 1000000000);
    }
}

void Parser::mda_statement() {
    take();
    if (accept("wrapper")) {
        const Token at = cur();
        const std::string name = value("a wrapper name");
        const std::string command = value("a wrapper command");
        expect_eol("mda wrapper");
        if (m_config.mda.wrappers.count(name) != 0) {
            fail(at, "mda wrapper '" + name + "' is already defined");
        }
        m_config.mda.wrappers[name] = command;
        return;
    }
    if (!accept("limit")) {
        unexpected("mda", {"wrapper", "limit"});
    }
    std::vector<std::string_view> keys;
    for (const auto& [k, v] : m_config.mda.limits) {
        keys.push_back(k);
    }
    if (at_eol()) {
        fail(cur(), "mda limit needs at least one limit");
    }
    while (!at_eol()) {
        const Token key = cur();
        if (key.kind != TokenKind::word || m_config.mda.limits.count(key.text) == 0) {
            unexpected("mda limit", keys);
        }
        take();
        m_config.mda.limits[key.text] = number(key.text, 0, 1000000000);
    }
}

void Parser::scheduler_statement() {
    take();
    expect("limit", "scheduler");
    std::vector<std::string_view> keys;
    for (const auto& [k, v] : m_config.scheduler_limits) {
        keys.push_back(k);
    }
    if (at_eol()) {
        fail(cur(), "scheduler limit needs at least one limit");
    }
    while (!at_eol()) {
        const Token key = cur();
        if (key.kind != TokenKind::word || m_config.scheduler_limits.count(key.text) == 0) {
            unexpected("scheduler limit", keys);
        }
        take();
        m_config.scheduler_limits[key.text] = number(key.text, 0, 1000000000);
    }
}

void Parser::srs_statement() {
    const Token start = take();
    if (accept("key")) {
        if (accept("backup")) {
            m_config.srs.backup_key = value("an SRS backup key");
        } else {
            m_config.srs.key = value("an SRS key");
        }
    } else if (accept("ttl")) {
        m_config.srs.ttl = duration("srs ttl");
    } else {
        unexpected("srs", {"key", "ttl"});
    }
    expect_eol("srs");
    unsupported(start, "srs");
}

void Parser::proc_statement() {
    const Token start = take();
    Proc p;
    p.where = location(start);
    p.name = value("a proc name");
    p.command = value("a command");
    std::set<std::string> seen;
    while (!at_eol()) {
        const Token kw = cur();
        if (accept("user")) {
            once(seen, kw, "proc");
            p.user = value("a user name");
        } else if (accept("group")) {
            once(seen, kw, "proc");
            p.group = value("a group name");
        } else if (accept("chroot")) {
            once(seen, kw, "proc");
            p.chroot = path_value("chroot directory");
        } else {
            unexpected("proc", {"user", "group", "chroot"});
        }
    }
    m_config.procs.push_back(std::move(p));
    unsupported(start, "proc");
}

void Parser::filter_statement() {
    const Token start = take();
    Filter f;
    f.where = location(start);
    f.name = value("a filter name");
    const Token kind = cur();
    if (!accept("phase") && !accept("proc") && !accept("proc-exec") && !accept("chain")) {
        unexpected("filter", {"phase", "proc", "proc-exec", "chain"});
    }
    f.kind = kind.text;
    if (f.kind == "phase") {
        static const std::vector<std::string_view> k_phases = {
            "connect", "helo", "ehlo", "auth", "mail-from", "rcpt-to", "data", "commit"};
        const Token phase = cur();
        if (phase.kind != TokenKind::word ||
            std::find(k_phases.begin(), k_phases.end(), phase.text) == k_phases.end()) {
            unexpected("filter phase", k_phases);
        }
        take();
        expect("match", "filter phase");
        f.words = {phase.text, "match"};
        bool decided = false;
        static const std::set<std::string_view> k_decisions = {"reject", "disconnect", "rewrite",
                                                               "report", "junk",       "bypass"};
        while (!at_eol()) {
            const Token t = take();
            f.words.push_back(t.kind == TokenKind::string ? quote_always(t.text)
                              : t.kind == TokenKind::lt   ? "<"
                                                          : t.text);
            if (t.kind == TokenKind::word && k_decisions.count(t.text) != 0) {
                decided = true;
                if (t.text != "junk" && t.text != "bypass") {
                    f.words.push_back(quote_always(value("a " + t.text + " argument")));
                }
                break;
            }
        }
        if (!decided) {
            fail(cur(), "filter phase without a decision",
                 "end it with reject, disconnect, rewrite, report, junk or bypass");
        }
        expect_eol("filter");
    } else if (f.kind == "chain") {
        for (const auto& n : filter_names("filter chain")) {
            f.words.push_back(quote(n));
        }
        expect_eol("filter chain");
    } else {
        f.words.push_back(quote_always(value(f.kind == "proc" ? "a proc name" : "a command")));
        while (!at_eol()) {
            f.words.push_back(take().text);
        }
    }
    m_config.filters.push_back(std::move(f));
    unsupported(start, "filter");
}

void Parser::control_statement() {
    take();
    expect("group", "control");
    const Token kw = cur();
    if (!accept("read") && !accept("admin")) {
        unexpected("control group", {"read", "admin"});
    }
    const std::string group = value("a group name");
    expect_eol("control group");
    auto& groups = kw.text == "read" ? m_config.control_read_groups : m_config.control_admin_groups;
    if (std::find(groups.begin(), groups.end(), group) == groups.end()) {
        groups.push_back(group);
    }
}

} // namespace detail

// ---------------------------------------------------------------------------------------------
// Public API

bool LoadResult::ok() const {
    return std::none_of(diagnostics.begin(), diagnostics.end(),
                        [](const Diagnostic& d) { return d.severity == Severity::error; });
}

bool LoadResult::has_warnings() const {
    return std::any_of(diagnostics.begin(), diagnostics.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::warning; });
}

namespace {

LoadResult run(detail::Parser& parser) {
    parser.finish();
    LoadResult result;
    result.diagnostics = std::move(parser.m_diagnostics);
    // File order: checks made after parsing (pki files, shadowed rules) join their lines;
    // diagnostics about a whole file (line 0) come last.
    std::map<fs::path, std::size_t> file_rank;
    for (const auto& d : result.diagnostics) {
        file_rank.emplace(d.file, file_rank.size());
    }
    std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(),
                     [&](const Diagnostic& a, const Diagnostic& b) {
                         const auto key = [&](const Diagnostic& d) {
                             return std::make_tuple(d.line == 0 ? 1 : 0, file_rank[d.file], d.line,
                                                    d.column);
                         };
                         return key(a) < key(b);
                     });
    if (result.ok()) {
        result.config = std::move(parser.m_config);
    }
    return result;
}

} // namespace

LoadResult load_string(std::string_view text, const fs::path& name, const LoadOptions& options) {
    detail::Parser parser(options);
    parser.m_config.source_file = name;
    parser.parse_text(text, name, 0);
    return run(parser);
}

LoadResult load_file(const fs::path& path, const LoadOptions& options) {
    std::string text;
    std::string why;
    if (!detail::read_text(path, text, why)) {
        LoadResult result;
        result.diagnostics.push_back(
            Diagnostic{path, 0, 0, Severity::error, "cannot read configuration: " + why, {}, {}});
        return result;
    }
    return load_string(text, path, options);
}

} // namespace core::config
