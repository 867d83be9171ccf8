// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/error.hpp"

#include <sysexits.h>

// mxctl's exit statuses follow sysexits(3) (DESIGN "mxctl output"); mxctl(8) documents them.
namespace mxctl {

inline constexpr int k_exit_ok = EX_OK;                 // 0
inline constexpr int k_exit_usage = EX_USAGE;           // 64: bad command line
inline constexpr int k_exit_data = EX_DATAERR;          // 65: bad data, such as an invalid id
inline constexpr int k_exit_unavailable = EX_UNAVAILABLE;  // 69: daemon not reachable
inline constexpr int k_exit_software = EX_SOFTWARE;     // 70: internal error
inline constexpr int k_exit_io = EX_IOERR;              // 74: input/output error
inline constexpr int k_exit_tempfail = EX_TEMPFAIL;     // 75: try again later
inline constexpr int k_exit_protocol = EX_PROTOCOL;     // 76: daemon of another protocol version
inline constexpr int k_exit_noperm = EX_NOPERM;         // 77: permission denied
inline constexpr int k_exit_config = EX_CONFIG;         // 78: configuration error

// The exit status for an error kind.
constexpr int exit_status_for(core::Errc code) {
    switch (code) {
    case core::Errc::invalid_argument:
    case core::Errc::not_found:
    case core::Errc::parse:
        return k_exit_data;
    case core::Errc::permission_denied:
        return k_exit_noperm;
    case core::Errc::busy:
    case core::Errc::exists:
    case core::Errc::temp_failure:
        return k_exit_tempfail;
    case core::Errc::io:
        return k_exit_io;
    case core::Errc::config:
        return k_exit_config;
    case core::Errc::unsupported:
        return k_exit_unavailable;
    case core::Errc::tls:
    case core::Errc::internal:
        return k_exit_software;
    }
    return k_exit_software;
}

} // namespace mxctl
