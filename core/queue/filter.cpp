// SPDX-License-Identifier: ISC
#include "core/queue/filter.hpp"

#include "core/protocol/args.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace core::queue {

namespace {

constexpr std::array<std::string_view, 3> k_states{"pending", "inflight", "held"};

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// An address pattern: "<>" is the null sender, "@domain" any address of that domain.
bool match_address(std::string_view pattern, std::string_view address) {
    if (pattern == "<>") {
        return address.empty();
    }
    if (pattern.starts_with('@')) {
        return !address.empty() && match_pattern(pattern.substr(1), address_domain(address));
    }
    return match_pattern(pattern, address);
}

} // namespace

bool match_pattern(std::string_view pattern, std::string_view text) {
    // Iterative glob with one backtrack point: linear in practice, never exponential.
    std::size_t p = 0;
    std::size_t t = 0;
    std::size_t star = std::string_view::npos;
    std::size_t resume = 0;
    while (t < text.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = t;
        } else if (p < pattern.size() && (pattern[p] == '?' || lower(pattern[p]) == lower(text[t]))) {
            ++p;
            ++t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') {
        ++p;
    }
    return p == pattern.size();
}

std::string_view address_domain(std::string_view address) {
    const auto at = address.rfind('@');
    return at == std::string_view::npos ? std::string_view{} : address.substr(at + 1);
}

Result<Filter> Filter::parse(const FilterSpec& spec) {
    Filter f;
    if (!spec.id.empty()) {
        if (spec.id == "all") {
            f.m_all = true;
        } else if (const auto evpid = EvpId::parse(spec.id)) {
            f.m_evpid = evpid;
            f.m_msgid = evpid->msgid();
        } else if (const auto msgid = MsgId::parse(spec.id)) {
            f.m_msgid = msgid;
        } else {
            return fail(Errc::invalid_argument,
                        "'" + spec.id + "' is not an envelope id (16 hex digits), a message id (8) or all");
        }
    }
    f.m_sender = spec.sender;
    f.m_rcpt = spec.rcpt;
    f.m_domain = spec.domain;
    if (!spec.older_than.empty()) {
        auto seconds = protocol::parse_duration_seconds(spec.older_than);
        if (!seconds) {
            return fail(Errc::invalid_argument, "--older-than: " + seconds.error().message);
        }
        f.m_older_than = *seconds;
    }
    if (!spec.state.empty()) {
        if (std::find(k_states.begin(), k_states.end(), spec.state) == k_states.end()) {
            return fail(Errc::invalid_argument,
                        "--state '" + spec.state + "' is not one of pending, inflight, held");
        }
        f.m_state = spec.state;
    }
    f.m_scoped = f.m_all || f.m_msgid || !f.m_sender.empty() || !f.m_rcpt.empty() ||
                 !f.m_domain.empty() || f.m_older_than || f.m_state;
    return f;
}

bool Filter::matches(const Envelope& e, std::string_view runstate, std::int64_t now) const {
    if (m_evpid && e.id != *m_evpid) {
        return false;
    }
    if (m_msgid && e.id.msgid() != *m_msgid) {
        return false;
    }
    if (!m_sender.empty() && !match_address(m_sender, e.sender)) {
        return false;
    }
    if (!m_rcpt.empty() && !match_address(m_rcpt, e.rcpt) && !match_address(m_rcpt, e.dest)) {
        return false;
    }
    if (!m_domain.empty() && !match_pattern(m_domain, address_domain(e.dest)) &&
        !match_pattern(m_domain, address_domain(e.rcpt))) {
        return false;
    }
    if (m_older_than && now - e.created < *m_older_than) {
        return false;
    }
    if (m_state && runstate != *m_state) {
        return false;
    }
    return true;
}

} // namespace core::queue
