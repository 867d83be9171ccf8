// SPDX-License-Identifier: ISC
#pragma once

#include "core/protocol/commands.hpp"
#include "core/util/result.hpp"

#include <nlohmann/json_fwd.hpp>

// Checks a request's arguments against its command's ArgSpecs: mxctl before sending, the
// daemon before calling a handler, so that handlers only see well-typed arguments.
namespace core::protocol {

// Fails with Errc::invalid_argument naming the argument: an unknown key, a missing required
// argument, or a value of the wrong type or out of range.
Result<void> validate_args(const Command& command, const nlohmann::json& args);

// Parses a duration such as "30s", "5m", "2h", "1d" or a bare number of seconds.
Result<long long> parse_duration_seconds(std::string_view text);

} // namespace core::protocol
