// SPDX-License-Identifier: ISC
#include "core/auth/password.hpp"

#include <crypt.h>

#include <gtest/gtest.h>

using namespace core::auth;

namespace {

// Verifies with crypt(3) itself, independent of verify_password.
bool crypt_verifies(const std::string& password, const std::string& hash) {
    crypt_data data{};
    const char* out = crypt_r(password.c_str(), hash.c_str(), &data);
    return out != nullptr && hash == out;
}

} // namespace

TEST(Password, DefaultSchemeIsYescryptAndVerifiesWithCrypt) {
    auto h = hash_password("secret", Scheme::yescrypt);
    ASSERT_TRUE(h) << h.error().message;
    EXPECT_TRUE(h->starts_with("$y$"));
    EXPECT_TRUE(crypt_verifies("secret", *h));
    EXPECT_TRUE(verify_password("secret", *h));
    EXPECT_FALSE(verify_password("Secret", *h));
}

TEST(Password, EverySchemeVerifies) {
    for (auto [scheme, prefix] : {std::pair{Scheme::bcrypt, "$2b$"}, std::pair{Scheme::sha512, "$6$"}}) {
        auto h = hash_password("pa ss", scheme);
        ASSERT_TRUE(h) << h.error().message;
        EXPECT_TRUE(h->starts_with(prefix)) << *h;
        EXPECT_TRUE(crypt_verifies("pa ss", *h));
        EXPECT_TRUE(verify_password("pa ss", *h));
        EXPECT_FALSE(verify_password("pass", *h));
    }
}

TEST(Password, FreshSaltEachTime) {
    EXPECT_NE(*hash_password("x", Scheme::sha512), *hash_password("x", Scheme::sha512));
}

TEST(Password, VerifiesAnOpenBsdBcryptHash) {
    // A $2b$ test vector of OpenBSD's bcrypt (the code behind encrypt(1), which smtpctl encrypt
    // runs on OpenBSD), as pyca/bcrypt's test suite carries it.
    const std::string openbsd = "$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm";
    ASSERT_TRUE(crypt_verifies("Kk4DQuMMfZL9o", openbsd)) << "libcrypt cannot check $2b$";
    EXPECT_TRUE(verify_password("Kk4DQuMMfZL9o", openbsd));
    EXPECT_FALSE(verify_password("Kk4DQuMMfZL9O", openbsd));
}

TEST(Password, MalformedHashesMatchNothing) {
    EXPECT_FALSE(verify_password("", ""));
    EXPECT_FALSE(verify_password("x", "*"));
    EXPECT_FALSE(verify_password("x", "!locked"));
    EXPECT_FALSE(verify_password("x", "$y$garbage"));
}

TEST(Password, RefusesNewlinesAndNuls) {
    EXPECT_FALSE(hash_password("a\nb", Scheme::yescrypt));
    EXPECT_FALSE(hash_password(std::string("a\0b", 3), Scheme::yescrypt));
    EXPECT_FALSE(parse_scheme("md5"));
}
