// SPDX-License-Identifier: ISC
#include "core/protocol/args.hpp"

#include "core/util/strings.hpp"
#include "core/util/trace.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace core::protocol {

namespace {

Result<void> check_scalar(const ArgSpec& spec, const nlohmann::json& value) {
    const std::string key = wire_key(spec);
    auto bad = [&](std::string_view why) {
        return fail(Errc::invalid_argument, "argument '" + key + "' " + std::string(why));
    };
    switch (spec.type) {
    case ArgType::flag:
        return value.is_boolean() ? Result<void>{} : bad("must be true or false");
    case ArgType::uint:
        return value.is_number_unsigned() ? Result<void>{} : bad("must be a whole number");
    case ArgType::string:
    case ArgType::table:
        return value.is_string() ? Result<void>{} : bad("must be a string");
    case ArgType::queue_id: {
        // The ids of smtpctl: a msgid is 8 hex digits, an evpid 16 (msgid then a random half).
        const auto text = value.is_string() ? value.get<std::string>() : std::string{};
        const bool hex = (text.size() == 8 || text.size() == 16) &&
                         std::all_of(text.begin(), text.end(),
                                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
        return hex || text == "all" ? Result<void>{}
                                    : bad("must be an envelope id (16 hex digits), a message id (8) or all");
    }
    case ArgType::duration:
        if (!value.is_string() || !parse_duration_seconds(value.get<std::string>())) {
            return bad("must be a duration such as 30s, 5m, 2h or 1d");
        }
        return {};
    case ArgType::subsystem:
        if (!value.is_string() || !parse_subsystem_set(value.get<std::string>())) {
            std::vector<std::string_view> candidates{"all"};
            candidates.insert(candidates.end(), k_subsystem_names.begin(), k_subsystem_names.end());
            std::string names;
            for (auto n : candidates) {
                names += (names.empty() ? "" : ", ") + std::string(n);
            }
            std::string hint;
            if (value.is_string()) {
                if (const auto close = closest_match(value.get<std::string>(), candidates); !close.empty()) {
                    hint = " (did you mean '" + std::string(close) + "'?)";
                }
            }
            return bad("must be a trace subsystem" + hint + ": " + names);
        }
        return {};
    case ArgType::choice:
        if (!value.is_string() ||
            std::find(spec.choices.begin(), spec.choices.end(), value.get<std::string>()) ==
                spec.choices.end()) {
            std::string names;
            for (auto n : spec.choices) {
                names += names.empty() ? "" : ", ";
                names += n;
            }
            return bad("must be one of: " + names);
        }
        return {};
    }
    return bad("has an unknown type");
}

} // namespace

Result<void> validate_args(const Command& command, const nlohmann::json& args) {
    if (!args.is_object()) {
        return fail(Errc::invalid_argument, "\"args\" must be an object");
    }
    for (const auto& [key, value] : args.items()) {
        const auto spec = std::find_if(command.args.begin(), command.args.end(),
                                       [&](const ArgSpec& a) { return wire_key(a) == key; });
        if (spec == command.args.end()) {
            return fail(Errc::invalid_argument,
                        "unknown argument '" + key + "' for '" + std::string(command.words) + "'");
        }
        if (spec->arity == Arity::many) {
            if (!value.is_array()) {
                return fail(Errc::invalid_argument, "argument '" + key + "' must be a list");
            }
            for (const auto& v : value) {
                MXD_TRY(check_scalar(*spec, v));
            }
        } else {
            MXD_TRY(check_scalar(*spec, value));
        }
    }
    for (const auto& spec : command.args) {
        if (spec.arity == Arity::required && !args.contains(wire_key(spec))) {
            return fail(Errc::invalid_argument, "missing argument '" + wire_key(spec) + "' for '" +
                                                    std::string(command.words) + "'");
        }
    }
    if (command.scope == Scope::required &&
        std::none_of(command.args.begin(), command.args.end(), [&](const ArgSpec& spec) {
            return spec.type != ArgType::flag && args.contains(wire_key(spec));
        })) {
        return fail(Errc::invalid_argument, "'" + std::string(command.words) +
                                                "' needs an envelope id, a message id, all, or a filter");
    }
    return {};
}

Result<long long> parse_duration_seconds(std::string_view text) {
    long long number = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, number);
    if (ec != std::errc{} || number < 0) {
        return fail(Errc::invalid_argument, "invalid duration '" + std::string(text) + "'");
    }
    const std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
    long long scale = 0;
    if (unit.empty() || unit == "s") {
        scale = 1;
    } else if (unit == "m") {
        scale = 60;
    } else if (unit == "h") {
        scale = 3600;
    } else if (unit == "d") {
        scale = 86400;
    } else {
        return fail(Errc::invalid_argument, "invalid duration unit in '" + std::string(text) + "'");
    }
    if (number > (1LL << 40) / scale) {
        return fail(Errc::invalid_argument, "duration '" + std::string(text) + "' is too long");
    }
    return number * scale;
}

} // namespace core::protocol
