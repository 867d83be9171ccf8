// SPDX-License-Identifier: ISC
#pragma once

#include "core/mta/relay_url.hpp"
#include "core/util/result.hpp"

#include <asio/ssl.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

// TLS for the relay client: one OpenSSL client context, shared by the sessions of an action,
// and the per-connection settings (SNI, peer verification against the host name).
namespace mxd::mta {

// What a client context is made of; empty members mean the default.
struct ClientTlsSettings {
    std::filesystem::path ca_file; // the action's `ca`; empty: the system's CA store
    std::filesystem::path cert;    // the action's `pki`: a client certificate and its key
    std::filesystem::path key;
    std::string ciphers; // the action's `ciphers`; empty: OpenSSL's default list
};

class ClientTls {
  public:
    // A TLS 1.2+ client context made of `settings`. Errc::tls naming the file or the cipher
    // list that OpenSSL refused.
    static core::Result<std::shared_ptr<ClientTls>> create(const ClientTlsSettings& settings = {});

    asio::ssl::context& context() { return m_context; }

  private:
    ClientTls() : m_context(asio::ssl::context::tls_client) {}
    asio::ssl::context m_context;
};

// Sets up one connection before its handshake: SNI with `name` when it is a host name (RFC 6066
// 3 forbids addresses there), and with Verify::yes a peer check of the chain and of `name`
// (a host name, or an IP address matched against the certificate's IP entries). Errc::tls
// when OpenSSL refuses a setting.
core::Result<void> prepare_connection(SSL* ssl, std::string_view name, core::mta::Verify verify);

// Why the handshake of `ssl` failed, in words: the certificate check's reason when that was
// the cause, else `fallback`.
std::string handshake_failure(SSL* ssl, std::string_view fallback);

} // namespace mxd::mta
