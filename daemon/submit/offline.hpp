// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <atomic>
#include <filesystem>
#include <string_view>
#include <thread>

namespace mxd {
struct RuntimeState;
}

// The offline queue (OpenSMTPD's offline directory): sendmail leaves a message in
// `SPOOL/offline` when the daemon is not running, and the daemon enqueues it when it starts,
// as the file's owner.
namespace mxd::submit {

// The group whose members may write to the offline directory: install mxctl set-group-ID to
// it, as OpenSMTPD's smtpctl is to _smtpq.
inline constexpr std::string_view k_offline_group = "_mxdq";

// Makes the spool reachable for sendmail and the offline directory safe: the spool gets
// search permission for all (0711, as OpenSMTPD's), its queue database files lose any
// group or world bits, and the offline directory is created with mode 01770, owned by the
// daemon's user and by the _mxdq group when that group exists. An existing offline directory
// keeps its group (the administrator may choose another) but gets the mode. An io error when
// a step fails.
core::Result<void> prepare_offline_directory(const std::filesystem::path& spool);

// Enqueues the files of the offline directory on a thread of its own, while the daemon starts
// serving. A file leaves the directory once its message is queued, or with a log line when it
// is refused for good (unreadable, not sendmail's, no recipient accepted); a temporary failure
// leaves it for the next start.
class OfflineQueue {
  public:
    explicit OfflineQueue(RuntimeState& state) : m_state(state) {}
    ~OfflineQueue() { stop(); }
    OfflineQueue(const OfflineQueue&) = delete;
    OfflineQueue& operator=(const OfflineQueue&) = delete;

    // Prepares the directory (logging a failure) and starts the thread.
    void start();

    // Asks the thread to stop after the file in progress and waits for it.
    void stop();

  private:
    void run();

    RuntimeState& m_state;
    std::atomic<bool> m_stopping{false};
    std::thread m_thread;
};

} // namespace mxd::submit
