// SPDX-License-Identifier: ISC
#include "daemon/scheduler/agents.hpp"

#include "core/mta/relay_url.hpp"
#include "core/table/lookup.hpp"
#include "core/table/table.hpp"
#include "core/util/log.hpp"
#include "daemon/dns/resolver.hpp"
#include "daemon/lookup/router.hpp"
#include "daemon/mda/deliver.hpp"
#include "daemon/mta/client.hpp"
#include "daemon/mta/relay.hpp"
#include "daemon/state.hpp"
#include "daemon/workers.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <map>

namespace mxd::scheduler {

using core::queue::Envelope;

namespace {

Outcome temporary(std::string text) {
    return {Outcome::Status::temporary, std::move(text)};
}
Outcome permanent(std::string text) {
    return {Outcome::Status::permanent, std::move(text)};
}

std::string domain_of(const std::string& address) {
    const auto at = address.rfind('@');
    return at == std::string::npos ? std::string{} : address.substr(at + 1);
}

// The TCP endpoints of `host` on `port`: the address itself, or its A/AAAA records.
asio::awaitable<core::Result<std::vector<mta::Endpoint>>>
endpoints_of(const dns::Resolver& resolver, std::string host, std::uint16_t port) {
    std::vector<mta::Endpoint> out;
    asio::error_code ec;
    const auto literal = asio::ip::make_address(host, ec);
    if (!ec) {
        out.push_back(mta::Endpoint{"", asio::ip::tcp::endpoint(literal, port), ""});
        co_return out;
    }
    auto lookup = resolver.addresses(host);
    auto addresses = co_await std::move(lookup);
    if (!addresses) {
        co_return core::fail(addresses.error());
    }
    for (const auto& a : *addresses) {
        out.push_back(mta::Endpoint{host, asio::ip::tcp::endpoint(a, port), ""});
    }
    co_return out;
}

// The endpoints of a relay URL or LMTP destination: a socket or an address needs no DNS. The
// error is the text for show queue ("451 4.4.3 cannot resolve ...").
asio::awaitable<core::Result<std::vector<mta::Endpoint>>>
url_endpoints(const dns::Resolver& resolver, core::mta::RelayUrl url) {
    if (auto literal = mta::literal_endpoint(url)) {
        co_return std::vector<mta::Endpoint>{*literal};
    }
    auto lookup = endpoints_of(resolver, url.host, url.port);
    auto found = co_await std::move(lookup);
    if (!found) {
        co_return core::fail(core::Errc::temp_failure,
                             "451 4.4.3 cannot resolve " + url.host + ": " + found.error().message);
    }
    co_return found;
}

// A host name compared the way DNS compares them: no case, no final dot.
std::string dns_name(std::string name) {
    if (!name.empty() && name.back() == '.') {
        name.pop_back();
    }
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return name;
}

// Where mail for `domain` goes without a relay host: its MX hosts in order of preference, or
// the domain itself when it has none (RFC 5321 5.1). As a backup MX (`backup`, with our own
// MX name `self`), only the MX hosts preferred to ours; Errc::busy when we are the best one.
asio::awaitable<core::Result<std::vector<mta::Endpoint>>>
mx_endpoints(const dns::Resolver& resolver, std::string domain, std::optional<std::string> self) {
    auto lookup = resolver.mx(domain);
    auto mx = co_await std::move(lookup);
    if (!mx) {
        co_return core::fail(mx.error());
    }
    std::vector<mta::Endpoint> out;
    if (mx->empty()) {
        auto implicit = endpoints_of(resolver, domain, 25);
        co_return co_await std::move(implicit);
    }
    // RFC 7505: a single "." MX says the domain takes no mail.
    if (mx->size() == 1 && (mx->front().exchange == "." || mx->front().exchange.empty())) {
        co_return core::fail(core::Errc::invalid_argument,
                             "556 5.1.10 " + domain + " accepts no mail (null MX)");
    }
    if (self) {
        // RFC 5321 5.1: an MX host that finds itself in the list uses only the hosts of a
        // lower preference value than its own, so that mail does not loop between backups.
        const auto me = dns_name(*self);
        const auto own = std::find_if(mx->begin(), mx->end(),
                                      [&](const dns::MxHost& h) { return dns_name(h.exchange) == me; });
        if (own != mx->end()) {
            const auto preference = own->preference;
            std::erase_if(*mx, [&](const dns::MxHost& h) { return h.preference >= preference; });
            if (mx->empty()) {
                co_return core::fail(core::Errc::busy,
                                     "451 4.4.4 backup MX " + me + " is the best MX of " + domain +
                                         ": no MX host of a higher priority to relay to");
            }
        }
    }
    bool temporary_failure = false;
    for (const auto& host : *mx) {
        auto host_lookup = endpoints_of(resolver, host.exchange, 25);
        auto endpoints = co_await std::move(host_lookup);
        if (!endpoints) {
            temporary_failure =
                temporary_failure || endpoints.error().code == core::Errc::temp_failure;
            continue;
        }
        out.insert(out.end(), endpoints->begin(), endpoints->end());
    }
    if (out.empty()) {
        co_return core::fail(temporary_failure ? core::Errc::temp_failure : core::Errc::not_found,
                             "no address for the MX hosts of " + domain);
    }
    co_return out;
}

// The addresses of the action's `src`: its literal values, or the keys of its table.
// Errc::invalid_argument for an entry that is not an IP address.
core::Result<std::vector<asio::ip::address>> relay_sources(const Generation& gen,
                                                           const core::config::Action& action) {
    std::vector<std::string> texts = action.src.values;
    if (action.src.is_table()) {
        auto table = gen.tables->get(action.src.table);
        if (!table) {
            return core::fail(core::Errc::not_found, "no table " + action.src.table);
        }
        MXD_TRY(table->for_each([&](std::string_view key, std::string_view) {
            texts.emplace_back(key);
            return true;
        }));
    }
    std::vector<asio::ip::address> out;
    for (const auto& text : texts) {
        asio::error_code ec;
        const auto address = asio::ip::make_address(text, ec);
        if (ec) {
            return core::fail(core::Errc::invalid_argument,
                              "src '" + text + "' is not an IP address");
        }
        out.push_back(address);
    }
    return out;
}

// The HELO names of the action's `helo-src` table, by source address.
core::Result<std::map<std::string, std::string>> helo_names(const Generation& gen,
                                                            const core::config::Action& action) {
    std::map<std::string, std::string> out;
    if (action.helo_src_table.empty()) {
        return out;
    }
    auto table = gen.tables->get(action.helo_src_table);
    if (!table) {
        return core::fail(core::Errc::not_found, "no table " + action.helo_src_table);
    }
    MXD_TRY(table->for_each([&](std::string_view key, std::string_view value) {
        // The key as the client prints the connection's address (IPv6 in its short form).
        asio::error_code ec;
        const auto address = asio::ip::make_address(key, ec);
        out.emplace(ec ? std::string(key) : address.to_string(), std::string(value));
        return true;
    }));
    return out;
}

// The relay URL of `domain` in the action's `domain` table; Errc::not_found without one.
core::Result<std::string> domain_relay(const Generation& gen, const core::config::Action& action,
                                       const std::string& domain) {
    auto table = gen.tables->get(action.domain_table);
    if (!table) {
        return core::fail(core::Errc::not_found, "no table " + action.domain_table);
    }
    MXD_TRY_ASSIGN(const auto found,
                   core::table::lookup(*table, core::table::Service::relayhost, dns_name(domain)));
    if (!found || found->value.empty()) {
        return core::fail(core::Errc::not_found,
                          "no relay host for " + domain + " in <" + action.domain_table + ">");
    }
    return found->value;
}

// The MAIL FROM of a relay action with `mail-from` (or the old `as`): a whole address
// replaces the sender, `@domain` its domain, `user@` its user. The null sender of a bounce
// stays null, so that reports never loop.
std::string relay_sender(const core::config::Action& action, const std::string& sender) {
    const auto& from = action.mail_from;
    if (from.empty() || sender.empty()) {
        return sender;
    }
    const auto at = sender.rfind('@');
    const std::string user = sender.substr(0, at);
    const std::string domain = at == std::string::npos ? std::string{} : sender.substr(at + 1);
    if (from.front() == '@') {
        return user + from;
    }
    if (from.back() == '@') {
        return from + domain;
    }
    return from;
}

// Ends a relay connection that is no longer wanted (QUIT, then close).
asio::awaitable<void> quit_client(std::shared_ptr<mta::Client> client) {
    co_await client->quit();
}

// Relay connections kept open between messages, as Postfix's connection cache does: after a
// transaction a connection waits up to k_idle for the next message of the same route (the
// action and its host or destination domain), so that one connection carries several
// messages. Event loop only.
class ConnectionCache {
  public:
    static constexpr auto k_idle = std::chrono::seconds(2);
    static constexpr std::size_t k_max_per_route = 10; // the scheduler's per-domain limit

    // An idle, usable connection of `route`, or null.
    std::shared_ptr<mta::Client> take(const std::string& route) {
        auto it = m_idle.find(route);
        std::shared_ptr<mta::Client> out;
        while (!out && it != m_idle.end() && !it->second.empty()) {
            auto idle = std::move(it->second.back());
            it->second.pop_back();
            idle.timer->cancel();
            if (idle.client->usable()) {
                out = std::move(idle.client);
            }
        }
        if (it != m_idle.end() && it->second.empty()) {
            m_idle.erase(it);
        }
        return out;
    }

    // Keeps `client` for the next message of `route`; ends it after k_idle, or at once when it
    // is unusable or the route keeps enough already.
    void put(const std::string& route, std::shared_ptr<mta::Client> client,
             const asio::any_io_executor& executor) {
        auto& list = m_idle[route];
        if (!client->usable() || list.size() >= k_max_per_route) {
            asio::co_spawn(executor, quit_client(std::move(client)), asio::detached);
            return;
        }
        auto timer = std::make_shared<asio::steady_timer>(executor, k_idle);
        timer->async_wait([this, route, raw = client.get(), executor](const asio::error_code& ec) {
            if (ec) {
                return; // taken again, or the daemon stops
            }
            auto it = m_idle.find(route);
            if (it == m_idle.end()) {
                return;
            }
            auto& idle = it->second;
            const auto found = std::find_if(idle.begin(), idle.end(),
                                            [raw](const Idle& i) { return i.client.get() == raw; });
            if (found != idle.end()) {
                asio::co_spawn(executor, quit_client(std::move(found->client)), asio::detached);
                idle.erase(found);
            }
            if (idle.empty()) {
                m_idle.erase(it);
            }
        });
        list.push_back(Idle{std::move(client), std::move(timer)});
    }

    // Calls `visit` on each idle connection.
    void for_each_idle(const std::function<void(const mta::Client&)>& visit) const {
        for (const auto& [route, list] : m_idle) {
            for (const auto& idle : list) {
                visit(*idle.client);
            }
        }
    }

    // A number one more at each call: where the next connection starts in a list of sources.
    std::size_t next_rotation() { return m_rotation++; }

    // How many connections wait on the routes whose key ends with `suffix`.
    std::size_t idle_ending_with(const std::string& suffix) const {
        std::size_t n = 0;
        for (const auto& [route, list] : m_idle) {
            if (route.size() >= suffix.size() &&
                route.compare(route.size() - suffix.size(), suffix.size(), suffix) == 0) {
                n += list.size();
            }
        }
        return n;
    }

    ~ConnectionCache() {
        for (auto& [route, list] : m_idle) {
            for (auto& idle : list) {
                idle.timer->cancel();
            }
        }
    }

  private:
    struct Idle {
        std::shared_ptr<mta::Client> client;
        std::shared_ptr<asio::steady_timer> timer;
    };
    std::map<std::string, std::vector<Idle>> m_idle;
    std::size_t m_rotation = 0;
};

// The relay client's network routes, as OpenSMTPD's mta keeps them: a source address (the
// `src` bound, or none) and a destination address, with what their connections did. For
// `show routes`. Event loop only.
class NetRoutes {
  public:
    static constexpr std::int64_t k_recent = 4 * 3600; // listed this long after their last use

    // Records one endpoint that connect() tried.
    void connected(const mta::ConnectReport& report) {
        auto& r = route(report.source, report.endpoint);
        if (report.error != nullptr) {
            ++r.errors;
            ++r.penalty;
            r.last_error = report.error->message;
            return;
        }
        ++r.connections;
        r.penalty = 0;
        r.last_error.clear();
        r.local = report.local;
    }

    // A transaction starts or ends on `client`; a connection lost on the way is an error.
    void begin(const mta::Client& client) { ++route(client.source(), client.endpoint()).active; }
    void end(const mta::Client& client) {
        auto& r = route(client.source(), client.endpoint());
        r.active -= r.active > 0 ? 1 : 0;
        if (!client.usable()) {
            ++r.errors;
            r.last_error = "connection closed during the transaction";
        }
    }

    // The routes with a connection open or used recently, by id; idle counts from `cache`.
    std::vector<NetworkRoute> list(const ConnectionCache& cache) {
        const auto now = static_cast<std::int64_t>(std::time(nullptr));
        for (auto& [key, r] : m_routes) {
            r.idle = 0;
        }
        cache.for_each_idle([&](const mta::Client& c) { ++route(c.source(), c.endpoint(), false).idle; });
        std::vector<NetworkRoute> out;
        for (auto it = m_routes.begin(); it != m_routes.end();) {
            const auto& r = it->second;
            if (r.active == 0 && r.idle == 0 && now - r.last_used > k_recent) {
                it = m_routes.erase(it); // forgotten, as OpenSMTPD's routes expire
                continue;
            }
            out.push_back(r);
            ++it;
        }
        std::sort(out.begin(), out.end(),
                  [](const NetworkRoute& a, const NetworkRoute& b) { return a.id < b.id; });
        return out;
    }

  private:
    NetworkRoute& route(const std::string& source, const mta::Endpoint& endpoint, bool use = true) {
        const bool socket = !endpoint.socket_path.empty();
        const std::string address = socket ? endpoint.socket_path
                                           : endpoint.address.address().to_string();
        const std::uint16_t port = socket ? 0 : endpoint.address.port();
        auto [it, added] = m_routes.try_emplace(source + "|" + address + "|" + std::to_string(port));
        auto& r = it->second;
        if (added) {
            r.id = ++m_last_id;
            r.source = source;
            r.address = address;
            r.port = port;
        }
        if (!endpoint.name.empty()) {
            r.host = endpoint.name;
        }
        if (use) {
            r.last_used = static_cast<std::int64_t>(std::time(nullptr));
        }
        return r;
    }

    std::map<std::string, NetworkRoute> m_routes; // by source, address and port
    std::uint64_t m_last_id = 0;
};

// The outcome of each envelope, from its recipient's result (matched by envelope id); one
// without a result is temporary.
std::vector<Outcome> outcomes_of(const std::vector<Envelope>& envelopes,
                                 const std::vector<mta::RecipientResult>& results,
                                 const mta::Client& client) {
    std::vector<Outcome> out;
    for (const auto& e : envelopes) {
        const auto found = std::find_if(results.begin(), results.end(),
                                        [&](const mta::RecipientResult& r) { return r.envelope == e.id; });
        if (found == results.end()) {
            out.push_back(temporary("421 4.3.0 no result from " + client.endpoint().to_string()));
            continue;
        }
        const auto& status = found->status;
        switch (status.outcome) {
        case mta::Outcome::delivered:
            out.push_back(Outcome{Outcome::Status::delivered, status.summary()});
            continue;
        case mta::Outcome::permanent:
            out.push_back(permanent(status.summary()));
            continue;
        case mta::Outcome::temporary:
            break;
        }
        out.push_back(temporary(status.summary()));
    }
    return out;
}

// The message of one transaction: `sender`, and each envelope's recipient (`rcpts`, in the
// same order) with its own DSN parameters.
mta::Message message_for(const std::vector<Envelope>& envelopes, const std::vector<std::string>& rcpts,
                         const std::string& sender, const std::string& body) {
    mta::Message message;
    message.sender = sender;
    for (std::size_t i = 0; i < envelopes.size(); ++i) {
        mta::Recipient recipient;
        recipient.address = rcpts[i];
        recipient.envelope = envelopes[i].id;
        recipient.dsn.notify = envelopes[i].dsn_notify;
        recipient.dsn.orcpt = envelopes[i].dsn_orcpt;
        message.recipients.push_back(std::move(recipient));
    }
    message.body = body;
    message.dsn_ret = envelopes.front().dsn_ret;
    message.dsn_envid = envelopes.front().dsn_envid;
    return message;
}

// One transaction over `client` for the envelopes of one message (`rcpts` are their
// forward-paths, in order), and more while the server takes only some of them: RFC 5321
// 4.5.3.1.10 lets a server answer 452 to the recipients past its limit, and the client send
// those in a later transaction. Returns one result per recipient.
asio::awaitable<std::vector<mta::RecipientResult>>
transact(std::shared_ptr<mta::Client> client, std::vector<Envelope> envelopes,
         std::vector<std::string> rcpts, std::string sender, std::shared_ptr<const std::string> body) {
    std::vector<mta::RecipientResult> out;
    while (!envelopes.empty()) {
        auto sending = client->send(message_for(envelopes, rcpts, sender, *body));
        auto results = co_await std::move(sending);
        std::vector<Envelope> again;
        std::vector<std::string> again_rcpts;
        std::vector<mta::RecipientResult> deferred;
        bool progress = false;
        for (std::size_t i = 0; i < results.size(); ++i) {
            const auto& status = results[i].status;
            if (!status.local && status.reply.code == 452 && i < envelopes.size()) {
                again.push_back(envelopes[i]);
                again_rcpts.push_back(rcpts[i]);
                deferred.push_back(std::move(results[i]));
                continue;
            }
            progress = true;
            out.push_back(std::move(results[i]));
        }
        if (!progress || again.empty() || !client->usable()) {
            out.insert(out.end(), deferred.begin(), deferred.end());
            break;
        }
        envelopes = std::move(again);
        rcpts = std::move(again_rcpts);
    }
    co_return out;
}

// The recipients' forward-paths of relayed envelopes.
std::vector<std::string> dests_of(const std::vector<Envelope>& envelopes) {
    std::vector<std::string> out;
    for (const auto& e : envelopes) {
        out.push_back(e.dest);
    }
    return out;
}

// Transactions for the envelopes over a new connection, which then goes to `cache` for the
// next message of `route` (with no cache, it is closed).
asio::awaitable<std::vector<Outcome>>
send_new(std::vector<mta::Endpoint> endpoints, mta::Options options, std::vector<Envelope> envelopes,
         std::vector<std::string> rcpts, std::string sender, std::shared_ptr<const std::string> body,
         ConnectionCache* cache = nullptr, std::string route = {}, RelayRoute* stats = nullptr,
         NetRoutes* net = nullptr) {
    if (net != nullptr) {
        options.on_connect = [net](const mta::ConnectReport& report) { net->connected(report); };
    }
    auto connected = co_await mta::Client::connect(std::move(endpoints), std::move(options));
    if (!connected) {
        co_return std::vector<Outcome>(envelopes.size(), temporary(connected.error().message));
    }
    if (stats != nullptr) {
        ++stats->connections;
        stats->last_connection = static_cast<std::int64_t>(std::time(nullptr));
    }
    auto client = *connected;
    if (net != nullptr) {
        net->begin(*client);
    }
    auto sending = transact(client, envelopes, std::move(rcpts), std::move(sender), std::move(body));
    auto results = co_await std::move(sending);
    if (net != nullptr) {
        net->end(*client);
    }
    if (cache != nullptr) {
        cache->put(route, client, co_await asio::this_coro::executor);
    } else {
        co_await client->quit();
    }
    co_return outcomes_of(envelopes, results, *client);
}

// The credentials of `label` in the action's auth table, when both are given.
core::Result<std::optional<core::mta::Credentials>>
credentials_for(const Generation& gen, const core::config::Action& action, const std::string& label) {
    if (action.relay_auth_table.empty() || label.empty()) {
        return std::optional<core::mta::Credentials>{};
    }
    auto table = gen.tables->get(action.relay_auth_table);
    if (!table) {
        return core::fail(core::Errc::not_found, "no table " + action.relay_auth_table);
    }
    MXD_TRY_ASSIGN(const auto found,
                   core::table::lookup(*table, core::table::Service::credentials, label));
    if (!found) {
        return core::fail(core::Errc::not_found,
                          "no credentials for '" + label + "' in " + action.relay_auth_table);
    }
    MXD_TRY_ASSIGN(auto creds, core::mta::parse_credentials(found->value));
    return std::optional<core::mta::Credentials>{std::move(creds)};
}

// The error of an envelope whose action a reload took away; it waits for the action to return.
Outcome missing_action(const Envelope& e) {
    return temporary("451 4.3.0 action '" + e.action + "' " + std::string(k_missing_action) +
                     " (removed by a reload): the envelope waits for it, or for mxctl remove");
}

// Whether an action relays to its `host` URL rather than by MX.
bool relays_via_host(const core::config::Action& action) {
    return !action.host.empty() && !action.host_is_table;
}

// Relays envelopes of one message with the same action and route in one transaction.
asio::awaitable<std::vector<Outcome>> relay(RuntimeState& state, ConnectionCache& cache,
                                            NetRoutes& net, RelayRoute* stats,
                                            std::vector<Envelope> envelopes,
                                            std::shared_ptr<const std::string> body) {
    const auto all = [n = envelopes.size()](Outcome o) { return std::vector<Outcome>(n, o); };
    const auto& e = envelopes.front();
    // The configuration of this attempt, whatever a reload does meanwhile.
    const auto gen = state.generation();
    const auto* action = gen->config.find_action(e.action);
    if (action == nullptr) {
        co_return all(missing_action(e));
    }
    const auto sender = relay_sender(*action, e.sender);
    // A connection left open by an earlier message of the same route (same configuration,
    // action and host or domain) carries this one too. If it turns out to be gone before any
    // reply decided the message, a new connection is made below.
    const bool via_host = relays_via_host(*action);
    const std::string route = std::to_string(gen->number) + "\n" + e.action + "\n" +
                              (via_host ? action->host : domain_of(e.dest));
    if (auto reused = cache.take(route)) {
        net.begin(*reused);
        auto sending = transact(reused, envelopes, dests_of(envelopes), sender, body);
        auto results = co_await std::move(sending);
        net.end(*reused);
        const bool lost =
            results.empty() ||
            (!reused->usable() && std::all_of(results.begin(), results.end(),
                                              [](const auto& r) { return r.status.local; }));
        if (!lost) {
            cache.put(route, reused, co_await asio::this_coro::executor);
            co_return outcomes_of(envelopes, results, *reused);
        }
    }
    // `domain <table>`: the relay host of the recipient's domain, as `host` would give it.
    std::string host = via_host ? action->host : std::string();
    if (!action->domain_table.empty()) {
        // A domain without an entry waits (OpenSMTPD tempfails it too): the table may be
        // updated, and MX delivery is what the action was written to avoid.
        auto found = domain_relay(*gen, *action, domain_of(e.dest));
        if (!found) {
            co_return all(temporary("451 4.3.5 " + found.error().message));
        }
        host = std::move(*found);
    }
    auto url = !host.empty() ? core::mta::parse_relay_url(host)
                             : core::Result<core::mta::RelayUrl>(core::mta::RelayUrl{});
    if (!url) {
        co_return all(temporary("451 4.3.5 bad relay host: " + url.error().message));
    }
    // The action's TLS, helo, ca and pki, as the relay client reads them.
    auto configured = mta::options_for(gen->config, *action, *url);
    if (!configured) {
        co_return all(temporary("451 4.3.5 relay options: " + configured.error().message));
    }
    mta::Options options = std::move(*configured);
    // `src` and `helo-src`, from the configuration's tables (in memory for inline and file).
    auto sources = relay_sources(*gen, *action);
    if (!sources) {
        co_return all(temporary("451 4.3.5 src: " + sources.error().message));
    }
    options.sources = std::move(*sources);
    if (options.sources.size() > 1) {
        // Each connection starts at the next address, so that all are used in turn.
        const auto first = cache.next_rotation() % options.sources.size();
        std::rotate(options.sources.begin(),
                    options.sources.begin() + static_cast<std::ptrdiff_t>(first),
                    options.sources.end());
    }
    auto names = helo_names(*gen, *action);
    if (!names) {
        co_return all(temporary("451 4.3.5 helo-src: " + names.error().message));
    }
    options.helo_by_source = std::move(*names);
    std::vector<mta::Endpoint> endpoints;
    if (!host.empty()) {
        auto creds = credentials_for(*gen, *action, url->label);
        if (!creds) {
            co_return all(temporary("451 4.7.0 " + creds.error().message));
        }
        options.credentials = std::move(*creds);
        auto lookup = url_endpoints(*state.resolver, *url);
        auto found = co_await std::move(lookup);
        if (!found) {
            co_return all(temporary(found.error().message));
        }
        endpoints = std::move(*found);
    } else {
        const auto domain = domain_of(e.dest);
        std::optional<std::string> self;
        if (action->backup) {
            self = !action->backup_mx.empty() ? action->backup_mx : gen->node;
        }
        auto lookup = mx_endpoints(*state.resolver, domain, self);
        auto found = co_await std::move(lookup);
        if (!found) {
            const auto& error = found.error();
            if (error.code == core::Errc::busy) {
                co_return all(temporary(error.message));
            }
            if (error.code == core::Errc::invalid_argument) {
                co_return all(permanent(error.message));
            }
            if (error.code == core::Errc::not_found) {
                co_return all(
                    permanent("550 5.1.2 domain " + domain + " not found: " + error.message));
            }
            co_return all(temporary("451 4.4.3 DNS for " + domain + ": " + error.message));
        }
        endpoints = std::move(*found);
    }
    auto rcpts = dests_of(envelopes);
    auto sending = send_new(std::move(endpoints), std::move(options), std::move(envelopes),
                            std::move(rcpts), sender, std::move(body), &cache, route, stats, &net);
    co_return co_await std::move(sending);
}

// The `lmtp` delivery method: the local user (or, with `rcpt-to`, the recipient address) to
// an LMTP server, over TCP or a UNIX socket.
asio::awaitable<Outcome> lmtp(RuntimeState& state, const core::config::Action& action, Envelope e,
                              std::shared_ptr<const std::string> body) {
    auto url = core::mta::parse_lmtp_destination(action.destination);
    if (!url) {
        co_return temporary("451 4.3.5 bad lmtp destination: " + url.error().message);
    }
    mta::Options options;
    options.protocol = mta::Protocol::lmtp;
    options.tls = core::mta::TlsMode::none;
    auto lookup = url_endpoints(*state.resolver, *url);
    auto found = co_await std::move(lookup);
    if (!found) {
        co_return temporary(found.error().message);
    }
    std::vector<std::string> rcpts{action.lmtp_rcpt_to ? e.rcpt : e.dest};
    auto sending = send_new(std::move(*found), std::move(options), {e}, std::move(rcpts), e.sender,
                            std::move(body));
    auto outcomes = co_await std::move(sending);
    co_return outcomes.front();
}

// A user of the action's userbase (<getpwnam> by default). Errc::not_found when unknown.
core::Result<core::expand::LocalUser>
find_user(const Generation& gen, const core::config::Action& action, const std::string& name) {
    auto table = action.userbase_table.empty() ? core::table::make_getpwnam_table()
                                               : gen.tables->get(action.userbase_table);
    if (!table) {
        return core::fail(core::Errc::not_found, "no table " + action.userbase_table);
    }
    MXD_TRY_ASSIGN(const auto found,
                   core::table::lookup(*table, core::table::Service::userinfo, name));
    if (!found) {
        return core::fail(core::Errc::not_found, "no user " + name);
    }
    auto user = core::expand::parse_userinfo(name, found->value);
    if (!user) {
        return core::fail(core::Errc::invalid_argument, "bad userinfo for " + name);
    }
    return *user;
}

// A system user by name or, for "", the user mxd runs as.
core::Result<core::expand::LocalUser> system_user(const std::string& name) {
    std::vector<char> buffer(16384);
    passwd pw{};
    passwd* found = nullptr;
    const int rc = name.empty()
                       ? ::getpwuid_r(::geteuid(), &pw, buffer.data(), buffer.size(), &found)
                       : ::getpwnam_r(name.c_str(), &pw, buffer.data(), buffer.size(), &found);
    if (rc != 0 || found == nullptr) {
        return core::fail(core::Errc::not_found,
                          "no system user " + (name.empty() ? std::to_string(::geteuid()) : name));
    }
    return core::expand::LocalUser{pw.pw_name, pw.pw_uid, pw.pw_gid,
                                   pw.pw_dir != nullptr ? pw.pw_dir : "/"};
}

// What a local envelope asks of the MDA: its method, target and users. Blocking (NSS).
core::Result<mda::DeliveryRequest>
local_request(const Generation& gen, const core::config::Action& action, const Envelope& e) {
    using Method = mda::DeliveryRequest::Method;
    mda::DeliveryRequest request;
    request.sender = e.sender;
    request.rcpt = e.rcpt;
    request.dest = e.dest;
    const std::string local_part = e.rcpt.substr(0, e.rcpt.rfind('@'));
    if (const auto tag = local_part.find(gen.config.smtp.sub_addr_delim);
        tag != std::string::npos) {
        request.subaddress = local_part.substr(tag + 1);
    }
    const bool command = e.dest.starts_with("|");
    const bool file = e.dest.starts_with("/");
    if (command || file) {
        // aliases(5) and .forward targets run as the .forward's owner, else the action's
        // `user`, else (as root) an unprivileged user, else as mxd itself.
        std::string who = !e.run_as.empty() ? e.run_as : action.user;
        if (who.empty() && ::geteuid() == 0) {
            who = "nobody";
        }
        MXD_TRY_ASSIGN(request.user, system_user(who));
        if (!who.empty()) {
            request.run_as = request.user;
        }
        request.method = command ? Method::command : Method::file;
        request.target = command ? e.dest.substr(1) : e.dest;
        return request;
    }
    MXD_TRY_ASSIGN(request.user, find_user(gen, action, e.dest));
    if (!action.user.empty()) {
        MXD_TRY_ASSIGN(auto as, system_user(action.user));
        request.run_as = std::move(as);
    }
    switch (action.method) {
    case core::config::Action::Method::mbox:
        request.method = Method::mbox;
        break;
    case core::config::Action::Method::maildir:
        request.method = Method::maildir;
        request.target = action.destination;
        request.junk = action.junk;
        break;
    case core::config::Action::Method::mda:
        request.method = Method::command;
        request.target = action.destination;
        request.wrapper = action.wrapper;
        break;
    default:
        return core::fail(core::Errc::invalid_argument,
                          "action '" + action.name + "' does not deliver locally");
    }
    return request;
}

asio::awaitable<Outcome> local(RuntimeState& state, Workers& workers, mda::Spawner& spawner,
                               Envelope e, std::shared_ptr<const std::string> body) {
    // The configuration of this attempt, whatever a reload does meanwhile.
    const auto gen = state.generation();
    const auto* action = gen->config.find_action(e.action);
    if (action == nullptr) {
        co_return missing_action(e);
    }
    if (action->method == core::config::Action::Method::lmtp && !e.dest.starts_with("|") &&
        !e.dest.starts_with("/")) {
        auto delivery = lmtp(state, *action, std::move(e), std::move(body));
        co_return co_await std::move(delivery);
    }
    auto prepare = [gen, action, e] { return local_request(*gen, *action, e); };
    auto request = co_await workers.run(std::move(prepare));
    if (!request) {
        // An unknown user is for good; anything else (NSS, tables) may pass.
        const bool unknown = request.error().code == core::Errc::not_found;
        co_return Outcome{unknown ? Outcome::Status::permanent : Outcome::Status::temporary,
                          (unknown ? "550 5.1.1 " : "451 4.3.0 ") + request.error().message};
    }
    request->message = *body;
    const auto limit = gen->config.mda.limits.find("max-session-per-user");
    if (limit != gen->config.mda.limits.end() && limit->second > 0) {
        request->max_per_user = static_cast<std::size_t>(limit->second);
    }
    auto delivery = spawner.deliver(std::move(*request));
    const auto result = co_await std::move(delivery);
    switch (result.status) {
    case core::mda::Status::delivered:
        co_return Outcome{Outcome::Status::delivered,
                          "250 2.0.0 delivered" + (result.text.empty() ? "" : ": " + result.text)};
    case core::mda::Status::permanent:
        co_return permanent("550 5.3.0 " + result.text);
    case core::mda::Status::temporary:
        break;
    }
    co_return temporary("451 4.3.0 " + result.text);
}

} // namespace

struct RelayActivity::Impl {
    ConnectionCache cache;
    NetRoutes net;
    std::map<std::pair<std::string, std::string>, RelayRoute> routes; // by action, destination

    // The route of `e`, made on first use; null when its action is not configured.
    RelayRoute* route_of(const RuntimeState& state, const Envelope& e) {
        const auto* action = state.config().find_action(e.action);
        if (action == nullptr) {
            return nullptr;
        }
        const bool via_host = relays_via_host(*action);
        const auto destination = via_host ? action->host : domain_of(e.dest);
        auto& route = routes[{e.action, destination}];
        route.action = e.action;
        route.destination = destination;
        return &route;
    }
};

RelayActivity::RelayActivity() : m_impl(std::make_unique<Impl>()) {}
RelayActivity::~RelayActivity() = default;

std::vector<NetworkRoute> RelayActivity::network_routes() const {
    return m_impl->net.list(m_impl->cache);
}

std::vector<RelayRoute> RelayActivity::routes() const {
    std::vector<RelayRoute> out;
    for (const auto& [key, route] : m_impl->routes) {
        out.push_back(route);
        out.back().idle = m_impl->cache.idle_ending_with("\n" + key.first + "\n" + key.second);
    }
    return out;
}

namespace {

// relay(), with its attempt counted on its route.
asio::awaitable<std::vector<Outcome>> counted_relay(RuntimeState& state,
                                                    std::shared_ptr<RelayActivity> activity,
                                                    std::vector<Envelope> envelopes,
                                                    std::shared_ptr<const std::string> body) {
    auto& impl = activity->impl();
    auto* stats = impl.route_of(state, envelopes.front());
    if (stats != nullptr) {
        ++stats->active;
    }
    auto relaying = relay(state, impl.cache, impl.net, stats, std::move(envelopes), std::move(body));
    auto outcomes = co_await std::move(relaying);
    if (stats != nullptr) {
        --stats->active;
        ++stats->messages;
        stats->last_attempt = static_cast<std::int64_t>(std::time(nullptr));
        // The last error of the transaction: the first recipient's that was not delivered.
        stats->last_error.clear();
        for (const auto& o : outcomes) {
            if (o.status != Outcome::Status::delivered) {
                stats->last_error = o.text;
                break;
            }
        }
    }
    co_return outcomes;
}

} // namespace

RelayAgent make_relay_agent(RuntimeState& state, std::shared_ptr<RelayActivity> activity) {
    RelayAgent agent;
    agent.deliver = [&state, activity](std::vector<Envelope> envelopes,
                                       std::shared_ptr<const std::string> body)
        -> asio::awaitable<std::vector<Outcome>> {
        return counted_relay(state, activity, std::move(envelopes), std::move(body));
    };
    // Envelopes of a message go in one transaction when they have the same action and relay
    // host, or (by MX) the same destination domain.
    agent.route = [&state](const Envelope& e) {
        const auto* action = state.config().find_action(e.action);
        const bool via_host = action != nullptr && relays_via_host(*action);
        return e.action + "\n" + (via_host ? action->host : domain_of(e.dest));
    };
    return agent;
}

core::Result<Deliver> make_local_agent(RuntimeState& state, Workers& workers) {
    mda::SpawnerOptions options;
    options.subaddress_delimiter = state.config().smtp.sub_addr_delim;
    MXD_TRY_ASSIGN(auto opened, mda::Spawner::open(workers, options));
    auto spawner = std::make_shared<mda::Spawner>(std::move(opened));
    return Deliver([&state, &workers,
                    spawner](const Envelope& e,
                             std::shared_ptr<const std::string> body) -> asio::awaitable<Outcome> {
        return local(state, workers, *spawner, e, std::move(body));
    });
}

RouteBounce make_bounce_router(RuntimeState& state) {
    return [&state](const core::queue::NewMessage& bounce,
                    const std::string& recipient) -> core::Result<std::vector<Envelope>> {
        // On a worker thread: the generation is taken once and held for the whole routing.
        const auto gen = state.generation();
        MXD_TRY_ASSIGN(const auto destinations, lookup::route_local(*gen, recipient));
        std::vector<Envelope> out;
        for (const auto& d : destinations) {
            Envelope e;
            e.id = core::queue::EvpId::random(bounce.id);
            e.origin = core::queue::Origin::local;
            e.type = d.type;
            e.sender = "";
            e.rcpt = recipient;
            e.dest = d.dest;
            e.action = d.action;
            e.run_as = d.run_as;
            e.src = "local";
            e.created = bounce.created;
            const auto* action = gen->config.find_action(d.action);
            e.expires = bounce.created +
                        (action != nullptr && action->ttl ? *action->ttl : gen->config.queue.ttl);
            e.next_try = bounce.created;
            out.push_back(std::move(e));
        }
        return out;
    };
}

} // namespace mxd::scheduler
