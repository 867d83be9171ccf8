// SPDX-License-Identifier: ISC
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

// The typed configuration model that the daemon runs on. The parser (core/config/parser.hpp)
// builds it from smtpd.conf; builtin_default() builds it with no file at all.
namespace core::config {

// Which address families a `listen on` binds.
enum class Family { any, inet4, inet6 };

// One `listen on` statement: an address, a host name such as `localhost`, an interface name,
// or the local submission socket (`listen on socket`).
struct Listener {
    enum class Kind { inet, socket };
    Kind kind = Kind::inet;
    std::string interface;      // "127.0.0.1", "::1", "localhost", "eth0", "lo"
    std::uint16_t port = 25;    // 0 asks the kernel for a free port (tests)
    Family family = Family::any;
    std::string hostname;       // `hostname NAME`, empty for the machine's name
};

// The whole configuration. source_file is empty for the built-in default.
struct Config {
    std::filesystem::path source_file;
    std::filesystem::path queue_directory;  // `queue directory "/path"` (mxd extension)
    std::vector<Listener> listeners;
    std::vector<std::string> control_read_groups;   // `control group read "GROUP"` (mxd extension)
    std::vector<std::string> control_admin_groups;  // `control group admin "GROUP"` (mxd extension)
};

} // namespace core::config
