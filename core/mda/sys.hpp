// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <unistd.h>

#include <cerrno>
#include <string_view>

// System-call helpers shared by the delivery methods (internal to core/mda).
namespace core::mda::sys {

// A failed system call during a delivery: temporary, so that the mail stays queued until the
// cause (a full disk, a permission, a missing directory) is fixed, as mail.maildir does.
inline Error temporary(int err, std::string_view what, std::string_view subject = {}) {
    Error error = Error::from_errno(err, what, subject);
    error.code = Errc::temp_failure;
    return error;
}

// Writes all of `bytes`, retrying short writes and EINTR. Returns 0, or the errno.
inline int write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return 0;
}

} // namespace core::mda::sys
