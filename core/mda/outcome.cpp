// SPDX-License-Identifier: ISC
#include "core/mda/outcome.hpp"

#include <sysexits.h>

namespace core::mda {

std::string_view status_name(Status status) {
    switch (status) {
    case Status::delivered:
        return "delivered";
    case Status::temporary:
        return "temporary";
    case Status::permanent:
        return "permanent";
    }
    return "permanent";
}

Status status_from_exit(int exit_code) {
    if (exit_code == EX_OK) {
        return Status::delivered;
    }
    if (exit_code == EX_TEMPFAIL || exit_code == EX_OSERR) {
        return Status::temporary;
    }
    return Status::permanent;
}

int exit_code_for(const Error& error) {
    switch (error.code) {
    case Errc::temp_failure:
    case Errc::io:
    case Errc::busy:
        return EX_TEMPFAIL;
    case Errc::permission_denied:
        return EX_NOPERM;
    default:
        return EX_CANTCREAT;
    }
}

std::string one_line(std::string_view output) {
    output = output.substr(0, k_text_max);
    std::string text;
    while (!output.empty()) {
        const auto end = output.find('\n');
        std::string_view line = output.substr(0, end);
        output = end == std::string_view::npos ? std::string_view{} : output.substr(end + 1);
        while (!line.empty() &&
               (line.front() == ' ' || line.front() == '\t' || line.front() == '\r')) {
            line.remove_prefix(1);
        }
        while (!line.empty() &&
               (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
            line.remove_suffix(1);
        }
        if (line.empty()) {
            continue;
        }
        if (!text.empty()) {
            text += "; ";
        }
        for (const char c : line) {
            const auto u = static_cast<unsigned char>(c);
            text += (u < 0x20 || u == 0x7f) ? '?' : c;
        }
    }
    return text;
}

} // namespace core::mda
