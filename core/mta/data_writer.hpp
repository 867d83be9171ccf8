// SPDX-License-Identifier: ISC
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// The DATA stream of a message held in memory (RFC 5321 4.1.1.4, 4.5.2): every line ended by
// CRLF, a line that starts with '.' gets one more, and ".\r\n" ends it.
namespace core::mta {

// Produces the wire form piece by piece, so a large message is never copied whole. The message
// must outlive the writer. LF and CRLF line ends both become CRLF; a bare CR inside a line is
// passed on as it is; a last line without an end gets CRLF.
class DataWriter {
  public:
    explicit DataWriter(std::string_view message) : m_message(message) {}

    // Appends whole lines to `out` until it holds at least `chunk` bytes or the message ends
    // (then ".\r\n" too). Returns false once everything, the final dot included, is out.
    bool next(std::string& out, std::size_t chunk);
    // True when the final ".\r\n" has been produced.
    bool done() const { return m_done; }

  private:
    std::string_view m_message;
    std::size_t m_pos = 0;
    bool m_done = false;
};

// The whole wire form at once (tests, small messages).
std::string encode_data(std::string_view message);

// RFC 1870 4: the size announced with SIZE=, counting CRLF line ends but neither the
// dot-stuffing nor the final dot.
std::uint64_t message_size(std::string_view message);

// True when the message has a byte above 127, which asks for BODY=8BITMIME (RFC 6152).
bool has_8bit(std::string_view message);

} // namespace core::mta
