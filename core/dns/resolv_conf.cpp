// SPDX-License-Identifier: ISC
#include "core/dns/resolv_conf.hpp"

#include "core/util/fs.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <optional>

namespace core::dns {

namespace {

// True when `text` is an address that inet_pton takes for `family`.
bool is_address(int family, std::string_view text) {
    char buffer[INET6_ADDRSTRLEN + 1];
    unsigned char bytes[16];
    if (text.empty() || text.size() >= sizeof buffer) {
        return false;
    }
    std::copy(text.begin(), text.end(), buffer);
    buffer[text.size()] = '\0';
    return ::inet_pton(family, buffer, bytes) == 1;
}

// An IPv6 address, optionally followed by "%scope" (glibc accepts link-local scopes).
bool is_ipv6(std::string_view text) {
    const auto percent = text.find('%');
    if (percent != std::string_view::npos && percent + 1 == text.size()) {
        return false;
    }
    return is_address(AF_INET6, text.substr(0, percent));
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || ptr != text.data() + text.size() || value == 0 || value > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
}

// "192.0.2.1", "2001:db8::1", and mxd's "192.0.2.1:5353" and "[2001:db8::1]:5353".
std::optional<Nameserver> parse_nameserver(std::string_view word) {
    if (word.starts_with('[')) {
        const auto close = word.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        const auto address = word.substr(1, close - 1);
        const auto rest = word.substr(close + 1);
        if (!is_ipv6(address)) {
            return std::nullopt;
        }
        if (rest.empty()) {
            return Nameserver{std::string(address), 53};
        }
        if (!rest.starts_with(':')) {
            return std::nullopt;
        }
        const auto port = parse_port(rest.substr(1));
        if (!port) {
            return std::nullopt;
        }
        return Nameserver{std::string(address), *port};
    }
    if (is_address(AF_INET, word) || is_ipv6(word)) {
        return Nameserver{std::string(word), 53};
    }
    // A bare IPv6 address has several colons; one colon can only be IPv4 with a port.
    const auto colon = word.find(':');
    if (colon != std::string_view::npos && word.find(':', colon + 1) == std::string_view::npos &&
        is_address(AF_INET, word.substr(0, colon))) {
        const auto port = parse_port(word.substr(colon + 1));
        if (port) {
            return Nameserver{std::string(word.substr(0, colon)), *port};
        }
    }
    return std::nullopt;
}

std::optional<int> parse_option_number(std::string_view text) {
    int value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || ptr != text.data() + text.size() || value < 0) {
        return std::nullopt;
    }
    return value;
}

// Splits on spaces and tabs, dropping empty words.
std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t pos = 0;
    while (pos < line.size()) {
        const auto start = line.find_first_not_of(" \t\r", pos);
        if (start == std::string_view::npos) {
            break;
        }
        auto end = line.find_first_of(" \t\r", start);
        if (end == std::string_view::npos) {
            end = line.size();
        }
        out.push_back(line.substr(start, end - start));
        pos = end;
    }
    return out;
}

} // namespace

std::string Nameserver::to_string() const {
    if (address.find(':') != std::string::npos) {
        return "[" + address + "]:" + std::to_string(port);
    }
    return address + ":" + std::to_string(port);
}

ResolvConf parse_resolv_conf(std::string_view text) {
    ResolvConf conf;
    std::size_t number = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        const auto line = text.substr(start, end - start);
        start = end + 1;
        ++number;
        const auto where = "line " + std::to_string(number) + ": ";
        // glibc: a comment is a line that starts with ';' or '#'.
        if (line.starts_with('#') || line.starts_with(';')) {
            continue;
        }
        const auto w = words(line);
        if (w.empty()) {
            continue;
        }
        if (w[0] == "nameserver") {
            if (w.size() < 2) {
                conf.warnings.push_back(where + "nameserver without an address, ignoring");
                continue;
            }
            auto server = parse_nameserver(w[1]);
            if (!server) {
                conf.warnings.push_back(where + "invalid nameserver '" + std::string(w[1]) +
                                        "', ignoring");
            } else if (conf.nameservers.size() == k_nameservers_max) {
                conf.warnings.push_back(where + "more than 3 nameservers, ignoring '" +
                                        std::string(w[1]) + "'");
            } else {
                conf.nameservers.push_back(std::move(*server));
            }
        } else if (w[0] == "options") {
            for (std::size_t i = 1; i < w.size(); ++i) {
                const auto option = w[i];
                std::optional<int> value;
                if (option.starts_with("timeout:")) {
                    value = parse_option_number(option.substr(8));
                    if (value) {
                        // A zero timeout would fail every lookup; glibc's cap is 30 s.
                        conf.timeout = std::clamp(std::chrono::seconds(*value),
                                                  std::chrono::seconds(1), k_timeout_max);
                    }
                } else if (option.starts_with("attempts:")) {
                    value = parse_option_number(option.substr(9));
                    if (value) {
                        conf.attempts = std::clamp(*value, 1, k_attempts_max);
                    }
                } else {
                    continue; // ndots, rotate, edns0, ...: nothing mxd uses
                }
                if (!value) {
                    conf.warnings.push_back(where + "invalid option '" + std::string(option) +
                                            "', ignoring");
                }
            }
        }
    }
    if (conf.nameservers.empty()) {
        conf.nameservers.push_back(Nameserver{"127.0.0.1", 53});
    }
    return conf;
}

Result<ResolvConf> load_resolv_conf(const std::filesystem::path& path) {
    auto text = fs::read_file(path, k_resolv_conf_size_max);
    if (!text) {
        if (text.error().code == Errc::not_found) {
            return parse_resolv_conf({});
        }
        return fail(std::move(text).error());
    }
    return parse_resolv_conf(*text);
}

} // namespace core::dns
