// SPDX-License-Identifier: ISC
#pragma once

#include "core/queue/ids.hpp"

#include <cstdint>
#include <string>
#include <string_view>

// One envelope: one final recipient of a message, and what the scheduler knows about it.
namespace core::queue {

// Where the message came from (show queue field 2).
enum class Origin { local, inet4, inet6 };
// How it is to be delivered (field 3).
enum class DeliveryType { mda, mta, bounce };

// Envelope flags (field 4), in smtpctl's order.
inline constexpr unsigned k_flag_bounce = 1u << 0;
inline constexpr unsigned k_flag_auth = 1u << 1;
inline constexpr unsigned k_flag_internal = 1u << 2;
inline constexpr unsigned k_flag_suspend = 1u << 3;
inline constexpr unsigned k_flag_hold = 1u << 4;

struct Envelope {
    EvpId id;
    Origin origin = Origin::local;
    DeliveryType type = DeliveryType::mda;
    unsigned flags = 0;
    std::string sender;  // user@domain, "" for the null sender <>
    std::string rcpt;    // the recipient as the client gave it
    std::string dest;    // the recipient after expansion
    std::string action;  // the configuration's action name
    std::string helo;
    std::string src;       // client address, or "local"
    std::string hostname;  // client host name, when resolved
    std::string auth_user;
    std::string tag;
    std::int64_t created = 0;  // unix seconds
    std::int64_t expires = 0;  // created + ttl
    std::int64_t last_try = 0;
    std::int64_t next_try = 0;
    std::int64_t retries = 0;
    std::string last_error;
    std::string run_as;        // `|command` and `/file` from a .forward: the user they run as
    std::int64_t warnings = 0; // delay notices sent so far (`bounce warn-interval`)
    // DSN (RFC 3461) parameters, kept as the client sent them.
    std::string dsn_ret;
    std::string dsn_envid;
    std::string dsn_notify;
    std::string dsn_orcpt;
};

std::string_view origin_name(Origin origin);
std::string_view delivery_type_name(DeliveryType type);
// "bounce,auth" style, smtpctl's order; "" for none.
std::string flags_text(unsigned flags);

// The 14 `|`-separated fields of `smtpctl show queue` for an envelope whose runstate is
// `runstate` ("pending", "inflight", ...), `now` being the current unix time. Non-printable
// characters of the error are escaped as C does (strnvis), so the line stays one line.
std::string show_queue_line(const Envelope& envelope, std::string_view runstate, std::int64_t now);

} // namespace core::queue
