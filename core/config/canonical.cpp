// SPDX-License-Identifier: ISC
#include "core/config/canonical.hpp"

#include "core/config/keywords.hpp"
#include "core/config/lexer.hpp"
#include "core/config/parser.hpp"

#include <cctype>
#include <sstream>

namespace core::config {

std::string quote_always(std::string_view value) {
    std::string out = "\"";
    for (char c : value) {
        if (c == '"') {
            out += '\\';
        }
        out += c;
    }
    out += '"';
    return out;
}

std::string quote(std::string_view value) {
    // parse.y only starts an unquoted word with a letter, a digit, ':' or '_'; quoting the rest
    // keeps the canonical form readable by OpenSMTPD too.
    const auto first = static_cast<unsigned char>(value.empty() ? ' ' : value.front());
    if (value.empty() || is_keyword(value) ||
        !(std::isalnum(first) || first == ':' || first == '_')) {
        return quote_always(value);
    }
    for (char c : value) {
        // `$` would start a macro and `\` a continuation when the file is read again.
        if (!allowed_in_word(static_cast<unsigned char>(c)) || c == '$' || c == '\\') {
            return quote_always(value);
        }
    }
    return std::string(value);
}

std::string format_duration(long long seconds) {
    if (seconds != 0 && seconds % 86400 == 0) {
        return std::to_string(seconds / 86400) + "d";
    }
    if (seconds != 0 && seconds % 3600 == 0) {
        return std::to_string(seconds / 3600) + "h";
    }
    if (seconds != 0 && seconds % 60 == 0) {
        return std::to_string(seconds / 60) + "m";
    }
    return std::to_string(seconds) + "s";
}

std::string format_size(long long bytes) {
    constexpr const char* k_units = "KMGT";
    long long value = bytes;
    int unit = -1;
    while (value != 0 && value % 1024 == 0 && unit < 3) {
        value /= 1024;
        ++unit;
    }
    return unit < 0 ? std::to_string(bytes) : std::to_string(value) + k_units[unit];
}

namespace {

std::string table_ref(const std::string& name) {
    return "<" + name + ">";
}

std::string operand(const TableOperand& op) {
    if (op.is_table()) {
        return table_ref(op.table);
    }
    if (op.values.size() == 1) {
        return quote(op.values.front());
    }
    std::string out = "{ ";
    for (std::size_t i = 0; i < op.values.size(); ++i) {
        out += (i ? ", " : "") + quote(op.values[i]);
    }
    return out + " }";
}

bool operand_empty(const TableOperand& op) {
    return !op.is_table() && op.values.empty();
}

void criterion(std::ostringstream& out, const Criterion& c, std::string_view word) {
    if (!c.present) {
        return;
    }
    out << ' ' << (c.negated ? "!" : "") << word;
    if (c.regex) {
        out << " regex";
    }
    if (!operand_empty(c.operand)) {
        out << ' ' << operand(c.operand);
    }
}

} // namespace

std::string format_table(const Table& table) {
    std::string out = "table " + quote(table.name) + ' ';
    switch (table.backend) {
    case Table::Backend::inline_static: {
        out += "{ ";
        for (std::size_t i = 0; i < table.entries.size(); ++i) {
            const auto& [k, v] = table.entries[i];
            out += (i ? ", " : "") + quote(k);
            if (table.kind == Table::Kind::mapping) {
                out += " = " + quote(v);
            }
        }
        out += " }";
        break;
    }
    case Table::Backend::file:
    case Table::Backend::db:
    case Table::Backend::proc:
    case Table::Backend::builtin:
        out += quote(table.backend_name + ":" + table.source.string());
        break;
    }
    return out;
}

std::string format_pki(const Pki& pki) {
    std::string out;
    if (!pki.cert.empty()) {
        out += "pki " + quote(pki.name) + " cert " + quote_always(pki.cert.string()) + "\n";
    }
    if (!pki.key.empty()) {
        out += "pki " + quote(pki.name) + " key " + quote_always(pki.key.string()) + "\n";
    }
    if (!pki.dhe.empty()) {
        out += "pki " + quote(pki.name) + " dhe " + pki.dhe + "\n";
    }
    if (!out.empty()) {
        out.pop_back();
    }
    return out;
}

std::string format_listener(const Listener& l) {
    std::ostringstream out;
    out << "listen on ";
    if (l.kind == Listener::Kind::socket) {
        out << "socket";
    } else {
        out << quote(l.interface);
        if (l.family == Family::inet4) {
            out << " inet4";
        } else if (l.family == Family::inet6) {
            out << " inet6";
        }
        if (l.port_given) {
            out << " port " << l.port;
        }
        switch (l.tls) {
        case Listener::Tls::none:
            break;
        case Listener::Tls::starttls:
            out << " tls";
            break;
        case Listener::Tls::require:
            out << " tls-require" << (l.tls_verify ? " verify" : "");
            break;
        case Listener::Tls::smtps:
            out << " smtps" << (l.tls_verify ? " verify" : "");
            break;
        }
        for (const auto& p : l.pki) {
            out << " pki " << quote(p);
        }
        if (!l.ca.empty()) {
            out << " ca " << quote(l.ca);
        }
        if (!l.ciphers.empty()) {
            out << " ciphers " << quote_always(l.ciphers);
        }
        if (!l.protocols.empty()) {
            out << " protocols " << quote_always(l.protocols);
        }
        if (l.auth != Listener::Auth::none) {
            out << (l.auth == Listener::Auth::required ? " auth" : " auth-optional");
            if (!l.auth_table.empty()) {
                out << ' ' << table_ref(l.auth_table);
            }
        }
        if (!l.hostname.empty()) {
            out << " hostname " << quote(l.hostname);
        }
        if (!l.hostnames_table.empty()) {
            out << " hostnames " << table_ref(l.hostnames_table);
        }
        if (l.proxy_v2) {
            out << " proxy-v2";
        }
        if (l.received_auth) {
            out << " received-auth";
        }
    }
    if (!l.senders_table.empty()) {
        out << " senders " << table_ref(l.senders_table) << (l.masquerade ? " masquerade" : "");
    }
    if (!l.tag.empty()) {
        out << " tag " << quote(l.tag);
    }
    if (l.mask_src) {
        out << " mask-src";
    }
    if (l.no_dsn) {
        out << " no-dsn";
    }
    if (l.filters.size() == 1) {
        out << " filter " << quote(l.filters.front());
    } else if (!l.filters.empty()) {
        out << " filter {";
        for (std::size_t i = 0; i < l.filters.size(); ++i) {
            out << (i ? ", " : " ") << quote(l.filters[i]);
        }
        out << " }";
    }
    return out.str();
}

std::string format_action(const Action& a) {
    std::ostringstream out;
    if (!a.name.empty()) {
        out << "action " << quote_always(a.name) << ' ';
    }
    switch (a.method) {
    case Action::Method::mbox:
        out << "mbox";
        break;
    case Action::Method::maildir:
        out << "maildir";
        if (!a.destination.empty()) {
            out << ' ' << quote_always(a.destination);
        }
        if (a.junk) {
            out << " junk";
        }
        break;
    case Action::Method::lmtp:
        out << "lmtp " << quote_always(a.destination);
        if (a.lmtp_rcpt_to) {
            out << " rcpt-to";
        }
        break;
    case Action::Method::mda:
        out << "mda " << quote_always(a.destination);
        break;
    case Action::Method::forward_only:
        out << "forward-only";
        break;
    case Action::Method::expand_only:
        out << "expand-only";
        break;
    case Action::Method::relay:
        out << "relay";
        if (a.backup) {
            out << " backup";
            if (!a.backup_mx.empty()) {
                out << " mx " << quote(a.backup_mx);
            }
        }
        if (!a.helo.empty()) {
            out << " helo " << quote(a.helo);
        }
        if (!a.helo_src_table.empty()) {
            out << " helo-src " << table_ref(a.helo_src_table);
        }
        if (!a.domain_table.empty()) {
            out << " domain " << table_ref(a.domain_table);
        }
        if (!a.host.empty()) {
            out << " host " << (a.host_is_table ? table_ref(a.host) : quote(a.host));
        }
        if (a.tls_given) {
            out << " tls" << (a.relay_tls == Action::RelayTls::no_verify ? " no-verify" : "");
        }
        if (!a.relay_auth_table.empty()) {
            out << " auth " << table_ref(a.relay_auth_table);
        }
        if (!a.mail_from.empty()) {
            out << " mail-from " << quote_always(a.mail_from);
        }
        if (!operand_empty(a.src)) {
            out << " src " << operand(a.src);
        }
        if (!a.relay_pki.empty()) {
            out << " pki " << quote(a.relay_pki);
        }
        if (!a.relay_ca.empty()) {
            out << " ca " << quote(a.relay_ca);
        }
        if (!a.ciphers.empty()) {
            out << " ciphers " << quote_always(a.ciphers);
        }
        if (!a.protocols.empty()) {
            out << " protocols " << quote_always(a.protocols);
        }
        if (a.srs) {
            out << " srs";
        }
        if (a.filters.size() == 1) {
            out << " filter " << quote(a.filters.front());
        } else if (!a.filters.empty()) {
            out << " filter {";
            for (std::size_t i = 0; i < a.filters.size(); ++i) {
                out << (i ? ", " : " ") << quote(a.filters[i]);
            }
            out << " }";
        }
        break;
    }
    if (!a.alias_table.empty()) {
        out << " alias " << table_ref(a.alias_table);
    }
    if (!a.virtual_table.empty()) {
        out << " virtual " << table_ref(a.virtual_table);
    }
    if (!a.userbase_table.empty()) {
        out << " userbase " << table_ref(a.userbase_table);
    }
    if (!a.user.empty()) {
        out << " user " << quote(a.user);
    }
    if (!a.wrapper.empty()) {
        out << " wrapper " << quote(a.wrapper);
    }
    if (a.ttl) {
        out << " ttl " << format_duration(*a.ttl);
    }
    return out.str();
}

std::string format_rule(const Rule& r) {
    std::ostringstream out;
    out << "match";
    // `from auth` and `from mail-from` are shorthands that set the auth / mail-from criterion
    // (parse.y), so they are printed from those criteria below.
    const bool from_in_criteria = r.from == Rule::From::auth || r.from == Rule::From::mail_from;
    if (!from_in_criteria) {
        out << ' ' << (r.from_negated ? "!" : "") << "from ";
        switch (r.from) {
        case Rule::From::local:
            out << "local";
            break;
        case Rule::From::any:
            out << "any";
            break;
        case Rule::From::socket:
            out << "socket";
            break;
        case Rule::From::src:
            out << "src" << (r.from_regex ? " regex " : " ") << operand(r.from_operand);
            break;
        case Rule::From::rdns:
            out << "rdns";
            if (r.from_regex) {
                out << " regex";
            }
            if (!operand_empty(r.from_operand)) {
                out << ' ' << operand(r.from_operand);
            }
            break;
        case Rule::From::auth:
        case Rule::From::mail_from:
            break;
        }
    } else {
        const Criterion& c = r.from == Rule::From::auth ? r.auth : r.mail_from;
        out << ' ' << (c.negated ? "!" : "") << "from "
            << (r.from == Rule::From::auth ? "auth" : "mail-from");
        if (c.regex) {
            out << " regex";
        }
        if (!operand_empty(c.operand)) {
            out << ' ' << operand(c.operand);
        }
    }
    const bool for_in_criteria = r.for_ == Rule::For::rcpt_to;
    if (!for_in_criteria) {
        out << ' ' << (r.for_negated ? "!" : "") << "for ";
        switch (r.for_) {
        case Rule::For::local:
            out << "local";
            break;
        case Rule::For::any:
            out << "any";
            break;
        case Rule::For::domain:
            out << "domain" << (r.for_regex ? " regex " : " ") << operand(r.for_operand);
            break;
        case Rule::For::rcpt_to:
            break;
        }
    } else {
        out << ' ' << (r.rcpt_to.negated ? "!" : "") << "for rcpt-to"
            << (r.rcpt_to.regex ? " regex " : " ") << operand(r.rcpt_to.operand);
    }
    if (r.from != Rule::From::auth) {
        criterion(out, r.auth, "auth");
    }
    criterion(out, r.helo, "helo");
    if (r.from != Rule::From::mail_from) {
        criterion(out, r.mail_from, "mail-from");
    }
    if (!for_in_criteria) {
        criterion(out, r.rcpt_to, "rcpt-to");
    }
    criterion(out, r.tag, "tag");
    criterion(out, r.tls, "tls");
    if (r.reject) {
        out << " reject";
    } else {
        out << " action " << quote_always(r.action);
    }
    return out.str();
}

std::string to_canonical(const Config& c) {
    std::ostringstream out;
    const Config d; // defaults
    out << "# mxd configuration in canonical form\n";
    if (!c.queue_directory.empty()) {
        out << "queue directory " << quote_always(c.queue_directory.string()) << '\n';
    }
    for (const auto& g : c.control_read_groups) {
        out << "control group read " << quote_always(g) << '\n';
    }
    for (const auto& g : c.control_admin_groups) {
        out << "control group admin " << quote_always(g) << '\n';
    }
    if (!c.admd.empty()) {
        out << "admd " << quote(c.admd) << '\n';
    }
    if (c.smtp.max_mails != d.smtp.max_mails) {
        out << "smtp limit max-mails " << c.smtp.max_mails << '\n';
    }
    if (c.smtp.max_rcpt != d.smtp.max_rcpt) {
        out << "smtp limit max-rcpt " << c.smtp.max_rcpt << '\n';
    }
    if (c.smtp.max_sessions != d.smtp.max_sessions) {
        out << "smtp limit max-sessions " << c.smtp.max_sessions << '\n';
    }
    if (c.smtp.max_sessions_per_client != d.smtp.max_sessions_per_client) {
        out << "smtp limit max-sessions-per-client " << c.smtp.max_sessions_per_client << '\n';
    }
    if (c.smtp.max_message_size != d.smtp.max_message_size) {
        out << "smtp max-message-size " << format_size(c.smtp.max_message_size) << '\n';
    }
    if (c.smtp.sub_addr_delim != d.smtp.sub_addr_delim) {
        out << "smtp sub-addr-delim " << quote(std::string(1, c.smtp.sub_addr_delim)) << '\n';
    }
    if (c.smtp.ciphers != d.smtp.ciphers) {
        out << "smtp ciphers " << quote_always(c.smtp.ciphers) << '\n';
    }
    if (c.queue.backoff) {
        out << "queue backoff " << format_duration(*c.queue.backoff) << '\n';
    }
    if (c.queue.ttl != d.queue.ttl) {
        out << "queue ttl " << format_duration(c.queue.ttl) << '\n';
    }
    if (c.queue.compression) {
        out << "queue compression\n";
    }
    if (c.queue.encryption) {
        out << "queue encryption";
        if (!c.queue.encryption_key.empty()) {
            out << ' ' << quote_always(c.queue.encryption_key);
        }
        out << '\n';
    }
    if (c.bounce_warn_intervals != d.bounce_warn_intervals) {
        out << "bounce warn-interval";
        for (std::size_t i = 0; i < c.bounce_warn_intervals.size(); ++i) {
            out << (i ? ", " : " ") << format_duration(c.bounce_warn_intervals[i]);
        }
        out << '\n';
    }
    Config defaults;
    set_default_limits(defaults);
    if (c.mta.max_deferred != d.mta.max_deferred) {
        out << "mta max-deferred " << c.mta.max_deferred << '\n';
    }
    for (const auto& [k, v] : c.mta.limits) {
        if (defaults.mta.limits[k] != v) {
            out << "mta limit " << k << ' ' << v << '\n';
        }
    }
    if (c.mta.family != Family::any) {
        out << "mta limit " << (c.mta.family == Family::inet4 ? "inet4" : "inet6") << '\n';
    }
    for (const auto& [domain, limits] : c.mta.domain_limits) {
        for (const auto& [k, v] : limits) {
            out << "mta limit for domain " << quote(domain) << ' ' << k << ' ' << v << '\n';
        }
    }
    for (const auto& [k, v] : c.mda.limits) {
        if (defaults.mda.limits[k] != v) {
            out << "mda limit " << k << ' ' << v << '\n';
        }
    }
    for (const auto& [name, command] : c.mda.wrappers) {
        out << "mda wrapper " << quote(name) << ' ' << quote_always(command) << '\n';
    }
    for (const auto& [k, v] : c.scheduler_limits) {
        if (defaults.scheduler_limits[k] != v) {
            out << "scheduler limit " << k << ' ' << v << '\n';
        }
    }
    if (!c.srs.key.empty()) {
        out << "srs key " << quote_always(c.srs.key) << '\n';
    }
    if (!c.srs.backup_key.empty()) {
        out << "srs key backup " << quote_always(c.srs.backup_key) << '\n';
    }
    if (c.srs.ttl != d.srs.ttl) {
        out << "srs ttl " << format_duration(c.srs.ttl) << '\n';
    }
    for (const auto& p : c.pkis) {
        out << format_pki(p) << '\n';
    }
    for (const auto& ca : c.cas) {
        out << "ca " << quote(ca.name) << " cert " << quote_always(ca.cert.string()) << '\n';
    }
    for (const auto& t : c.tables) {
        if (t.backend != Table::Backend::builtin) {
            out << format_table(t) << '\n';
        }
    }
    for (const auto& p : c.procs) {
        out << "proc " << quote(p.name) << ' ' << quote_always(p.command);
        if (!p.user.empty()) {
            out << " user " << quote(p.user);
        }
        if (!p.group.empty()) {
            out << " group " << quote(p.group);
        }
        if (!p.chroot.empty()) {
            out << " chroot " << quote_always(p.chroot);
        }
        out << '\n';
    }
    for (const auto& f : c.filters) {
        out << "filter " << quote(f.name) << ' ' << f.kind;
        for (const auto& w : f.words) {
            out << ' ' << w;
        }
        out << '\n';
    }
    for (const auto& l : c.listeners) {
        out << format_listener(l) << '\n';
    }
    for (const auto& a : c.actions) {
        out << format_action(a) << '\n';
    }
    for (const auto& r : c.rules) {
        out << format_rule(r) << '\n';
    }
    return out.str();
}

} // namespace core::config
