// SPDX-License-Identifier: ISC
#pragma once

#include "core/protocol/commands.hpp"

#include <nlohmann/json.hpp>

#include <ostream>

// How mxctl prints a command's result for people; `-j` prints the JSON itself.
namespace mxctl {

// Prints a result in the text form of its command (smtpctl's where it has one).
void render_text(const core::protocol::Command& command, const nlohmann::json& result, std::ostream& out);

// Prints one item of a stream command in text; `index` counts from 0 (for headers).
void render_item_text(const core::protocol::Command& command, const nlohmann::json& item, std::size_t index,
                      std::ostream& out);

// Prints a result as one JSON object on one line.
void render_json(const nlohmann::json& result, std::ostream& out);

} // namespace mxctl
