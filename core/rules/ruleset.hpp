// SPDX-License-Identifier: ISC
#pragma once

#include "core/config/config.hpp"
#include "core/table/table.hpp"
#include "core/util/result.hpp"

#include <functional>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

// The `match` rules of a configuration, evaluated as OpenSMTPD's ruleset.c does: in order,
// every criterion of a rule must hold, the first rule that matches decides, and no match
// means the recipient is refused.
namespace core::rules {

// What is known about a session and a recipient when a rule is evaluated.
struct Facts {
    bool local_socket = false;         // submitted through the local socket (sendmail)
    std::string src;                   // client address ("127.0.0.1"), empty for the socket
    std::optional<std::string> rdns;   // client host name, when resolved and confirmed
    bool tls = false;
    std::optional<std::string> auth_user;
    std::string helo;
    std::string tag;                   // the listener's `tag`
    std::string mail_from;             // user@domain, "" for <>
    std::string rcpt_to;               // user@domain
    std::set<std::string> local_names; // domains that are this machine (`for local`)
};

// Gives the current snapshot of a named table; nullptr for an unknown name.
using TableResolver = std::function<core::table::TablePtr(const std::string& name)>;

// A configuration's rules, ready to evaluate: literal operands become inline tables and regex
// operands compiled expressions once, at load time; named tables are looked up at each
// evaluation so that `update table` takes effect at once.
class Ruleset {
public:
    // Compiles the rules. Fails with Errc::config for a regex that does not compile.
    static Result<Ruleset> compile(const core::config::Config& config);

    // The index of the first rule that matches, or nullopt when none does. Fails when a table
    // lookup fails; the caller then answers with a temporary error.
    Result<std::optional<std::size_t>> match(const Facts& facts, const TableResolver& tables) const;

    // The rule at an index.
    const core::config::Rule& rule(std::size_t index) const { return m_rules[index].rule; }
    std::size_t size() const { return m_rules.size(); }

    // True when a rule tests the client's host name (`from rdns`): only then does a session
    // look it up in the DNS.
    bool uses_rdns() const {
        for (const auto& c : m_rules) {
            if (c.rule.from == core::config::Rule::From::rdns) {
                return true;
            }
        }
        return false;
    }

    // Where a rule is and what it does, for traces and replies: `smtpd.conf:12 (action "local")`.
    static std::string describe(const core::config::Rule& rule);

    // One operand, compiled; public so that the .cpp's helpers can name it.
    struct Operand {
        std::string table;                    // a named table, resolved per evaluation
        core::table::TablePtr literal;        // literal values as an inline table
        std::vector<std::regex> patterns;     // regex operands given literally
        bool regex = false;
        bool empty() const { return table.empty() && !literal && patterns.empty(); }
    };

private:
    struct Compiled {
        core::config::Rule rule;
        Operand from;
        Operand for_;
        Operand auth, helo, mail_from, rcpt_to, tag;
    };
    std::vector<Compiled> m_rules;
};

} // namespace core::rules
