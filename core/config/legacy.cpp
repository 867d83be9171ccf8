// SPDX-License-Identifier: ISC
// The grammar of OpenSMTPD up to 6.0 (`accept`/`reject` rules, `deliver to`, `relay via`), which
// the seed documents use. Each statement is translated into the model and gets a warning that
// shows its modern form; `config migrate` writes that form back into the file.
#include "core/config/canonical.hpp"
#include "core/config/keywords.hpp"
#include "core/config/parser_impl.hpp"

#include <algorithm>

namespace core::config::detail {

void Parser::legacy_warning(const Token& at, const std::string& modern) {
    report(Severity::warning, location(at),
           "old smtpd.conf grammar (OpenSMTPD 6.0 and older), translated to the modern form",
           "modern form:\n" + modern);
    if (m_depth == 0) {
        m_edits.push_back(LegacyEdit{m_first_line, m_last_line, modern});
    }
}

std::string Parser::add_legacy_action(Action action) {
    Action unnamed = action;
    unnamed.name.clear();
    const std::string spec = format_action(unnamed);
    const auto it = m_legacy_actions.find(spec);
    if (it != m_legacy_actions.end()) {
        m_legacy_modern.clear();
        return it->second;
    }
    std::string base;
    switch (action.method) {
    case Action::Method::relay:
        base = "relay";
        break;
    case Action::Method::expand_only:
    case Action::Method::forward_only:
        base = !action.virtual_table.empty() ? action.virtual_table
               : !action.alias_table.empty() ? action.alias_table
                                             : "expand";
        break;
    case Action::Method::mbox:
    case Action::Method::maildir:
    case Action::Method::lmtp:
    case Action::Method::mda:
        base = !action.virtual_table.empty() ? action.virtual_table : "local";
        break;
    }
    std::string name = base;
    for (int n = 2; m_config.find_action(name) != nullptr; ++n) {
        name = base + "-" + std::to_string(n);
    }
    action.name = name;
    m_legacy_modern = format_action(action);
    m_config.actions.push_back(std::move(action));
    m_legacy_actions[spec] = name;
    return name;
}

namespace {

// Old relay URL schemes and their modern equivalents. The old `smtp://` never tried STARTTLS;
// the modern `smtp://` does, so it becomes `smtp+notls://`.
struct SchemeMap {
    std::string_view old_scheme;
    std::string_view new_scheme;
};
constexpr SchemeMap k_schemes[] = {
    {"smtp", "smtp+notls"},   {"smtp+tls", "smtp"},    {"tls", "smtp+tls"},
    {"smtps", "smtps"},       {"ssl", "smtps"},        {"secure", "smtps"},
    {"tls+auth", "smtp+tls"}, {"smtps+auth", "smtps"}, {"ssl+auth", "smtps"},
    {"secure+auth", "smtps"}, {"lmtp", "lmtp"},
};

} // namespace

void Parser::legacy_rule() {
    const Token start = take();
    ++m_rule_statements;
    const bool accepting = start.text == "accept";
    Rule r;
    r.legacy = true;
    r.where = location(start);
    Action a;
    a.where = location(start);
    a.method = Action::Method::expand_only;
    bool has_delivery = false;
    bool has_lookup = false;
    bool forward_only = false;
    std::set<std::string> seen;
    const std::vector<std::string_view> k_items = {
        "from",    "for",      "sender",  "recipient", "tagged", "authenticated", "alias",
        "virtual", "userbase", "deliver", "relay",     "expire", "forward-only"};
    auto optional_bang = [&]() {
        if (cur().kind == TokenKind::bang) {
            take();
            return true;
        }
        return false;
    };
    auto criterion = [&](Criterion& c, bool negated, Service service, std::string_view what) {
        c.present = true;
        c.negated = negated || optional_bang();
        c.operand = operand(what, service);
    };
    while (!at_eol()) {
        const bool negated = optional_bang();
        const Token kw = cur();
        if (kw.kind != TokenKind::word) {
            unexpected(start.text + " rule", k_items);
        }
        const std::string& w = kw.text;
        if (w == "from") {
            take();
            once(seen, kw, start.text + " rule");
            r.from_given = true;
            r.from_negated = negated || optional_bang();
            if (accept("any")) {
                r.from = Rule::From::any;
            } else if (accept("local")) {
                r.from = Rule::From::local;
            } else if (accept("source") || cur().kind == TokenKind::lt) {
                r.from = Rule::From::src;
                r.from_operand = operand("from source", Service::netaddr);
            } else {
                unexpected("from", {"any", "local", "source"});
            }
        } else if (w == "for") {
            take();
            once(seen, kw, start.text + " rule");
            r.for_given = true;
            r.for_negated = negated || optional_bang();
            if (accept("any")) {
                r.for_ = Rule::For::any;
            } else if (accept("local")) {
                r.for_ = Rule::For::local;
            } else if (accept("domain") || cur().kind == TokenKind::lt) {
                r.for_ = Rule::For::domain;
                r.for_operand = operand("for domain", Service::domain);
            } else {
                unexpected("for", {"any", "local", "domain"});
            }
        } else if (w == "sender") {
            take();
            once(seen, kw, start.text + " rule");
            criterion(r.mail_from, negated, Service::mailaddr, "sender");
        } else if (w == "recipient") {
            take();
            once(seen, kw, start.text + " rule");
            criterion(r.rcpt_to, negated, Service::mailaddr, "recipient");
        } else if (w == "tagged") {
            take();
            once(seen, kw, start.text + " rule");
            criterion(r.tag, negated, Service::string, "tagged");
        } else if (w == "authenticated") {
            take();
            once(seen, kw, start.text + " rule");
            r.auth.present = true;
            r.auth.negated = negated;
        } else if (!accepting &&
                   (w == "alias" || w == "virtual" || w == "userbase" || w == "deliver" ||
                    w == "relay" || w == "expire" || w == "forward-only")) {
            fail(kw, "'" + w + "' cannot be used in a reject rule");
        } else if (w == "alias" || w == "virtual") {
            take();
            if (!seen.insert("alias/virtual").second) {
                fail(kw, "alias and virtual given twice or together in accept rule");
            }
            has_lookup = true;
            (w == "alias" ? a.alias_table : a.virtual_table) = table_name(w, Service::alias);
        } else if (w == "userbase") {
            take();
            once(seen, kw, "accept rule");
            has_lookup = true;
            a.userbase_table = table_name("userbase", Service::userinfo);
        } else if (w == "deliver") {
            take();
            if (!seen.insert("action").second) {
                fail(kw, "accept rule with two actions");
            }
            expect("to", "deliver");
            has_delivery = true;
            const Token method = cur();
            if (accept("mbox")) {
                a.method = Action::Method::mbox;
            } else if (accept("maildir")) {
                a.method = Action::Method::maildir;
                if (cur().kind == TokenKind::string ||
                    (cur().kind == TokenKind::word && !is("as") && !is("expire") &&
                     !is("forward-only"))) {
                    a.destination = value("a maildir path");
                }
            } else if (accept("mda")) {
                a.method = Action::Method::mda;
                a.destination = value("an MDA command");
            } else if (accept("lmtp")) {
                a.method = Action::Method::lmtp;
                a.destination = value("an LMTP destination");
                a.lmtp_rcpt_to = accept("rcpt-to");
            } else {
                unexpected("deliver to", {"mbox", "maildir", "mda", "lmtp"});
            }
            if (accept("as")) {
                if (a.method == Action::Method::mbox) {
                    fail(method, "'deliver to mbox' cannot run as another user");
                }
                a.user = value("a user name");
            }
        } else if (w == "relay") {
            take();
            if (!seen.insert("action").second) {
                fail(kw, "accept rule with two actions");
            }
            has_delivery = true;
            a.method = Action::Method::relay;
            if (accept("via")) {
                const Token at = cur();
                std::string url = value("a relay URL");
                const auto sep = url.find("://");
                std::string scheme = sep == std::string::npos ? "" : url.substr(0, sep);
                std::string rest = sep == std::string::npos ? url : url.substr(sep + 3);
                if (scheme == "backup" || scheme == "tls+backup") {
                    fail(at, "old relay URL scheme '" + scheme + "' is not supported",
                         "write `relay backup` instead");
                }
                std::string modern = "smtp";
                if (!scheme.empty()) {
                    const auto* found =
                        std::find_if(std::begin(k_schemes), std::end(k_schemes),
                                     [&](const SchemeMap& m) { return m.old_scheme == scheme; });
                    if (found == std::end(k_schemes)) {
                        fail(at, "unknown relay URL scheme '" + scheme + "'");
                    }
                    modern = std::string(found->new_scheme);
                }
                a.host = modern + "://" + rest;
            } else if (accept("backup")) {
                a.backup = true;
                if (cur().kind == TokenKind::string ||
                    (cur().kind == TokenKind::word && !is_keyword(cur().text))) {
                    a.backup_mx = value("an MX name");
                }
            }
            std::set<std::string> relay_seen;
            while (!at_eol()) {
                const Token opt = cur();
                if (accept("as")) {
                    once(relay_seen, opt, "relay");
                    a.mail_from = value("a sender address");
                } else if (accept("auth")) {
                    once(relay_seen, opt, "relay");
                    a.relay_auth_table = table_name("relay auth", Service::credentials);
                } else if (accept("source")) {
                    once(relay_seen, opt, "relay");
                    a.src = operand("source", Service::source);
                    check_addresses(a.src, "source");
                } else if (accept("hostname")) {
                    once(relay_seen, opt, "relay");
                    a.helo = value("a host name");
                } else if (accept("hostnames")) {
                    once(relay_seen, opt, "relay");
                    a.helo_src_table = table_name("hostnames", Service::addrname);
                } else if (accept("pki")) {
                    once(relay_seen, opt, "relay");
                    const Token at = cur();
                    a.relay_pki = value("a pki name");
                    if (m_config.find_pki(a.relay_pki) == nullptr) {
                        fail(at, "undefined pki '" + a.relay_pki + "'");
                    }
                } else if (accept("ca")) {
                    once(relay_seen, opt, "relay");
                    const Token at = cur();
                    a.relay_ca = value("a ca name");
                    if (m_config.find_ca(a.relay_ca) == nullptr) {
                        fail(at, "undefined ca '" + a.relay_ca + "'");
                    }
                } else if (accept("tls")) {
                    once(relay_seen, opt, "relay");
                    // Old `relay tls` required STARTTLS without checking the certificate
                    // unless `verify` followed.
                    a.tls_given = true;
                    a.relay_tls =
                        accept("verify") ? Action::RelayTls::required : Action::RelayTls::no_verify;
                } else if (accept("verify")) {
                    once(relay_seen, opt, "relay");
                } else {
                    break;
                }
            }
        } else if (w == "expire") {
            take();
            once(seen, kw, "accept rule");
            a.ttl = duration("expire");
        } else if (w == "forward-only") {
            take();
            once(seen, kw, "accept rule");
            forward_only = true;
        } else {
            unexpected(start.text + " rule", k_items);
        }
    }
    std::string modern;
    if (!accepting) {
        r.reject = true;
        modern = format_rule(r);
        m_config.rules.push_back(r);
        legacy_warning(start, modern);
        return;
    }
    if (forward_only) {
        if (has_delivery) {
            fail(start, "forward-only cannot be combined with deliver to or relay");
        }
        a.method = Action::Method::forward_only;
    }
    if (a.method == Action::Method::relay && has_lookup) {
        fail(start, "alias, virtual or userbase with relay has no modern equivalent",
             "split it into an expand-only rule and a relay rule");
    }
    r.action = add_legacy_action(a);
    if (!m_legacy_modern.empty()) {
        modern = m_legacy_modern + "\n";
    }
    modern += format_rule(r);
    m_config.rules.push_back(r);
    // Before 6.4 an authenticated session counted as local, so `from local` also matched
    // authenticated clients; the modern grammar needs a rule of its own for them.
    const bool any_auth_listener =
        std::any_of(m_config.listeners.begin(), m_config.listeners.end(),
                    [](const Listener& l) { return l.auth != Listener::Auth::none; });
    if (any_auth_listener && r.from == Rule::From::local && !r.from_negated && !r.auth.present) {
        Rule authenticated = r;
        authenticated.from = Rule::From::any;
        authenticated.auth.present = true;
        modern += "\n" + format_rule(authenticated);
        m_config.rules.push_back(authenticated);
    }
    legacy_warning(start, modern);
}

void Parser::legacy_global() {
    // Rewrite the statement into its modern tokens and parse those, so that the checks and the
    // printed modern form are the modern grammar's own.
    const Token start = cur();
    std::vector<Token> modern;
    auto word = [&](std::string text) {
        modern.push_back(Token{TokenKind::word, std::move(text), start.line, start.column});
    };
    const std::string& w = start.text;
    std::size_t rest = 1;
    if (w == "expire") {
        word("queue");
        word("ttl");
    } else if (w == "max-message-size") {
        word("smtp");
        word("max-message-size");
    } else if (w == "bounce-warn") {
        word("bounce");
        word("warn-interval");
    } else if (w == "ciphers") {
        word("smtp");
        word("ciphers");
    } else if (w == "subaddressing-delimiter") {
        word("smtp");
        word("sub-addr-delim");
    } else if (w == "max-mta-deferred") {
        word("mta");
        word("max-deferred");
    } else if (w == "limit") {
        const Token& what = peek(1);
        rest = 2;
        if (what.is_word("session")) {
            word("smtp");
        } else if (what.is_word("mta") || what.is_word("mda") || what.is_word("scheduler")) {
            word(what.text);
        } else {
            take();
            unexpected("limit", {"session", "mta", "mda", "scheduler"});
        }
        word("limit");
    }
    for (std::size_t i = rest; i < m_tokens.size(); ++i) {
        modern.push_back(m_tokens[i]);
    }
    std::string text;
    for (const auto& t : modern) {
        if (!text.empty() && t.kind != TokenKind::comma) {
            text += ' ';
        }
        text += t.kind == TokenKind::string ? quote_always(t.text) : t.text;
    }
    m_tokens = modern;
    m_pos = 0;
    statement();
    legacy_warning(start, text);
}

} // namespace core::config::detail
