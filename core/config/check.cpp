// SPDX-License-Identifier: ISC
// Checks that need the whole file: pki and ca files, listeners given twice, rules that can
// never match, and a configuration without any rule.
#include "core/config/parser_impl.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace core::config::detail {

namespace {

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

std::string openssl_error() {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) {
        return "no PEM data found";
    }
    char buffer[256];
    ERR_error_string_n(e, buffer, sizeof buffer);
    return buffer;
}

// An encrypted key must not make the check prompt on the terminal: refuse any passphrase.
int no_passphrase(char*, int, int, void*) {
    return 0;
}

BioPtr open_bio(const std::filesystem::path& path, std::string& error) {
    errno = 0;
    BioPtr bio(BIO_new_file(path.c_str(), "r"));
    if (!bio) {
        error = errno != 0 ? std::strerror(errno) : openssl_error();
        ERR_clear_error();
    }
    return bio;
}

X509Ptr load_certificate(const std::filesystem::path& path, std::string& error) {
    auto bio = open_bio(path, error);
    if (!bio) {
        return nullptr;
    }
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
    if (!cert) {
        error = "not a PEM certificate (" + openssl_error() + ")";
    }
    return cert;
}

KeyPtr load_key(const std::filesystem::path& path, std::string& error) {
    auto bio = open_bio(path, error);
    if (!bio) {
        return nullptr;
    }
    KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!key) {
        error = "not a PEM private key, or encrypted (" + openssl_error() + ")";
    }
    return key;
}

bool same_operand(const TableOperand& a, const TableOperand& b) {
    return a.table == b.table && a.values == b.values;
}

bool same_criterion(const Criterion& a, const Criterion& b) {
    return a.present == b.present && a.negated == b.negated && a.regex == b.regex &&
           same_operand(a.operand, b.operand);
}

Rule::From effective_from(const Rule& r) {
    return r.from == Rule::From::auth || r.from == Rule::From::mail_from ? Rule::From::any : r.from;
}

Rule::For effective_for(const Rule& r) {
    return r.for_ == Rule::For::rcpt_to ? Rule::For::any : r.for_;
}

// True when every envelope that `later` matches is matched by `earlier` already.
bool covers(const Rule& earlier, const Rule& later) {
    const auto ef = effective_from(earlier);
    const bool from_covered =
        (ef == Rule::From::any && !earlier.from_negated) ||
        (ef == effective_from(later) && earlier.from_negated == later.from_negated &&
         earlier.from_regex == later.from_regex &&
         same_operand(earlier.from_operand, later.from_operand));
    const auto et = effective_for(earlier);
    const bool for_covered =
        (et == Rule::For::any && !earlier.for_negated) ||
        (et == effective_for(later) && earlier.for_negated == later.for_negated &&
         earlier.for_regex == later.for_regex &&
         same_operand(earlier.for_operand, later.for_operand));
    if (!from_covered || !for_covered) {
        return false;
    }
    const Criterion Rule::*criteria[] = {&Rule::auth,    &Rule::helo, &Rule::mail_from,
                                         &Rule::rcpt_to, &Rule::tag,  &Rule::tls};
    for (auto c : criteria) {
        if ((earlier.*c).present && !same_criterion(earlier.*c, later.*c)) {
            return false;
        }
    }
    return true;
}

} // namespace

void Parser::finish() {
    const bool check_files = m_options.check_files == CheckFiles::yes;
    for (const auto& pki : m_config.pkis) {
        if (pki.cert.empty()) {
            report(Severity::error, pki.where, "pki '" + pki.name + "' has no certificate",
                   "add `pki " + pki.name + " cert \"/path/to/cert.pem\"`");
        }
        if (pki.key.empty()) {
            report(Severity::error, pki.where, "pki '" + pki.name + "' has no key",
                   "add `pki " + pki.name + " key \"/path/to/key.pem\"`");
        }
        if (!check_files || pki.cert.empty() || pki.key.empty() || pki.cert.is_relative() ||
            pki.key.is_relative()) {
            continue;
        }
        std::string error;
        auto cert = load_certificate(pki.cert, error);
        if (!cert) {
            report(Severity::error, pki.cert_where,
                   "pki '" + pki.name + "': cannot load certificate " + pki.cert.string() + ": " +
                       error);
        }
        error.clear();
        auto key = load_key(pki.key, error);
        if (!key) {
            report(Severity::error, pki.key_where,
                   "pki '" + pki.name + "': cannot load key " + pki.key.string() + ": " + error);
        }
        if (cert && key && X509_check_private_key(cert.get(), key.get()) != 1) {
            ERR_clear_error();
            report(Severity::error, pki.key_where,
                   "pki '" + pki.name + "': key " + pki.key.string() +
                       " does not match certificate " + pki.cert.string());
        }
    }
    if (check_files) {
        for (const auto& ca : m_config.cas) {
            if (ca.cert.is_relative()) {
                continue;
            }
            std::string error;
            if (!load_certificate(ca.cert, error)) {
                report(Severity::error, ca.where,
                       "ca '" + ca.name + "': cannot load certificate " + ca.cert.string() + ": " +
                           error);
            }
        }
    }
    for (std::size_t i = 0; i < m_config.listeners.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            const auto& a = m_config.listeners[j];
            const auto& b = m_config.listeners[i];
            if (a.kind == Listener::Kind::inet && b.kind == Listener::Kind::inet &&
                a.interface == b.interface && a.port == b.port && a.port != 0 &&
                (a.family == b.family || a.family == Family::any || b.family == Family::any)) {
                report(Severity::error, b.where,
                       "listen on " + b.interface + " port " + std::to_string(b.port) +
                           " given twice (also at line " + std::to_string(a.where.line) + ")");
                break;
            }
        }
    }
    for (std::size_t i = 0; i < m_config.rules.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            if (covers(m_config.rules[j], m_config.rules[i])) {
                const auto& earlier = m_config.rules[j];
                report(Severity::warning, m_config.rules[i].where,
                       "this rule can never match: the rule at line " +
                           std::to_string(earlier.where.line) + " matches everything it does",
                       "first match wins; move the more specific rule first");
                break;
            }
        }
    }
    if (m_rule_statements == 0) {
        report(Severity::warning, Location{m_config.source_file, 0, 0},
               "no match rules: every recipient will be rejected",
               "add e.g. `action \"local\" mbox alias <aliases>` and `match for local action "
               "\"local\"`");
    }
}

} // namespace core::config::detail
