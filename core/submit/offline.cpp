// SPDX-License-Identifier: ISC
#include "core/submit/offline.hpp"

#include "core/util/limits.hpp"

#include <nlohmann/json.hpp>

namespace core::submit {

namespace {

// The format's version; a daemon refuses files of a version it does not know.
constexpr int k_offline_version = 1;

} // namespace

std::string encode_offline(const OfflineMessage& message) {
    nlohmann::json envelope{{"mxd_offline", k_offline_version},
                            {"full_name", message.full_name},
                            {"recipients", message.recipients}};
    envelope["sender"] = message.sender ? nlohmann::json(*message.sender) : nlohmann::json(nullptr);
    // Replace, not throw: an argument that is not UTF-8 must not lose the message.
    std::string out = envelope.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.push_back('\n');
    out.append(message.message);
    return out;
}

Result<OfflineMessage> decode_offline(std::string_view contents) {
    const auto newline = contents.find('\n');
    if (newline == std::string_view::npos || newline > core::limits::k_control_line_max) {
        return fail(Errc::parse, "no envelope line");
    }
    const auto envelope = nlohmann::json::parse(contents.substr(0, newline), nullptr, false);
    if (!envelope.is_object() || envelope.value("mxd_offline", 0) != k_offline_version) {
        return fail(Errc::parse,
                    "not an mxd offline file of version " + std::to_string(k_offline_version));
    }
    OfflineMessage message;
    try {
        const auto& sender = envelope.at("sender");
        if (!sender.is_null()) {
            message.sender = sender.get<std::string>();
        }
        message.full_name = envelope.value("full_name", "");
        message.recipients = envelope.at("recipients").get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& e) {
        return fail(Errc::parse, std::string("bad envelope: ") + e.what());
    }
    message.message = std::string(contents.substr(newline + 1));
    return message;
}

} // namespace core::submit
