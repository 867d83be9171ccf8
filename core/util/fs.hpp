// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/fd.hpp"
#include "core/util/result.hpp"

#include <filesystem>
#include <string>
#include <sys/types.h>

namespace core::fs {

// Creates a directory and its missing parents; the directories it creates get `mode`.
// An existing directory is left as it is.
Result<void> make_directories(const std::filesystem::path& path, mode_t mode);

// Reads a whole file, refusing one larger than max_size (Errc::invalid_argument).
Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_size);

// An exclusive lock on a file that records the holder's pid, held until destroyed. It keeps a
// second daemon off a spool; the kernel drops it when the process dies, even by SIGKILL.
class LockFile {
public:
    // Takes the lock without waiting. Errc::busy, with the holder's pid in the message, when
    // another process holds it; an io error when the file cannot be opened.
    static Result<LockFile> acquire(const std::filesystem::path& path);

    // Writes the current pid into the file (after a fork, by the process that keeps the lock).
    Result<void> write_pid();

private:
    explicit LockFile(UniqueFd fd) : m_fd(std::move(fd)) {}
    UniqueFd m_fd;
};

} // namespace core::fs
