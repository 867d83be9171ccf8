// SPDX-License-Identifier: ISC
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

// The byte-level framing of an SMTP session: command lines, and the DATA body up to its
// terminating dot. Nothing here reads or writes a socket.
namespace core::smtp {

// RFC 5321 4.5.3.1.6: a text line is at most 1000 octets, CRLF included.
inline constexpr std::size_t k_text_line_max = 1000;

// What to do with a line ending that is not CRLF: a bare LF, or a bare CR.
enum class BareLineEnding {
    // Take it as CRLF (the text is stored with CRLF). Dots are never interpreted after it.
    normalize,
    // Mark the message (DataStatus::bare_line_ending) or the line (LineStatus::bare_lf).
    refuse,
};

// What to do with a DATA line longer than max_line.
enum class LongLines {
    // Keep it as it is, as Postfix does by default.
    accept,
    // Mark the message (DataStatus::line_too_long).
    refuse,
};

// The limits and policies of a DataReader.
struct DataOptions {
    // Largest body accepted, in octets after unstuffing (the size SIZE= advertises).
    std::uint64_t max_size = std::numeric_limits<std::uint64_t>::max();
    // Longest line, CRLF included.
    std::size_t max_line = k_text_line_max;
    LongLines long_lines = LongLines::accept;
    BareLineEnding bare_line_ending = BareLineEnding::normalize;
};

// How a DATA transfer went; anything but ok is known only after the final dot, and the
// session answers it then instead of 250 (552 5.3.4 for too_big, 550 5.6.0 otherwise).
enum class DataStatus { ok, too_big, line_too_long, bare_line_ending };

// Receives a DATA body incrementally: removes the dot-stuffing (RFC 5321 4.5.2), finds the end
// of data `CRLF.CRLF` (RFC 5321 3.3, 4.1.1.4), counts the size and applies the limits.
//
// End of data is only a line made of a single dot that starts after a CRLF (or at the very
// start: the DATA command's own CRLF precedes it) and ends with CRLF. "\n.\n", "\r.\r",
// "\r\n.\n", "\n.\r\n" and "\r\n.\r" followed by other than LF are not the end: accepting them
// is the "SMTP smuggling" flaw of 2023 (CVE-2023-51764/51765/51766), where a server that
// reads an end of data in a sequence the next hop does not lets a second, forged message ride
// inside the first. With BareLineEnding::normalize such sequences become plain text lines
// ending in CRLF, so the stored message never holds a bare CR or LF that a later hop could
// read differently; with BareLineEnding::refuse the message is refused after the real end.
//
// After a limit is hit, the reader keeps consuming to the end of data but appends nothing more
// to the output, so the session can reply after the dot instead of dropping the connection.
class DataReader {
  public:
    explicit DataReader(DataOptions options = {}) : m_options(options) {}

    // Consumes bytes from `input` and appends the unstuffed body, with CRLF line endings, to
    // `out`. Returns how many bytes of `input` it used: all of them until the end of data,
    // then only those up to and including the final ".\r\n". What follows (pipelined commands)
    // is the caller's. Feeding after done() consumes nothing.
    std::size_t feed(std::string_view input, std::string& out);

    // True once the terminating dot line has been consumed.
    bool done() const { return m_state == State::done; }
    // The outcome so far; the first problem found wins.
    DataStatus status() const { return m_status; }
    // Body octets after unstuffing, counted even past max_size.
    std::uint64_t size() const { return m_size; }
    // Lines in the body (for logs and the Received-line loop check).
    std::uint64_t lines() const { return m_lines; }
    // Starts over for the next message with the same options.
    void reset();

  private:
    enum class State { line_start, dot, dot_cr, text, cr, done };

    void emit(std::string& out, std::string_view bytes);
    void end_line(std::string& out);
    void bare_ending(std::string& out);
    void add_to_line(std::size_t count);
    void flag(DataStatus status);

    DataOptions m_options;
    State m_state = State::line_start;
    DataStatus m_status = DataStatus::ok;
    std::uint64_t m_size = 0;
    std::uint64_t m_lines = 0;
    std::size_t m_line_length = 0; // octets of the current line so far, line ending excluded
};

// Longest command line by default (see core/smtp/command.hpp k_command_line_max).
inline constexpr std::size_t k_line_splitter_max = 4096;

// What LineSplitter::next found.
enum class LineStatus {
    // `text` holds a complete line, without its line ending.
    complete,
    // No complete line is buffered; append more bytes.
    incomplete,
    // A line was longer than the limit; it is discarded up to its LF, and the next line is
    // read normally (reply 500 5.5.2 and carry on). Reported once per over-long line.
    too_long,
    // `text` holds a line that ended in a bare LF, with BareLineEnding::refuse.
    bare_lf,
};

// One result of LineSplitter::next.
struct SplitLine {
    LineStatus status = LineStatus::incomplete;
    std::string_view text;
};

// Splits the command phase's byte stream into lines. A line ends at LF; a CR before it is
// removed. With BareLineEnding::normalize a bare LF ends a line like CRLF (OpenSMTPD does the
// same); with refuse such a line comes back as LineStatus::bare_lf.
class LineSplitter {
  public:
    explicit LineSplitter(std::size_t max_line = k_line_splitter_max,
                          BareLineEnding bare_lf = BareLineEnding::normalize)
        : m_max_line(max_line), m_bare_lf(bare_lf) {}

    // Adds received bytes. Invalidates the views handed out by next().
    void append(std::string_view bytes);
    // The next line. The view stays valid until the next append(), reset() or take_pending().
    SplitLine next();
    // Bytes buffered after the last line handed out (what follows "DATA\r\n" or "BDAT n\r\n"
    // in a pipelined chunk); hand them to the DataReader.
    std::string_view pending() const;
    // Drops the first `count` pending bytes, those the DataReader consumed (at most all).
    void consume_pending(std::size_t count);
    // Forgets everything (after STARTTLS: RFC 3207 4.2 requires discarding buffered input).
    void reset();

  private:
    std::string m_buffer;
    std::size_t m_start = 0;   // where the next line begins
    std::size_t m_scanned = 0; // bytes after m_start already searched for LF
    std::size_t m_max_line;
    BareLineEnding m_bare_lf;
    bool m_discarding = false; // inside an over-long line, dropping bytes up to its LF
};

} // namespace core::smtp
