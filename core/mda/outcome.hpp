// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/error.hpp"

#include <cstddef>
#include <string>
#include <string_view>

// How a local delivery ended. The delivery child reports it as a sysexits(3) exit status and
// one line on stderr; the daemon reads it back the way OpenSMTPD's parent does (smtpd.c
// parent_sig_handler): 0 delivered, EX_TEMPFAIL and EX_OSERR temporary, any other status
// permanent, and a child killed by a signal temporary.
namespace core::mda {

enum class Status { delivered, temporary, permanent };

// "delivered", "temporary", "permanent" (for logs and tests).
std::string_view status_name(Status status);

// The status a delivery child's exit code means (see above).
Status status_from_exit(int exit_code);

// The exit code that reports an expected failure of a delivery method: EX_TEMPFAIL for
// Errc::temp_failure, io and busy (the mail stays queued), EX_NOPERM for permission_denied,
// EX_CANTCREAT for the rest (a refused mailbox or path: the mail bounces).
int exit_code_for(const Error& error);

// The longest explanation kept from a child's output, in bytes.
inline constexpr std::size_t k_text_max = 1024;

// A child's output as one printable line for the queue and the bounce: at most k_text_max
// bytes are read, lines are trimmed and joined with "; ", control characters become '?'.
std::string one_line(std::string_view output);

// What a delivery method gives: a status, its exit code, and an explanation (empty when
// delivered).
struct Outcome {
    Status status = Status::delivered;
    int exit_code = 0;
    std::string text;
};

} // namespace core::mda
