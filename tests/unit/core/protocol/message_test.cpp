// SPDX-License-Identifier: ISC
#include "core/protocol/message.hpp"
#include "core/protocol/version.hpp"

#include <gtest/gtest.h>

using namespace core::protocol;

TEST(ParseRequest, ReadsIdCommandAndArgs) {
    auto r = parse_request(R"({"id":7,"cmd":"trace","args":{"subsystem":"smtp"}})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, 7);
    EXPECT_EQ(r->cmd, "trace");
    EXPECT_EQ(r->args["subsystem"], "smtp");
}

TEST(ParseRequest, MalformedJsonIsAParseError) {
    std::int64_t id = -1;
    auto r = parse_request("{\"id\":3,", &id);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, core::Errc::parse);
}

TEST(ParseRequest, KeepsTheIdForTheErrorReply) {
    std::int64_t id = 0;
    auto r = parse_request(R"({"id":9,"cmd":5})", &id);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, core::Errc::invalid_argument);
    EXPECT_EQ(id, 9);
}

TEST(ParseRequest, RefusesDeepNestingBeforeParsing) {
    const std::string deep = R"({"cmd":"x","args":{"a":)" + std::string(10000, '[') + std::string(10000, ']') + "}}";
    auto r = parse_request(deep);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("nested"), std::string::npos);
}

TEST(ParseRequest, RefusesAnotherProtocolVersion) {
    auto r = parse_request(R"({"v":99,"id":1,"cmd":"show.status"})");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("99"), std::string::npos);
}

TEST(ParseRequest, RefusesNonObjects) {
    EXPECT_FALSE(parse_request("[1,2]"));
    EXPECT_FALSE(parse_request("\"show.status\""));
    EXPECT_FALSE(parse_request(R"({"cmd":"x","args":[1]})"));
}

TEST(JsonDepth, IgnoresBracketsInStrings) {
    EXPECT_EQ(json_depth(R"({"a":"[[[[{{{\"]]"})"), 1);
    EXPECT_EQ(json_depth(R"({"a":[{"b":[]}]})"), 4);
}

TEST(Frames, RoundTripOkErrorItemAndHello) {
    auto ok = parse_frame(encode_ok(4, {{"x", 1}}));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->kind, Frame::Kind::reply);
    EXPECT_TRUE(ok->ok);
    EXPECT_EQ(ok->id, 4);
    EXPECT_EQ(ok->body["x"], 1);

    auto err = parse_frame(encode_error(5, core::Error{core::Errc::not_found, "no such envelope"}));
    ASSERT_TRUE(err);
    EXPECT_FALSE(err->ok);
    EXPECT_EQ(err->error.code, core::Errc::not_found);
    EXPECT_EQ(err->error.message, "no such envelope");

    auto item = parse_frame(encode_item(6, "line"));
    ASSERT_TRUE(item);
    EXPECT_EQ(item->kind, Frame::Kind::item);

    auto hello = parse_frame(encode_hello("0.1.0", "mx1"));
    ASSERT_TRUE(hello);
    EXPECT_EQ(hello->kind, Frame::Kind::hello);
    EXPECT_EQ(hello->body["protocol"], k_protocol_version);
    EXPECT_EQ(hello->body["node"], "mx1");
}

TEST(Frames, EncodesInvalidUtf8WithoutThrowing) {
    const std::string line = encode_ok(1, {{"s", std::string("\xff\xfe")}});
    EXPECT_EQ(line.back(), '\n');
    EXPECT_TRUE(parse_frame(line));
}
