// SPDX-License-Identifier: ISC
#include "daemon/control/trace_hub.hpp"

#include "core/util/log.hpp"
#include "daemon/stats.hpp"

#include <algorithm>

namespace mxd::control {

namespace {

// "key=value" at a word boundary of a log line (values of ids are never quoted).
bool carries(std::string_view line, std::string_view key, std::string_view value) {
    const std::string needle = std::string(key) + "=" + std::string(value);
    for (auto at = line.find(needle); at != std::string_view::npos; at = line.find(needle, at + 1)) {
        const bool starts = at == 0 || line[at - 1] == ' ';
        const auto end = at + needle.size();
        if (starts && (end == line.size() || line[end] == ' ')) {
            return true;
        }
    }
    return false;
}

} // namespace

bool TraceFilter::matches(core::Subsystem subsystem, std::string_view prefix, std::string_view line) const {
    if (!subsystems.contains(subsystem)) {
        return false;
    }
    if (!session.empty() && prefix != session && !carries(line, "session", session)) {
        return false;
    }
    if (!msgid.empty()) {
        // An evpid starts with its msgid: a msgid filter takes each of its envelopes' lines.
        const bool by_prefix = prefix.size() >= msgid.size() && prefix.substr(0, msgid.size()) == msgid &&
                               (prefix.size() == 8 || prefix.size() == 16);
        if (!by_prefix && !carries(line, "msgid", msgid) && !carries(line, "evpid", msgid) &&
            !(msgid.size() == 8 && line.find("evpid=" + msgid) != std::string_view::npos)) {
            return false;
        }
    }
    return true;
}

TraceFollower::TraceFollower(asio::any_io_executor executor, TraceFilter filter)
    : m_executor(executor), m_filter(std::move(filter)), m_signal(executor) {}

asio::awaitable<void> TraceFollower::wait() {
    {
        std::lock_guard lock(m_mutex);
        if (!m_lines.empty() || m_dropped > 0 || m_stopped) {
            co_return;
        }
        // From here, a push() posts a wake-up; it runs on this executor after the wait below
        // has started, since nothing else runs here before this coroutine suspends.
        m_notified = false;
    }
    m_signal.expires_at(asio::steady_timer::time_point::max());
    asio::error_code ignored;
    co_await m_signal.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

TraceFollower::Batch TraceFollower::take() {
    std::lock_guard lock(m_mutex);
    Batch batch;
    batch.lines.assign(std::make_move_iterator(m_lines.begin()), std::make_move_iterator(m_lines.end()));
    batch.dropped = m_dropped;
    m_lines.clear();
    m_bytes = 0;
    m_dropped = 0;
    return batch;
}

void TraceFollower::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stopped = true;
    }
    m_signal.cancel();
}

bool TraceFollower::stopped() const {
    std::lock_guard lock(m_mutex);
    return m_stopped;
}

void TraceFollower::push(std::string line) {
    std::lock_guard lock(m_mutex);
    if (m_stopped) {
        return;
    }
    if (m_lines.size() >= k_lines_max || m_bytes + line.size() > k_bytes_max) {
        ++m_dropped;
    } else {
        m_bytes += line.size();
        m_lines.push_back(std::move(line));
    }
    if (!m_notified) {
        m_notified = true;
        // The timer belongs to the follower's executor: cancel it there, not from this thread.
        // The posted wake-up holds the follower weakly: it may be gone when the wake-up runs.
        asio::post(m_executor, [weak = weak_from_this()] {
            if (auto self = weak.lock()) {
                self->m_signal.cancel();
            }
        });
    }
}

TraceHub& TraceHub::instance() {
    static TraceHub* hub = [] {
        // Never destroyed: worker threads may trace while the process exits.
        auto* h = new TraceHub();
        core::log::set_trace_sink([h](core::Subsystem subsystem, std::string_view prefix, const std::string& line) {
            h->publish(subsystem, prefix, line);
        });
        return h;
    }();
    return *hub;
}

std::shared_ptr<TraceFollower> TraceHub::follow(asio::any_io_executor executor, TraceFilter filter) {
    auto* follower = new TraceFollower(executor, std::move(filter));
    {
        std::lock_guard lock(m_mutex);
        m_followers.push_back(follower);
        update_followed();
    }
    stats::add(stats::Counter::control_trace_follower, 1);
    return std::shared_ptr<TraceFollower>(follower, [this](TraceFollower* f) {
        forget(f);
        stats::add(stats::Counter::control_trace_follower, -1);
        delete f;
    });
}

std::size_t TraceHub::followers() const {
    std::lock_guard lock(m_mutex);
    return m_followers.size();
}

void TraceHub::forget(TraceFollower* follower) {
    std::lock_guard lock(m_mutex);
    m_followers.erase(std::remove(m_followers.begin(), m_followers.end(), follower), m_followers.end());
    update_followed();
}

void TraceHub::update_followed() {
    core::SubsystemSet followed;
    for (const auto* f : m_followers) {
        followed.add(f->filter().subsystems);
    }
    core::log::set_followed(followed);
}

void TraceHub::publish(core::Subsystem subsystem, std::string_view prefix, const std::string& line) {
    std::lock_guard lock(m_mutex);
    for (auto* f : m_followers) {
        if (f->filter().matches(subsystem, prefix, line)) {
            f->push(line);
        }
    }
}

} // namespace mxd::control
