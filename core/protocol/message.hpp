// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

// The JSON messages of the control protocol (DESIGN "Control protocol"): the server's hello,
// requests, replies and stream items, one object per line. Included only by the control
// server and by mxctl's client, since it pulls in nlohmann/json.
namespace core::protocol {

// A request: {"id":7,"cmd":"show.status","args":{...}}.
struct Request {
    std::int64_t id = 0;
    std::string cmd;
    nlohmann::json args = nlohmann::json::object();
};

// Parses one request line. Fails with Errc::parse for malformed JSON or JSON nested deeper
// than the limit, Errc::invalid_argument for a well-formed object of the wrong shape. The id,
// when one could be read, is kept in `id_out` so that the error reply can carry it.
Result<Request> parse_request(std::string_view line, std::int64_t* id_out = nullptr);

// What the server sends, as parsed by the client.
struct Frame {
    enum class Kind { hello, item, reply };
    Kind kind = Kind::reply;
    std::int64_t id = 0;
    bool ok = false;
    nlohmann::json body;  // hello: the hello object; item: the item; ok reply: the result
    Error error;          // failed reply
};

// Parses one line from the server; Errc::parse when it is not a frame of this protocol.
Result<Frame> parse_frame(std::string_view line);

// One line each, with the trailing "\n".
std::string encode_hello(std::string_view version, std::string_view node);
std::string encode_request(const Request& request);
std::string encode_ok(std::int64_t id, const nlohmann::json& result);
std::string encode_error(std::int64_t id, const Error& error);
std::string encode_item(std::int64_t id, const nlohmann::json& item);

// The deepest nesting of arrays and objects in a JSON text, without parsing it; strings are
// skipped. Lets a server refuse a hostile document before the parser recurses into it.
int json_depth(std::string_view text);

} // namespace core::protocol
