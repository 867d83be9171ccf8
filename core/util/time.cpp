// SPDX-License-Identifier: ISC
#include "core/util/time.hpp"

#include <ctime>

namespace core {

std::string format_rfc3339(std::chrono::system_clock::time_point when) {
    const std::time_t t = std::chrono::system_clock::to_time_t(when);
    std::tm parts{};
    gmtime_r(&t, &parts);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return buffer;
}

std::string format_duration_human(long long seconds) {
    if (seconds <= 0) {
        return "0s";
    }
    std::string out;
    const long long units[] = {86400, 3600, 60, 1};
    const char names[] = {'d', 'h', 'm', 's'};
    for (int i = 0; i < 4; ++i) {
        if (const long long n = seconds / units[i]; n > 0) {
            out += std::to_string(n);
            out += names[i];
            seconds %= units[i];
        }
    }
    return out;
}

} // namespace core
