// SPDX-License-Identifier: ISC
#include "daemon/scheduler/scheduler.hpp"

#include "core/queue/bounce.hpp"
#include "core/util/log.hpp"
#include "core/util/trace.hpp"
#include "daemon/queue/queue_service.hpp"
#include "daemon/state.hpp"
#include "daemon/workers.hpp"

#include <algorithm>
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

Scheduler::Scheduler(asio::io_context& io, RuntimeState& state, Workers& workers, Settings settings,
                     Deliver deliver_local, Deliver deliver_relay, RouteBounce route_bounce)
    : m_io(io), m_state(state), m_workers(workers), m_settings(std::move(settings)),
      m_deliver_local(std::move(deliver_local)), m_deliver_relay(std::move(deliver_relay)),
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
        for (auto& e : envelopes) {
            self->insert(std::move(e));
        }
        self->wake();
    });
}

void Scheduler::wake() {
    m_timer.cancel();
}

std::string Scheduler::runstate(EvpId id) const {
    const auto it = m_entries.find(id);
    if (it == m_entries.end()) {
        return "pending";
    }
    return it->second.inflight ? "inflight" : "pending";
}

void Scheduler::insert(Envelope envelope) {
    const auto id = envelope.id;
    if (m_entries.count(id) != 0) {
        return; // already known (loaded at start and committed in the same moment)
    }
    m_due.insert({envelope.next_try, id});
    m_entries[id] = Entry{std::move(envelope), false};
    ++m_counts.pending;
}

bool Scheduler::dispatchable(const Entry& entry) const {
    const auto& e = entry.envelope;
    if ((e.flags & (core::queue::k_flag_hold | core::queue::k_flag_suspend)) != 0) {
        return false;
    }
    const bool relay = e.type == DeliveryType::mta;
    if (relay ? m_state.paused.mta : m_state.paused.mda) {
        return false;
    }
    if (relay) {
        const auto it = m_inflight_per_domain.find(domain_of(e));
        if (it != m_inflight_per_domain.end() && it->second >= m_settings.max_inflight_per_domain) {
            return false;
        }
    }
    return true;
}

asio::awaitable<void> Scheduler::loop() {
    auto self = shared_from_this();
    for (;;) {
        const auto now = now_seconds();
        // Start what is due, within the limits; what cannot start now waits for a wake-up.
        std::int64_t next_due = now + 3600;
        for (auto it = m_due.begin(); it != m_due.end() && m_inflight < m_settings.max_inflight;) {
            if (it->first > now) {
                next_due = std::min(next_due, it->first);
                break;
            }
            auto entry = m_entries.find(it->second);
            if (entry == m_entries.end()) {
                it = m_due.erase(it);
                continue;
            }
            if (!dispatchable(entry->second)) {
                ++it;
                continue;
            }
            const auto id = it->second;
            it = m_due.erase(it);
            entry->second.inflight = true;
            ++m_inflight;
            --m_counts.pending;
            if (entry->second.envelope.type == DeliveryType::mta) {
                ++m_inflight_per_domain[domain_of(entry->second.envelope)];
            }
            asio::co_spawn(m_io, attempt(id), asio::detached);
        }
        m_timer.expires_after(std::chrono::seconds(std::max<std::int64_t>(1, next_due - now)));
        asio::error_code ec;
        co_await m_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

asio::awaitable<void> Scheduler::attempt(EvpId id) {
    auto self = shared_from_this();
    auto entry = m_entries.find(id);
    Envelope envelope = entry->second.envelope;
    const bool relay = envelope.type == DeliveryType::mta;
    auto queue = m_state.queue;
    auto read = [queue, msgid = id.msgid()] { return queue->message_body(msgid); };
    auto body = co_await m_workers.run(std::move(read));
    Outcome outcome;
    std::shared_ptr<const std::string> text;
    if (!body || !*body) {
        outcome = {Outcome::Status::temporary,
                   "451 4.3.0 message unreadable: " +
                       (body ? std::string("missing") : body.error().message)};
    } else {
        text = std::make_shared<const std::string>(std::move(**body));
        MXD_TRACE(core::Subsystem::scheduler, id.hex(), "deliver",
                  {{"type", relay ? "mta" : "mda"}, {"dest", envelope.dest}});
        try {
            auto& deliver = relay ? m_deliver_relay : m_deliver_local;
            auto delivery = deliver(envelope, text);
            outcome = co_await std::move(delivery);
        } catch (const std::exception& e) {
            outcome = {Outcome::Status::temporary,
                       std::string("451 4.3.0 delivery failed: ") + e.what()};
        }
    }
    if (!text) {
        text = std::make_shared<const std::string>();
    }
    bool leaves = false;
    // g++ 12 destroys temporaries inside a co_await expression twice: build each awaitable
    // first, then await it.
    auto recording = record(envelope, outcome, text, leaves);
    auto changes = co_await std::move(recording);
    auto storing = m_state.queue->apply(changes);
    auto committed = co_await std::move(storing);
    core::log::info(relay ? "mta" : "mda", "delivery",
                    {{"evpid", id.hex()},
                     {"from", envelope.sender},
                     {"to", envelope.dest},
                     {"result", status_name(outcome.status)},
                     {"stat", outcome.text}});

    // Back on the event loop: the envelope leaves memory, or waits for its next try.
    --m_inflight;
    if (relay) {
        auto d = m_inflight_per_domain.find(domain_of(envelope));
        if (d != m_inflight_per_domain.end() && --d->second == 0) {
            m_inflight_per_domain.erase(d);
        }
    }
    entry = m_entries.find(id);
    if (!committed) {
        // The store refused the result: the envelope stays as it was and is tried again later
        // (a delivered one may then be delivered twice, which the delivery rule allows).
        core::log::error("scheduler", "record-failed",
                         {{"evpid", id.hex()}, {"error", committed.error().message}});
        if (entry != m_entries.end()) {
            entry->second.inflight = false;
            entry->second.envelope.next_try = now_seconds() + 60;
            m_due.insert({entry->second.envelope.next_try, id});
            ++m_counts.pending;
        }
    } else if (leaves) {
        m_entries.erase(id);
    } else if (entry != m_entries.end()) {
        entry->second.inflight = false;
        entry->second.envelope = changes.updates.empty() ? envelope : changes.updates.front();
        m_due.insert({entry->second.envelope.next_try, id});
        ++m_counts.pending;
    }
    // New messages (bounces, delay notices) come back through QueueService::on_committed.
    switch (outcome.status) {
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
