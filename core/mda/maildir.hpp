// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <filesystem>
#include <string>
#include <string_view>

// Delivery into a maildir (maildir(5), Maildir++ folders), as OpenSMTPD's mail.maildir does it,
// with the durability of qmail's original: the file is written in tmp/, synced, renamed into
// new/, and new/ is synced.
namespace core::mda {

struct MaildirOptions {
    std::filesystem::path path; // the maildir, absolute; created (0700) with tmp/ new/ cur/
    bool junk = false;          // `junk`: a message marked as spam goes to the .Junk folder
    std::string folder;         // the recipient's +tag: its Maildir++ folder, when that exists
    std::string hostname;       // for the unique name; empty: gethostname()
};

// Delivers `message` (stored as it is) and returns the path of the new file in new/. Fails with
// Errc::invalid_argument for a relative path, Errc::temp_failure when a directory or the file
// cannot be created, written, synced or renamed (nothing is left in tmp/ then).
Result<std::filesystem::path> deliver_maildir(const MaildirOptions& options,
                                              std::string_view message);

// The Maildir++ folder a subaddress selects, as mail.maildir derives it from EXTENSION: the
// characters of MAILADDR_ESCAPE (and '/') become ':' and leading dots go, so that the folder
// stays inside the maildir. Empty when nothing is left.
std::string maildir_folder(std::string_view subaddress);

// A unique file name per maildir(5): `<seconds>.M<microseconds>P<pid>R<random>.<host>`, with
// '/' and ':' in the host name written as \057 and \072.
std::string maildir_unique_name(std::string_view hostname);

} // namespace core::mda
