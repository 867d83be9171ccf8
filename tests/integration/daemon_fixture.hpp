// SPDX-License-Identifier: ISC
#pragma once

#include "tests/integration/process.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

// Starts the real mxd in a temporary directory (configuration, spool and control socket all
// inside it, SMTP on 127.0.0.1 port 0), waits for its socket with a deadline, drives it with
// the real mxctl, and stops it. Every integration test of the daemon builds on it.
namespace mxd_test {

class DaemonFixture : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    // The configuration written before start: the fixture's base lines plus `extra_config()`.
    virtual std::string extra_config() const { return {}; }

    // Starts mxd with extra flags; false (with the log attached to the failure) when its
    // socket does not answer within the deadline.
    bool start(const std::vector<std::string>& flags = {});
    // Stops it with `mxctl stop`, then waits, then SIGKILL; returns its exit status.
    int stop();

    // Runs mxctl against this daemon's socket.
    RunResult mxctl(const std::vector<std::string>& args, const RunOptions& options = {}) const;
    // `mxctl -j show status`, parsed.
    nlohmann::json status() const;
    // The SMTP port the daemon bound on 127.0.0.1.
    int smtp_port() const;

    std::filesystem::path dir() const { return m_dir; }
    std::filesystem::path socket_path() const { return m_dir / "mxd.sock"; }
    std::filesystem::path config_path() const { return m_dir / "mxd.conf"; }
    std::filesystem::path spool() const { return m_dir / "spool"; }
    std::filesystem::path log_path() const { return m_dir / "mxd.log"; }
    Background* daemon() { return m_daemon.get(); }

private:
    std::filesystem::path m_dir;
    std::unique_ptr<Background> m_daemon;
};

// The binaries under test, from $MXD and $MXCTL (set by meson), else from PATH.
std::string mxd_binary();
std::string mxctl_binary();

// Waits until `ready()` is true or the deadline passes; polls every 10 ms.
bool wait_until(const std::function<bool()>& ready, std::chrono::milliseconds deadline);

// Connects to a Unix socket; -1 on failure.
int connect_unix(const std::filesystem::path& path);

} // namespace mxd_test
