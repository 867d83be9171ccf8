// SPDX-License-Identifier: ISC
#pragma once

#include "core/config/config.hpp"
#include "core/util/result.hpp"

#include <asio/ssl.hpp>

#include <memory>
#include <vector>

// TLS for the SMTP listeners: one OpenSSL context per listener with `tls`, `tls-require` or
// `smtps`, holding the certificate of each of its `pki` (chosen by SNI when there are several).
namespace mxd::smtp {

class ServerTls {
public:
    // Loads the certificates and keys of the listener's pki. Errc::tls naming the file when
    // OpenSSL refuses one; Errc::config when the listener names no pki.
    static core::Result<std::shared_ptr<ServerTls>> create(const core::config::Config& config,
                                                           const core::config::Listener& listener);

    // The context new connections start from (the first pki's certificate).
    asio::ssl::context& context() { return *m_contexts.front().context; }

private:
    struct Named {
        std::string name;  // the pki name, which is the host name it serves
        std::unique_ptr<asio::ssl::context> context;
    };
    static int on_server_name(SSL* ssl, int* alert, void* self);
    std::vector<Named> m_contexts;
};

} // namespace mxd::smtp
