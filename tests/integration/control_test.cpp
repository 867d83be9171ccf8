// SPDX-License-Identifier: ISC
// The control socket and mxctl against a real mxd: status, trace and log state, stop and
// signals, bad input, limits, access levels, and the spool lock.
#include "tests/integration/daemon_fixture.hpp"

#include "mxd_build_config.h"

#include <crypt.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>

#include <fstream>
#include <sstream>
#include <thread>

using namespace mxd_test;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using nlohmann::json;

namespace {

// A raw control connection for sending what mxctl never would.
class RawClient {
public:
    explicit RawClient(const std::filesystem::path& path) : m_fd(connect_unix(path)) {}
    ~RawClient() {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }
    bool connected() const { return m_fd >= 0; }
    bool send(const std::string& bytes) {
        std::size_t sent = 0;
        while (sent < bytes.size()) {
            const ssize_t n = ::send(m_fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) {
                return false;
            }
            sent += static_cast<std::size_t>(n);
        }
        return true;
    }
    // The next line, or "" on EOF / error / timeout.
    std::string line(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
        ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        for (;;) {
            if (const auto pos = m_buffer.find('\n'); pos != std::string::npos) {
                std::string out = m_buffer.substr(0, pos);
                m_buffer.erase(0, pos + 1);
                return out;
            }
            char chunk[4096];
            const ssize_t n = ::recv(m_fd, chunk, sizeof chunk, 0);
            if (n <= 0) {
                return {};
            }
            m_buffer.append(chunk, static_cast<std::size_t>(n));
        }
    }
    // True when the server closed the connection (EOF) within the timeout.
    bool closed_by_server(std::chrono::milliseconds timeout) {
        timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
        ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char chunk[4096];
        for (;;) {
            const ssize_t n = ::recv(m_fd, chunk, sizeof chunk, 0);
            if (n == 0 || (n < 0 && errno == ECONNRESET)) {
                return true;
            }
            if (n < 0) {
                return false;  // timeout
            }
        }
    }

private:
    int m_fd;
    std::string m_buffer;
};

json parse(const std::string& line) { return json::parse(line, nullptr, false); }

bool is_root() { return ::geteuid() == 0; }

} // namespace

class Control : public DaemonFixture {};

TEST_F(Control, StatusInTextKeepsSmtpctlLinesAndAddsMxdDetails) {
    ASSERT_TRUE(start());
    const auto r = mxctl({"show", "status"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_THAT(r.out, StartsWith("MDA running\nMTA running\nSMTP running\n"));
    EXPECT_THAT(r.out, HasSubstr("pid:        " + std::to_string(daemon()->pid())));
    EXPECT_THAT(r.out, HasSubstr("config:     " + config_path().string()));
    EXPECT_THAT(r.out, HasSubstr("spool:      " + spool().string()));
    EXPECT_THAT(r.out, HasSubstr("listening:  127.0.0.1:" + std::to_string(smtp_port())));
    EXPECT_EQ(r.err, "");
}

TEST_F(Control, StatusInJsonIsOneObject) {
    ASSERT_TRUE(start());
    const auto r = mxctl({"-j", "show", "status"});
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);
    const auto s = parse(r.out);
    ASSERT_TRUE(s.is_object()) << r.out;
    EXPECT_EQ(s["version"], MXD_VERSION);
    EXPECT_EQ(s["pid"], daemon()->pid());
    EXPECT_EQ(s["socket"], socket_path().string());
    EXPECT_EQ(s["paused"], json({{"mda", false}, {"mta", false}, {"smtp", false}}));
    EXPECT_EQ(s["traces"], json::array());
    EXPECT_EQ(s["log_level"], "brief");
    EXPECT_GT(smtp_port(), 0);
    EXPECT_THAT(s["started"].get<std::string>(), ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"));
}

TEST_F(Control, AbbreviationsResolveLikeSmtpctl) {
    ASSERT_TRUE(start());
    EXPECT_EQ(mxctl({"sh", "statu"}).status, 0);
    // As in smtpctl, "sh stat" is stats or status.
    EXPECT_EQ(mxctl({"sh", "stat"}).status, 64);
    const auto ambiguous = mxctl({"s"});
    EXPECT_EQ(ambiguous.status, 64);
    EXPECT_THAT(ambiguous.err, StartsWith("mxctl: ambiguous command 's'; possibilities are: show, "));
    EXPECT_THAT(ambiguous.err, HasSubstr("stop"));
}

TEST_F(Control, TraceUntraceAndLogLevelShowInStatus) {
    ASSERT_TRUE(start({"-T", "expand"}));
    EXPECT_EQ(status()["traces"], json({"expand"}));
    ASSERT_EQ(mxctl({"trace", "smtp"}).status, 0);
    EXPECT_EQ(status()["traces"], json({"smtp", "expand"}));
    ASSERT_EQ(mxctl({"log", "verbose"}).status, 0);
    auto s = status();
    EXPECT_EQ(s["log_level"], "verbose");
    EXPECT_EQ(s["traces"], json({"smtp", "expand"})) << "log verbose must not touch traces";
    ASSERT_EQ(mxctl({"log", "brief"}).status, 0);
    s = status();
    EXPECT_EQ(s["log_level"], "brief");
    EXPECT_EQ(s["traces"], json({"smtp", "expand"})) << "log brief must not clear traces";
    ASSERT_EQ(mxctl({"trace", "all"}).status, 0);
    EXPECT_EQ(status()["traces"].size(), 14u);
    ASSERT_EQ(mxctl({"untrace", "all"}).status, 0);
    EXPECT_EQ(status()["traces"], json::array());
}

TEST_F(Control, UnknownTraceSubsystemIsAUsageError) {
    ASSERT_TRUE(start());
    const auto r = mxctl({"trace", "smpt"});
    EXPECT_EQ(r.status, 64);
    EXPECT_THAT(r.err, StartsWith("mxctl: trace: "));
    EXPECT_THAT(r.err, HasSubstr("did you mean 'smtp'"));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line on stderr";
}

TEST_F(Control, StartPausedShowsInStatus) {
    ASSERT_TRUE(start({"-P", "mta", "-P", "smtp"}));
    const auto r = mxctl({"show", "status"});
    EXPECT_THAT(r.out, StartsWith("MDA running\nMTA paused\nSMTP paused\n"));
    // With SMTP paused, clients are told to come back later.
    const auto smtp = run({"python3", "-c",
                           "import socket; s=socket.create_connection(('127.0.0.1'," + std::to_string(smtp_port()) +
                               "),5); print(s.recv(200).decode().strip())"});
    EXPECT_THAT(smtp.out, StartsWith("421 "));
}

TEST_F(Control, StopCommandStopsCleanly) {
    ASSERT_TRUE(start());
    const auto r = mxctl({"stop"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(daemon()->wait(std::chrono::seconds(10)), 0);
    EXPECT_FALSE(std::filesystem::exists(socket_path())) << "the socket file is removed";
}

TEST_F(Control, SigtermAndSigintStopCleanly) {
    for (int signo : {SIGTERM, SIGINT}) {
        ASSERT_TRUE(start());
        ::kill(daemon()->pid(), signo);
        EXPECT_EQ(daemon()->wait(std::chrono::seconds(10)), 0) << "signal " << signo;
        EXPECT_FALSE(std::filesystem::exists(socket_path()));
    }
}

TEST_F(Control, DaemonDownIsExit69WithOneLine) {
    const auto r = run({mxctl_binary(), "-s", (dir() / "nothing.sock").string(), "show", "status"});
    EXPECT_EQ(r.status, 69);
    EXPECT_EQ(r.err, "mxctl: cannot connect to " + (dir() / "nothing.sock").string() + ": daemon not running?\n");
    EXPECT_EQ(r.out, "");
}

TEST_F(Control, SocketFromEnvironment) {
    ASSERT_TRUE(start());
    const auto r = run({mxctl_binary(), "show", "status"}, {.env = {{"MXD_SOCKET", socket_path().string()}}});
    EXPECT_EQ(r.status, 0) << r.err;
}

TEST_F(Control, BadRequestsGetErrorRepliesAndTheDaemonServesOn) {
    ASSERT_TRUE(start());
    RawClient c(socket_path());
    ASSERT_TRUE(c.connected());
    const auto hello = parse(c.line());
    EXPECT_EQ(hello["hello"]["protocol"], 1);

    c.send("{\"id\":1,\"cmd\":\n");
    auto reply = parse(c.line());
    EXPECT_EQ(reply["ok"], false);
    EXPECT_EQ(reply["error"]["code"], "parse");

    c.send("{\"id\":2,\"cmd\":\"no.such.command\"}\n");
    reply = parse(c.line());
    EXPECT_EQ(reply["id"], 2);
    EXPECT_EQ(reply["error"]["code"], "not_found");

    c.send("{\"id\":3,\"cmd\":\"trace\",\"args\":{\"subsystem\":[1]}}\n");
    reply = parse(c.line());
    EXPECT_EQ(reply["error"]["code"], "invalid_argument");

    c.send("{\"id\":4,\"cmd\":\"show.status\",\"args\":{\"a\":" + std::string(5000, '[') + std::string(5000, ']') + "}}\n");
    reply = parse(c.line());
    EXPECT_EQ(reply["error"]["code"], "parse");

    c.send("{\"id\":5,\"cmd\":\"show.status\"}\n");
    reply = parse(c.line());
    EXPECT_EQ(reply["id"], 5);
    EXPECT_EQ(reply["ok"], true);
}

TEST_F(Control, AHugeLineIsRefusedAndClosedWhileOthersAreServed) {
    ASSERT_TRUE(start());
    RawClient big(socket_path());
    ASSERT_FALSE(big.line().empty());
    std::thread sender([&] { big.send(std::string(2 * 1024 * 1024, 'x') + "\n"); });
    EXPECT_EQ(mxctl({"show", "status"}).status, 0);
    sender.join();
    const auto reply = parse(big.line());
    if (!reply.is_discarded()) {
        EXPECT_EQ(reply["error"]["code"], "invalid_argument");
        EXPECT_THAT(reply["error"]["message"].get<std::string>(), HasSubstr("longer than"));
    }
    EXPECT_TRUE(big.closed_by_server(std::chrono::seconds(5)));
    EXPECT_EQ(mxctl({"show", "status"}).status, 0);
}

TEST_F(Control, SilentClientsAreClosedAfterTheIdleTimeoutAndBlockNobody) {
    ASSERT_TRUE(start());
    RawClient silent(socket_path());
    RawClient partial(socket_path());
    ASSERT_FALSE(silent.line().empty());
    ASSERT_FALSE(partial.line().empty());
    partial.send("{\"id\":1,\"cmd\":\"show.st");  // never finished
    EXPECT_EQ(mxctl({"show", "status"}).status, 0);
    // The idle limit is 30 s (core/util/limits.hpp).
    EXPECT_TRUE(silent.closed_by_server(std::chrono::seconds(40)));
    EXPECT_TRUE(partial.closed_by_server(std::chrono::seconds(5)));
    EXPECT_EQ(mxctl({"show", "status"}).status, 0);
}

TEST_F(Control, TooManyClientsOfOneUserAreRefused) {
    ASSERT_TRUE(start());
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < 32; ++i) {
        clients.push_back(std::make_unique<RawClient>(socket_path()));
        ASSERT_FALSE(clients.back()->line().empty()) << "client " << i;
    }
    RawClient extra(socket_path());
    const auto refusal = parse(extra.line());
    EXPECT_EQ(refusal["ok"], false);
    EXPECT_THAT(refusal["error"]["message"].get<std::string>(), HasSubstr("too many control clients"));
    const auto r = mxctl({"show", "status"});
    EXPECT_EQ(r.status, 69);
    EXPECT_THAT(r.err, HasSubstr("too many control clients"));
    clients.clear();
    EXPECT_TRUE(wait_until([&] { return mxctl({"show", "status"}).status == 0; }, std::chrono::seconds(5)));
}

TEST_F(Control, UnprivilegedPeerMayReadStatusButNotAdminister) {
    if (!is_root()) {
        GTEST_SKIP() << "needs root to run mxctl as nobody";
    }
    ASSERT_TRUE(start());
    const RunOptions as_nobody{.user = "nobody"};
    const auto status = mxctl({"show", "status"}, as_nobody);
    EXPECT_EQ(status.status, 0) << status.err;
    for (const auto& admin : std::vector<std::vector<std::string>>{{"trace", "smtp"}, {"log", "verbose"}, {"stop"}}) {
        const auto r = mxctl(admin, as_nobody);
        EXPECT_EQ(r.status, 77) << admin[0];
        EXPECT_THAT(r.err, HasSubstr("needs admin access; uid 65534 has anyone"));
    }
    EXPECT_EQ(this->status()["traces"], json::array());
}

TEST_F(Control, SecondDaemonOnTheSameSpoolIsRefused) {
    ASSERT_TRUE(start());
    const auto r = run({mxd_binary(), "-d", "-f", config_path().string(), "-s", (dir() / "other.sock").string()});
    EXPECT_EQ(r.status, 1);
    EXPECT_THAT(r.err, HasSubstr("spool " + spool().string() + " is in use"));
    EXPECT_THAT(r.err, HasSubstr("locked by another mxd (pid " + std::to_string(daemon()->pid()) + ")"));
    EXPECT_EQ(mxctl({"show", "status"}).status, 0) << "the first daemon is untouched";
}

TEST_F(Control, SecondDaemonOnTheSameSocketIsRefused) {
    ASSERT_TRUE(start());
    std::ofstream(dir() / "other.conf") << "queue directory \"" << (dir() / "spool2").string() << "\"\n"
                                        << "listen on 127.0.0.1 port 0\n";
    const auto r = run({mxd_binary(), "-d", "-f", (dir() / "other.conf").string(), "-s", socket_path().string()});
    EXPECT_EQ(r.status, 1);
    EXPECT_THAT(r.err, HasSubstr("another mxd is already listening on " + socket_path().string()));
    EXPECT_EQ(mxctl({"show", "status"}).status, 0);
}

TEST_F(Control, ADaemonKilledHardLeavesNothingThatBlocksARestart) {
    ASSERT_TRUE(start());
    daemon()->kill();
    ASSERT_TRUE(std::filesystem::exists(socket_path())) << "a stale socket file stays behind";
    ASSERT_TRUE(start());
    EXPECT_EQ(mxctl({"show", "status"}).status, 0);
}

TEST_F(Control, SmtpListenerGreetsOnTheBoundPort) {
    ASSERT_TRUE(start());
    const auto r = run({"python3", "-c",
                        "import socket,sys; s=socket.create_connection(('127.0.0.1'," + std::to_string(smtp_port()) +
                            "),5); print(s.recv(200).decode().strip())"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_THAT(r.out, StartsWith("220 "));
    EXPECT_THAT(r.out, HasSubstr("ESMTP"));
}

TEST_F(Control, ConfigurationErrorsStopTheStartWithCompilerStyleDiagnostics) {
    std::ofstream(config_path(), std::ios::app) << "listen on 127.0.0.1 port 0 bogus\n";
    const auto r = run({mxd_binary(), "-d", "-f", config_path().string(), "-s", socket_path().string()});
    EXPECT_EQ(r.status, 1);
    EXPECT_THAT(r.err, HasSubstr(config_path().string() + ":4:"));
    EXPECT_THAT(r.err, HasSubstr("error:"));
}

TEST_F(Control, CheckOnlyPrintsConfigurationOk) {
    const auto r = run({mxd_binary(), "-n", "-f", config_path().string()});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("configuration OK"));
}

class Encrypt : public ::testing::Test {};

namespace {
bool crypt_verifies(const std::string& password, const std::string& hash) {
    crypt_data data{};
    const char* out = crypt_r(password.c_str(), hash.c_str(), &data);
    return out != nullptr && hash == out;
}
} // namespace

TEST_F(Encrypt, ArgumentGivesAYescryptHashThatCryptVerifies) {
    const auto r = run({mxctl_binary(), "encrypt", "secret"}, {.env = {{"MXD_SOCKET", "/nonexistent"}}});
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_THAT(r.out, StartsWith("$y$"));
    EXPECT_TRUE(crypt_verifies("secret", r.out.substr(0, r.out.size() - 1)));
}

TEST_F(Encrypt, StdinGivesOneHashPerLine) {
    const auto r = run({mxctl_binary(), "encrypt", "--scheme", "bcrypt"}, {.input = "one\ntwo words\n"});
    ASSERT_EQ(r.status, 0) << r.err;
    std::istringstream lines(r.out);
    std::string first, second;
    std::getline(lines, first);
    std::getline(lines, second);
    EXPECT_THAT(first, StartsWith("$2b$"));
    EXPECT_TRUE(crypt_verifies("one", first));
    EXPECT_TRUE(crypt_verifies("two words", second));
}

TEST_F(Encrypt, JsonAndSchemes) {
    const auto r = run({mxctl_binary(), "-j", "encrypt", "--scheme", "sha512", "pw"});
    ASSERT_EQ(r.status, 0) << r.err;
    const auto j = json::parse(r.out);
    EXPECT_TRUE(crypt_verifies("pw", j["hash"].get<std::string>()));
    EXPECT_THAT(j["hash"].get<std::string>(), StartsWith("$6$"));
    const auto bad = run({mxctl_binary(), "encrypt", "--scheme", "md5", "pw"});
    EXPECT_EQ(bad.status, 64);
}
