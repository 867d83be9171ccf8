// SPDX-License-Identifier: ISC
#include "core/queue/envelope.hpp"

#include <cstdio>

namespace core::queue {

namespace {

// OpenSMTPD passes the error through strnvis(VIS_SAFE|VIS_CSTYLE) so that '|' parsing and
// line-based scripts keep working.
std::string visible(std::string_view text) {
    std::string out;
    for (unsigned char c : text) {
        switch (c) {
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\\':
            out += "\\\\";
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                char octal[8];
                std::snprintf(octal, sizeof octal, "\\%03o", c);
                out += octal;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out;
}

} // namespace

std::string_view origin_name(Origin origin) {
    switch (origin) {
    case Origin::local:
        return "local";
    case Origin::inet4:
        return "inet4";
    case Origin::inet6:
        return "inet6";
    }
    return "?";
}

std::string_view delivery_type_name(DeliveryType type) {
    switch (type) {
    case DeliveryType::mda:
        return "mda";
    case DeliveryType::mta:
        return "mta";
    case DeliveryType::bounce:
        return "bounce";
    }
    return "?";
}

std::string flags_text(unsigned flags) {
    std::string out;
    const std::pair<unsigned, const char*> names[] = {{k_flag_bounce, "bounce"},   {k_flag_auth, "auth"},
                                                      {k_flag_internal, "internal"}, {k_flag_suspend, "suspend"},
                                                      {k_flag_hold, "hold"}};
    for (const auto& [bit, name] : names) {
        if ((flags & bit) != 0) {
            out += out.empty() ? "" : ",";
            out += name;
        }
    }
    return out;
}

std::string show_queue_line(const Envelope& e, std::string_view runstate, std::int64_t now) {
    // An empty reverse path prints as a lone '@', as smtpctl does.
    const std::string sender = e.sender.empty() ? "@" : e.sender;
    const std::int64_t timer = runstate == "pending" ? e.next_try - now : runstate == "inflight" ? now - e.last_try : 0;
    std::string line = e.id.hex();
    for (std::string_view field : {origin_name(e.origin), delivery_type_name(e.type)}) {
        line += '|';
        line += field;
    }
    line += '|' + flags_text(e.flags) + '|' + sender + '|' + e.rcpt + '|' + e.dest + '|' + std::to_string(e.created) +
            '|' + std::to_string(e.expires) + '|' + std::to_string(e.last_try) + '|' + std::to_string(e.retries) + '|' +
            std::string(runstate) + '|' + std::to_string(timer) + '|' + visible(e.last_error);
    return line;
}

} // namespace core::queue
