// SPDX-License-Identifier: ISC
#include "daemon/server.hpp"

#include "core/util/fs.hpp"
#include "core/util/log.hpp"
#include "core/rules/ruleset.hpp"
#include "core/config/parser.hpp"
#include "daemon/control/control_server.hpp"
#include "daemon/generation.hpp"
#include "daemon/mta/relay.hpp"
#include "daemon/notify.hpp"
#include "daemon/reload.hpp"
#include "daemon/dns/resolver.hpp"
#include "daemon/queue/queue_service.hpp"
#include "daemon/scheduler/agents.hpp"
#include "daemon/scheduler/scheduler.hpp"
#include "daemon/smtp/listener.hpp"
#include "daemon/smtp/tls.hpp"
#include "daemon/workers.hpp"

#include <asio.hpp>

#include <algorithm>
#include <csignal>
#include <optional>

namespace mxd {

struct Server::Impl : Reloader {
    explicit Impl(RuntimeState& s) : state(s), workers(2), control(io, s, workers), listeners(io), signals(io) {}

    asio::io_context io{1};
    RuntimeState& state;
    Workers workers;
    std::optional<core::fs::LockFile> lock;
    control::ControlServer control;
    smtp::Listeners listeners;
    asio::signal_set signals;

    bool reloading = false;

    void wait_for_signal();
    void stop(std::string_view reason);
    asio::awaitable<core::Result<ReloadOutcome>> reload() override;
};

Server::Server(RuntimeState& state) : m_impl(std::make_unique<Impl>(state)) {
    state.reloader = m_impl.get();
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
    state.relay_activity.reset();
    state.resolver.reset();
    state.reloader = nullptr;
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
    auto queue = queue::QueueService::open(state.spool);
    if (!queue) {
        return core::fail(queue.error().code, "queue in " + state.spool.string() + ": " + queue.error().message);
    }
    state.queue = std::move(*queue);
    state.resolver = std::make_shared<const dns::Resolver>(dns::Resolver::from_system(m_impl->io.get_executor()));
    scheduler::Settings settings;
    settings.warn_intervals = state.config().bounce_warn_intervals;
    settings.hostname = state.node;
    if (state.config().queue.backoff) {
        settings.backoff_base = std::chrono::seconds(*state.config().queue.backoff);
    }
    MXD_TRY_ASSIGN(auto local_agent, scheduler::make_local_agent(state, m_impl->workers));
    state.relay_activity = std::make_shared<scheduler::RelayActivity>();
    state.scheduler = std::make_shared<scheduler::Scheduler>(m_impl->io, state, m_impl->workers, std::move(settings),
                                                             std::move(local_agent), scheduler::make_relay_agent(state, state.relay_activity),
                                                             scheduler::make_bounce_router(state));
    // Every committed message reaches the scheduler, from the committer thread.
    state.queue->on_committed([scheduler = state.scheduler](const std::vector<core::queue::Envelope>& envelopes) {
        scheduler->add(envelopes);
    });
    MXD_TRY(m_impl->control.open(state.socket));
    MXD_TRY_ASSIGN(auto tls, smtp::load_tls(state.config()));
    MXD_TRY_ASSIGN(state.listeners, m_impl->listeners.open(state.generation(), std::move(tls)));
    return {};
}

void Server::Impl::wait_for_signal() {
    signals.async_wait([this](const asio::error_code& ec, int signo) {
        if (ec) {
            return;
        }
        if (signo == SIGHUP) {
            // The reload logs its outcome; SIGHUP has nobody to answer.
            asio::co_spawn(io, [this]() -> asio::awaitable<void> {
                auto reloading_now = reload();
                static_cast<void>(co_await std::move(reloading_now));
            }, asio::detached);
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

asio::awaitable<core::Result<ReloadOutcome>> Server::Impl::reload() {
    if (reloading) {
        co_return core::fail(core::Errc::busy, "a reload is already running");
    }
    reloading = true;
    notify_reloading();
    const auto old = state.generation();
    // The parse, the check, the tables and the certificates are blocking: a worker does them,
    // and SMTP sessions and deliveries go on meanwhile under the running configuration.
    struct Prepared {
        std::shared_ptr<const Generation> generation;
        std::vector<std::shared_ptr<smtp::ServerTls>> tls;
        std::vector<gid_t> read_gids;
        std::vector<gid_t> admin_gids;
    };
    auto prepare = [path = state.config_path, options = state.load_options, node = old->node,
                    number = old->number + 1]() -> core::Result<Prepared> {
        if (path.empty()) {
            return core::fail(core::Errc::config,
                              "mxd runs on its built-in default configuration: there is no file to reload");
        }
        auto loaded = core::config::load_file(path, options);
        if (!loaded.ok()) {
            auto text = core::config::format_diagnostics(loaded.diagnostics);
            while (!text.empty() && text.back() == '\n') {
                text.pop_back();
            }
            return core::fail(core::Errc::config, text);
        }
        Prepared out;
        MXD_TRY_ASSIGN(out.read_gids, group_ids(loaded.config->control_read_groups));
        MXD_TRY_ASSIGN(out.admin_gids, group_ids(loaded.config->control_admin_groups));
        MXD_TRY_ASSIGN(out.tls, smtp::load_tls(*loaded.config));
        MXD_TRY_ASSIGN(out.generation, build_generation(std::move(*loaded.config), node, number));
        return out;
    };
    auto preparing = workers.run(std::move(prepare));
    auto prepared = co_await std::move(preparing);
    auto failed = [this](const core::Error& error) {
        core::log::error("mxd", "reload-failed", {{"error", error.message}});
        reloading = false;
        notify_ready();
    };
    if (!prepared) {
        failed(prepared.error());
        co_return core::fail(std::move(prepared).error());
    }
    ReloadOutcome outcome;
    outcome.generation = prepared->generation->number;
    outcome.config = state.config_path.string();
    const auto before = state.listeners;
    auto bound = listeners.reload(prepared->generation, std::move(prepared->tls));
    if (!bound) {
        failed(bound.error());
        co_return core::fail(std::move(bound).error());
    }
    // Swapped in: from here on, new sessions, deliveries and lookups use the new generation.
    state.set_generation(prepared->generation);
    state.listeners = std::move(*bound);
    state.read_gids = std::move(prepared->read_gids);
    state.admin_gids = std::move(prepared->admin_gids);
    const auto& config = prepared->generation->config;
    auto same = [](const BoundListener& a, const BoundListener& b) {
        return a.address == b.address && a.port == b.port;
    };
    for (const auto& l : state.listeners) {
        if (std::none_of(before.begin(), before.end(), [&](const auto& b) { return same(b, l); })) {
            outcome.notes.push_back("listening on " + l.address + " port " + std::to_string(l.port));
        }
    }
    for (const auto& b : before) {
        if (std::none_of(state.listeners.begin(), state.listeners.end(), [&](const auto& l) { return same(b, l); })) {
            outcome.notes.push_back("no longer listening on " + b.address + " port " + std::to_string(b.port));
        }
    }
    const auto spool = config.queue_directory.empty() ? state.spool : std::filesystem::path(config.queue_directory);
    if (spool != state.spool) {
        outcome.notes.push_back("queue directory " + spool.string() + " takes effect at the next start; the queue stays in " +
                                state.spool.string());
    }
    mta::forget_tls_contexts();
    if (state.scheduler) {
        state.scheduler->reconfigure(config);
    }
    core::log::notice("mxd", "reloaded", {{"config", outcome.config}, {"generation", outcome.generation}});
    reloading = false;
    notify_ready();
    co_return outcome;
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
