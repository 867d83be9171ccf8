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

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <optional>

namespace mxd {

namespace {

// What a listener's TLS is made of: its pki (names, certificate and key files) and ciphers.
std::string tls_recipe(const core::config::Config& config, const core::config::Listener& listener) {
    std::string recipe = listener.ciphers.empty() ? config.smtp.ciphers : listener.ciphers;
    for (const auto& name : listener.pki) {
        const auto* pki = config.find_pki(name);
        recipe += "\n" + name + "\n" +
                  (pki != nullptr ? pki->cert.string() + "\n" + pki->key.string() : std::string());
    }
    return recipe;
}

// Whether this process may not read `file` (mxd started as root and gave it up).
bool unreadable(const std::filesystem::path& file) {
    return ::access(file.c_str(), R_OK) != 0 && errno == EACCES;
}

// load_file() for a reload. Once mxd gave root up, the check of a listener's or relay action's
// certificate or key that only root may read is left out when the running configuration has
// the same pki (the same files): reload_tls() and mta::refresh_tls_contexts() keep what was
// loaded at start. Any other file mxd's user cannot
// read fails the reload as before, naming it.
core::config::LoadResult load_as_unprivileged(const std::filesystem::path& path,
                                              const core::config::LoadOptions& options,
                                              const core::config::Config& running) {
    auto loaded = core::config::load_file(path, options);
    if (loaded.ok() || ::geteuid() == 0 ||
        options.check_files != core::config::CheckFiles::yes) {
        return loaded;
    }
    auto unchecked_options = options;
    unchecked_options.check_files = core::config::CheckFiles::no;
    auto unchecked = core::config::load_file(path, unchecked_options);
    if (!unchecked.ok()) {
        return loaded;
    }
    // The pki of listeners and of relay actions (a client certificate): both were loaded at
    // start, and both keep what they loaded when their files are the same.
    std::vector<std::string> names;
    for (const auto& listener : unchecked.config->listeners) {
        names.insert(names.end(), listener.pki.begin(), listener.pki.end());
    }
    for (const auto& action : unchecked.config->actions) {
        if (!action.relay_pki.empty()) {
            names.push_back(action.relay_pki);
        }
    }
    std::vector<core::config::Location> kept;
    for (const auto& name : names) {
        const auto* pki = unchecked.config->find_pki(name);
        const auto* before = running.find_pki(name);
        if (pki == nullptr || before == nullptr || pki->cert != before->cert || pki->key != before->key) {
            continue;
        }
        if (unreadable(pki->cert)) {
            kept.push_back(pki->cert_where);
        }
        if (unreadable(pki->key)) {
            kept.push_back(pki->key_where);
        }
    }
    for (const auto& d : loaded.diagnostics) {
        const bool excused = std::any_of(kept.begin(), kept.end(), [&](const auto& at) {
            return at.file == d.file && at.line == d.line && at.column == d.column;
        });
        if (d.severity == core::config::Severity::error && !excused) {
            return loaded;
        }
    }
    return unchecked;
}

// load_tls() for a reload: a listener whose certificate or key this process may not read (mxd
// started as root and gave it up) keeps the TLS loaded before, when that was made of the same
// files; it says so in `notes`. Other failures fail the reload, naming the file.
core::Result<std::vector<std::shared_ptr<smtp::ServerTls>>>
reload_tls(const core::config::Config& config, const core::config::Config& old_config,
           const std::vector<std::shared_ptr<smtp::ServerTls>>& old_tls,
           std::vector<std::string>& notes) {
    std::vector<std::shared_ptr<smtp::ServerTls>> out(config.listeners.size());
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
        const auto& listener = config.listeners[i];
        if (listener.kind != core::config::Listener::Kind::inet ||
            listener.tls == core::config::Listener::Tls::none) {
            continue;
        }
        std::string unreadable;
        for (const auto& name : listener.pki) {
            if (const auto* pki = config.find_pki(name)) {
                for (const auto* file : {&pki->cert, &pki->key}) {
                    if (unreadable.empty() && ::access(file->c_str(), R_OK) != 0 &&
                        errno == EACCES) {
                        unreadable = file->string();
                    }
                }
            }
        }
        if (!unreadable.empty()) {
            const auto recipe = tls_recipe(config, listener);
            for (std::size_t j = 0; j < old_config.listeners.size() && j < old_tls.size(); ++j) {
                if (old_tls[j] && tls_recipe(old_config, old_config.listeners[j]) == recipe) {
                    out[i] = old_tls[j];
                    break;
                }
            }
            if (out[i]) {
                notes.push_back(unreadable + " is not readable by mxd's user: the TLS loaded at "
                                             "start stays (restart mxd to load new files)");
                continue;
            }
        }
        MXD_TRY_ASSIGN(out[i], smtp::ServerTls::create(config, listener));
    }
    return out;
}

} // namespace

struct Server::Impl : Reloader {
    explicit Impl(RuntimeState& s)
        : state(s), workers(2), password_checks(2), control(io, s, workers), listeners(io), signals(io) {}

    asio::io_context io{1};
    RuntimeState& state;
    Workers workers;
    // AUTH's crypt(3), slow by design, apart from `workers`: a client trying password after
    // password holds back no one's recipient lookups, deliveries or control commands.
    Workers password_checks;
    std::optional<core::fs::LockFile> lock;
    control::ControlServer control;
    smtp::Listeners listeners;
    asio::signal_set signals;
    // The listeners' TLS as loaded, by listener statement of the generation in force: a reload
    // keeps one whose files mxd, no longer root, cannot read again.
    std::vector<std::shared_ptr<smtp::ServerTls>> tls;

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
    scheduler::configure(settings, state.config());
    settings.hostname = state.node;
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
    m_impl->tls = tls;
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
        std::vector<std::string> notes;
    };
    auto prepare = [path = state.config_path, options = state.load_options, node = old->node,
                    number = old->number + 1, old, old_tls = tls]() -> core::Result<Prepared> {
        if (path.empty()) {
            return core::fail(core::Errc::config,
                              "mxd runs on its built-in default configuration: there is no file to reload");
        }
        auto loaded = load_as_unprivileged(path, options, old->config);
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
        MXD_TRY_ASSIGN(out.tls, reload_tls(*loaded.config, old->config, old_tls, out.notes));
        MXD_TRY_ASSIGN(out.generation, build_generation(std::move(*loaded.config), node, number));
        for (auto& note : mta::refresh_tls_contexts()) {
            out.notes.push_back(std::move(note));
        }
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
    outcome.notes = prepared->notes;
    const auto before = state.listeners;
    auto bound = listeners.reload(prepared->generation, prepared->tls);
    if (!bound) {
        failed(bound.error());
        co_return core::fail(std::move(bound).error());
    }
    // Swapped in: from here on, new sessions, deliveries and lookups use the new generation.
    tls = prepared->tls;
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
    impl.listeners.start(impl.state, impl.workers, impl.password_checks);
    impl.io.run();
    core::log::notice("mxd", "stopped");
    return 0;
}

} // namespace mxd
