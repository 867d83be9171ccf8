// SPDX-License-Identifier: ISC
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

// What a log or a trace may show of a control request's arguments (DESIGN: a password never
// appears in a log or a trace).
namespace core::protocol {

// A copy of `args` of the command named `cmd` (its wire name) fit for a trace: the password
// of `encrypt`, a `submit`'s message data and any argument called "password" become
// "<redacted>", and long strings are cut to 200 bytes. Never fails; a non-object is returned
// as is.
nlohmann::json redact_args(std::string_view cmd, const nlohmann::json& args);

} // namespace core::protocol
