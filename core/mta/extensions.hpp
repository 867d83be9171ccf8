// SPDX-License-Identifier: ISC
#pragma once

#include "core/smtp/reply.hpp"

#include <cstdint>
#include <optional>

// The service extensions a server announces in its EHLO or LHLO reply (RFC 5321 4.1.1.1).
namespace core::mta {

struct Extensions {
    bool starttls = false;              // RFC 3207
    bool pipelining = false;            // RFC 2920
    bool eightbitmime = false;          // RFC 6152
    bool dsn = false;                   // RFC 3461
    bool smtputf8 = false;              // RFC 6531
    bool enhanced_status_codes = false; // RFC 2034
    bool auth_plain = false;            // RFC 4954 with RFC 4616
    bool auth_login = false;            // the LOGIN mechanism (draft-murchison-sasl-login)
    // RFC 1870: SIZE was announced; 0 means no declared limit.
    std::optional<std::uint64_t> size;
};

// Reads the keywords of a 250 EHLO/LHLO reply, case-insensitively; the first line (the
// server's name and greeting) is skipped, unknown keywords are ignored, and a SIZE with a
// malformed value counts as SIZE without a limit.
Extensions parse_extensions(const core::smtp::Reply& reply);

} // namespace core::mta
