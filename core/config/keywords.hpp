// SPDX-License-Identifier: ISC
#pragma once

#include <array>
#include <string_view>
#include <vector>

// The one list of every word the configuration parser knows (ccache's k_config_key_table idea).
// The man page test checks that each appears in man/mxd.conf.5, and "did you mean" suggestions
// are drawn from it.
namespace core::config {

// Which grammar a keyword belongs to.
enum class KeywordGroup {
    modern,    // smtpd.conf(5), OpenSMTPD 6.4 and later
    extension, // mxd only
    legacy,    // OpenSMTPD up to 6.0, translated with a warning
    limit,     // keys of `smtp limit`, `mta limit`, `mda limit`, `scheduler limit`
};

struct Keyword {
    std::string_view word;
    KeywordGroup group;
};

inline constexpr std::array k_keywords = {
    // modern grammar
    Keyword{"action", KeywordGroup::modern},
    Keyword{"admd", KeywordGroup::modern},
    Keyword{"alias", KeywordGroup::modern},
    Keyword{"any", KeywordGroup::modern},
    Keyword{"auth", KeywordGroup::modern},
    Keyword{"auth-optional", KeywordGroup::modern},
    Keyword{"backup", KeywordGroup::modern},
    Keyword{"bounce", KeywordGroup::modern},
    Keyword{"bypass", KeywordGroup::modern},
    Keyword{"ca", KeywordGroup::modern},
    Keyword{"cert", KeywordGroup::modern},
    Keyword{"chain", KeywordGroup::modern},
    Keyword{"chroot", KeywordGroup::modern},
    Keyword{"ciphers", KeywordGroup::modern},
    Keyword{"commit", KeywordGroup::modern},
    Keyword{"compression", KeywordGroup::modern},
    Keyword{"connect", KeywordGroup::modern},
    Keyword{"data", KeywordGroup::modern},
    Keyword{"dhe", KeywordGroup::modern},
    Keyword{"disconnect", KeywordGroup::modern},
    Keyword{"domain", KeywordGroup::modern},
    Keyword{"ehlo", KeywordGroup::modern},
    Keyword{"encryption", KeywordGroup::modern},
    Keyword{"expand-only", KeywordGroup::modern},
    Keyword{"fcrdns", KeywordGroup::modern},
    Keyword{"filter", KeywordGroup::modern},
    Keyword{"for", KeywordGroup::modern},
    Keyword{"forward-only", KeywordGroup::modern},
    Keyword{"from", KeywordGroup::modern},
    Keyword{"group", KeywordGroup::modern},
    Keyword{"helo", KeywordGroup::modern},
    Keyword{"helo-src", KeywordGroup::modern},
    Keyword{"host", KeywordGroup::modern},
    Keyword{"hostname", KeywordGroup::modern},
    Keyword{"hostnames", KeywordGroup::modern},
    Keyword{"include", KeywordGroup::modern},
    Keyword{"inet4", KeywordGroup::modern},
    Keyword{"inet6", KeywordGroup::modern},
    Keyword{"junk", KeywordGroup::modern},
    Keyword{"key", KeywordGroup::modern},
    Keyword{"limit", KeywordGroup::modern},
    Keyword{"listen", KeywordGroup::modern},
    Keyword{"lmtp", KeywordGroup::modern},
    Keyword{"local", KeywordGroup::modern},
    Keyword{"mail-from", KeywordGroup::modern},
    Keyword{"maildir", KeywordGroup::modern},
    Keyword{"mask-src", KeywordGroup::modern},
    Keyword{"masquerade", KeywordGroup::modern},
    Keyword{"match", KeywordGroup::modern},
    Keyword{"max-deferred", KeywordGroup::modern},
    Keyword{"max-message-size", KeywordGroup::modern},
    Keyword{"mbox", KeywordGroup::modern},
    Keyword{"mda", KeywordGroup::modern},
    Keyword{"mta", KeywordGroup::modern},
    Keyword{"mx", KeywordGroup::modern},
    Keyword{"no-dsn", KeywordGroup::modern},
    Keyword{"no-verify", KeywordGroup::modern},
    Keyword{"on", KeywordGroup::modern},
    Keyword{"phase", KeywordGroup::modern},
    Keyword{"pki", KeywordGroup::modern},
    Keyword{"port", KeywordGroup::modern},
    Keyword{"proc", KeywordGroup::modern},
    Keyword{"proc-exec", KeywordGroup::modern},
    Keyword{"protocols", KeywordGroup::modern},
    Keyword{"proxy-v2", KeywordGroup::modern},
    Keyword{"queue", KeywordGroup::modern},
    Keyword{"rcpt-to", KeywordGroup::modern},
    Keyword{"rdns", KeywordGroup::modern},
    Keyword{"received-auth", KeywordGroup::modern},
    Keyword{"regex", KeywordGroup::modern},
    Keyword{"reject", KeywordGroup::modern},
    Keyword{"relay", KeywordGroup::modern},
    Keyword{"report", KeywordGroup::modern},
    Keyword{"rewrite", KeywordGroup::modern},
    Keyword{"scheduler", KeywordGroup::modern},
    Keyword{"senders", KeywordGroup::modern},
    Keyword{"smtp", KeywordGroup::modern},
    Keyword{"smtps", KeywordGroup::modern},
    Keyword{"socket", KeywordGroup::modern},
    Keyword{"src", KeywordGroup::modern},
    Keyword{"srs", KeywordGroup::modern},
    Keyword{"sub-addr-delim", KeywordGroup::modern},
    Keyword{"table", KeywordGroup::modern},
    Keyword{"tag", KeywordGroup::modern},
    Keyword{"tls", KeywordGroup::modern},
    Keyword{"tls-require", KeywordGroup::modern},
    Keyword{"ttl", KeywordGroup::modern},
    Keyword{"user", KeywordGroup::modern},
    Keyword{"userbase", KeywordGroup::modern},
    Keyword{"verify", KeywordGroup::modern},
    Keyword{"virtual", KeywordGroup::modern},
    Keyword{"warn-interval", KeywordGroup::modern},
    Keyword{"wrapper", KeywordGroup::modern},
    // mxd extensions
    Keyword{"control", KeywordGroup::extension},
    Keyword{"directory", KeywordGroup::extension},
    Keyword{"backoff", KeywordGroup::extension},
    Keyword{"read", KeywordGroup::extension},
    Keyword{"admin", KeywordGroup::extension},
    // old grammar (OpenSMTPD up to 6.0)
    Keyword{"accept", KeywordGroup::legacy},
    Keyword{"as", KeywordGroup::legacy},
    Keyword{"authenticated", KeywordGroup::legacy},
    Keyword{"bounce-warn", KeywordGroup::legacy},
    Keyword{"certificate", KeywordGroup::legacy},
    Keyword{"deliver", KeywordGroup::legacy},
    Keyword{"expire", KeywordGroup::legacy},
    Keyword{"mask-source", KeywordGroup::legacy},
    Keyword{"max-mta-deferred", KeywordGroup::legacy},
    Keyword{"recipient", KeywordGroup::legacy},
    Keyword{"sender", KeywordGroup::legacy},
    Keyword{"source", KeywordGroup::legacy},
    Keyword{"subaddressing-delimiter", KeywordGroup::legacy},
    Keyword{"tagged", KeywordGroup::legacy},
    Keyword{"to", KeywordGroup::legacy},
    Keyword{"via", KeywordGroup::legacy},
    // limit keys
    Keyword{"max-mails", KeywordGroup::limit},
    Keyword{"max-rcpt", KeywordGroup::limit},
    Keyword{"max-sessions", KeywordGroup::limit},
    Keyword{"max-sessions-per-client", KeywordGroup::limit},
    Keyword{"max-session", KeywordGroup::limit},
    Keyword{"max-session-per-user", KeywordGroup::limit},
    Keyword{"task-hiwat", KeywordGroup::limit},
    Keyword{"task-lowat", KeywordGroup::limit},
    Keyword{"task-release", KeywordGroup::limit},
    Keyword{"max-conn-per-host", KeywordGroup::limit},
    Keyword{"max-conn-per-route", KeywordGroup::limit},
    Keyword{"max-conn-per-source", KeywordGroup::limit},
    Keyword{"max-conn-per-connector", KeywordGroup::limit},
    Keyword{"max-conn-per-relay", KeywordGroup::limit},
    Keyword{"max-conn-per-domain", KeywordGroup::limit},
    Keyword{"conn-delay-host", KeywordGroup::limit},
    Keyword{"conn-delay-route", KeywordGroup::limit},
    Keyword{"conn-delay-source", KeywordGroup::limit},
    Keyword{"conn-delay-connector", KeywordGroup::limit},
    Keyword{"conn-delay-relay", KeywordGroup::limit},
    Keyword{"conn-delay-domain", KeywordGroup::limit},
    Keyword{"reconn-delay-route", KeywordGroup::limit},
    Keyword{"session-mail-max", KeywordGroup::limit},
    Keyword{"session-transaction-delay", KeywordGroup::limit},
    Keyword{"session-keepalive", KeywordGroup::limit},
    Keyword{"max-failures-per-session", KeywordGroup::limit},
    Keyword{"max-inflight", KeywordGroup::limit},
    Keyword{"max-evp-batch-size", KeywordGroup::limit},
    Keyword{"max-msg-batch-size", KeywordGroup::limit},
    Keyword{"max-schedule", KeywordGroup::limit},
};

// True when `word` is a keyword of the modern, extension or legacy grammar (not a limit key).
constexpr bool is_keyword(std::string_view word) {
    for (const auto& k : k_keywords) {
        if (k.word == word && k.group != KeywordGroup::limit) {
            return true;
        }
    }
    return false;
}

} // namespace core::config
