// SPDX-License-Identifier: ISC
#pragma once

#include "core/config/config.hpp"
#include "daemon/lookup/tables.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
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

struct RuntimeState {
    core::config::Config config;
    std::string config_origin;  // the file read, or "built-in default"
    std::filesystem::path spool;
    std::filesystem::path socket;
    std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
    pid_t pid = 0;
    std::string node;  // host name, sent in the control hello
    PauseState paused;
    std::vector<BoundListener> listeners;
    std::vector<gid_t> read_gids;   // from `control group read`
    std::vector<gid_t> admin_gids;  // from `control group admin`
    std::unique_ptr<lookup::Tables> tables;  // opened from the configuration at start
    std::shared_ptr<queue::QueueService> queue;  // the spool's store and committer
    std::shared_ptr<const core::rules::Ruleset> rules;  // the configuration's `match` rules
    std::shared_ptr<const dns::Resolver> resolver;      // every DNS lookup of the daemon
    std::shared_ptr<scheduler::Scheduler> scheduler;    // decides when each envelope is tried
    std::function<void()> request_stop;  // asks the event loop to stop after the current reply
};

} // namespace mxd
