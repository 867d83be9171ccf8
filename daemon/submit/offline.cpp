// SPDX-License-Identifier: ISC
#include "daemon/submit/offline.hpp"

#include "core/submit/offline.hpp"
#include "core/util/fd.hpp"
#include "core/util/limits.hpp"
#include "core/util/log.hpp"
#include "daemon/control/peer.hpp"
#include "daemon/privileged/privileged.hpp"
#include "daemon/state.hpp"
#include "daemon/submit/submit.hpp"
#include "daemon/workers.hpp"

#include <asio.hpp>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace mxd::submit {

namespace {

using core::Errc;

// Sets a path's mode to (mode & keep) | add; a path that does not exist is fine.
core::Result<void> adjust_mode(const std::filesystem::path& path, mode_t keep, mode_t add) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        return errno == ENOENT ? core::Result<void>{}
                               : core::fail(core::Error::from_errno(errno, "stat", path.string()));
    }
    const mode_t mode = ((st.st_mode & 07777) & keep) | add;
    if (mode != (st.st_mode & 07777) && ::chmod(path.c_str(), mode) != 0) {
        return core::fail(core::Error::from_errno(errno, "chmod", path.string()));
    }
    return {};
}

// The access level the owner of an offline file would have on the control socket: admin may
// choose any sender there, and so here.
core::protocol::Access access_of(const RuntimeState& state, uid_t uid) {
    control::Peer peer;
    peer.uid = uid;
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    if (::getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
        peer.gid = pw.pw_gid;
        int count = 64;
        std::vector<gid_t> groups(static_cast<std::size_t>(count));
        if (::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &count) < 0 && count > 0) {
            groups.resize(static_cast<std::size_t>(count));
            static_cast<void>(::getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &count));
        }
        groups.resize(static_cast<std::size_t>(std::max(count, 0)));
        peer.groups = std::move(groups);
    }
    return control::access_for(peer, ::geteuid(), state.read_gids, state.admin_gids);
}

// What to do with a file after trying it.
enum class Disposition { done, keep };

// Reads one offline file as its owner submitted it, and queues it.
asio::awaitable<Disposition> enqueue_file(RuntimeState& state, Workers& workers, int dir_fd,
                                          std::string name) {
    auto refuse = [&](std::string_view why) {
        core::log::warning("submit", "offline-refused", {{"file", name}, {"reason", why}});
        return Disposition::done;
    };
    // O_NOFOLLOW and O_NONBLOCK: a user may leave a symbolic link or a FIFO here, never make
    // the daemon read something else or hang.
    core::UniqueFd fd;
    if (auto* link = privileged::link()) {
        // The files are their submitters' (mode 0600): the privileged process opens them for
        // the daemon that gave up root.
        auto opened = link->open_offline(name);
        if (!opened) {
            co_return refuse("cannot open: " + opened.error().message);
        }
        fd = std::move(*opened);
    } else {
        fd.reset(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    }
    if (!fd) {
        co_return refuse(std::string("cannot open: ") + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        co_return refuse("not a regular file");
    }
    // A hard link could make another user's file look like one's own.
    if (st.st_nlink != 1) {
        co_return refuse("has other links");
    }
    const auto limit = static_cast<std::size_t>(state.generation()->config.smtp.max_message_size) +
                       core::limits::k_control_line_max;
    if (static_cast<std::size_t>(st.st_size) > limit) {
        co_return refuse("larger than smtp max-message-size");
    }
    std::string contents(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < contents.size()) {
        const ssize_t n = ::read(fd.get(), contents.data() + got, contents.size() - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    contents.resize(got);
    auto decoded = core::submit::decode_offline(contents);
    if (!decoded) {
        co_return refuse(decoded.error().message);
    }
    Submission submission;
    submission.sender = std::move(decoded->sender);
    submission.full_name = std::move(decoded->full_name);
    submission.recipients = std::move(decoded->recipients);
    submission.message = std::move(decoded->message);
    const Identity who{st.st_uid, access_of(state, st.st_uid)};
    auto op = enqueue(state, workers, who, Via::offline, std::move(submission), DryRun::no);
    auto outcome = co_await std::move(op);
    if (!outcome) {
        const auto code = outcome.error().code;
        if (code == Errc::temp_failure || code == Errc::io || code == Errc::busy) {
            core::log::warning("submit", "offline-deferred",
                               {{"file", name}, {"error", outcome.error().message}});
            co_return Disposition::keep;
        }
        co_return refuse(outcome.error().message);
    }
    core::log::info("submit", "offline-queued",
                    {{"file", name},
                     {"msgid", outcome->msgid ? outcome->msgid->hex() : std::string{}},
                     {"uid", st.st_uid}});
    co_return Disposition::done;
}

asio::awaitable<void> enqueue_all(RuntimeState& state, Workers& workers,
                                  const std::atomic<bool>& stopping) {
    const auto dir = state.spool / core::submit::k_offline_dir;
    core::UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir_fd) {
        core::log::warning("submit", "offline-unreadable",
                           {{"dir", dir.string()}, {"error", std::strerror(errno)}});
        co_return;
    }
    // Names start with the submission time: sorted, they come in the order they were left.
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        auto name = entry.path().filename().string();
        // sendmail writes a dot file, then renames it: a dot file is not complete yet.
        if (!name.starts_with(".")) {
            names.push_back(std::move(name));
        }
    }
    std::sort(names.begin(), names.end());
    std::size_t queued = 0;
    for (const auto& name : names) {
        if (stopping) {
            break;
        }
        auto op = enqueue_file(state, workers, dir_fd.get(), name);
        const auto disposition = co_await std::move(op);
        if (disposition == Disposition::keep) {
            break; // the queue or a table is failing: the rest waits for the next start too
        }
        // Removed only now that the message is on stable storage: a crash in between gives a
        // duplicate, never a loss (DESIGN "Delivery rule").
        if (::unlinkat(dir_fd.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
            core::log::error("submit", "offline-unlink-failed",
                             {{"file", name}, {"error", std::strerror(errno)}});
            break;
        }
        ++queued;
    }
    if (!names.empty()) {
        core::log::notice("submit", "offline-done", {{"files", names.size()}, {"done", queued}});
    }
}

} // namespace

core::Result<void> prepare_offline_directory(const std::filesystem::path& spool) {
    // sendmail, run by anyone, must reach SPOOL/offline, and nothing else of the spool: the
    // database holds every queued message, and SQLite gives its -wal and -shm files the mode
    // of the database file.
    for (const char* file : {"queue.db", "queue.db-wal", "queue.db-shm"}) {
        MXD_TRY(adjust_mode(spool / file, 0700, 0));
    }
    MXD_TRY(adjust_mode(spool, 07777, 0711));
    const auto dir = spool / core::submit::k_offline_dir;
    if (::mkdir(dir.c_str(), 0700) == 0) {
        // Created now: the setgid group of sendmail, when the system has it, may write here.
        const group* g =
            ::geteuid() == 0 ? ::getgrnam(std::string(k_offline_group).c_str()) : nullptr;
        if (g != nullptr) {
            if (::chown(dir.c_str(), ::geteuid(), g->gr_gid) != 0) {
                return core::fail(core::Error::from_errno(errno, "chown", dir.string()));
            }
        }
    } else if (errno != EEXIST) {
        return core::fail(core::Error::from_errno(errno, "mkdir", dir.string()));
    }
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) {
        return core::fail(core::Error::from_errno(errno, "stat", dir.string()));
    }
    if (!S_ISDIR(st.st_mode)) {
        return core::fail(Errc::io, dir.string() + " is not a directory");
    }
    if (st.st_uid != ::geteuid() &&
        ::chown(dir.c_str(), ::geteuid(), static_cast<gid_t>(-1)) != 0) {
        return core::fail(core::Error::from_errno(errno, "chown", dir.string()));
    }
    // Sticky: a writer cannot remove or rename another user's file. Not world-readable: the
    // messages waiting there are nobody else's business.
    if ((st.st_mode & 07777) != 01770 && ::chmod(dir.c_str(), 01770) != 0) {
        return core::fail(core::Error::from_errno(errno, "chmod", dir.string()));
    }
    return {};
}

void OfflineQueue::start() {
    if (auto prepared = prepare_offline_directory(m_state.spool); !prepared) {
        core::log::error("submit", "offline-setup-failed", {{"error", prepared.error().message}});
    }
    m_thread = std::thread([this] { run(); });
}

void OfflineQueue::stop() {
    m_stopping = true;
    if (m_thread.joinable()) {
        m_thread.join();
    }
}

void OfflineQueue::run() {
    // Its own event loop and worker: the daemon's loop serves meanwhile. What it shares with
    // it is thread-safe: the queue service, the tables, and the configuration, read only.
    asio::io_context io{1};
    Workers workers(1);
    asio::co_spawn(io, enqueue_all(m_state, workers, m_stopping), [](std::exception_ptr error) {
        if (error) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                core::log::error("submit", "offline-failed", {{"error", e.what()}});
            } catch (...) {
                core::log::error("submit", "offline-failed", {{"error", "unknown exception"}});
            }
        }
    });
    io.run();
}

} // namespace mxd::submit
