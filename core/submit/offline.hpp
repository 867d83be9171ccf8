// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The files of the spool's offline directory: what sendmail leaves there when the daemon is
// not running, and mxd enqueues when it starts (OpenSMTPD's offline queue). Who submitted is
// the file's owner, never something the file says.
namespace core::submit {

// The name of the directory in the spool.
inline constexpr std::string_view k_offline_dir = "offline";

// One submission: the envelope sendmail was given and the message as it read it.
struct OfflineMessage {
    std::optional<std::string> sender; // -f; nullopt for the user's own address, "" for <>
    std::string full_name;             // -F
    std::vector<std::string> recipients;
    std::string message;
};

// The file's contents: one JSON line with the envelope, then the message as it is.
std::string encode_offline(const OfflineMessage& message);

// Reads a file written by encode_offline(); Errc::parse when it is not one.
Result<OfflineMessage> decode_offline(std::string_view contents);

} // namespace core::submit
