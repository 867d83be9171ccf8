// SPDX-License-Identifier: ISC
#include "core/protocol/redact.hpp"

#include <gtest/gtest.h>

using core::protocol::redact_args;
using nlohmann::json;

TEST(RedactArgs, SecretsBecomeRedacted) {
    EXPECT_EQ(redact_args("encrypt", {{"string", "hunter2"}, {"scheme", "bcrypt"}}),
              json({{"string", "<redacted>"}, {"scheme", "bcrypt"}}));
    EXPECT_EQ(redact_args("submit", {{"data", "U3ViamVjdDogaGk="}, {"recipient", {"bob"}}}),
              json({{"data", "<redacted>"}, {"recipient", {"bob"}}}));
    EXPECT_EQ(redact_args("anything", {{"password", "x"}}), json({{"password", "<redacted>"}}));
}

TEST(RedactArgs, OtherArgumentsStayAndLongStringsAreCut) {
    EXPECT_EQ(redact_args("trace", {{"subsystem", "smtp"}}), json({{"subsystem", "smtp"}}));
    EXPECT_EQ(redact_args("table.lookup", {{"string", "kept"}}), json({{"string", "kept"}}));
    const auto cut = redact_args("table.lookup", {{"key", std::string(1000, 'k')}});
    EXPECT_EQ(cut["key"].get<std::string>(), std::string(200, 'k') + "...");
    EXPECT_EQ(redact_args("x", json::array()), json::array());
}
