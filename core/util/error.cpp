// SPDX-License-Identifier: ISC
#include "core/util/error.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

namespace core {

namespace {

constexpr std::array<std::pair<Errc, std::string_view>, 12> k_errc_names{{
    {Errc::not_found, "not_found"},
    {Errc::invalid_argument, "invalid_argument"},
    {Errc::permission_denied, "permission_denied"},
    {Errc::busy, "busy"},
    {Errc::exists, "exists"},
    {Errc::io, "io"},
    {Errc::parse, "parse"},
    {Errc::tls, "tls"},
    {Errc::temp_failure, "temp_failure"},
    {Errc::unsupported, "unsupported"},
    {Errc::config, "config"},
    {Errc::internal, "internal"},
}};

} // namespace

Error Error::from_errno(int err, std::string_view what, std::string_view subject) {
    std::string message(what);
    if (!subject.empty()) {
        message += ' ';
        message += subject;
    }
    message += ": ";
    message += std::strerror(err);
    Errc code = Errc::io;
    if (err == EACCES || err == EPERM) {
        code = Errc::permission_denied;
    } else if (err == ENOENT) {
        code = Errc::not_found;
    }
    return Error{code, std::move(message)};
}

std::string_view errc_name(Errc code) {
    for (const auto& [c, name] : k_errc_names) {
        if (c == code) {
            return name;
        }
    }
    return "internal";
}

Errc errc_from_name(std::string_view name) {
    for (const auto& [c, n] : k_errc_names) {
        if (n == name) {
            return c;
        }
    }
    return Errc::internal;
}

} // namespace core
