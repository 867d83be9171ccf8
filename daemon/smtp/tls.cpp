// SPDX-License-Identifier: ISC
#include "daemon/smtp/tls.hpp"

#include "core/table/lookup.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace mxd::smtp {

namespace {

std::string openssl_error() {
    const unsigned long code = ERR_get_error();
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    return code == 0 ? "unknown error" : text;
}

} // namespace

int ServerTls::on_server_name(SSL* ssl, int*, void* arg) {
    // SNI (RFC 6066 3): switch to the certificate whose pki name matches what the client asked
    // for; with no match the first one stays, as OpenSMTPD does.
    auto* self = static_cast<ServerTls*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name == nullptr) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    for (const auto& named : self->m_contexts) {
        if (core::table::hostname_match(name, named.name)) {
            SSL_set_SSL_CTX(ssl, named.context->native_handle());
            return SSL_TLSEXT_ERR_OK;
        }
    }
    return SSL_TLSEXT_ERR_NOACK;
}

core::Result<std::shared_ptr<ServerTls>> ServerTls::create(const core::config::Config& config,
                                                           const core::config::Listener& listener) {
    if (listener.pki.empty()) {
        return core::fail(core::Errc::config, "listener on " + listener.interface + " has tls but no pki");
    }
    auto tls = std::make_shared<ServerTls>();
    for (const auto& name : listener.pki) {
        const auto* pki = config.find_pki(name);
        if (pki == nullptr) {
            return core::fail(core::Errc::config, "undefined pki " + name);
        }
        auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
        SSL_CTX* ctx = context->native_handle();
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
        const std::string ciphers = listener.ciphers.empty() ? config.smtp.ciphers : listener.ciphers;
        if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
            return core::fail(core::Errc::tls, "ciphers '" + ciphers + "': " + openssl_error());
        }
        if (SSL_CTX_use_certificate_chain_file(ctx, pki->cert.c_str()) != 1) {
            return core::fail(core::Errc::tls, "certificate " + pki->cert.string() + ": " + openssl_error());
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, pki->key.c_str(), SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            return core::fail(core::Errc::tls, "key " + pki->key.string() + ": " + openssl_error());
        }
        tls->m_contexts.push_back(Named{name, std::move(context)});
    }
    SSL_CTX* first = tls->m_contexts.front().context->native_handle();
    SSL_CTX_set_tlsext_servername_callback(first, &ServerTls::on_server_name);
    SSL_CTX_set_tlsext_servername_arg(first, tls.get());
    return tls;
}

} // namespace mxd::smtp
