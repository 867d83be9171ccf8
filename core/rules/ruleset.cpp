// SPDX-License-Identifier: ISC
#include "core/rules/ruleset.hpp"

#include "core/table/lookup.hpp"
#include "core/util/strings.hpp"

namespace core::rules {

namespace {

using core::config::Criterion;
using core::config::Rule;
using core::config::TableOperand;
using core::table::Service;

Result<Ruleset::Operand> compile_operand(const TableOperand& operand, bool regex) {
    Ruleset::Operand out;
    out.regex = regex;
    if (operand.is_table()) {
        out.table = operand.table;
        return out;
    }
    if (operand.values.empty()) {
        return out;
    }
    if (regex) {
        for (const auto& value : operand.values) {
            try {
                out.patterns.emplace_back(value, std::regex::extended | std::regex::icase | std::regex::nosubs);
            } catch (const std::regex_error& e) {
                return fail(Errc::config, "invalid regex '" + value + "': " + e.what());
            }
        }
        return out;
    }
    std::vector<std::pair<std::string, std::string>> entries;
    for (const auto& value : operand.values) {
        entries.emplace_back(value, "");
    }
    out.literal = core::table::make_inline_table("(literal)", std::move(entries), true);
    return out;
}

// True when `value` matches the operand under `service`'s rules (or one of its regexes).
Result<bool> operand_matches(const Ruleset::Operand& operand, Service service, const std::string& value,
                             const TableResolver& tables) {
    core::table::TablePtr table = operand.literal;
    if (!operand.table.empty()) {
        table = tables(operand.table);
        if (!table) {
            return fail(Errc::internal, "table <" + operand.table + "> is not loaded");
        }
    }
    if (operand.regex) {
        // `regex <table>` holds patterns as keys: each is tried against the value.
        std::vector<std::regex> patterns = operand.patterns;
        if (table) {
            std::string bad;
            MXD_TRY(table->for_each([&](std::string_view key, std::string_view) {
                try {
                    patterns.emplace_back(std::string(key), std::regex::extended | std::regex::icase | std::regex::nosubs);
                } catch (const std::regex_error&) {
                    bad = std::string(key);
                    return false;
                }
                return true;
            }));
            if (!bad.empty()) {
                return fail(Errc::config, "invalid regex '" + bad + "' in table <" + operand.table + ">");
            }
        }
        for (const auto& pattern : patterns) {
            if (std::regex_search(value, pattern)) {
                return true;
            }
        }
        return false;
    }
    if (!table) {
        return false;
    }
    MXD_TRY_ASSIGN(const auto found, core::table::lookup(*table, service, value));
    return found.has_value();
}

std::string domain_of(const std::string& address) {
    const auto at = address.rfind('@');
    return at == std::string::npos ? std::string{} : to_lower(address.substr(at + 1));
}

// `from local` is OpenSMTPD's <localhost> table: the loopback addresses themselves (so that a
// client on 127.0.0.2, as tests use, is not local).
bool is_loopback(const std::string& ip) { return ip == "127.0.0.1" || ip == "::1"; }

// One optional criterion: absent holds; otherwise its test, negated by `!`.
Result<bool> criterion_holds(const Criterion& c, const Ruleset::Operand& operand, Service service,
                             const std::optional<std::string>& value, const TableResolver& tables) {
    if (!c.present) {
        return true;
    }
    bool holds = false;
    if (value) {
        if (operand.empty()) {
            holds = true;  // `auth` alone: authenticated at all
        } else {
            MXD_TRY_ASSIGN(holds, operand_matches(operand, service, *value, tables));
        }
    }
    return holds != c.negated;
}

} // namespace

Result<Ruleset> Ruleset::compile(const core::config::Config& config) {
    Ruleset set;
    for (const auto& rule : config.rules) {
        Compiled c{rule, {}, {}, {}, {}, {}, {}, {}};
        MXD_TRY_ASSIGN(c.from, compile_operand(rule.from_operand, rule.from_regex));
        MXD_TRY_ASSIGN(c.for_, compile_operand(rule.for_operand, rule.for_regex));
        MXD_TRY_ASSIGN(c.auth, compile_operand(rule.auth.operand, rule.auth.regex));
        MXD_TRY_ASSIGN(c.helo, compile_operand(rule.helo.operand, rule.helo.regex));
        MXD_TRY_ASSIGN(c.mail_from, compile_operand(rule.mail_from.operand, rule.mail_from.regex));
        MXD_TRY_ASSIGN(c.rcpt_to, compile_operand(rule.rcpt_to.operand, rule.rcpt_to.regex));
        MXD_TRY_ASSIGN(c.tag, compile_operand(rule.tag.operand, rule.tag.regex));
        set.m_rules.push_back(std::move(c));
    }
    return set;
}

Result<std::optional<std::size_t>> Ruleset::match(const Facts& facts, const TableResolver& tables) const {
    const std::string rcpt_domain = domain_of(facts.rcpt_to);
    for (std::size_t i = 0; i < m_rules.size(); ++i) {
        const auto& c = m_rules[i];
        const auto& r = c.rule;
        // from: where the session comes from.
        bool from = false;
        switch (r.from) {
        case Rule::From::local:
            from = facts.local_socket || is_loopback(facts.src);
            break;
        case Rule::From::any:
        case Rule::From::auth:       // with the auth criterion below (parse.y)
        case Rule::From::mail_from:  // with the mail-from criterion below
            from = true;
            break;
        case Rule::From::socket:
            from = facts.local_socket;
            break;
        case Rule::From::src:
            if (!facts.src.empty()) {
                MXD_TRY_ASSIGN(from, operand_matches(c.from, Service::netaddr, facts.src, tables));
            }
            break;
        case Rule::From::rdns:
            if (facts.rdns) {
                from = true;
                if (!c.from.empty()) {
                    MXD_TRY_ASSIGN(from, operand_matches(c.from, Service::domain, *facts.rdns, tables));
                }
            }
            break;
        }
        if (from == r.from_negated) {
            continue;
        }
        // for: where the recipient goes.
        bool for_ = false;
        switch (r.for_) {
        case Rule::For::local:
            for_ = rcpt_domain.empty() || facts.local_names.count(rcpt_domain) != 0;
            break;
        case Rule::For::any:
        case Rule::For::rcpt_to:
            for_ = true;
            break;
        case Rule::For::domain:
            MXD_TRY_ASSIGN(for_, operand_matches(c.for_, Service::domain, rcpt_domain, tables));
            break;
        }
        if (for_ == r.for_negated) {
            continue;
        }
        MXD_TRY_ASSIGN(const bool auth, criterion_holds(r.auth, c.auth, Service::string, facts.auth_user, tables));
        MXD_TRY_ASSIGN(const bool helo, criterion_holds(r.helo, c.helo, Service::domain, facts.helo, tables));
        MXD_TRY_ASSIGN(const bool mail_from,
                       criterion_holds(r.mail_from, c.mail_from, Service::mailaddr, facts.mail_from, tables));
        MXD_TRY_ASSIGN(const bool rcpt_to, criterion_holds(r.rcpt_to, c.rcpt_to, Service::mailaddr, facts.rcpt_to, tables));
        MXD_TRY_ASSIGN(const bool tag, criterion_holds(r.tag, c.tag, Service::string,
                                                       facts.tag.empty() ? std::nullopt : std::optional(facts.tag), tables));
        const bool tls = !r.tls.present || (facts.tls != r.tls.negated);
        if (auth && helo && mail_from && rcpt_to && tag && tls) {
            return std::optional<std::size_t>{i};
        }
    }
    return std::optional<std::size_t>{};
}

std::string Ruleset::describe(const Rule& rule) {
    std::string where = rule.where.file.empty() ? std::string("rule")
                                                : rule.where.file.filename().string() + ":" + std::to_string(rule.where.line);
    return where + (rule.reject ? " (reject)" : " (action \"" + rule.action + "\")");
}

} // namespace core::rules
