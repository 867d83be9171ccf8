// SPDX-License-Identifier: ISC
#include "core/util/paths.hpp"

#include <gtest/gtest.h>

using namespace core::paths;

TEST(Paths, RootUsesSystemPaths) {
    const auto d = defaults_for(0, {{"HOME", "/root"}, {"XDG_RUNTIME_DIR", "/run/user/0"}});
    EXPECT_EQ(d.spool, "/var/spool/mxd");
    EXPECT_EQ(d.socket, "/run/mxd.sock");
    EXPECT_EQ(d.config_file.filename(), "mxd.conf");
    EXPECT_EQ(d.smtp_port, 25);
}

TEST(Paths, UserUsesXdgDirectoriesAndPort2525) {
    const auto d = defaults_for(1000, {{"HOME", "/home/u"}, {"XDG_STATE_HOME", "/s"}, {"XDG_RUNTIME_DIR", "/run/user/1000"}});
    EXPECT_EQ(d.spool, "/s/mxd/spool");
    EXPECT_EQ(d.socket, "/run/user/1000/mxd/mxd.sock");
    EXPECT_EQ(d.config_file, "/home/u/.config/mxd/mxd.conf");
    EXPECT_EQ(d.smtp_port, 2525);
}

TEST(Paths, UserWithoutXdgFallsBackToHome) {
    const auto d = defaults_for(1000, {{"HOME", "/home/u"}});
    EXPECT_EQ(d.spool, "/home/u/.local/state/mxd/spool");
    EXPECT_EQ(d.socket, "/home/u/.local/state/mxd/mxd.sock");
}

TEST(Paths, RelativeXdgValuesAreIgnored) {
    const auto d = defaults_for(1000, {{"HOME", "/home/u"}, {"XDG_STATE_HOME", "rel"}});
    EXPECT_EQ(d.spool, "/home/u/.local/state/mxd/spool");
}

TEST(Paths, SocketFlagThenEnvironmentThenDefault) {
    const Environment env{{"HOME", "/home/u"}, {"MXD_SOCKET", "/tmp/env.sock"}, {"XDG_RUNTIME_DIR", "/r"}};
    EXPECT_EQ(resolve_socket("/tmp/flag.sock", 1000, env), "/tmp/flag.sock");
    EXPECT_EQ(resolve_socket("", 1000, env), "/tmp/env.sock");
    EXPECT_EQ(resolve_socket("", 1000, {{"HOME", "/home/u"}, {"XDG_RUNTIME_DIR", "/r"}}), "/r/mxd/mxd.sock");
    EXPECT_EQ(resolve_socket("", 0, {}), "/run/mxd.sock");
}
