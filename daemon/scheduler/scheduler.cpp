// SPDX-License-Identifier: ISC
#include "daemon/scheduler/scheduler.hpp"

#include "core/queue/bounce.hpp"
#include "core/util/log.hpp"
#include "core/util/trace.hpp"
#include "daemon/queue/queue_service.hpp"
#include "daemon/state.hpp"
#include "daemon/workers.hpp"

#include <algorithm>
#include <cassert>
#include <ctime>

namespace mxd::scheduler {

using core::queue::DeliveryType;
using core::queue::Envelope;
using core::queue::EvpId;

namespace {

std::int64_t now_seconds() {
    return static_cast<std::int64_t>(std::time(nullptr));
}

// The domain a relay envelope goes to: the per-destination limit counts by it.
std::string domain_of(const Envelope& e) {
    const auto at = e.dest.rfind('@');
    return at == std::string::npos ? std::string{} : e.dest.substr(at + 1);
}

std::string_view status_name(Outcome::Status s) {
    switch (s) {
    case Outcome::Status::delivered:
        return "Ok";
    case Outcome::Status::temporary:
        return "TempFail";
    case Outcome::Status::permanent:
        return "PermFail";
    }
    return "?";
}

} // namespace

void configure(Settings& settings, const core::config::Config& config) {
    settings.warn_intervals = config.bounce_warn_intervals;
    if (config.queue.backoff) {
        settings.backoff_base = std::chrono::seconds(*config.queue.backoff);
    }
    if (const auto limit = config.mda.limits.find("max-session-per-user");
        limit != config.mda.limits.end() && limit->second > 0) {
        settings.max_inflight_per_user = static_cast<std::size_t>(limit->second);
    }
}

Scheduler::Scheduler(asio::io_context& io, RuntimeState& state, Workers& workers, Settings settings,
                     Deliver deliver_local, RelayAgent relay, RouteBounce route_bounce)
    : m_io(io), m_state(state), m_workers(workers), m_settings(std::move(settings)),
      m_deliver_local(std::move(deliver_local)), m_relay(std::move(relay)),
      m_route_bounce(std::move(route_bounce)), m_timer(io) {}

core::Result<void> Scheduler::start() {
    std::size_t loaded = 0;
    MXD_TRY(m_state.queue->for_each_envelope([&](const Envelope& e) {
        insert(e);
        ++loaded;
        return true;
    }));
    core::log::info("scheduler", "loaded", {{"envelopes", loaded}});
    asio::co_spawn(m_io, loop(), asio::detached);
    return {};
}

void Scheduler::add(std::vector<Envelope> envelopes) {
    asio::post(m_io, [self = shared_from_this(), envelopes = std::move(envelopes)]() mutable {
        bool startable = false;
        for (auto& e : envelopes) {
            startable = startable || !self->paused(kind_of(e));
            self->insert(std::move(e));
        }
        // Only a kind that is not paused has anything to start: under `-P mda -P mta` new mail
        // costs the scheduler an insertion and nothing more.
        if (startable) {
            self->wake();
        }
    });
}

void Scheduler::wake() {
    m_timer.cancel();
}

Scheduler::Kind Scheduler::kind_of(const Envelope& e) {
    return e.type == DeliveryType::mta ? k_relay : k_local;
}

bool Scheduler::paused(Kind kind) const {
    return kind == k_relay ? m_state.paused.mta : m_state.paused.mda;
}

Scheduler::Counts Scheduler::counts() const {
    auto out = m_counts;
    out.inflight = m_inflight;
    out.pending = m_entries.size() - m_inflight;
    out.held = m_held;
    return out;
}

std::string Scheduler::runstate(EvpId id) const {
    const auto it = m_entries.find(id);
    if (it == m_entries.end()) {
        return "pending";
    }
    switch (it->second.where) {
    case Where::inflight:
        return "inflight";
    case Where::held:
        return "held";
    case Where::due:
    case Where::waiting:
        break;
    }
    return "pending";
}

std::optional<std::int64_t> Scheduler::next_try(EvpId id) const {
    const auto it = m_entries.find(id);
    if (it == m_entries.end()) {
        return std::nullopt;
    }
    return it->second.envelope.next_try;
}

void Scheduler::insert(Envelope envelope) {
    const auto id = envelope.id;
    auto [it, added] = m_entries.try_emplace(id);
    if (!added) {
        return; // already known (loaded at start and committed in the same moment)
    }
    it->second.envelope = std::move(envelope);
    place(id, it->second);
}

void Scheduler::place(EvpId id, Entry& entry) {
    const auto& e = entry.envelope;
    if ((e.flags & (core::queue::k_flag_hold | core::queue::k_flag_suspend)) != 0) {
        entry.where = Where::held;
        ++m_held;
        return;
    }
    entry.where = Where::due;
    m_due[kind_of(e)].insert({e.next_try, id});
}

void Scheduler::unplace(EvpId id, Entry& entry) {
    switch (entry.where) {
    case Where::due:
        m_due[kind_of(entry.envelope)].erase({entry.envelope.next_try, id});
        break;
    case Where::waiting:
        // Left in its domain's list; release_waiting skips ids that are no longer waiting.
        break;
    case Where::held:
        --m_held;
        break;
    case Where::inflight:
        assert(false && "inflight envelopes are not unplaced");
        break;
    }
    entry.where = Where::due;
}

std::string Scheduler::route_of(const Envelope& e) const {
    return m_relay.route ? m_relay.route(e) : e.action + "\n" + domain_of(e);
}

std::vector<EvpId> Scheduler::gather(EvpId leader, const Entry& entry, std::int64_t now) {
    std::vector<EvpId> ids{leader};
    const auto& first = entry.envelope;
    const auto route = route_of(first);
    // Envelope ids begin with their message id, so a message's envelopes are neighbours in
    // m_entries: the scan costs the message's recipients, not the queue.
    const auto msgid = static_cast<std::uint64_t>(leader.msgid().value());
    for (auto it = m_entries.lower_bound(EvpId(msgid << 32));
         it != m_entries.end() && it->first.msgid() == leader.msgid() &&
         ids.size() < m_settings.max_recipients;
         ++it) {
        const auto& other = it->second;
        const auto& e = other.envelope;
        if (it->first == leader || kind_of(e) != k_relay ||
            (other.where != Where::due && other.where != Where::waiting) || e.next_try > now ||
            e.action != first.action || e.sender != first.sender || route_of(e) != route) {
            continue;
        }
        ids.push_back(it->first);
    }
    return ids;
}

void Scheduler::start_delivery(EvpId id, Entry& entry, std::int64_t now) {
    std::vector<EvpId> ids{id};
    if (auto key = limit_key(entry.envelope); !key.empty()) {
        ++m_inflight_per_key[std::move(key)];
    }
    if (kind_of(entry.envelope) == k_relay) {
        // One transaction for the recipients of a message on one route (one MAIL FROM, one
        // RCPT each, one DATA); it counts once against the per-domain limit, by its first
        // envelope's domain.
        ids = gather(id, entry, now);
        for (std::size_t i = 1; i < ids.size(); ++i) {
            auto& other = m_entries.find(ids[i])->second;
            unplace(ids[i], other); // a waiting one stays in its list, which skips it later
            other.where = Where::inflight;
        }
    }
    entry.where = Where::inflight;
    m_inflight += ids.size();
    ++m_attempts;
    asio::co_spawn(m_io, attempt(std::move(ids)), asio::detached);
}

std::string Scheduler::limit_key(const Envelope& e) {
    if (kind_of(e) == k_relay) {
        return "mta " + domain_of(e);
    }
    // The user a local delivery writes for: mda's per-user limit (OpenSMTPD's
    // max-session-per-user) counts by the same name as the delivery agent's.
    if (!e.run_as.empty()) {
        return "mda " + e.run_as;
    }
    if (e.dest.empty() || e.dest.front() == '|' || e.dest.front() == '/') {
        return {};
    }
    return "mda " + e.dest;
}

std::size_t Scheduler::limit_of(Kind kind) const {
    return kind == k_relay ? m_settings.max_inflight_per_domain : m_settings.max_inflight_per_user;
}

void Scheduler::release_waiting(const std::string& key) {
    auto list = m_waiting.find(key);
    while (list != m_waiting.end() && !list->second.empty()) {
        const auto id = list->second.front();
        list->second.pop_front();
        auto entry = m_entries.find(id);
        if (entry != m_entries.end() && entry->second.where == Where::waiting) {
            entry->second.where = Where::due;
            m_due[kind_of(entry->second.envelope)].insert({entry->second.envelope.next_try, id});
            break;
        }
    }
    if (list != m_waiting.end() && list->second.empty()) {
        m_waiting.erase(list);
    }
}

asio::awaitable<void> Scheduler::loop() {
    auto self = shared_from_this();
    for (;;) {
        const auto now = now_seconds();
        // Start what is due, within the limits. The cost is the envelopes started or parked:
        // a paused kind is skipped whole, and an envelope whose destination (a relay's domain,
        // a local delivery's user) is at its limit moves to that destination's waiting list
        // until an attempt to it ends, without holding one of the max_inflight places.
        std::int64_t next_due = now + 3600;
        for (const auto kind : {k_local, k_relay}) {
            if (paused(kind)) {
                continue;
            }
            auto& due = m_due[kind];
            while (!due.empty() && m_attempts < m_settings.max_inflight) {
                const auto [when, id] = *due.begin();
                if (when > now) {
                    next_due = std::min(next_due, when);
                    break;
                }
                due.erase(due.begin());
                auto entry = m_entries.find(id);
                if (entry == m_entries.end()) {
                    continue;
                }
                if (auto key = limit_key(entry->second.envelope); !key.empty()) {
                    const auto count = m_inflight_per_key.find(key);
                    if (count != m_inflight_per_key.end() && count->second >= limit_of(kind)) {
                        entry->second.where = Where::waiting;
                        m_waiting[std::move(key)].push_back(id);
                        continue;
                    }
                }
                start_delivery(id, entry->second, now);
            }
        }
        m_timer.expires_after(std::chrono::seconds(std::max<std::int64_t>(1, next_due - now)));
        asio::error_code ec;
        co_await m_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

void Scheduler::reconfigure(const core::config::Config& config) {
    configure(m_settings, config);
    std::vector<EvpId> returned;
    for (const auto& [id, entry] : m_entries) {
        if (entry.where == Where::due && entry.envelope.last_error.find(k_missing_action) != std::string::npos &&
            config.find_action(entry.envelope.action) != nullptr) {
            returned.push_back(id);
        }
    }
    if (!returned.empty()) {
        core::log::info("scheduler", "actions-back", {{"envelopes", returned.size()}});
        schedule(returned);
    }
}

Touched Scheduler::schedule(const std::vector<EvpId>& ids) {
    Touched touched;
    const auto now = now_seconds();
    for (const auto id : ids) {
        auto it = m_entries.find(id);
        if (it == m_entries.end()) {
            ++touched.missing;
            continue;
        }
        auto& entry = it->second;
        switch (entry.where) {
        case Where::inflight:
            ++touched.inflight;
            continue;
        case Where::held:
            ++touched.held;
            continue;
        case Where::waiting:
            break; // already due
        case Where::due:
            unplace(id, entry);
            entry.envelope.next_try = std::min(entry.envelope.next_try, now);
            place(id, entry);
            break;
        }
        ++touched.done;
    }
    if (touched.done > 0) {
        wake();
    }
    return touched;
}

asio::awaitable<core::Result<Touched>> Scheduler::hold(std::vector<EvpId> ids, bool held) {
    auto self = shared_from_this();
    Touched touched;
    core::queue::QueueChanges changes;
    for (const auto id : ids) {
        auto it = m_entries.find(id);
        if (it == m_entries.end()) {
            ++touched.missing;
            continue;
        }
        auto& entry = it->second;
        if (entry.where == Where::inflight) {
            entry.hold_after = held;
            ++touched.inflight;
            continue;
        }
        const bool is_held = (entry.envelope.flags & core::queue::k_flag_hold) != 0;
        ++touched.done;
        if (is_held == held) {
            continue;
        }
        // Out of the due set first, so nothing starts it while the change is being stored.
        unplace(id, entry);
        entry.envelope.flags ^= core::queue::k_flag_hold;
        entry.where = Where::held;
        ++m_held;
        changes.updates.push_back(entry.envelope);
    }
    if (changes.updates.empty()) {
        co_return touched;
    }
    auto storing = m_state.queue->apply(changes);
    auto stored = co_await std::move(storing);
    // Back on the event loop: place each changed envelope by its flags, or undo the change.
    for (const auto& e : changes.updates) {
        auto it = m_entries.find(e.id);
        if (it == m_entries.end() || it->second.where != Where::held) {
            continue;
        }
        --m_held;
        if (!stored) {
            it->second.envelope.flags ^= core::queue::k_flag_hold;
        }
        place(e.id, it->second);
    }
    if (!stored) {
        co_return core::fail(std::move(stored).error());
    }
    core::log::info("scheduler", held ? "hold" : "release", {{"envelopes", changes.updates.size()}});
    wake();
    co_return touched;
}

asio::awaitable<core::Result<Touched>> Scheduler::remove(std::vector<EvpId> ids) {
    auto self = shared_from_this();
    Touched touched;
    core::queue::QueueChanges changes;
    std::vector<Envelope> removed;
    for (const auto id : ids) {
        auto it = m_entries.find(id);
        if (it == m_entries.end()) {
            ++touched.missing;
            continue;
        }
        if (it->second.where == Where::inflight) {
            it->second.remove_after = true;
            ++touched.inflight;
            continue;
        }
        unplace(id, it->second);
        removed.push_back(std::move(it->second.envelope));
        m_entries.erase(it);
        changes.removals.push_back(id);
        ++touched.done;
    }
    if (changes.removals.empty()) {
        co_return touched;
    }
    auto storing = m_state.queue->apply(std::move(changes));
    auto stored = co_await std::move(storing);
    if (!stored) {
        // Still in the store, so back in the schedule.
        for (auto& e : removed) {
            insert(std::move(e));
        }
        co_return core::fail(std::move(stored).error());
    }
    m_counts.removed += removed.size();
    // One line per envelope for what an operator removes by hand; one line for a mass removal.
    if (removed.size() <= 100) {
        for (const auto& e : removed) {
            core::log::info("scheduler", "removed", {{"evpid", e.id.hex()}, {"to", e.dest}});
        }
    } else {
        core::log::info("scheduler", "removed", {{"envelopes", removed.size()}});
    }
    co_return touched;
}

asio::awaitable<void> Scheduler::attempt(std::vector<EvpId> ids) {
    auto self = shared_from_this();
    std::vector<Envelope> envelopes;
    for (const auto id : ids) {
        envelopes.push_back(m_entries.find(id)->second.envelope);
    }
    const bool relay = envelopes.front().type == DeliveryType::mta;
    auto queue = m_state.queue;
    auto read = [queue, msgid = ids.front().msgid()] { return queue->message_body(msgid); };
    auto body = co_await m_workers.run(std::move(read));
    std::vector<Outcome> outcomes;
    std::shared_ptr<const std::string> text;
    if (!body || !*body) {
        outcomes.assign(ids.size(),
                        {Outcome::Status::temporary,
                         "451 4.3.0 message unreadable: " +
                             (body ? std::string("missing") : body.error().message)});
    } else {
        text = std::make_shared<const std::string>(std::move(**body));
        for (const auto& e : envelopes) {
            MXD_TRACE(core::Subsystem::scheduler, e.id.hex(), "deliver",
                      {{"type", relay ? "mta" : "mda"},
                       {"dest", e.dest},
                       {"batch", ids.size()},
                       {"first", ids.front().hex()}});
        }
        try {
            if (relay) {
                auto delivery = m_relay.deliver(envelopes, text);
                outcomes = co_await std::move(delivery);
            } else {
                auto delivery = m_deliver_local(envelopes.front(), text);
                outcomes.push_back(co_await std::move(delivery));
            }
        } catch (const std::exception& e) {
            outcomes.assign(ids.size(), {Outcome::Status::temporary,
                                         std::string("451 4.3.0 delivery failed: ") + e.what()});
        }
        outcomes.resize(ids.size(),
                        {Outcome::Status::temporary, "451 4.3.0 no result for this recipient"});
    }
    if (!text) {
        text = std::make_shared<const std::string>();
    }
    // What each envelope's outcome does to the queue, all stored in one transaction.
    struct Recorded {
        bool leaves = false;
        std::optional<Envelope> updated; // its next try, when it stays
    };
    std::vector<Recorded> results(ids.size());
    core::queue::QueueChanges changes;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto id = ids[i];
        // Inflight envelopes stay in m_entries (remove and hold only mark them), so this holds.
        auto entry = m_entries.find(id);
        if (entry->second.remove_after) {
            // Removed by mxctl during the attempt: whatever its outcome, it leaves, unreported.
            changes.removals.push_back(id);
            results[i].leaves = true;
            continue;
        }
        // g++ 12 destroys temporaries inside a co_await expression twice: build each awaitable
        // first, then await it.
        auto recording = record(envelopes[i], outcomes[i], text, results[i].leaves);
        auto mine = co_await std::move(recording);
        entry = m_entries.find(id);
        if (!mine.updates.empty()) {
            auto& flags = mine.updates.front().flags;
            if (entry->second.hold_after) {
                flags = *entry->second.hold_after ? (flags | core::queue::k_flag_hold)
                                                  : (flags & ~core::queue::k_flag_hold);
            }
            results[i].updated = mine.updates.front();
        }
        for (auto& m : mine.messages) {
            changes.messages.push_back(std::move(m));
        }
        for (auto& u : mine.updates) {
            changes.updates.push_back(std::move(u));
        }
        for (auto r : mine.removals) {
            changes.removals.push_back(r);
        }
    }
    auto storing = m_state.queue->apply(changes);
    auto committed = co_await std::move(storing);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        core::log::info(relay ? "mta" : "mda", "delivery",
                        {{"evpid", ids[i].hex()},
                         {"from", envelopes[i].sender},
                         {"to", envelopes[i].dest},
                         {"result", status_name(outcomes[i].status)},
                         {"stat", outcomes[i].text}});
    }

    // Back on the event loop: each envelope leaves memory, or waits for its next try.
    m_inflight -= ids.size();
    --m_attempts;
    if (const auto key = limit_key(envelopes.front()); !key.empty()) {
        auto d = m_inflight_per_key.find(key);
        if (d != m_inflight_per_key.end() && --d->second == 0) {
            m_inflight_per_key.erase(d);
        }
        release_waiting(key);
    }
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto id = ids[i];
        auto entry = m_entries.find(id);
        if (!committed) {
            // The store refused the result: the envelope stays as it was and is tried again
            // later (a delivered one may then be delivered twice, which the delivery rule
            // allows).
            core::log::error("scheduler", "record-failed",
                             {{"evpid", id.hex()}, {"error", committed.error().message}});
            entry->second.envelope.next_try = now_seconds() + 60;
            entry->second.remove_after = false;
            entry->second.hold_after.reset();
            place(id, entry->second);
        } else if (results[i].leaves) {
            if (entry->second.remove_after) {
                ++m_counts.removed;
                core::log::info("scheduler", "removed",
                                {{"evpid", id.hex()}, {"to", envelopes[i].dest}});
            }
            m_entries.erase(entry);
        } else {
            entry->second.envelope = results[i].updated ? *results[i].updated : envelopes[i];
            entry->second.hold_after.reset();
            place(id, entry->second);
        }
        // New messages (bounces, delay notices) come back through QueueService::on_committed.
        switch (outcomes[i].status) {
        case Outcome::Status::delivered:
            ++m_counts.delivered;
            break;
        case Outcome::Status::temporary:
            ++m_counts.temporary;
            break;
        case Outcome::Status::permanent:
            ++m_counts.permanent;
            break;
        }
    }
    wake();
}

asio::awaitable<core::queue::QueueChanges>
Scheduler::record(Envelope envelope, Outcome outcome, std::shared_ptr<const std::string> body,
                  bool& leaves) {
    core::queue::QueueChanges changes;
    const auto now = now_seconds();
    leaves = false;
    if (outcome.status == Outcome::Status::temporary && now >= envelope.expires) {
        ++m_counts.expired;
        outcome = {Outcome::Status::permanent, "Envelope expired; last error: " + outcome.text};
    }
    switch (outcome.status) {
    case Outcome::Status::delivered:
        changes.removals.push_back(envelope.id);
        leaves = true;
        break;
    case Outcome::Status::permanent:
        changes.messages = co_await make_report(envelope, *body, outcome, false);
        changes.removals.push_back(envelope.id);
        leaves = true;
        break;
    case Outcome::Status::temporary: {
        envelope.retries += 1;
        envelope.last_try = now;
        envelope.last_error = outcome.text;
        // OpenSMTPD's backoff: base * retries^2 (scheduler_backoff), capped.
        const auto delay = std::min<std::int64_t>(m_settings.backoff_base.count() *
                                                      envelope.retries * envelope.retries,
                                                  m_settings.backoff_max.count());
        envelope.next_try =
            std::min(now + std::max<std::int64_t>(1, delay), std::max(envelope.expires, now + 1));
        // `bounce warn-interval`: a delay notice at each interval the envelope has waited past.
        const auto& warn = m_settings.warn_intervals;
        if (static_cast<std::size_t>(envelope.warnings) < warn.size() &&
            now - envelope.created >= warn[static_cast<std::size_t>(envelope.warnings)]) {
            changes.messages = co_await make_report(envelope, *body, outcome, true);
            envelope.warnings += 1;
        }
        changes.updates.push_back(envelope);
        break;
    }
    }
    co_return changes;
}

asio::awaitable<std::vector<core::queue::NewMessage>>
Scheduler::make_report(const Envelope& envelope, const std::string& body, const Outcome& outcome,
                       bool delay) {
    std::vector<core::queue::NewMessage> out;
    // RFC 3461 and 5321 6.1: never report on a report (null sender), so bounces cannot loop;
    // a report that cannot be delivered is dropped with a log line.
    if (envelope.sender.empty() || (envelope.flags & core::queue::k_flag_bounce) != 0) {
        if (!delay) {
            core::log::warning(
                "bounce", "dropped",
                {{"evpid", envelope.id.hex()},
                 {"to", envelope.dest},
                 {"reason", envelope.sender.empty() ? "null sender" : "bounce of a bounce"},
                 {"error", outcome.text}});
        }
        co_return out;
    }
    // DSN NOTIFY (RFC 3461 4.1): NEVER, or a list without FAILURE/DELAY, asks for no report.
    if (!envelope.dsn_notify.empty()) {
        const std::string wanted = delay ? "DELAY" : "FAILURE";
        if (envelope.dsn_notify.find(wanted) == std::string::npos) {
            co_return out;
        }
    }
    core::queue::Report report;
    report.kind = delay ? core::queue::Report::Kind::delay : core::queue::Report::Kind::failure;
    report.reporting_host = m_settings.hostname;
    report.to = envelope.sender;
    report.envid = envelope.dsn_envid;
    report.arrival = static_cast<std::time_t>(envelope.created);
    report.now = std::time(nullptr);
    report.full_message = envelope.dsn_ret == "FULL";
    report.recipients.push_back({envelope.rcpt, envelope.dsn_orcpt, outcome.text});
    core::queue::NewMessage message;
    message.id = core::queue::MsgId::random();
    message.created = now_seconds();
    message.body = core::queue::make_report(report, body);
    auto route = m_route_bounce;
    auto work = [route, message, sender = envelope.sender] { return route(message, sender); };
    auto envelopes = co_await m_workers.run(std::move(work));
    if (!envelopes || envelopes->empty()) {
        core::log::warning(
            "bounce", "dropped",
            {{"evpid", envelope.id.hex()},
             {"to", envelope.sender},
             {"reason", envelopes ? std::string("no route") : envelopes.error().message}});
        co_return out;
    }
    message.envelopes = std::move(*envelopes);
    for (auto& e : message.envelopes) {
        e.flags |= core::queue::k_flag_bounce;
    }
    ++m_counts.bounces;
    core::log::info(
        "bounce", delay ? "delay-notice" : "queued",
        {{"evpid", envelope.id.hex()}, {"to", envelope.sender}, {"msgid", message.id.hex()}});
    out.push_back(std::move(message));
    co_return out;
}

} // namespace mxd::scheduler
