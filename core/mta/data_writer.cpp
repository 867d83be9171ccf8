// SPDX-License-Identifier: ISC
#include "core/mta/data_writer.hpp"

#include <algorithm>

namespace core::mta {

namespace {

// The line at `pos` without its end (LF or CRLF), and where the next one starts; npos past
// the end.
struct Line {
    std::string_view text;
    std::size_t next;
};

Line line_at(std::string_view message, std::size_t pos) {
    const auto lf = message.find('\n', pos);
    const auto end = lf == std::string_view::npos ? message.size() : lf;
    auto text = message.substr(pos, end - pos);
    if (!text.empty() && text.back() == '\r') {
        text.remove_suffix(1);
    }
    return {text, lf == std::string_view::npos ? message.size() : lf + 1};
}

} // namespace

bool DataWriter::next(std::string& out, std::size_t chunk) {
    if (m_done) {
        return false;
    }
    const std::size_t start = out.size();
    while (m_pos < m_message.size() && out.size() - start < chunk) {
        const auto line = line_at(m_message, m_pos);
        // RFC 5321 4.5.2: transparency.
        if (!line.text.empty() && line.text.front() == '.') {
            out += '.';
        }
        out.append(line.text);
        out += "\r\n";
        m_pos = line.next;
    }
    if (m_pos >= m_message.size()) {
        out += ".\r\n";
        m_done = true;
    }
    return !m_done;
}

std::string encode_data(std::string_view message) {
    std::string out;
    DataWriter writer(message);
    while (writer.next(out, message.size() + 1)) {
    }
    return out;
}

std::uint64_t message_size(std::string_view message) {
    std::uint64_t size = 0;
    for (std::size_t pos = 0; pos < message.size();) {
        const auto line = line_at(message, pos);
        size += line.text.size() + 2;
        pos = line.next;
    }
    return size;
}

bool has_8bit(std::string_view message) {
    return std::any_of(message.begin(), message.end(),
                       [](char c) { return static_cast<unsigned char>(c) > 127; });
}

} // namespace core::mta
