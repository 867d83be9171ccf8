// SPDX-License-Identifier: ISC
#include "core/protocol/redact.hpp"

#include <array>
#include <utility>

namespace core::protocol {

namespace {

// (command, argument) pairs whose value is secret or private.
constexpr std::array<std::pair<std::string_view, std::string_view>, 2> k_secret{{
    {"encrypt", "string"},
    {"submit", "data"},
}};

constexpr std::size_t k_string_max = 200;

bool secret(std::string_view cmd, std::string_view key) {
    if (key == "password") {
        return true;
    }
    for (const auto& [c, k] : k_secret) {
        if (c == cmd && k == key) {
            return true;
        }
    }
    return false;
}

} // namespace

nlohmann::json redact_args(std::string_view cmd, const nlohmann::json& args) {
    if (!args.is_object()) {
        return args;
    }
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : args.items()) {
        if (secret(cmd, key)) {
            out[key] = "<redacted>";
        } else if (value.is_string() && value.get_ref<const std::string&>().size() > k_string_max) {
            out[key] = value.get_ref<const std::string&>().substr(0, k_string_max) + "...";
        } else {
            out[key] = value;
        }
    }
    return out;
}

} // namespace core::protocol
