// SPDX-License-Identifier: ISC
#pragma once

#include "core/queue/envelope.hpp"
#include "core/util/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Which envelopes a queue command of mxctl acts on (show queue, schedule, remove, pause
// envelope, resume envelope): an evpid, a msgid or `all`, narrowed by filters. One piece of
// code for every queue command, so that `show queue --sender X` lists exactly what
// `remove --sender X` removes.
namespace core::queue {

// The filters as the command line gives them; empty strings are "not given".
struct FilterSpec {
    std::string id;          // an evpid (16 hex digits), a msgid (8), "all", or ""
    std::string sender;      // an address pattern; "<>" is the null sender
    std::string rcpt;        // an address pattern, matched against rcpt and dest
    std::string domain;      // a domain pattern, matched against the recipient's domain
    std::string older_than;  // a duration: 30s, 5m, 2h, 1d
    std::string state;       // pending, inflight or held
};

class Filter {
public:
    // Checks and parses a spec. Fails with Errc::invalid_argument naming the bad field: an
    // id that is neither an evpid, a msgid nor "all", a bad duration, an unknown state.
    static Result<Filter> parse(const FilterSpec& spec);

    // True when the envelope, whose scheduler runstate is `runstate` ("pending", "inflight"
    // or "held"), passes every filter given; `now` is the current unix time.
    bool matches(const Envelope& envelope, std::string_view runstate, std::int64_t now) const;

    // True when something was asked for: an id, `all` or a filter. Commands that change the
    // queue refuse to run without it (no accidental mass removal).
    bool scoped() const { return m_scoped; }

    // The one envelope named, when the id is an evpid.
    std::optional<EvpId> evpid() const { return m_evpid; }
    // The message named, when the id is a msgid (or the message of the named evpid).
    std::optional<MsgId> msgid() const { return m_msgid; }
    // Whether the id was "all".
    bool all() const { return m_all; }
    // Whether the runstate is needed to decide (a --state filter).
    bool needs_runstate() const { return m_state.has_value(); }

private:
    std::optional<EvpId> m_evpid;
    std::optional<MsgId> m_msgid;
    bool m_all = false;
    bool m_scoped = false;
    std::string m_sender;
    std::string m_rcpt;
    std::string m_domain;
    std::optional<std::int64_t> m_older_than;
    std::optional<std::string> m_state;
};

// Matches `text` against a shell-style pattern (`*` any run, `?` one character), ignoring
// ASCII case, as mail addresses are compared. A pattern without wildcards must match whole.
bool match_pattern(std::string_view pattern, std::string_view text);

// The domain of an address ("user@Example.org" -> "Example.org"); "" when it has none.
std::string_view address_domain(std::string_view address);

} // namespace core::queue
