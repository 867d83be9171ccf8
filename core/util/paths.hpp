// SPDX-License-Identifier: ISC
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

// Where mxd and mxctl look for things (DESIGN "Paths and the built-in default").
namespace core::paths {

// The environment variables the rules read; a map so that tests can pass their own.
using Environment = std::map<std::string, std::string>;

// Reads HOME, XDG_STATE_HOME, XDG_RUNTIME_DIR and MXD_SOCKET from the process environment.
Environment process_environment();

// The defaults for a user: root gets the system paths, anyone else per-user paths under
// $XDG_STATE_HOME (else ~/.local/state) and $XDG_RUNTIME_DIR (else the state directory).
struct Defaults {
    std::filesystem::path config_file;  // /etc/mxd/mxd.conf, or ~/.config/mxd/mxd.conf
    std::filesystem::path spool;        // /var/spool/mxd, or $XDG_STATE_HOME/mxd/spool
    std::filesystem::path socket;       // /run/mxd.sock, or $XDG_RUNTIME_DIR/mxd/mxd.sock
    std::uint16_t smtp_port = 25;       // 25, or 2525 for a non-root user
};
Defaults defaults_for(unsigned uid, const Environment& env);

// The socket mxctl talks to: the -s flag when given, then $MXD_SOCKET, then the default.
std::filesystem::path resolve_socket(const std::string& flag, unsigned uid, const Environment& env);

} // namespace core::paths
