// SPDX-License-Identifier: ISC
#pragma once

#include <string>
#include <string_view>

namespace core {

// The kinds of expected failure. Each maps one-to-one to a wire string
// (core/protocol/errors.hpp) and to an exit status of mxctl.
enum class Errc {
    not_found,
    invalid_argument,
    permission_denied,
    busy,
    exists, // a key that must be unique is taken (a queue id drawn twice)
    io,
    parse,
    tls,
    temp_failure,
    unsupported,
    config,
    internal,
};

// An expected failure: what kind, and a message for people (no trailing newline).
struct Error {
    Errc code = Errc::internal;
    std::string message;

    // Builds an io error from an errno value: "open /path: No such file or directory".
    static Error from_errno(int err, std::string_view what, std::string_view subject = {});
};

// The stable wire name of an error kind ("not_found"), and back; unknown names give internal.
std::string_view errc_name(Errc code);
Errc errc_from_name(std::string_view name);

} // namespace core
