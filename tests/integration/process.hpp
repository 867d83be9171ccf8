// SPDX-License-Identifier: ISC
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

// Running real programs from tests: mxd, mxctl, and the clients the tests talk SMTP with.
namespace mxd_test {

struct RunOptions {
    std::map<std::string, std::string> env;  // added to (or replacing in) the environment
    std::string input;                       // written to stdin, which is then closed
    std::optional<std::string> user;         // run as this user (through setpriv)
    std::chrono::milliseconds timeout{20000};
};

struct RunResult {
    int status = -1;  // exit status, or 128+signal, or -1 on timeout
    std::string out;
    std::string err;
};

// Runs a program to completion and collects its output. A program still running at the
// timeout is killed and gets status -1.
RunResult run(const std::vector<std::string>& argv, const RunOptions& options = {});

// A program running in the background, its stdout and stderr going to a log file.
class Background {
public:
    Background(const std::vector<std::string>& argv, const std::filesystem::path& log, const RunOptions& options = {});
    ~Background();
    Background(const Background&) = delete;
    Background& operator=(const Background&) = delete;

    pid_t pid() const { return m_pid; }
    // Waits for the exit up to `timeout`; the status, or nullopt while it still runs.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    // SIGKILL and reap.
    void kill();

private:
    pid_t m_pid = -1;
    std::optional<int> m_status;
};

// The environment variable's value, or the fallback.
std::string env_or(const char* name, const std::string& fallback);

// Reads a whole file ("" when missing).
std::string slurp(const std::filesystem::path& path);

} // namespace mxd_test
