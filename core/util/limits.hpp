// SPDX-License-Identifier: ISC
#pragma once

#include <chrono>
#include <cstddef>

// Every input a peer controls has its limit here (DESIGN "Security").
namespace core::limits {

// Control socket: one JSON request per line.
inline constexpr std::size_t k_control_line_max = 1024 * 1024;
// Control socket: nesting depth of a request's JSON.
inline constexpr int k_control_json_depth_max = 32;
// Control socket: clients connected at once, in all and per uid.
inline constexpr std::size_t k_control_clients_max = 128;
inline constexpr std::size_t k_control_clients_per_uid_max = 32;
// Control socket: a client that sends no complete request for this long is closed.
inline constexpr std::chrono::seconds k_control_idle_timeout{30};
// mxctl: how long it waits for a reply to a non-streaming request.
inline constexpr std::chrono::seconds k_client_reply_timeout{60};
// encrypt: longest password read from stdin or argv.
inline constexpr std::size_t k_password_max = 1024;
// Configuration: include depth and file size.
inline constexpr int k_config_include_depth_max = 16;
inline constexpr std::size_t k_config_file_max = 16 * 1024 * 1024;

} // namespace core::limits
