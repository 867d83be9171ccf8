// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <string>
#include <string_view>

// Password hashes in crypt(3) form, for credentials tables (`mxctl encrypt`) and SMTP AUTH.
namespace core::auth {

enum class Scheme { yescrypt, bcrypt, sha512 };

// The scheme named "yescrypt", "bcrypt" or "sha512"; Errc::invalid_argument otherwise.
Result<Scheme> parse_scheme(std::string_view name);

// Hashes a password with a fresh random salt. Fails with Errc::invalid_argument for a password
// with a NUL or newline or longer than the limit, Errc::internal when libcrypt refuses.
Result<std::string> hash_password(std::string_view password, Scheme scheme);

// True when `password` matches `stored`, a crypt(3) hash of any scheme libcrypt knows
// (OpenBSD's `$2b$` bcrypt included). Never throws and never logs; an empty or malformed hash
// matches nothing. Blocking (yescrypt and bcrypt are slow by design): call it off the event loop.
bool verify_password(std::string_view password, std::string_view stored);

// Checks a system account's password (`listen on ... auth` without a table): the hash from the
// shadow database, else from the password database. False for an unknown user, a locked
// account (`!` or `*` hashes) or a wrong password; Errc::permission_denied when the shadow
// database cannot be read (mxd is not root), so the caller can say why. Blocking.
Result<bool> verify_system_password(const std::string& user, std::string_view password);

} // namespace core::auth
