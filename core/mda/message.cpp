// SPDX-License-Identifier: ISC
#include "core/mda/message.hpp"

#include "core/util/strings.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

namespace core::mda {

namespace {

// Calls `visit(line)` for each line of the header (without its line end) and stops at its end:
// an empty line, or a line that is neither a field nor a continuation (OpenSMTPD stops at the
// first line without ':' that does not start with a space). `visit` returns false to stop.
template <typename Visit> void for_each_header_line(std::string_view message, Visit visit) {
    while (!message.empty()) {
        const auto end = message.find('\n');
        std::string_view line = message.substr(0, end);
        message = end == std::string_view::npos ? std::string_view{} : message.substr(end + 1);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.empty()) {
            return;
        }
        if (line.find(':') == std::string_view::npos && line.front() != ' ' &&
            line.front() != '\t') {
            return;
        }
        if (!visit(line)) {
            return;
        }
    }
}

bool equals_nocase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && starts_with_nocase(a, b);
}

} // namespace

std::string to_unix_lines(std::string_view message) {
    std::string out;
    out.reserve(message.size());
    for (std::size_t i = 0; i < message.size(); ++i) {
        if (message[i] == '\r' && i + 1 < message.size() && message[i + 1] == '\n') {
            continue;
        }
        out += message[i];
    }
    return out;
}

std::string delivery_headers(std::string_view sender, std::string_view rcpt) {
    std::string out;
    if (!sender.empty()) {
        out += "Return-Path: <";
        out += sender;
        out += ">\n";
    }
    out += "Delivered-To: ";
    out += rcpt;
    out += '\n';
    return out;
}

bool has_delivery_loop(std::string_view message, std::string_view dest) {
    bool loop = false;
    for_each_header_line(message, [&](std::string_view line) {
        constexpr std::string_view k_field = "Delivered-To: ";
        if (starts_with_nocase(line, k_field) && equals_nocase(line.substr(k_field.size()), dest)) {
            loop = true;
        }
        return !loop;
    });
    return loop;
}

bool is_junk(std::string_view message) {
    bool junk = false;
    for_each_header_line(message, [&](std::string_view line) {
        junk = equals_nocase(line, "X-Spam: yes") || equals_nocase(line, "X-Spam-Flag: yes");
        return !junk;
    });
    return junk;
}

Result<UniqueFd> make_message_fd(std::string_view bytes) {
    UniqueFd fd(::memfd_create("mxd-message", MFD_CLOEXEC));
    if (!fd) {
        return fail(Error::from_errno(errno, "memfd_create"));
    }
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(Error::from_errno(errno, "write", "message memfd"));
        }
        done += static_cast<std::size_t>(n);
    }
    if (::lseek(fd.get(), 0, SEEK_SET) != 0) {
        return fail(Error::from_errno(errno, "lseek", "message memfd"));
    }
    return fd;
}

} // namespace core::mda
