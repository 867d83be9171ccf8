// SPDX-License-Identifier: ISC
#include "core/smtp/data_reader.hpp"

#include <algorithm>

namespace core::smtp {

void DataReader::reset() {
    m_state = State::line_start;
    m_status = DataStatus::ok;
    m_size = 0;
    m_lines = 0;
    m_line_length = 0;
}

void DataReader::flag(DataStatus status) {
    if (m_status == DataStatus::ok) {
        m_status = status;
    }
}

void DataReader::emit(std::string& out, std::string_view bytes) {
    m_size += bytes.size();
    if (m_size > m_options.max_size) {
        flag(DataStatus::too_big);
    }
    // Past a problem the body will be refused: stop growing the caller's buffer.
    if (m_status == DataStatus::ok) {
        out.append(bytes);
    }
}

void DataReader::add_to_line(std::size_t count) {
    m_line_length += count;
    // max_line counts the CRLF (RFC 5321 4.5.3.1.6).
    const auto content_max = m_options.max_line > 2 ? m_options.max_line - 2 : 0;
    if (m_line_length > content_max && m_options.long_lines == LongLines::refuse) {
        flag(DataStatus::line_too_long);
    }
}

void DataReader::end_line(std::string& out) {
    emit(out, "\r\n");
    ++m_lines;
    m_line_length = 0;
    m_state = State::line_start;
}

// A bare CR or LF. RFC 5321 2.3.8: they are not line endings and SHOULD NOT be accepted.
// Normalized, it becomes CRLF in the output, but what follows is not a line start for the
// dot rules: no unstuffing and, above all, no end of data (the smuggling defence).
void DataReader::bare_ending(std::string& out) {
    if (m_options.bare_line_ending == BareLineEnding::refuse) {
        flag(DataStatus::bare_line_ending);
    }
    emit(out, "\r\n");
    ++m_lines;
    m_line_length = 0;
    m_state = State::text;
}

std::size_t DataReader::feed(std::string_view input, std::string& out) {
    std::size_t i = 0;
    const std::size_t n = input.size();
    while (i < n && m_state != State::done) {
        const char c = input[i];
        switch (m_state) {
        case State::line_start:
            if (c == '.') {
                // RFC 5321 4.5.2: a leading dot is either the end of data or stuffing; it is
                // never part of the body.
                ++i;
                add_to_line(1);
                m_state = State::dot;
            } else {
                m_state = State::text;
            }
            break;
        case State::dot:
            if (c == '\r') {
                ++i;
                m_state = State::dot_cr;
            } else {
                m_state = State::text;
            }
            break;
        case State::dot_cr:
            if (c == '\n') {
                ++i;
                m_state = State::done;
            } else {
                // ".\r" then something else: the CR is bare, the dot was stuffing.
                bare_ending(out);
            }
            break;
        case State::text: {
            std::size_t end = i;
            while (end < n && input[end] != '\r' && input[end] != '\n') {
                ++end;
            }
            if (end > i) {
                emit(out, input.substr(i, end - i));
                add_to_line(end - i);
                i = end;
            }
            if (i < n) {
                ++i;
                if (input[i - 1] == '\n') {
                    bare_ending(out);
                } else {
                    m_state = State::cr;
                }
            }
            break;
        }
        case State::cr:
            if (c == '\n') {
                ++i;
                end_line(out);
            } else {
                bare_ending(out);
            }
            break;
        case State::done:
            break;
        }
    }
    return i;
}

void LineSplitter::append(std::string_view bytes) {
    if (m_discarding) {
        const auto newline = bytes.find('\n');
        if (newline == std::string_view::npos) {
            return;
        }
        bytes.remove_prefix(newline + 1);
        m_discarding = false;
    }
    // Drop consumed bytes before growing, so the buffer stays near one line in size.
    if (m_start > 0 && m_start >= m_buffer.size() / 2) {
        m_buffer.erase(0, m_start);
        m_start = 0;
    }
    m_buffer.append(bytes);
}

SplitLine LineSplitter::next() {
    const auto newline = m_buffer.find('\n', m_start + m_scanned);
    if (newline == std::string::npos) {
        m_scanned = m_buffer.size() - m_start;
        // The limit excludes the line ending; a trailing CR may still be half of a CRLF.
        if (m_scanned > m_max_line + 1) {
            m_buffer.erase(m_start);
            m_scanned = 0;
            m_discarding = true;
            return {LineStatus::too_long, {}};
        }
        return {LineStatus::incomplete, {}};
    }
    std::string_view line(m_buffer.data() + m_start, newline - m_start);
    m_start = newline + 1;
    m_scanned = 0;
    const bool crlf = !line.empty() && line.back() == '\r';
    if (crlf) {
        line.remove_suffix(1);
    }
    if (line.size() > m_max_line) {
        return {LineStatus::too_long, {}};
    }
    if (!crlf && m_bare_lf == BareLineEnding::refuse) {
        return {LineStatus::bare_lf, line};
    }
    return {LineStatus::complete, line};
}

std::string_view LineSplitter::pending() const {
    return std::string_view(m_buffer).substr(m_start);
}

void LineSplitter::consume_pending(std::size_t count) {
    m_start += std::min(count, m_buffer.size() - m_start);
    m_scanned = 0;
    if (m_start == m_buffer.size()) {
        m_buffer.clear();
        m_start = 0;
    }
}

void LineSplitter::reset() {
    m_buffer.clear();
    m_start = 0;
    m_scanned = 0;
    m_discarding = false;
}

} // namespace core::smtp
