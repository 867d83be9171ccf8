// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <cstddef>
#include <ctime>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

// A message submitted by a local program (sendmail(8), the `submit` control command): how
// it is read from a program, which recipients `sendmail -t` finds in it, and what the daemon
// adds before queueing it. No I/O but the reader's stream.
namespace core::submit {

// Whether a line made of a single dot ends a message read from a program: sendmail's default,
// turned off by -i and -oi.
enum class DotEnds { yes, no };

// Reads a message from `in` up to end of file, or up to a line of a single dot (LF or CRLF
// ended, not kept) with DotEnds::yes. Fails with Errc::invalid_argument once it exceeds
// `max_size` bytes, with Errc::io on a read error.
Result<std::string> read_message(std::istream& in, DotEnds dot_ends, std::size_t max_size);

// The message without a leading mbox separator line (`From sender date`), which programs that
// pass mailbox contents along leave on top, as sendmail and Postfix drop it: it is no header
// field, and would otherwise start the body.
std::string_view without_mbox_from_line(std::string_view message);

// One field of a header section, as offsets into the message: `begin` is the start of its
// name, `end` is past the line end of its last continuation line.
struct Field {
    std::string_view name; // as written, without the colon or blanks before it
    std::size_t begin = 0;
    std::size_t end = 0;
};

// The header section of a message whose lines end in LF or CRLF (RFC 5322 2.2).
struct HeaderSection {
    std::vector<Field> fields;
    // Where the fields end: the start of the empty line, of the first line that is not a
    // field (a message without a header section has its body at 0), or the end of the text.
    std::size_t end = 0;
    // An empty line separates the fields from the body.
    bool separated = false;
};

// Finds the header fields at the start of `message`. A field is `name:` (blanks allowed before
// the colon, RFC 5322 4.5.3) and its continuation lines, which start with a space or a tab.
HeaderSection parse_header_section(std::string_view message);

// A field's value, unfolded: the text after the colon, line ends removed (RFC 5322 2.2.3).
std::string field_value(std::string_view message, const Field& field);

// The addr-specs of an address-list field value (RFC 5322 3.4): `Name <a@b>` gives a@b,
// `a@b (Name)` gives a@b, a group `team: a@b, c@d;` gives both members; quoted local parts
// keep their quotes. Fails with Errc::parse on an unclosed quote, comment or angle bracket.
Result<std::vector<std::string>> parse_address_list(std::string_view value);

// What `sendmail -t` takes from a message: the recipients of its To:, Cc: and Bcc: fields, and
// the message with its Bcc: fields removed, so that no copy reveals them.
struct Extracted {
    std::vector<std::string> recipients;
    std::string message;
};
Result<Extracted> extract_recipients(std::string_view message);

// The message with every line end (CRLF, a bare LF, a bare CR) made CRLF, the form the queue
// keeps, and a final CRLF when the last line has none.
std::string to_crlf(std::string_view message);

// The display name of a passwd GECOS field, as sendmail and OpenSMTPD's enqueue read it: the
// text before the first comma, with `&` standing for the login name, capitalized.
std::string gecos_full_name(std::string_view gecos, std::string_view login);

// `From: Name <address>` (CRLF ended) with the name made a safe RFC 5322 phrase: controls are
// dropped, and a name with specials is quoted. No name gives `From: <address>`.
std::string from_field(std::string_view full_name, std::string_view address);

// What the trace line of a local submission says (RFC 5321 4.4 allows any trace text in the
// comments): who submitted, through which way, under which queue id.
struct LocalReceived {
    std::string_view user;      // the submitting user's login name
    unsigned uid = 0;           // and uid
    std::string_view by_host;   // this server's name
    std::string_view id;        // the message id in the queue
    std::string_view recipient; // set only for a single recipient
    bool mask_source = false;   // `listen on socket mask-src`: say nothing of the user
    std::time_t date = 0;
};

// `Received: from local (user NAME uid N)\r\n\tby HOST (mxd) id ID\r\n\tfor <rcpt>;\r\n\tDATE`,
// CRLF ended; without the from clause under mask-src.
std::string local_received_header(const LocalReceived& info);

// The fields a submission lacks among Date:, Message-ID: and From: (RFC 5322 3.6 requires
// Date and From; Message-ID should be there), added at the end of its header section; the
// message's line ends must be CRLF already. A message without a header section gets one,
// followed by the empty line. `from` is the whole From: field (from_field()).
struct Completion {
    std::time_t date = 0;
    std::string_view host; // for the Message-ID
    std::string_view from; // the From: field to add
};
std::string complete_headers(std::string_view message, const Completion& completion);

} // namespace core::submit
