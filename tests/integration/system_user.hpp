// SPDX-License-Identifier: ISC
#pragma once

#include "tests/integration/process.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace mxd_test {

// A throwaway system account with a home directory, removed with its files afterwards.
class SystemUser {
  public:
    // SUFFIX tells apart the accounts of one test.
    explicit SystemUser(const std::string& suffix = "")
        : m_name("mxdu" + std::to_string(::getpid() % 100000) + suffix) {
        // useradd fails while another process holds the lock of /etc/passwd (test suites
        // running side by side create users too): a few more tries.
        for (int attempt = 0; attempt < 20 && !m_ok; ++attempt) {
            if (attempt > 0) {
                ::usleep(100000);
            }
            const int status =
                run({"useradd", "--create-home", "--shell", "/bin/sh", m_name}).status;
            m_ok = status == 0;
            if (status == 9) {
                // Left over from an earlier test of this process whose removal failed.
                run({"userdel", "--remove", m_name});
            }
        }
    }
    ~SystemUser() {
        run({"userdel", "--remove", m_name});
        std::error_code ec;
        std::filesystem::remove("/var/mail/" + m_name, ec);
    }
    bool ok() const { return m_ok; }
    const std::string& name() const { return m_name; }
    std::filesystem::path home() const { return "/home/" + m_name; }
    uid_t uid() const {
        struct stat st {};
        return ::stat(home().c_str(), &st) == 0 ? st.st_uid : static_cast<uid_t>(-1);
    }

  private:
    std::string m_name;
    bool m_ok = false;
};

} // namespace mxd_test
