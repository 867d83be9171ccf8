// SPDX-License-Identifier: ISC
#include "core/auth/password.hpp"

#include "core/util/limits.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <pwd.h>
#include <shadow.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace core::auth {

namespace {

struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
};

// The salt prefix and cost for each scheme. yescrypt 5 is what Debian uses for login passwords
// (portable OpenSMTPD asks for 8, eight times the memory and time on every AUTH); bcrypt 2^10
// and SHA-512 5000 rounds are OpenSMTPD's.
struct SchemeParams {
    const char* prefix;
    unsigned long cost;
};

SchemeParams params_of(Scheme scheme) {
    switch (scheme) {
    case Scheme::yescrypt:
        return {"$y$", 5};
    case Scheme::bcrypt:
        return {"$2b$", 10};
    case Scheme::sha512:
        return {"$6$", 5000};
    }
    return {"$y$", 5};
}

} // namespace

Result<Scheme> parse_scheme(std::string_view name) {
    if (name == "yescrypt") {
        return Scheme::yescrypt;
    }
    if (name == "bcrypt") {
        return Scheme::bcrypt;
    }
    if (name == "sha512") {
        return Scheme::sha512;
    }
    return fail(Errc::invalid_argument,
                "unknown scheme '" + std::string(name) + "' (yescrypt, bcrypt or sha512)");
}

Result<std::string> hash_password(std::string_view password, Scheme scheme) {
    if (password.size() > limits::k_password_max) {
        return fail(Errc::invalid_argument,
                    "password longer than " + std::to_string(limits::k_password_max) + " bytes");
    }
    if (password.find('\0') != std::string_view::npos ||
        password.find('\n') != std::string_view::npos) {
        return fail(Errc::invalid_argument, "password contains a NUL or newline");
    }
    const auto params = params_of(scheme);
    // A null random buffer makes libcrypt draw the salt from the kernel's CSPRNG.
    std::unique_ptr<char, FreeDeleter> salt(
        crypt_gensalt_ra(params.prefix, params.cost, nullptr, 0));
    if (!salt) {
        return fail(Error::from_errno(errno, "crypt_gensalt", params.prefix));
    }
    const std::string plain(password);
    auto data = std::make_unique<crypt_data>();
    const char* hashed = crypt_r(plain.c_str(), salt.get(), data.get());
    // libcrypt signals failure with a hash that starts with '*'.
    if (hashed == nullptr || hashed[0] == '*') {
        return fail(Errc::internal, std::string("crypt refused the scheme ") + params.prefix);
    }
    std::string out(hashed);
    OPENSSL_cleanse(data.get(), sizeof(crypt_data));
    return out;
}

bool verify_password(std::string_view password, std::string_view stored) {
    if (stored.empty() || stored[0] == '*' || stored[0] == '!' ||
        password.find('\0') != std::string_view::npos || password.size() > limits::k_password_max) {
        return false;
    }
    const std::string plain(password);
    const std::string setting(stored);
    auto data = std::make_unique<crypt_data>();
    const char* hashed = crypt_r(plain.c_str(), setting.c_str(), data.get());
    bool match = false;
    if (hashed != nullptr && hashed[0] != '*' && std::strlen(hashed) == setting.size()) {
        match = CRYPTO_memcmp(hashed, setting.data(), setting.size()) == 0;
    }
    OPENSSL_cleanse(data.get(), sizeof(crypt_data));
    return match;
}

Result<bool> verify_system_password(const std::string& user, std::string_view password) {
    std::vector<char> buffer(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwnam_r(user.c_str(), &pw, buffer.data(), buffer.size(), &found) != 0 ||
        found == nullptr) {
        return false;
    }
    std::string hash = pw.pw_passwd != nullptr ? pw.pw_passwd : "";
    // Modern systems keep the hash in shadow(5) and leave "x" here.
    if (hash == "x" || hash == "*") {
        spwd sp{};
        spwd* shadow = nullptr;
        std::vector<char> shadow_buffer(16384);
        errno = 0;
        const int rc =
            ::getspnam_r(user.c_str(), &sp, shadow_buffer.data(), shadow_buffer.size(), &shadow);
        if (shadow == nullptr) {
            if (rc == EACCES || errno == EACCES) {
                return fail(Errc::permission_denied,
                            "cannot read the shadow password database (mxd is not root)");
            }
            return false;
        }
        hash = sp.sp_pwdp != nullptr ? sp.sp_pwdp : "";
    }
    // Locked and password-less accounts never authenticate.
    if (hash.empty() || hash.front() == '!' || hash.front() == '*') {
        return false;
    }
    return verify_password(password, hash);
}

} // namespace core::auth
