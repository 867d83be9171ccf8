// SPDX-License-Identifier: ISC
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

// A real SMTP/LMTP server for the relay client's tests: smtp_server.py (python3-aiosmtpd) in a
// child process on 127.0.0.1, port chosen by the kernel.
namespace mta_test {

class TestServer {
  public:
    // Starts the server with `args` (the script's options; --spool is added) and waits up to
    // 15 s for it to listen. On failure started() is false and error() says why, with the
    // server's stderr.
    TestServer(const std::filesystem::path& spool, const std::vector<std::string>& args);
    // Kills the server (SIGKILL) and reaps it.
    ~TestServer();
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    bool started() const { return m_port != 0; }
    const std::string& error() const { return m_error; }
    std::uint16_t port() const { return m_port; }
    const std::filesystem::path& spool() const { return m_spool; }

  private:
    pid_t m_pid = -1;
    std::uint16_t m_port = 0;
    std::filesystem::path m_spool;
    std::string m_error;
};

// Where smtp_server.py is: $MXD_SOURCE_ROOT/tests/unit/daemon/mta (meson test sets it), else
// next to this source file as the build directory sees it.
std::filesystem::path script_path();

// Reads a whole file; "" when it is missing.
std::string read_file(const std::filesystem::path& path);

} // namespace mta_test
