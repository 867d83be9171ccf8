// SPDX-License-Identifier: ISC
#include "core/stats/stats.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace core::stats {

namespace {

using K = Kind;

// Sorted by key (strcmp order), as smtpctl prints them.
constexpr std::array<Metric, 33> k_metrics{{
    {"control.session", K::gauge, "mxd_control_sessions", "Control clients connected now."},
    {"control.trace.follower", K::gauge, "mxd_control_trace_followers",
     "Control clients following trace lines (mxctl trace --follow) now."},
    {"mda.envelope", K::gauge, "mxd_mda_envelopes", "Envelopes in local delivery now."},
    {"mta.envelope", K::gauge, "mxd_mta_envelopes", "Envelopes being relayed now."},
    {"mta.session", K::gauge, "mxd_mta_sessions", "Outgoing SMTP connections open now."},
    {"queue.bounce", K::counter, "mxd_queue_bounces_total",
     "Bounces and delay notices queued since the daemon started."},
    {"queue.commit.batch", K::counter, "mxd_queue_commit_batches_total",
     "Queue transactions (one fsync each) since the daemon started."},
    {"queue.commit.message", K::counter, "mxd_queue_commit_messages_total",
     "Messages committed to the queue since the daemon started."},
    {"queue.envelope", K::gauge, "mxd_queue_envelopes", "Envelopes in the queue."},
    {"queue.envelope.dequeued", K::counter, "mxd_queue_envelopes_dequeued_total",
     "Envelopes that left the queue (delivered, bounced, expired or removed) since the daemon started."},
    {"queue.envelope.enqueued", K::counter, "mxd_queue_envelopes_enqueued_total",
     "Envelopes committed to the queue since the daemon started."},
    {"queue.message", K::gauge, "mxd_queue_messages", "Messages in the queue."},
    {"queue.oldest.age", K::gauge, "mxd_queue_oldest_age_seconds",
     "Age of the oldest queued message in seconds, 0 when the queue is empty."},
    {"scheduler.delivery.ok", K::counter, "mxd_scheduler_deliveries_ok_total",
     "Deliveries that succeeded since the daemon started."},
    {"scheduler.delivery.permfail", K::counter, "mxd_scheduler_deliveries_permfail_total",
     "Deliveries that failed for good since the daemon started."},
    {"scheduler.delivery.tempfail", K::counter, "mxd_scheduler_deliveries_tempfail_total",
     "Deliveries that failed temporarily since the daemon started."},
    {"scheduler.envelope", K::gauge, "mxd_scheduler_envelopes",
     "Envelopes the scheduler holds: pending, held and inflight."},
    {"scheduler.envelope.expired", K::counter, "mxd_scheduler_envelopes_expired_total",
     "Envelopes that expired (queue ttl) since the daemon started."},
    {"scheduler.envelope.held", K::gauge, "mxd_scheduler_envelopes_held",
     "Envelopes held (paused) by an operator."},
    {"scheduler.envelope.inflight", K::gauge, "mxd_scheduler_envelopes_inflight",
     "Envelopes being delivered now."},
    {"scheduler.envelope.pending", K::gauge, "mxd_scheduler_envelopes_pending",
     "Envelopes waiting for their next delivery attempt (held ones included)."},
    {"scheduler.envelope.removed", K::counter, "mxd_scheduler_envelopes_removed_total",
     "Envelopes removed by an operator since the daemon started."},
    {"smtp.auth.failed", K::counter, "mxd_smtp_auth_failed_total",
     "SMTP AUTH attempts refused since the daemon started."},
    {"smtp.auth.ok", K::counter, "mxd_smtp_auth_ok_total",
     "SMTP AUTH attempts accepted since the daemon started."},
    {"smtp.message", K::counter, "mxd_smtp_messages_total",
     "Messages accepted over SMTP since the daemon started."},
    {"smtp.session", K::gauge, "mxd_smtp_sessions", "Incoming SMTP sessions open now."},
    {"smtp.session.closed", K::counter, "mxd_smtp_sessions_closed_total",
     "Incoming SMTP sessions ended since the daemon started."},
    {"smtp.session.inet4", K::gauge, "mxd_smtp_sessions_inet4", "Incoming SMTP sessions over IPv4 open now."},
    {"smtp.session.inet6", K::gauge, "mxd_smtp_sessions_inet6", "Incoming SMTP sessions over IPv6 open now."},
    {"smtp.session.opened", K::counter, "mxd_smtp_sessions_opened_total",
     "Incoming SMTP sessions accepted since the daemon started."},
    {"smtp.smtps", K::gauge, "mxd_smtp_smtps_sessions", "Incoming SMTP sessions on an smtps listener open now."},
    {"smtp.tls", K::gauge, "mxd_smtp_tls_sessions", "Incoming SMTP sessions in TLS after STARTTLS open now."},
    {"uptime", K::gauge, "mxd_uptime_seconds", "Seconds since the daemon started."},
}};

constexpr std::array<std::string_view, 13> k_monitor_fields{
    "client_current",   "client_connected",  "client_disconnected", "envelope_current", "envelope_enqueued",
    "envelope_dequeued", "delivery_ok",      "delivery_tempfail",   "delivery_permfail", "delivery_loop",
    "envelope_expired", "envelope_removed",  "bounce",
};

std::string number_text(const nlohmann::json& value) {
    if (value.is_number_float()) {
        char buffer[64];
        std::snprintf(buffer, sizeof buffer, "%.6g", value.get<double>());
        return buffer;
    }
    return value.dump();
}

std::string prometheus_name(std::string_view key) {
    std::string name = "mxd_";
    for (char c : key) {
        name += (c == '.' || c == '-') ? '_' : c;
    }
    return name;
}

} // namespace

std::span<const Metric> metrics() { return k_metrics; }

const Metric* find_metric(std::string_view key) {
    const auto it = std::lower_bound(k_metrics.begin(), k_metrics.end(), key,
                                     [](const Metric& m, std::string_view k) { return m.key < k; });
    return it != k_metrics.end() && it->key == key ? &*it : nullptr;
}

std::string format_text(const nlohmann::json& stats) {
    std::string out;
    if (!stats.is_object()) {
        return out;
    }
    // nlohmann::json keeps an object's members in a std::map: strcmp order already.
    for (const auto& [key, value] : stats.items()) {
        out += key;
        out += '=';
        out += value.is_string() ? value.get<std::string>() : number_text(value);
        out += '\n';
    }
    return out;
}

std::string format_prometheus(const nlohmann::json& stats) {
    std::string out;
    if (!stats.is_object()) {
        return out;
    }
    for (const auto& [key, value] : stats.items()) {
        if (!value.is_number()) {
            continue;
        }
        const auto* metric = find_metric(key);
        const std::string name = metric != nullptr ? std::string(metric->prometheus) : prometheus_name(key);
        const std::string help = metric != nullptr ? std::string(metric->help) : "mxd counter " + key + ".";
        const std::string_view type = metric == nullptr             ? "untyped"
                                      : metric->kind == Kind::counter ? "counter"
                                                                      : "gauge";
        out += "# HELP " + name + " " + help + "\n";
        out += "# TYPE " + name + " " + std::string(type) + "\n";
        out += name + " " + number_text(value) + "\n";
    }
    return out;
}

std::span<const std::string_view> monitor_fields() { return k_monitor_fields; }

std::string monitor_header(std::size_t index) {
    if (index % 25 != 0) {
        return {};
    }
    // smtpctl's header, word for word, so that eyes and scripts used to it find their columns.
    return std::string(index == 0 ? "" : "\n") +
           "--- client ---  -- envelope --   ---- relay/delivery --- ------- misc -------\n"
           "curr conn disc  curr  enq  deq   ok tmpfail prmfail loop expire remove bounce\n";
}

std::string monitor_line(const nlohmann::json& item) {
    std::string out;
    char cell[32];
    for (std::size_t i = 0; i < k_monitor_fields.size(); ++i) {
        long long value = 0;
        if (item.is_object()) {
            const auto it = item.find(std::string(k_monitor_fields[i]));
            if (it != item.end() && it->is_number()) {
                value = it->get<long long>();
            }
        }
        // smtpctl: "%4zu %4zu %4zu  %4zu ..." with one more space after the client group.
        std::snprintf(cell, sizeof cell, "%s%4lld", i == 0 ? "" : i == 3 ? "  " : " ", value);
        out += cell;
    }
    out += '\n';
    return out;
}

} // namespace core::stats
