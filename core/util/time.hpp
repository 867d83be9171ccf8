// SPDX-License-Identifier: ISC
#pragma once

#include <chrono>
#include <string>

namespace core {

// RFC 3339 in UTC with seconds: "2026-11-22T02:45:18Z".
std::string format_rfc3339(std::chrono::system_clock::time_point when);

// A duration as smtpctl prints uptime.human: "1d2h3m4s", zero parts left out, "0s" for zero.
std::string format_duration_human(long long seconds);

} // namespace core
