// SPDX-License-Identifier: ISC
#include "core/util/fs.hpp"

#include "core/util/strings.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace core::fs {

Result<void> make_directories(const std::filesystem::path& path, mode_t mode) {
    std::filesystem::path partial;
    for (const auto& part : path) {
        partial /= part;
        if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST) {
            return fail(Error::from_errno(errno, "mkdir", partial.string()));
        }
    }
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) {
        return fail(Error::from_errno(errno, "stat", path.string()));
    }
    if (!S_ISDIR(st.st_mode)) {
        return fail(Errc::io, path.string() + " exists and is not a directory");
    }
    return {};
}

Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_size) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return fail(Error::from_errno(errno, "open", path.string()));
    }
    std::string out;
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(Error::from_errno(errno, "read", path.string()));
        }
        if (n == 0) {
            return out;
        }
        if (out.size() + static_cast<std::size_t>(n) > max_size) {
            return fail(Errc::invalid_argument,
                        path.string() + " is larger than " + std::to_string(max_size) + " bytes");
        }
        out.append(buffer, static_cast<std::size_t>(n));
    }
}

Result<LockFile> LockFile::acquire(const std::filesystem::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) {
        return fail(Error::from_errno(errno, "open", path.string()));
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            return fail(Error::from_errno(errno, "flock", path.string()));
        }
        char pid[32] = {};
        const ssize_t n = ::pread(fd.get(), pid, sizeof pid - 1, 0);
        std::string holder = n > 0 ? std::string(trim(std::string_view(pid, static_cast<std::size_t>(n)))) : "";
        return fail(Errc::busy, path.string() + " is locked by another mxd" +
                                    (holder.empty() ? std::string{} : " (pid " + holder + ")"));
    }
    LockFile lock(std::move(fd));
    MXD_TRY(lock.write_pid());
    return lock;
}

Result<void> LockFile::write_pid() {
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(m_fd.get(), 0) != 0 ||
        ::pwrite(m_fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        return fail(Error::from_errno(errno, "write", "lock file"));
    }
    return {};
}

} // namespace core::fs
