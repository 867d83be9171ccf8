// SPDX-License-Identifier: ISC
#pragma once

#include <string>
#include <string_view>

// What a log or a trace may show of an SMTP client's line (DESIGN "Trace, logs, stats": a
// password never appears in a log or a trace).
namespace core::smtp {

// Whether the line answers a SASL challenge (334) rather than being a command.
enum class SaslResponse { no, yes };

// The line as a trace may show it: a SASL response line is "<redacted>" whole; an AUTH
// command keeps its verb and mechanism and loses its initial response ("AUTH PLAIN
// <redacted>"); any other line is returned unchanged. Never fails.
std::string redact_client_line(std::string_view line, SaslResponse sasl);

} // namespace core::smtp
