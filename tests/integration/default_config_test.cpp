// SPDX-License-Identifier: ISC
// mxd with no configuration file, run by a user who did no set-up at all.
#include "tests/integration/daemon_fixture.hpp"

#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gmock/gmock.h>

#include <fstream>
#include <sstream>
#include <thread>

using namespace mxd_test;
using ::testing::HasSubstr;

TEST(BuiltInDefault, NonRootUserRunsWithNoSetUpAndIsToldWhereThingsAre) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to become nobody";
    }
    char templ[] = "/tmp/mxd-user-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    const std::filesystem::path home = templ;
    const passwd* nobody = ::getpwnam("nobody");
    ASSERT_NE(nobody, nullptr);
    ASSERT_EQ(::chown(home.c_str(), nobody->pw_uid, nobody->pw_gid), 0);
    const RunOptions as_user{.env = {{"HOME", home.string()},
                                     {"XDG_STATE_HOME", ""},
                                     {"XDG_CONFIG_HOME", ""},
                                     {"XDG_RUNTIME_DIR", (home / "run").string()},
                                     {"MXD_SOCKET", ""}},
                             .user = "nobody"};
    ASSERT_EQ(run({"mkdir", "-m", "700", (home / "run").string()}, as_user).status, 0);

    Background mxd({mxd_binary(), "-d"}, home / "mxd.log", as_user);
    const auto socket = home / "run" / "mxd" / "mxd.sock";
    // The socket opens a moment before mxd prints where things are: wait for the last line.
    const bool up = wait_until(
        [&] {
            return (std::filesystem::exists(socket) &&
                    slurp(home / "mxd.log").find("talk to it with") != std::string::npos) ||
                   mxd.wait(std::chrono::milliseconds(0));
        },
        std::chrono::seconds(15));
    ASSERT_TRUE(up);
    ASSERT_FALSE(mxd.wait(std::chrono::milliseconds(0))) << slurp(home / "mxd.log");
    const auto log = slurp(home / "mxd.log");
    EXPECT_THAT(log, HasSubstr("configuration built-in default"));
    EXPECT_THAT(log, HasSubstr("mxd: spool " + (home / ".local/state/mxd/spool").string()));
    EXPECT_THAT(log, HasSubstr("mxd: control socket " + socket.string()));
    EXPECT_THAT(log, HasSubstr("talk to it with: mxctl show status"));

    // mxctl finds the socket with no flag, for the same user.
    const auto status = run({mxctl_binary(), "-j", "show", "status"}, as_user);
    ASSERT_EQ(status.status, 0) << status.err;
    const auto s = nlohmann::json::parse(status.out);
    EXPECT_EQ(s["spool"], (home / ".local/state/mxd/spool").string());
    bool on_2525 = false;
    for (const auto& l : s["listeners"]) {
        on_2525 = on_2525 || (l["address"] == "127.0.0.1" && l["port"] == 2525);
    }
    EXPECT_TRUE(on_2525) << status.out;
    // Its own user is admin of its own daemon.
    EXPECT_EQ(run({mxctl_binary(), "stop"}, as_user).status, 0);
    EXPECT_EQ(mxd.wait(std::chrono::seconds(10)), 0);
    std::error_code ec;
    std::filesystem::remove_all(home, ec);
}

TEST(Protocol, MxctlRefusesADaemonOfAnotherProtocolVersion) {
    char templ[] = "/tmp/mxd-proto-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    const std::filesystem::path path = std::filesystem::path(templ) / "fake.sock";
    const int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.string().copy(addr.sun_path, sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener, 1), 0);
    std::thread fake([listener] {
        const int c = ::accept(listener, nullptr, nullptr);
        const std::string hello = "{\"hello\":{\"protocol\":99,\"version\":\"9.0.0\",\"node\":\"x\"}}\n";
        static_cast<void>(::write(c, hello.data(), hello.size()));
        char buffer[256];
        static_cast<void>(::read(c, buffer, sizeof buffer));
        ::close(c);
    });
    const auto r = run({mxctl_binary(), "-s", path.string(), "show", "status"});
    fake.join();
    ::close(listener);
    EXPECT_EQ(r.status, 76);
    EXPECT_THAT(r.err, HasSubstr("control protocol 99 (mxd 9.0.0)"));
    std::error_code ec;
    std::filesystem::remove_all(templ, ec);
}
