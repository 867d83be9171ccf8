// SPDX-License-Identifier: ISC
#include "core/util/paths.hpp"

#include "mxd_build_config.h"

#include <cstdlib>

namespace core::paths {

namespace {

std::string get(const Environment& env, const std::string& name) {
    const auto it = env.find(name);
    return it == env.end() ? std::string{} : it->second;
}

} // namespace

Environment process_environment() {
    Environment env;
    for (const char* name : {"HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "MXD_SOCKET"}) {
        if (const char* value = std::getenv(name); value != nullptr) {
            env[name] = value;
        }
    }
    return env;
}

Defaults defaults_for(unsigned uid, const Environment& env) {
    Defaults d;
    if (uid == 0) {
        d.config_file = std::filesystem::path(MXD_SYSCONFDIR) / "mxd" / "mxd.conf";
        d.spool = "/var/spool/mxd";
        d.socket = "/run/mxd.sock";
        d.smtp_port = 25;
        return d;
    }
    const std::filesystem::path home = get(env, "HOME").empty() ? "/tmp" : get(env, "HOME");
    // XDG Base Directory: relative values are invalid and must be ignored.
    auto xdg = [&](const char* name, const std::filesystem::path& fallback) {
        std::filesystem::path value = get(env, name);
        return value.is_absolute() ? value : fallback;
    };
    const auto state = xdg("XDG_STATE_HOME", home / ".local" / "state") / "mxd";
    d.config_file = xdg("XDG_CONFIG_HOME", home / ".config") / "mxd" / "mxd.conf";
    d.spool = state / "spool";
    d.socket = xdg("XDG_RUNTIME_DIR", state.parent_path()) / "mxd" / "mxd.sock";
    d.smtp_port = 2525;
    return d;
}

std::filesystem::path resolve_socket(const std::string& flag, unsigned uid, const Environment& env) {
    if (!flag.empty()) {
        return flag;
    }
    if (const auto value = get(env, "MXD_SOCKET"); !value.empty()) {
        return value;
    }
    return defaults_for(uid, env).socket;
}

} // namespace core::paths
