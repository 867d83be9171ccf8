// SPDX-License-Identifier: ISC
#include "daemon/smtp/listener.hpp"

#include "core/util/log.hpp"
#include "core/util/strings.hpp"
#include "daemon/lookup/router.hpp"
#include "daemon/smtp/session.hpp"

#include <asio.hpp>

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <map>
#include <optional>

namespace mxd::smtp {

using asio::ip::tcp;
using core::Errc;
using core::config::Family;

namespace {

bool family_allows(Family family, const asio::ip::address& address) {
    return family == Family::any || (family == Family::inet4 && address.is_v4()) ||
           (family == Family::inet6 && address.is_v6());
}

// The open SMTP sessions, in all and per client address (`smtp limit max-sessions` and
// `max-sessions-per-client`), so that one client cannot take every session. Event loop only.
class SessionCounter : public std::enable_shared_from_this<SessionCounter> {
  public:
    // Holds one session's place; gives it back when destroyed.
    class Slot {
      public:
        Slot(std::shared_ptr<SessionCounter> counter, std::string client)
            : m_counter(std::move(counter)), m_client(std::move(client)) {}
        Slot(Slot&&) = default;
        Slot& operator=(Slot&&) = delete;
        ~Slot() {
            if (m_counter) {
                m_counter->release(m_client);
            }
        }

      private:
        std::shared_ptr<SessionCounter> m_counter;
        std::string m_client;
    };

    // A place for a session from `client`, or nullopt when a limit is reached.
    std::optional<Slot> admit(const std::string& client, long long max_total,
                              long long max_per_client) {
        auto& mine = m_per_client[client];
        if (m_total >= max_total || mine >= max_per_client) {
            if (mine == 0) {
                m_per_client.erase(client);
            }
            return std::nullopt;
        }
        ++mine;
        ++m_total;
        return Slot(shared_from_this(), client);
    }

  private:
    void release(const std::string& client) {
        --m_total;
        if (auto it = m_per_client.find(client); it != m_per_client.end() && --it->second <= 0) {
            m_per_client.erase(it);
        }
    }

    long long m_total = 0;
    std::map<std::string, long long> m_per_client;
};

// Runs one session and gives its place back when it ends.
asio::awaitable<void> serve(tcp::socket socket, asio::ip::address peer,
                            std::shared_ptr<const SessionEnvironment> env, SessionCounter::Slot slot) {
    static_cast<void>(slot);
    co_await run_session(std::move(socket), peer, std::move(env));
}

// Tells a client over a session limit to come back later, without waiting for it (RFC 5321
// 3.8: a server may answer 421 at connection time).
void refuse_busy(tcp::socket& socket, const std::string& hostname) {
    asio::error_code ec;
    const std::string text = "421 4.7.0 " + hostname + " Too many connections, try again later\r\n";
    socket.non_blocking(true, ec);
    static_cast<void>(socket.write_some(asio::buffer(text), ec));
    static_cast<void>(socket.close(ec));
}

} // namespace

core::Result<std::vector<std::string>> listen_addresses(const core::config::Listener& listener) {
    std::vector<std::string> candidates;
    asio::error_code ec;
    const auto literal = asio::ip::make_address(listener.interface, ec);
    if (!ec) {
        candidates.push_back(literal.to_string());
    } else if (listener.interface == "localhost") {
        candidates = {"127.0.0.1", "::1"};
    } else {
        ifaddrs* list = nullptr;
        if (::getifaddrs(&list) != 0) {
            return core::fail(core::Error::from_errno(errno, "getifaddrs"));
        }
        for (auto* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
            if (ifa->ifa_addr == nullptr || listener.interface != ifa->ifa_name) {
                continue;
            }
            char text[INET6_ADDRSTRLEN] = {};
            if (ifa->ifa_addr->sa_family == AF_INET) {
                inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(ifa->ifa_addr)->sin_addr, text,
                          sizeof text);
            } else if (ifa->ifa_addr->sa_family == AF_INET6) {
                const auto* a6 = reinterpret_cast<sockaddr_in6*>(ifa->ifa_addr);
                if (IN6_IS_ADDR_LINKLOCAL(&a6->sin6_addr)) {
                    continue; // would need a scope id; OpenSMTPD skips them too
                }
                inet_ntop(AF_INET6, &a6->sin6_addr, text, sizeof text);
            } else {
                continue;
            }
            candidates.emplace_back(text);
        }
        freeifaddrs(list);
        if (candidates.empty()) {
            return core::fail(Errc::not_found,
                              "no address or interface named '" + listener.interface + "'");
        }
    }
    std::vector<std::string> out;
    for (const auto& c : candidates) {
        if (family_allows(listener.family, asio::ip::make_address(c))) {
            out.push_back(c);
        }
    }
    if (out.empty()) {
        return core::fail(Errc::not_found,
                          "'" + listener.interface + "' has no address of the requested family");
    }
    return out;
}

core::Result<std::vector<std::shared_ptr<ServerTls>>> load_tls(const core::config::Config& config) {
    std::vector<std::shared_ptr<ServerTls>> out(config.listeners.size());
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
        const auto& listener = config.listeners[i];
        if (listener.kind == core::config::Listener::Kind::inet &&
            listener.tls != core::config::Listener::Tls::none) {
            MXD_TRY_ASSIGN(out[i], ServerTls::create(config, listener));
        }
    }
    return out;
}

struct Listeners::Impl : std::enable_shared_from_this<Listeners::Impl> {
    explicit Impl(asio::io_context& io_) : io(io_) {}

    // One bound address of a `listen on` statement.
    struct Socket {
        explicit Socket(asio::io_context& io) : acceptor(io) {}
        tcp::acceptor acceptor;
        std::string address;           // as bound: "127.0.0.1", "::1"
        std::uint16_t configured_port; // the statement's port (0: any), which reload matches on
        std::size_t statement = 0;     // index in the generation's listeners
        std::shared_ptr<const SessionEnvironment> env; // what its next session gets
    };

    asio::io_context& io;
    std::vector<std::shared_ptr<Socket>> sockets;
    std::shared_ptr<const Generation> generation;
    std::vector<std::shared_ptr<ServerTls>> tls; // by statement of `generation`
    std::shared_ptr<SessionCounter> sessions = std::make_shared<SessionCounter>();
    RuntimeState* state = nullptr; // set by start()
    Workers* workers = nullptr;          // set by start()
    Workers* password_checks = nullptr;  // set by start()

    // Binds the statements of `gen`, reusing the sockets of `keep` whose address and port match.
    core::Result<std::vector<std::shared_ptr<Socket>>>
    bind_all(const Generation& gen, std::vector<std::shared_ptr<Socket>>& keep);
    // What every session of `socket` shares under the current generation.
    std::shared_ptr<const SessionEnvironment> environment_for(const Socket& socket) const;
    std::vector<BoundListener> bound() const;
    asio::awaitable<void> accept_loop(std::shared_ptr<Socket> socket);
};

Listeners::Listeners(asio::io_context& io) : m_impl(std::make_shared<Impl>(io)) {}
Listeners::~Listeners() {
    close();
}

core::Result<std::vector<std::shared_ptr<Listeners::Impl::Socket>>>
Listeners::Impl::bind_all(const Generation& gen, std::vector<std::shared_ptr<Socket>>& keep) {
    std::vector<std::shared_ptr<Socket>> out;
    const auto& listeners = gen.config.listeners;
    for (std::size_t index = 0; index < listeners.size(); ++index) {
        const auto& listener = listeners[index];
        if (listener.kind != core::config::Listener::Kind::inet) {
            continue; // `listen on socket` is served with local submission
        }
        MXD_TRY_ASSIGN(const auto addresses, listen_addresses(listener));
        for (const auto& text : addresses) {
            const auto kept = std::find_if(keep.begin(), keep.end(), [&](const auto& k) {
                return k && k->address == text && k->configured_port == listener.port;
            });
            if (kept != keep.end()) {
                (*kept)->statement = index;
                out.push_back(std::move(*kept));
                continue;
            }
            const auto address = asio::ip::make_address(text);
            auto socket = std::make_shared<Socket>(io);
            socket->address = text;
            socket->configured_port = listener.port;
            socket->statement = index;
            auto& acceptor = socket->acceptor;
            const tcp::endpoint endpoint(address, listener.port);
            asio::error_code ec;
            acceptor.open(endpoint.protocol(), ec);
            if (!ec) {
                acceptor.set_option(asio::socket_base::reuse_address(true), ec);
                if (address.is_v6()) {
                    acceptor.set_option(asio::ip::v6_only(true), ec);
                }
                acceptor.bind(endpoint, ec);
            }
            if (!ec) {
                acceptor.listen(asio::socket_base::max_listen_connections, ec);
            }
            if (ec) {
                // `localhost` on a host without IPv6 (some containers): skip its ::1.
                if (address.is_v6() && listener.interface == "localhost" &&
                    (ec == asio::error::address_family_not_supported ||
                     ec.value() == EADDRNOTAVAIL)) {
                    core::log::warning("smtp", "listen-skipped",
                                       {{"address", text}, {"error", ec.message()}});
                    continue;
                }
                return core::fail(Errc::io, "cannot listen on " + text + " port " +
                                                std::to_string(listener.port) + ": " +
                                                ec.message());
            }
            out.push_back(std::move(socket));
        }
    }
    return out;
}

std::vector<BoundListener> Listeners::Impl::bound() const {
    std::vector<BoundListener> out;
    for (const auto& s : sockets) {
        asio::error_code ec;
        const auto endpoint = s->acceptor.local_endpoint(ec);
        out.push_back({s->address, ec ? s->configured_port : endpoint.port(), "smtp"});
    }
    return out;
}

std::shared_ptr<const SessionEnvironment> Listeners::Impl::environment_for(const Socket& socket) const {
    const auto& config = generation->config.listeners[socket.statement];
    return std::make_shared<const SessionEnvironment>(SessionEnvironment{
        *state, generation, config, config.hostname.empty() ? generation->node : config.hostname,
        lookup::local_names(*generation), socket.statement < tls.size() ? tls[socket.statement] : nullptr,
        *workers, *password_checks});
}

core::Result<std::vector<BoundListener>>
Listeners::open(std::shared_ptr<const Generation> generation,
                std::vector<std::shared_ptr<ServerTls>> tls) {
    std::vector<std::shared_ptr<Impl::Socket>> none;
    MXD_TRY_ASSIGN(m_impl->sockets, m_impl->bind_all(*generation, none));
    m_impl->generation = std::move(generation);
    m_impl->tls = std::move(tls);
    return m_impl->bound();
}

void Listeners::start(RuntimeState& state, Workers& workers, Workers& password_checks) {
    m_impl->state = &state;
    m_impl->workers = &workers;
    m_impl->password_checks = &password_checks;
    for (auto& socket : m_impl->sockets) {
        socket->env = m_impl->environment_for(*socket);
        asio::co_spawn(m_impl->io, m_impl->accept_loop(socket), asio::detached);
    }
}

core::Result<std::vector<BoundListener>>
Listeners::reload(std::shared_ptr<const Generation> generation,
                  std::vector<std::shared_ptr<ServerTls>> tls) {
    auto& impl = *m_impl;
    auto keep = impl.sockets;
    auto next = impl.bind_all(*generation, keep);
    if (!next) {
        // The sockets bound for this attempt closed when bind_all failed; the old ones serve on
        // (a kept socket's statement index is set again by the next bind_all that uses it).
        return core::fail(std::move(next).error());
    }
    // What was not kept closes; its accept loop ends and its sessions finish on their own.
    for (auto& old : keep) {
        if (old) {
            asio::error_code ignored;
            static_cast<void>(old->acceptor.close(ignored));
            core::log::info("smtp", "listener-closed", {{"address", old->address}, {"port", old->configured_port}});
        }
    }
    impl.generation = std::move(generation);
    impl.tls = std::move(tls);
    impl.sockets = std::move(*next);
    for (auto& socket : impl.sockets) {
        const bool started = socket->env != nullptr;
        socket->env = impl.environment_for(*socket);
        if (!started) {
            core::log::info("smtp", "listener-opened", {{"address", socket->address}, {"port", socket->configured_port}});
            asio::co_spawn(impl.io, impl.accept_loop(socket), asio::detached);
        }
    }
    return impl.bound();
}

void Listeners::close() {
    asio::error_code ignored;
    for (auto& socket : m_impl->sockets) {
        static_cast<void>(socket->acceptor.close(ignored));
    }
}

asio::awaitable<void> Listeners::Impl::accept_loop(std::shared_ptr<Socket> socket) {
    auto self = shared_from_this();
    auto& acceptor = socket->acceptor;
    for (;;) {
        asio::error_code ec;
        // accept(2) fills in the client's address: no getpeername(2) per connection, which
        // also failed for a client that had reset already.
        asio::ip::tcp::endpoint peer;
        auto client_socket =
            co_await acceptor.async_accept(peer, asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
            co_return;
        }
        if (ec) {
            // Out of descriptors (EMFILE, ENFILE) or memory: wait a little instead of spinning.
            core::log::warning("smtp", "accept-failed", {{"error", ec.message()}});
            asio::steady_timer pause(io, std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        // The environment of the generation in force now: a reload changes it for the next
        // session, never for one that runs.
        auto env = socket->env;
        const std::string client = peer.address().to_string();
        const auto& limits = env->generation->config.smtp;
        auto slot = sessions->admit(client, limits.max_sessions, limits.max_sessions_per_client);
        if (!slot) {
            core::log::info("smtp", "session-refused",
                            {{"address", client}, {"reason", "too many sessions"}});
            refuse_busy(client_socket, env->hostname);
            continue;
        }
        asio::co_spawn(io, serve(std::move(client_socket), peer.address(), std::move(env), std::move(*slot)),
                       asio::detached);
    }
}

} // namespace mxd::smtp
