// SPDX-License-Identifier: ISC
#include "daemon/mta/tls.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <string>

namespace mxd::mta {

namespace {

std::string openssl_error() {
    const unsigned long code = ERR_get_error();
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    return code == 0 ? "unknown error" : text;
}

bool is_ip_address(const std::string& text) {
    in6_addr a6{};
    in_addr a4{};
    return inet_pton(AF_INET, text.c_str(), &a4) == 1 ||
           inet_pton(AF_INET6, text.c_str(), &a6) == 1;
}

} // namespace

core::Result<std::shared_ptr<ClientTls>> ClientTls::create(const ClientTlsSettings& settings) {
    const auto& ca_file = settings.ca_file;
    const auto& cert = settings.cert;
    const auto& key = settings.key;
    std::shared_ptr<ClientTls> tls(new ClientTls());
    SSL_CTX* ctx = tls->m_context.native_handle();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    if (!settings.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, settings.ciphers.c_str()) != 1) {
        return core::fail(core::Errc::tls,
                          "ciphers '" + settings.ciphers + "': " + openssl_error());
    }
    if (ca_file.empty()) {
        if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            return core::fail(core::Errc::tls, "system CA store: " + openssl_error());
        }
    } else if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
        return core::fail(core::Errc::tls, "CA file " + ca_file.string() + ": " + openssl_error());
    }
    if (!cert.empty()) {
        if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
            return core::fail(core::Errc::tls,
                              "certificate " + cert.string() + ": " + openssl_error());
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            return core::fail(core::Errc::tls, "key " + key.string() + ": " + openssl_error());
        }
    }
    return tls;
}

core::Result<void> prepare_connection(SSL* ssl, std::string_view name, core::mta::Verify verify) {
    const std::string host(name);
    const bool address = is_ip_address(host);
    if (!host.empty() && !address && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
        return core::fail(core::Errc::tls, "SNI " + host + ": " + openssl_error());
    }
    if (verify == core::mta::Verify::no) {
        SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
        return {};
    }
    if (host.empty()) {
        return core::fail(core::Errc::tls, "no host name to verify the certificate against");
    }
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    // RFC 6125 6.4.3: a wildcard stands for one whole label, never part of one.
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int set = address ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                            : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    if (set != 1) {
        return core::fail(core::Errc::tls,
                          "certificate check for " + host + ": " + openssl_error());
    }
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    return {};
}

std::string handshake_failure(SSL* ssl, std::string_view fallback) {
    const long result = SSL_get_verify_result(ssl);
    if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) != 0 && result != X509_V_OK) {
        return std::string("certificate verification failed: ") +
               X509_verify_cert_error_string(result);
    }
    return std::string(fallback);
}

} // namespace mxd::mta
