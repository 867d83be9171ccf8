// SPDX-License-Identifier: ISC
#pragma once

#include "core/config/config.hpp"
#include "core/config/parser.hpp"
#include "daemon/lookup/tables.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mxd::queue {
class QueueService;
}
namespace core::rules {
class Ruleset;
}
namespace mxd::dns {
class Resolver;
}
namespace mxd::scheduler {
class Scheduler;
class RelayActivity;
}
namespace mxd {
class Reloader;
}
namespace mxd::lookup {
class ExpansionCache;
}

// What the running daemon is, as the control handlers see it. Owned by mxd::Server and only
// touched from the event loop thread.
namespace mxd {

// An address the daemon actually listens on (the port is the bound one, also for port 0).
struct BoundListener {
    std::string address;  // "127.0.0.1", "::1", or the socket path
    std::uint16_t port = 0;
    std::string kind;  // "smtp" for now; "smtps", "submission" later
};

// Why and until when one pause holds (`pause mta --reason TEXT --for 30m`); empty for a
// pause without them (`-P mta`).
struct PauseDetail {
    std::string reason;                           // "" when none was given
    std::chrono::system_clock::time_point since{};  // epoch when unknown (-P: since the start)
    std::chrono::system_clock::time_point until{};  // when --for ends it; epoch: no end
    std::uint64_t timer = 0;  // the --for timer that may end it; a later pause or resume disarms it
};

// The three delivery pauses of smtpctl (`pause mda|mta|smtp`, `-P`).
struct PauseState {
    bool mda = false;
    bool mta = false;
    bool smtp = false;
    PauseDetail mda_detail;
    PauseDetail mta_detail;
    PauseDetail smtp_detail;
};

// One configuration as the daemon runs it: the file's model, its tables and its compiled rules.
// `mxctl reload` builds a new one and swaps it in whole; whatever started under an older one (an
// SMTP session, a delivery, a lookup on a worker thread) holds that one and finishes with it.
struct Generation {
    core::config::Config config;
    std::shared_ptr<lookup::Tables> tables;
    std::shared_ptr<const core::rules::Ruleset> rules;
    // What expansion read from the system a moment ago (lookup/expansion_cache.hpp); a reload
    // starts with an empty one.
    std::shared_ptr<lookup::ExpansionCache> expansion_cache;
    std::string node;          // the host name (for `for local` and qualified addresses)
    std::uint64_t number = 1;  // 1 at start, one more at each reload
};

struct RuntimeState {
    // The generation in force; safe from any thread. Hold the pointer while you use its parts.
    std::shared_ptr<const Generation> generation() const {
        std::lock_guard lock(m_generation_mutex);
        return m_generation;
    }
    // Swaps a new generation in (event loop only).
    void set_generation(std::shared_ptr<const Generation> next) {
        std::lock_guard lock(m_generation_mutex);
        m_generation = std::move(next);
    }
    // The current generation's parts: on the event loop only, and not kept across a co_await
    // (a reload may swap the generation there); elsewhere hold generation().
    const core::config::Config& config() const { return m_generation->config; }
    lookup::Tables& tables() const { return *m_generation->tables; }
    const core::rules::Ruleset& rules() const { return *m_generation->rules; }

    std::string config_origin;  // the file read, or "built-in default"
    std::filesystem::path config_path;        // what reload reads again; empty: the built-in default
    core::config::LoadOptions load_options;   // -D macros, for reload too
    std::filesystem::path spool;
    std::filesystem::path socket;
    std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
    pid_t pid = 0;
    std::string node;  // host name, sent in the control hello
    PauseState paused;
    std::vector<BoundListener> listeners;
    std::vector<gid_t> read_gids;   // from `control group read`
    std::vector<gid_t> admin_gids;  // from `control group admin`
    std::shared_ptr<queue::QueueService> queue;  // the spool's store and committer
    std::shared_ptr<const dns::Resolver> resolver;      // every DNS lookup of the daemon
    std::shared_ptr<scheduler::Scheduler> scheduler;    // decides when each envelope is tried
    std::shared_ptr<scheduler::RelayActivity> relay_activity; // the relay client's routes
    std::function<void()> request_stop;  // asks the event loop to stop after the current reply
    Reloader* reloader = nullptr;        // mxctl reload and SIGHUP (the Server)

  private:
    mutable std::mutex m_generation_mutex;
    std::shared_ptr<const Generation> m_generation;
};

} // namespace mxd
