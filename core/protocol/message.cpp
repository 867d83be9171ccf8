// SPDX-License-Identifier: ISC
#include "core/protocol/message.hpp"

#include "core/protocol/version.hpp"
#include "core/util/limits.hpp"

namespace core::protocol {

using nlohmann::json;

namespace {

// dump() with invalid UTF-8 replaced, so that a message never fails to encode.
std::string dump_line(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

} // namespace

int json_depth(std::string_view text) {
    int depth = 0;
    int deepest = 0;
    bool in_string = false;
    bool escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            deepest = std::max(deepest, ++depth);
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return deepest;
}

Result<Request> parse_request(std::string_view line, std::int64_t* id_out) {
    if (json_depth(line) > limits::k_control_json_depth_max) {
        return fail(Errc::parse, "JSON nested deeper than " +
                                     std::to_string(limits::k_control_json_depth_max) + " levels");
    }
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded()) {
        return fail(Errc::parse, "malformed JSON");
    }
    if (!j.is_object()) {
        return fail(Errc::invalid_argument, "a request must be a JSON object");
    }
    Request request;
    if (auto it = j.find("id"); it != j.end()) {
        if (!it->is_number_integer()) {
            return fail(Errc::invalid_argument, "\"id\" must be an integer");
        }
        request.id = it->get<std::int64_t>();
        if (id_out != nullptr) {
            *id_out = request.id;
        }
    }
    if (auto it = j.find("v"); it != j.end() && *it != k_protocol_version) {
        return fail(Errc::invalid_argument, "protocol version " + it->dump() +
                                                " is not supported; this daemon speaks version " +
                                                std::to_string(k_protocol_version));
    }
    auto cmd = j.find("cmd");
    if (cmd == j.end() || !cmd->is_string()) {
        return fail(Errc::invalid_argument, "a request needs a \"cmd\" string");
    }
    request.cmd = cmd->get<std::string>();
    if (auto args = j.find("args"); args != j.end()) {
        if (!args->is_object()) {
            return fail(Errc::invalid_argument, "\"args\" must be an object");
        }
        request.args = std::move(*args);
    }
    return request;
}

Result<Frame> parse_frame(std::string_view line) {
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        return fail(Errc::parse, "the daemon sent something that is not a JSON object");
    }
    Frame frame;
    if (auto hello = j.find("hello"); hello != j.end()) {
        frame.kind = Frame::Kind::hello;
        frame.body = std::move(*hello);
        return frame;
    }
    if (auto id = j.find("id"); id != j.end() && id->is_number_integer()) {
        frame.id = id->get<std::int64_t>();
    }
    if (auto item = j.find("item"); item != j.end()) {
        frame.kind = Frame::Kind::item;
        frame.body = std::move(*item);
        return frame;
    }
    auto ok = j.find("ok");
    if (ok == j.end() || !ok->is_boolean()) {
        return fail(Errc::parse, "the daemon sent a reply without \"ok\"");
    }
    frame.kind = Frame::Kind::reply;
    frame.ok = ok->get<bool>();
    if (frame.ok) {
        if (auto result = j.find("result"); result != j.end()) {
            frame.body = std::move(*result);
        }
        return frame;
    }
    const auto& error = j.value("error", json::object());
    frame.error.code = errc_from_name(error.value("code", "internal"));
    frame.error.message = error.value("message", "unknown error");
    return frame;
}

std::string encode_hello(std::string_view version, std::string_view node) {
    return dump_line({{"hello", {{"protocol", k_protocol_version}, {"version", version}, {"node", node}}}});
}

std::string encode_request(const Request& request) {
    return dump_line({{"v", k_protocol_version}, {"id", request.id}, {"cmd", request.cmd}, {"args", request.args}});
}

std::string encode_ok(std::int64_t id, const json& result) {
    return dump_line({{"id", id}, {"ok", true}, {"result", result}});
}

std::string encode_error(std::int64_t id, const Error& error) {
    return dump_line({{"id", id},
                      {"ok", false},
                      {"error", {{"code", errc_name(error.code)}, {"message", error.message}}}});
}

std::string encode_item(std::int64_t id, const json& item) {
    return dump_line({{"id", id}, {"item", item}});
}

} // namespace core::protocol
