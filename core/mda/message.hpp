// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/fd.hpp"
#include "core/util/result.hpp"

#include <string>
#include <string_view>

// The message as a local delivery sees it: what the MDA adds on top and what it checks first
// (OpenSMTPD mda.c), and how it reaches the delivery child.
namespace core::mda {

// The message with CRLF line ends turned into LF, as mailbox files and delivery programs on
// Unix expect (maildir(5), mbox(5)); the queue keeps the SMTP form. A lone CR stays.
std::string to_unix_lines(std::string_view message);

// The header lines the MDA puts on top of every local delivery, as OpenSMTPD's mda.c:
// `Return-Path: <sender>` unless the sender is null, then `Delivered-To: rcpt`. LF line ends.
std::string delivery_headers(std::string_view sender, std::string_view rcpt);

// True when the message's header already has `Delivered-To: dest` (compared without case):
// the message was delivered to this recipient once and came back, a loop (mda_check_loop).
bool has_delivery_loop(std::string_view message, std::string_view dest);

// True when a header line of the message is exactly `X-Spam: yes` or `X-Spam-Flag: yes`,
// without regard to case: what sends a message to the .Junk folder of a maildir with `junk`
// (OpenSMTPD mail.maildir -j).
bool is_junk(std::string_view message);

// An anonymous memory file (memfd) holding `bytes`, positioned at its start, to be a delivery
// child's stdin. An io error when the kernel refuses one or it cannot be written.
Result<UniqueFd> make_message_fd(std::string_view bytes);

} // namespace core::mda
