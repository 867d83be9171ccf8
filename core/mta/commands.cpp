// SPDX-License-Identifier: ISC
#include "core/mta/commands.hpp"

#include "core/smtp/address.hpp"
#include "core/smtp/command.hpp"
#include "core/util/strings.hpp"

namespace core::mta {

namespace {

// RFC 3461 4.1: NOTIFY is NEVER or a comma list of SUCCESS, FAILURE and DELAY.
bool valid_notify(std::string_view text) {
    if (core::to_lower(text) == "never") {
        return true;
    }
    for (const auto word : core::split(text, ',')) {
        const auto w = core::to_lower(word);
        if (w != "success" && w != "failure" && w != "delay") {
            return false;
        }
    }
    return !text.empty();
}

// RFC 3461 4.2: addr-type is an atom; only letters, digits and '-' are sent.
bool valid_addr_type(std::string_view text) {
    if (text.empty()) {
        return false;
    }
    for (const char c : text) {
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-')) {
            return false;
        }
    }
    return true;
}

} // namespace

Result<void> check_path_text(std::string_view address) {
    if (address.size() > core::smtp::k_path_max) {
        return fail(Errc::parse, "address too long");
    }
    for (const char c : address) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || c == '<' || c == '>') {
            return fail(Errc::parse, "address contains a control character or an angle bracket");
        }
    }
    return {};
}

std::string mail_command(std::string_view sender, const MailParameters& params) {
    std::string out = "MAIL FROM:<";
    out.append(sender);
    out += '>';
    if (params.size) {
        out += " SIZE=" + std::to_string(*params.size);
    }
    if (params.body_8bitmime) {
        out += " BODY=8BITMIME";
    }
    const auto ret = core::to_lower(params.ret);
    if (ret == "full" || ret == "hdrs") {
        out += ret == "full" ? " RET=FULL" : " RET=HDRS";
    }
    if (!params.envid.empty()) {
        out += " ENVID=" + core::smtp::xtext_encode(params.envid);
    }
    return out;
}

std::string rcpt_command(std::string_view rcpt, const RcptParameters& params) {
    std::string out = "RCPT TO:<";
    out.append(rcpt);
    out += '>';
    if (valid_notify(params.notify)) {
        std::string notify = params.notify;
        for (auto& c : notify) {
            c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
        }
        out += " NOTIFY=" + notify;
    }
    if (!params.orcpt.empty() && valid_addr_type(params.orcpt_type)) {
        out += " ORCPT=" + params.orcpt_type + ";" + core::smtp::xtext_encode(params.orcpt);
    }
    return out;
}

} // namespace core::mta
