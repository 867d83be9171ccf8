// SPDX-License-Identifier: ISC
// mxd::run: from argv to a serving daemon.
#include "core/config/parser.hpp"
#include "core/mta/relay_url.hpp"
#include "core/mda/deliver_main.hpp"
#include "core/util/log.hpp"
#include "core/util/paths.hpp"
#include "core/util/trace.hpp"
#include "daemon/generation.hpp"
#include "daemon/mta/relay.hpp"
#include "daemon/notify.hpp"
#include "daemon/options.hpp"
#include "daemon/privileged/privileged.hpp"
#include "daemon/server.hpp"
#include "daemon/submit/offline.hpp"
#include "mxd_build_config.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <optional>
#include <thread>
#include <cstdio>
#include <iostream>

namespace mxd {

namespace {

// Exit status of mxd itself, as smtpd(8): 0, or 1 on any failure; EX_CONFIG (sysexits(3)) when
// the unprivileged user to run as is missing, which only the administrator can fix.
constexpr int k_exit_failure = 1;
constexpr int k_exit_config = 78;

// Detaches from the terminal, keeping stderr until the child reports readiness, so that
// start-up errors still reach the person who started mxd. Returns in the child with the write
// end of the readiness pipe; the parent exits with 0 once the child is ready, else with the
// child's status.
int detach() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        std::perror("mxd: pipe");
        std::exit(k_exit_failure);
    }
    const pid_t child = ::fork();
    if (child < 0) {
        std::perror("mxd: fork");
        std::exit(k_exit_failure);
    }
    if (child > 0) {
        ::close(fds[1]);
        char ready = 0;
        const ssize_t n = ::read(fds[0], &ready, 1);
        if (n == 1 && ready == 'R') {
            std::_Exit(0);
        }
        int status = 0;
        ::waitpid(child, &status, 0);
        std::_Exit(WIFEXITED(status) ? WEXITSTATUS(status) : k_exit_failure);
    }
    ::close(fds[0]);
    ::setsid();
    return fds[1];
}

// Tells the waiting parent we are up, then lets go of the terminal.
void report_ready(int ready_fd) {
    if (ready_fd < 0) {
        return;
    }
    const char ready = 'R';
    static_cast<void>(::write(ready_fd, &ready, 1));
    ::close(ready_fd);
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, STDIN_FILENO);
        ::dup2(null, STDOUT_FILENO);
        ::dup2(null, STDERR_FILENO);
        ::close(null);
    }
    core::log::set_target(core::log::Target::syslog);
}

std::string host_name() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') {
        return "localhost";
    }
    return name;
}

// Where everything is, for the person who started mxd (DESIGN: a non-root user is told).
void print_whereabouts(const RuntimeState& state, const core::paths::Defaults& defaults) {
    std::string smtp;
    for (const auto& l : state.listeners) {
        smtp += (smtp.empty() ? "" : ", ") + l.address + " port " + std::to_string(l.port);
    }
    std::cerr << "mxd " << MXD_VERSION << ": configuration " << state.config_origin << "\n"
              << "mxd: spool " << state.spool.string() << "\n"
              << "mxd: control socket " << state.socket.string() << "\n"
              << "mxd: SMTP on " << (smtp.empty() ? std::string("no address") : smtp) << "\n";
    if (state.socket == defaults.socket) {
        std::cerr << "mxd: talk to it with: mxctl show status\n";
    } else {
        std::cerr << "mxd: talk to it with: mxctl -s " << state.socket.string() << " show status\n";
    }
}

} // namespace

int run(int argc, char** argv) {
    // The hidden mode of a local delivery child (daemon/mda/deliver.hpp), before any set-up.
    if (argc > 1 && argv[1] == core::mda::k_deliver_mode) {
        return core::mda::deliver_main(argc, argv);
    }
    std::signal(SIGPIPE, SIG_IGN);
    const auto parsed = parse_options(argc, argv);
    if (parsed.exit_now) {
        return parsed.exit_status;
    }
    const Options& options = parsed.options;
    core::log::set_level(options.verbose > 0 ? core::log::Level::debug : core::log::Level::info);
    core::SubsystemSet traces;
    for (const auto& name : options.traces) {
        traces.add(*core::parse_subsystem_set(name));  // checked by parse_options
    }
    core::log::set_traces(traces);

    const uid_t uid = ::geteuid();
    const auto defaults = core::paths::defaults_for(uid, core::paths::process_environment());

    RuntimeState state;
    core::config::Config config;
    core::config::LoadOptions load_options;
    load_options.macros = options.macros;
    std::filesystem::path config_path = options.config_file;
    std::error_code ec;
    if (config_path.empty() && std::filesystem::exists(defaults.config_file, ec)) {
        config_path = defaults.config_file;
    }
    if (!config_path.empty()) {
        auto loaded = core::config::load_file(config_path, load_options);
        std::cerr << core::config::format_diagnostics(loaded.diagnostics);
        if (!loaded.ok()) {
            return k_exit_failure;
        }
        config = std::move(*loaded.config);
        state.config_origin = config_path.string();
    } else {
        config = core::config::builtin_default(defaults);
        state.config_origin = "built-in default (no " + defaults.config_file.string() + ")";
    }
    if (options.check_only) {
        if (options.verbose > 0) {
            std::cout << core::config::to_canonical(config);
        }
        std::cout << "configuration OK\n";
        return 0;
    }

    state.config_path = config_path;
    state.load_options = load_options;
    state.spool = config.queue_directory.empty() ? defaults.spool : config.queue_directory;
    state.socket = options.socket.empty() ? defaults.socket : std::filesystem::path(options.socket);
    state.node = host_name();
    for (const auto& what : options.paused) {
        (what == "mda" ? state.paused.mda : what == "mta" ? state.paused.mta : state.paused.smtp) = true;
    }
    auto read_gids = group_ids(config.control_read_groups);
    auto admin_gids = group_ids(config.control_admin_groups);
    for (const auto* gids : {&read_gids, &admin_gids}) {
        if (!*gids) {
            std::cerr << "mxd: " << gids->error().message << "\n";
            return k_exit_failure;
        }
    }
    state.read_gids = *read_gids;
    state.admin_gids = *admin_gids;
    // Tables and rules: a table that does not load stops the start, naming it.
    auto generation = build_generation(std::move(config), state.node, 1);
    if (!generation) {
        std::cerr << "mxd: " << generation.error().message << "\n";
        return k_exit_failure;
    }
    state.set_generation(std::move(*generation));

    // As root: the unprivileged user must exist before anything starts (DESIGN "Security").
    std::optional<privileged::User> unprivileged;
    if (uid == 0) {
        auto found = privileged::find_user();
        if (!found) {
            std::cerr << "mxd: " << found.error().message << "\n";
            return k_exit_config;
        }
        unprivileged = std::move(*found);
    }

    const int ready_fd = options.foreground ? -1 : detach();
    state.pid = ::getpid();
    state.started = std::chrono::system_clock::now();
    if (unprivileged) {
        // Before the Server: its worker threads start with it, and fork() wants one thread.
        privileged::Settings settings;
        settings.spool = state.spool;
        settings.socket = state.socket;
        settings.foreground = options.foreground;
        settings.argc = argc;
        settings.argv = argv;
        if (auto started = privileged::start(settings); !started) {
            std::cerr << "mxd: privileged process: " << started.error().message << "\n";
            return k_exit_failure;
        }
    }
    Server server(state);
    if (auto opened = server.open(); !opened) {
        std::cerr << "mxd: " << opened.error().message << "\n";
        return k_exit_failure;
    }
    if (unprivileged) {
        // The listeners, the control socket, the spool and the TLS keys are open: from here on
        // root is the privileged process's alone. The spool becomes the unprivileged user's,
        // with the offline directory made first, while its group can still be given.
        notify_connect();
        // The relay client's certificates and keys may be root's alone too: their TLS contexts
        // are made now, and mta keeps them until a reload. One that fails shows at relay time.
        const auto gen = state.generation();
        for (const auto& action : gen->config.actions) {
            if (action.method != core::config::Action::Method::relay) {
                continue;
            }
            const bool via_host = !action.host.empty() && !action.host_is_table;
            auto url = via_host ? core::mta::parse_relay_url(action.host)
                                : core::Result<core::mta::RelayUrl>(core::mta::RelayUrl{});
            if (url) {
                static_cast<void>(mta::options_for(gen->config, action, *url));
            }
        }
        auto dropped = [&]() -> core::Result<void> {
            MXD_TRY(submit::prepare_offline_directory(state.spool));
            MXD_TRY(privileged::hand_over(state.spool, *unprivileged));
            MXD_TRY(privileged::drop_to(*unprivileged));
            // Every directory above the spool must let the user through (mode o+x).
            if (::access(state.spool.c_str(), R_OK | W_OK | X_OK) != 0) {
                return core::fail(core::Error::from_errno(
                    errno, "reach the spool (every directory above it needs o+x)",
                    state.spool.string()));
            }
            return core::Result<void>{};
        }();
        if (!dropped) {
            std::cerr << "mxd: cannot run as " << unprivileged->name << ": "
                      << dropped.error().message << "\n";
            privileged::finish();
            return k_exit_failure;
        }
    }
    // The privileged process must not die under the daemon: deliveries, AUTH with system
    // passwords and .forward files would all fail. If it does, mxd stops with status 1 (a
    // service manager restarts it). A thread waits for it; at a clean stop it is joined.
    std::atomic<bool> stopping{false};
    std::atomic<bool> privileged_lost{false};
    std::thread privileged_watch;
    if (unprivileged) {
        privileged_watch = std::thread([&state, &stopping, &privileged_lost] {
            int wait_status = 0;
            while (::waitpid(privileged::link()->pid(), &wait_status, 0) < 0 && errno == EINTR) {
            }
            if (!stopping) {
                privileged_lost = true;
                core::log::error("mxd", "privileged-process-gone", {{"action", "stopping"}});
                state.request_stop();
            }
        });
    }
    print_whereabouts(state, defaults);
    core::log::notice("mxd", "ready", {{"version", MXD_VERSION}, {"pid", state.pid},
                                       {"config", state.config_origin}, {"spool", state.spool.string()},
                                       {"socket", state.socket.string()}});
    report_ready(ready_fd);
    notify_ready();  // systemd's Type=notify: the listeners and the control socket are open
    // What sendmail left in the offline directory while no daemon ran, queued as it serves.
    submit::OfflineQueue offline(state);
    offline.start();
    const int status = server.run();
    stopping = true;
    notify_stopping();
    offline.stop();
    privileged::finish();
    if (privileged_watch.joinable()) {
        privileged_watch.join();
    }
    return privileged_lost ? k_exit_failure : status;
}

} // namespace mxd
