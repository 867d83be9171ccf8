// SPDX-License-Identifier: ISC
#include "core/mta/extensions.hpp"

#include "core/util/strings.hpp"

namespace core::mta {

namespace {

// The value of "SIZE 1000"; 0 for an absent, malformed or absurd value.
std::uint64_t size_value(std::string_view text) {
    if (text.empty() || text.size() > 19) {
        return 0;
    }
    std::uint64_t value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return 0;
        }
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return value;
}

} // namespace

Extensions parse_extensions(const core::smtp::Reply& reply) {
    Extensions ext;
    const auto lines = core::split(reply.text, '\n');
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const auto line = core::trim(lines[i]);
        const auto space = line.find(' ');
        const auto keyword = core::to_lower(line.substr(0, space));
        const auto params = space == std::string_view::npos ? std::string_view{}
                                                            : core::trim(line.substr(space + 1));
        if (keyword == "starttls") {
            ext.starttls = true;
        } else if (keyword == "pipelining") {
            ext.pipelining = true;
        } else if (keyword == "8bitmime") {
            ext.eightbitmime = true;
        } else if (keyword == "dsn") {
            ext.dsn = true;
        } else if (keyword == "smtputf8") {
            ext.smtputf8 = true;
        } else if (keyword == "enhancedstatuscodes") {
            ext.enhanced_status_codes = true;
        } else if (keyword == "size") {
            ext.size = size_value(params);
        } else if (keyword == "auth" || keyword.rfind("auth=", 0) == 0) {
            // Old servers announce "AUTH=LOGIN PLAIN" (pre-RFC 4954 Outlook clients needed it).
            const auto mechanisms = keyword == "auth" ? params : line.substr(5);
            for (const auto mechanism : core::split(mechanisms, ' ')) {
                const auto name = core::to_lower(mechanism);
                ext.auth_plain = ext.auth_plain || name == "plain";
                ext.auth_login = ext.auth_login || name == "login";
            }
        }
    }
    return ext;
}

} // namespace core::mta
