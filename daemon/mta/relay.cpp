// SPDX-License-Identifier: ISC
#include "daemon/mta/relay.hpp"

#include "daemon/stats.hpp"

#include <map>
#include <mutex>
#include <tuple>

namespace mxd::mta {

namespace {

// Client TLS contexts by their settings. Loading the system CA store takes tens of
// milliseconds: once per relayed message, on the event loop, it capped relaying at a few
// dozen messages a second. refresh_tls_contexts() builds them again at a reload.
struct CachedTls {
    ClientTlsSettings settings;
    std::shared_ptr<ClientTls> context;
};
using TlsKey = std::tuple<std::string, std::string, std::string, std::string>;
std::mutex g_tls_mutex;
std::map<TlsKey, CachedTls> g_tls_contexts;

TlsKey key_of(const ClientTlsSettings& settings) {
    return std::make_tuple(settings.ca_file.string(), settings.cert.string(), settings.key.string(),
                           settings.ciphers);
}

core::Result<std::shared_ptr<ClientTls>> shared_tls_context(const ClientTlsSettings& settings) {
    const auto key = key_of(settings);
    std::lock_guard lock(g_tls_mutex);
    if (const auto found = g_tls_contexts.find(key); found != g_tls_contexts.end()) {
        return found->second.context;
    }
    MXD_TRY_ASSIGN(auto context, ClientTls::create(settings));
    g_tls_contexts.emplace(key, CachedTls{settings, context});
    return context;
}

} // namespace

std::vector<std::string> refresh_tls_contexts() {
    std::vector<ClientTlsSettings> cached;
    {
        std::lock_guard lock(g_tls_mutex);
        for (const auto& [key, entry] : g_tls_contexts) {
            cached.push_back(entry.settings);
        }
    }
    std::vector<std::string> notes;
    for (const auto& settings : cached) {
        // Built outside the lock: relays go on with the contexts in place meanwhile.
        auto fresh = ClientTls::create(settings);
        if (!fresh) {
            const std::string files = !settings.key.empty()       ? settings.key.string()
                                      : !settings.ca_file.empty() ? settings.ca_file.string()
                                                                  : std::string("the system's CA store");
            notes.push_back("relay TLS with " + files + " kept as loaded before: " + fresh.error().message);
            continue;
        }
        std::lock_guard lock(g_tls_mutex);
        g_tls_contexts[key_of(settings)].context = std::move(*fresh);
    }
    return notes;
}

core::Result<Options> options_for(const core::config::Config& config,
                                  const core::config::Action& action,
                                  const core::mta::RelayUrl& url) {
    Options options;
    options.protocol = url.lmtp() ? Protocol::lmtp : Protocol::smtp;
    const auto policy = core::mta::tls_policy(url.scheme, action.relay_tls);
    options.tls = policy.mode;
    options.verify = policy.verify;
    options.helo = action.helo;
    if (options.tls == core::mta::TlsMode::none) {
        return options;
    }
    ClientTlsSettings settings;
    settings.ciphers = action.ciphers;
    if (!action.relay_ca.empty()) {
        const auto* ca = config.find_ca(action.relay_ca);
        if (ca == nullptr) {
            return core::fail(core::Errc::config, "undefined ca " + action.relay_ca);
        }
        settings.ca_file = ca->cert;
    }
    if (!action.relay_pki.empty()) {
        const auto* pki = config.find_pki(action.relay_pki);
        if (pki == nullptr) {
            return core::fail(core::Errc::config, "undefined pki " + action.relay_pki);
        }
        settings.cert = pki->cert;
        settings.key = pki->key;
    }
    MXD_TRY_ASSIGN(options.tls_context, shared_tls_context(settings));
    return options;
}

std::optional<Endpoint> literal_endpoint(const core::mta::RelayUrl& url) {
    if (!url.socket_path.empty()) {
        return Endpoint{"", {}, url.socket_path};
    }
    asio::error_code ec;
    const auto address = asio::ip::make_address(url.host, ec);
    if (ec) {
        return std::nullopt;
    }
    return Endpoint{"", asio::ip::tcp::endpoint(address, url.port), ""};
}

Status connect_failure_status(const core::Error& error) {
    // RFC 3463 4.4.1: no answer from host; 4.7.0: security or policy status.
    const bool tls = error.code == core::Errc::tls;
    return Status{Outcome::temporary,
                  core::smtp::Reply{421, tls ? "4.7.0" : "4.4.1", error.message}, true, ""};
}

asio::awaitable<std::vector<std::vector<RecipientResult>>>
relay(std::vector<Endpoint> endpoints, Options options, std::vector<Message> messages) {
    std::vector<std::vector<RecipientResult>> results;
    // show stats: mta.envelope counts the recipients in hand, mta.session the connection.
    std::int64_t recipients = 0;
    for (const auto& message : messages) {
        recipients += static_cast<std::int64_t>(message.recipients.size());
    }
    const stats::Held in_hand(stats::Counter::mta_envelope, recipients);
    auto client = co_await Client::connect(std::move(endpoints), std::move(options));
    if (!client) {
        const auto status = connect_failure_status(client.error());
        for (const auto& message : messages) {
            std::vector<RecipientResult> each;
            for (const auto& r : message.recipients) {
                each.push_back(RecipientResult{r.envelope, r.address, status});
            }
            results.push_back(std::move(each));
        }
        co_return results;
    }
    const stats::Held session(stats::Counter::mta_session);
    for (auto& message : messages) {
        auto sent = co_await (*client)->send(std::move(message));
        results.push_back(std::move(sent));
    }
    co_await (*client)->quit();
    co_return results;
}

} // namespace mxd::mta
