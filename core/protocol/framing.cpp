// SPDX-License-Identifier: ISC
#include "core/protocol/framing.hpp"

namespace core::protocol {

void LineBuffer::append(std::string_view bytes) {
    if (m_overflowed) {
        return;
    }
    // Drop consumed bytes before growing, so the buffer stays near one line in size.
    if (m_start > 0 && m_start >= m_buffer.size() / 2) {
        m_buffer.erase(0, m_start);
        m_start = 0;
    }
    m_buffer.append(bytes);
    if (pending() > m_max_line && m_buffer.find('\n', m_start + m_scanned) == std::string::npos) {
        m_overflowed = true;
        m_buffer.clear();
        m_start = m_scanned = 0;
    }
}

std::optional<std::string> LineBuffer::next_line() {
    if (m_overflowed) {
        return std::nullopt;
    }
    const auto pos = m_buffer.find('\n', m_start + m_scanned);
    if (pos == std::string::npos) {
        m_scanned = m_buffer.size() - m_start;
        return std::nullopt;
    }
    if (pos - m_start > m_max_line) {
        m_overflowed = true;
        m_buffer.clear();
        m_start = m_scanned = 0;
        return std::nullopt;
    }
    std::string line = m_buffer.substr(m_start, pos - m_start);
    m_start = pos + 1;
    m_scanned = 0;
    if (!line.empty() && line.back() == '\r') {
        line.pop_back();
    }
    return line;
}

} // namespace core::protocol
