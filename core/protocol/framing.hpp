// SPDX-License-Identifier: ISC
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

// Newline-delimited framing of the control protocol, shared by the daemon and mxctl.
namespace core::protocol {

// Collects bytes and hands out complete lines (without the "\n"). A line longer than the
// limit puts the buffer in the overflow state for good: the connection must be closed, since
// there is no way to find the start of the next request reliably.
class LineBuffer {
public:
    explicit LineBuffer(std::size_t max_line) : m_max_line(max_line) {}

    // Adds received bytes.
    void append(std::string_view bytes);

    // The next complete line, or nullopt when none is complete (or after an overflow).
    std::optional<std::string> next_line();

    // True once a line grew past the limit.
    bool overflowed() const { return m_overflowed; }

    // Bytes held that do not yet form a complete line.
    std::size_t pending() const { return m_buffer.size() - m_start; }

private:
    std::string m_buffer;
    std::size_t m_start = 0;     // where the next line begins in m_buffer
    std::size_t m_scanned = 0;   // bytes after m_start already searched for '\n'
    std::size_t m_max_line;
    bool m_overflowed = false;
};

} // namespace core::protocol
