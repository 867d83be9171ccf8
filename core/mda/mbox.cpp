// SPDX-License-Identifier: ISC
#include "core/mda/mbox.hpp"

#include "core/mda/sys.hpp"
#include "core/util/fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

namespace core::mda {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds k_first_wait{10};
constexpr milliseconds k_longest_wait{500};

// Waits between two attempts at a lock: short at first, doubling, never past the deadline.
void back_off(milliseconds& wait, Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    const auto pause = std::max(milliseconds{1}, std::min(wait, left));
    struct timespec ts {
        static_cast<time_t>(pause.count() / 1000), static_cast<long>(pause.count() % 1000) * 1000000
    };
    while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    wait = std::min(wait * 2, k_longest_wait);
}

// `<mailbox>.lock`, created with O_EXCL as mail.local, procmail and mutt do, removed when done.
class DotLock {
  public:
    // Creates the lock file, waiting for another holder until `deadline`. A lock file older
    // than k_mbox_stale_lock is removed first. When the directory does not let us create
    // files (a non-root daemon and /var/mail), holds nothing: the fcntl lock still protects
    // the mailbox against the readers that use it.
    static Result<DotLock> acquire(const std::filesystem::path& mailbox,
                                   Clock::time_point deadline) {
        const std::filesystem::path path = mailbox.string() + ".lock";
        milliseconds wait = k_first_wait;
        for (;;) {
            UniqueFd fd(
                ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600));
            if (fd) {
                return DotLock(path);
            }
            if (errno == EACCES || errno == EPERM || errno == EROFS) {
                return DotLock({});
            }
            if (errno != EEXIST) {
                return fail(sys::temporary(errno, "open", path.string()));
            }
            struct stat st {};
            if (::lstat(path.c_str(), &st) == 0 &&
                std::chrono::system_clock::now() -
                        std::chrono::system_clock::from_time_t(st.st_mtime) >
                    k_mbox_stale_lock &&
                ::unlink(path.c_str()) == 0) {
                continue;
            }
            if (Clock::now() >= deadline) {
                return fail(Errc::temp_failure, path.string() + " is held by another program");
            }
            back_off(wait, deadline);
        }
    }

    DotLock(DotLock&& other) noexcept : m_path(std::exchange(other.m_path, {})) {}
    DotLock& operator=(DotLock&&) = delete;
    DotLock(const DotLock&) = delete;
    DotLock& operator=(const DotLock&) = delete;
    ~DotLock() {
        if (!m_path.empty()) {
            // A lock we cannot remove goes stale and the next delivery removes it.
            static_cast<void>(::unlink(m_path.c_str()));
        }
    }

  private:
    explicit DotLock(std::filesystem::path path) : m_path(std::move(path)) {}
    std::filesystem::path m_path;
};

// A whole-file fcntl() write lock, waited for until `deadline`; released when the file closes.
Result<void> lock_file(int fd, const std::filesystem::path& path, Clock::time_point deadline) {
    milliseconds wait = k_first_wait;
    for (;;) {
        struct flock lock {};
        lock.l_type = F_WRLCK;
        lock.l_whence = SEEK_SET;
        if (::fcntl(fd, F_SETLK, &lock) == 0) {
            return {};
        }
        if (errno != EACCES && errno != EAGAIN && errno != EINTR) {
            return fail(sys::temporary(errno, "fcntl F_SETLK", path.string()));
        }
        if (Clock::now() >= deadline) {
            return fail(Errc::temp_failure, path.string() + " is locked by another program");
        }
        back_off(wait, deadline);
    }
}

Unexpected refuse(const std::filesystem::path& path, const std::string& why) {
    return fail(Errc::invalid_argument, "mailbox " + path.string() + " " + why + ", refusing it");
}

// Opens the mailbox for appending, creating it when it does not exist, and refuses what a
// mailbox must not be (mail.local's checks: no symbolic link, one link, the same file after
// open as before).
Result<UniqueFd> open_mailbox(const MboxOptions& options) {
    const std::filesystem::path& path = options.path;
    // Two rounds: the file may appear or go between lstat() and open().
    for (int attempt = 0; attempt < 2; ++attempt) {
        struct stat before {};
        if (::lstat(path.c_str(), &before) != 0) {
            if (errno != ENOENT) {
                return fail(sys::temporary(errno, "lstat", path.string()));
            }
            UniqueFd fd(::open(path.c_str(),
                               O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                               0600));
            if (!fd) {
                if (errno == EEXIST) {
                    continue;
                }
                return fail(sys::temporary(errno, "create", path.string()));
            }
            if (options.owner && (::fchown(fd.get(), options.owner->uid, options.owner->gid) != 0 ||
                                  ::fchmod(fd.get(), 0600) != 0)) {
                const int err = errno;
                static_cast<void>(::unlink(path.c_str()));
                return fail(sys::temporary(err, "chown", path.string()));
            }
            return fd;
        }
        if (S_ISLNK(before.st_mode)) {
            return refuse(path, "is a symbolic link");
        }
        if (!S_ISREG(before.st_mode)) {
            return refuse(path, "is not a regular file");
        }
        if (before.st_nlink != 1) {
            return refuse(path, "has other hard links");
        }
        if (options.owner && before.st_uid != options.owner->uid) {
            return refuse(path, "belongs to uid " + std::to_string(before.st_uid) +
                                    ", not to uid " + std::to_string(options.owner->uid));
        }
        UniqueFd fd(
            ::open(path.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
        if (!fd) {
            if (errno == ELOOP) {
                return refuse(path, "is a symbolic link");
            }
            if (errno == ENOENT) {
                continue;
            }
            return fail(sys::temporary(errno, "open", path.string()));
        }
        struct stat after {};
        if (::fstat(fd.get(), &after) != 0) {
            return fail(sys::temporary(errno, "fstat", path.string()));
        }
        if (after.st_dev != before.st_dev || after.st_ino != before.st_ino) {
            return fail(Errc::temp_failure,
                        "mailbox " + path.string() + " changed while being opened");
        }
        if (!S_ISREG(after.st_mode) || after.st_nlink != 1) {
            return refuse(path, "is not a regular file with one link");
        }
        return fd;
    }
    return fail(Errc::temp_failure,
                "mailbox " + path.string() + " keeps appearing and disappearing");
}

} // namespace

std::string mbox_from_line(std::string_view sender, std::time_t when) {
    std::string from = sender.empty() ? std::string("MAILER-DAEMON") : std::string(sender);
    // A quoted local part may hold spaces; the From_ line is split on them by every reader.
    for (char& c : from) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) {
            c = '_';
        }
    }
    std::tm tm{};
    ::localtime_r(&when, &tm);
    std::array<char, 64> date{};
    // asctime(3): "Thu Nov 24 18:22:48 1986" (the C locale: the child never sets another).
    const std::size_t n = std::strftime(date.data(), date.size(), "%a %b %e %H:%M:%S %Y", &tm);
    return "From " + from + " " + std::string(date.data(), n) + "\n";
}

std::string mbox_quote(std::string_view message) {
    std::string out;
    out.reserve(message.size() + message.size() / 64 + 2);
    std::size_t pos = 0;
    while (pos < message.size()) {
        const auto end = message.find('\n', pos);
        const std::string_view line = message.substr(
            pos, end == std::string_view::npos ? std::string_view::npos : end - pos + 1);
        const auto first = line.find_first_not_of('>');
        if (first != std::string_view::npos && line.substr(first, 5) == "From ") {
            out += '>';
        }
        out += line;
        pos += line.size();
    }
    if (out.empty() || out.back() != '\n') {
        out += '\n';
    }
    out += '\n';
    return out;
}

Result<void> deliver_mbox(const MboxOptions& options, std::string_view message) {
    if (options.path.empty() || !options.path.is_absolute()) {
        return fail(Errc::invalid_argument,
                    "mailbox path must be absolute: '" + options.path.string() + "'");
    }
    const auto deadline = Clock::now() + options.lock_timeout;
    const std::string entry =
        mbox_from_line(options.from, options.now != 0 ? options.now : std::time(nullptr)) +
        mbox_quote(message);

    MXD_TRY_ASSIGN(const DotLock dotlock, DotLock::acquire(options.path, deadline));
    MXD_TRY_ASSIGN(const UniqueFd fd, open_mailbox(options));
    MXD_TRY(lock_file(fd.get(), options.path, deadline));

    // Measured under the locks: what another writer appended before is kept.
    const off_t original = ::lseek(fd.get(), 0, SEEK_END);
    if (original < 0) {
        return fail(sys::temporary(errno, "lseek", options.path.string()));
    }
    const char* failed = "write";
    int err = sys::write_all(fd.get(), entry);
    if (err == 0) {
        failed = "fsync";
        // EINVAL: a file that cannot be synced (a special file system), as mail.mboxfile allows.
        err = ::fsync(fd.get()) == 0 || errno == EINVAL ? 0 : errno;
    }
    if (err != 0) {
        Error error = sys::temporary(err, failed, options.path.string());
        if (::ftruncate(fd.get(), original) != 0) {
            error.message += "; truncating it back to " + std::to_string(original) +
                             " bytes failed too: " + Error::from_errno(errno, "ftruncate").message;
        }
        return fail(std::move(error));
    }
    return {};
}

} // namespace core::mda
