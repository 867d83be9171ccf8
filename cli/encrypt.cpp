// SPDX-License-Identifier: ISC
#include "cli/exit_status.hpp"
#include "cli/local_commands.hpp"
#include "cli/render.hpp"
#include "core/auth/password.hpp"
#include "core/util/limits.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <string>

namespace mxctl {

namespace {

// Turns terminal echo off for as long as it lives, when stdin is a terminal.
class NoEcho {
public:
    NoEcho() {
        if (::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &m_saved) == 0) {
            termios quiet = m_saved;
            quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
            m_active = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
        }
    }
    ~NoEcho() {
        if (m_active) {
            static_cast<void>(::tcsetattr(STDIN_FILENO, TCSAFLUSH, &m_saved));
        }
    }
    NoEcho(const NoEcho&) = delete;
    NoEcho& operator=(const NoEcho&) = delete;
    bool active() const { return m_active; }

private:
    termios m_saved{};
    bool m_active = false;
};

// Writes a prompt straight to the terminal (like getpass), never into the output.
void prompt_on_tty(const char* text) {
    const int tty = ::open("/dev/tty", O_WRONLY | O_CLOEXEC);
    if (tty >= 0) {
        static_cast<void>(::write(tty, text, std::char_traits<char>::length(text)));
        ::close(tty);
    }
}

bool print_hash(std::string_view password, core::auth::Scheme scheme, Output output) {
    auto hashed = core::auth::hash_password(password, scheme);
    if (!hashed) {
        std::cerr << "mxctl: encrypt: " << hashed.error().message << "\n";
        return false;
    }
    if (output == Output::json) {
        render_json({{"hash", *hashed}}, std::cout);
    } else {
        std::cout << *hashed << "\n";
    }
    std::cout.flush();
    return true;
}

} // namespace

int run_encrypt(const nlohmann::json& args, Output output) {
    auto scheme = core::auth::parse_scheme(args.value("scheme", "yescrypt"));
    if (!scheme) {
        std::cerr << "mxctl: encrypt: " << scheme.error().message << "\n";
        return k_exit_usage;
    }
    if (args.contains("string")) {
        return print_hash(args.at("string").get<std::string>(), *scheme, output) ? k_exit_ok : k_exit_data;
    }
    NoEcho no_echo;
    int status = k_exit_ok;
    std::string line;
    for (;;) {
        if (no_echo.active()) {
            prompt_on_tty("password: ");
        }
        if (!std::getline(std::cin, line)) {
            break;
        }
        if (no_echo.active()) {
            prompt_on_tty("\n");
        }
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (!print_hash(line, *scheme, output)) {
            status = k_exit_data;
        }
    }
    return status;
}

} // namespace mxctl
