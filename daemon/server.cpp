// SPDX-License-Identifier: ISC
#include "daemon/server.hpp"

#include "core/util/fs.hpp"
#include "core/util/log.hpp"
#include "core/rules/ruleset.hpp"
#include "daemon/control/control_server.hpp"
#include "daemon/dns/resolver.hpp"
#include "daemon/queue/queue_service.hpp"
#include "daemon/scheduler/agents.hpp"
#include "daemon/scheduler/scheduler.hpp"
#include "daemon/smtp/listener.hpp"
#include "daemon/workers.hpp"

#include <asio.hpp>

#include <csignal>
#include <optional>

namespace mxd {

struct Server::Impl {
    explicit Impl(RuntimeState& s) : state(s), workers(2), control(io, s, workers), listeners(io), signals(io) {}

    asio::io_context io{1};
    RuntimeState& state;
    Workers workers;
    std::optional<core::fs::LockFile> lock;
    control::ControlServer control;
    smtp::Listeners listeners;
    asio::signal_set signals;

    void wait_for_signal();
    void stop(std::string_view reason);
};

Server::Server(RuntimeState& state) : m_impl(std::make_unique<Impl>(state)) {
    state.request_stop = [impl = m_impl.get()] {
        // Posted, so that the reply to `mxctl stop` is written before the sockets close.
        asio::post(impl->io, [impl] { impl->stop("mxctl stop"); });
    };
}

Server::~Server() {
    // The scheduler's timers and the committer's hook belong to this event loop: they go
    // before it does (RuntimeState outlives the Server).
    auto& state = m_impl->state;
    if (state.queue) {
        state.queue->on_committed(nullptr);
    }
    state.scheduler.reset();
    state.resolver.reset();
}

core::Result<void> Server::open() {
    auto& state = m_impl->state;
    // Caught from now on: a SIGTERM that arrives once the control socket answers (which is
    // what scripts wait for) must stop the daemon cleanly, not kill it.
    m_impl->signals.add(SIGTERM);
    m_impl->signals.add(SIGINT);
    m_impl->signals.add(SIGHUP);
    MXD_TRY(core::fs::make_directories(state.spool, 0700));
    auto lock = core::fs::LockFile::acquire(state.spool / "mxd.lock");
    if (!lock) {
        return core::fail(lock.error().code, "spool " + state.spool.string() + " is in use: " + lock.error().message);
    }
    m_impl->lock.emplace(std::move(lock).value());
    if (state.socket.has_parent_path()) {
        MXD_TRY(core::fs::make_directories(state.socket.parent_path(), 0755));
    }
    MXD_TRY_ASSIGN(state.tables, lookup::Tables::open(state.config));
    auto queue = queue::QueueService::open(state.spool);
    if (!queue) {
        return core::fail(queue.error().code, "queue in " + state.spool.string() + ": " + queue.error().message);
    }
    state.queue = std::move(*queue);
    auto rules = core::rules::Ruleset::compile(state.config);
    if (!rules) {
        return core::fail(rules.error());
    }
    state.rules = std::make_shared<const core::rules::Ruleset>(std::move(*rules));
    state.resolver = std::make_shared<const dns::Resolver>(dns::Resolver::from_system(m_impl->io.get_executor()));
    scheduler::Settings settings;
    settings.warn_intervals = state.config.bounce_warn_intervals;
    settings.hostname = state.node;
    if (state.config.queue.backoff) {
        settings.backoff_base = std::chrono::seconds(*state.config.queue.backoff);
    }
    MXD_TRY_ASSIGN(auto local_agent, scheduler::make_local_agent(state, m_impl->workers));
    state.scheduler = std::make_shared<scheduler::Scheduler>(m_impl->io, state, m_impl->workers, std::move(settings),
                                                             std::move(local_agent), scheduler::make_relay_agent(state),
                                                             scheduler::make_bounce_router(state));
    // Every committed message reaches the scheduler, from the committer thread.
    state.queue->on_committed([scheduler = state.scheduler](const std::vector<core::queue::Envelope>& envelopes) {
        scheduler->add(envelopes);
    });
    MXD_TRY(m_impl->control.open(state.socket));
    MXD_TRY_ASSIGN(state.listeners, m_impl->listeners.open(state.config.listeners));
    MXD_TRY(m_impl->listeners.load_tls(state.config));
    return {};
}

void Server::Impl::wait_for_signal() {
    signals.async_wait([this](const asio::error_code& ec, int signo) {
        if (ec) {
            return;
        }
        if (signo == SIGHUP) {
            core::log::warning("control", "sighup", {{"action", "reload is not implemented yet, ignoring"}});
            wait_for_signal();
            return;
        }
        stop(signo == SIGTERM ? "SIGTERM" : "SIGINT");
    });
}

void Server::Impl::stop(std::string_view reason) {
    core::log::notice("mxd", "stopping", {{"reason", reason}});
    control.close();
    listeners.close();
    asio::error_code ignored;
    static_cast<void>(signals.cancel(ignored));
    io.stop();
}

int Server::run() {
    auto& impl = *m_impl;
    impl.wait_for_signal();
    impl.control.start();
    if (auto started = impl.state.scheduler->start(); !started) {
        core::log::error("scheduler", "start-failed", {{"error", started.error().message}});
        return 1;
    }
    impl.listeners.start(impl.state, impl.workers);
    impl.io.run();
    core::log::notice("mxd", "stopped");
    return 0;
}

} // namespace mxd
