// SPDX-License-Identifier: ISC
#include "daemon/smtp/listener.hpp"

#include "core/util/log.hpp"
#include "core/util/strings.hpp"
#include "daemon/smtp/session.hpp"

#include <asio.hpp>

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>

namespace mxd::smtp {

using asio::ip::tcp;
using core::Errc;
using core::config::Family;

namespace {

bool family_allows(Family family, const asio::ip::address& address) {
    return family == Family::any || (family == Family::inet4 && address.is_v4()) ||
           (family == Family::inet6 && address.is_v6());
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
                inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(ifa->ifa_addr)->sin_addr, text, sizeof text);
            } else if (ifa->ifa_addr->sa_family == AF_INET6) {
                const auto* a6 = reinterpret_cast<sockaddr_in6*>(ifa->ifa_addr);
                if (IN6_IS_ADDR_LINKLOCAL(&a6->sin6_addr)) {
                    continue;  // would need a scope id; OpenSMTPD skips them too
                }
                inet_ntop(AF_INET6, &a6->sin6_addr, text, sizeof text);
            } else {
                continue;
            }
            candidates.emplace_back(text);
        }
        freeifaddrs(list);
        if (candidates.empty()) {
            return core::fail(Errc::not_found, "no address or interface named '" + listener.interface + "'");
        }
    }
    std::vector<std::string> out;
    for (const auto& c : candidates) {
        if (family_allows(listener.family, asio::ip::make_address(c))) {
            out.push_back(c);
        }
    }
    if (out.empty()) {
        return core::fail(Errc::not_found, "'" + listener.interface + "' has no address of the requested family");
    }
    return out;
}

struct Listeners::Impl : std::enable_shared_from_this<Listeners::Impl> {
    explicit Impl(asio::io_context& io_) : io(io_) {}
    asio::io_context& io;
    std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
    std::vector<core::config::Listener> configs;  // the statement of each acceptor
    std::vector<std::shared_ptr<ServerTls>> tls;   // its TLS context, or null

    asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, std::shared_ptr<const SessionEnvironment> env);
};

Listeners::Listeners(asio::io_context& io) : m_impl(std::make_shared<Impl>(io)) {}
Listeners::~Listeners() { close(); }

core::Result<std::vector<BoundListener>> Listeners::open(const std::vector<core::config::Listener>& listeners) {
    std::vector<BoundListener> bound;
    for (const auto& listener : listeners) {
        if (listener.kind != core::config::Listener::Kind::inet) {
            continue;  // `listen on socket` is served with local submission
        }
        MXD_TRY_ASSIGN(const auto addresses, listen_addresses(listener));
        for (const auto& text : addresses) {
            const auto address = asio::ip::make_address(text);
            auto acceptor = std::make_unique<tcp::acceptor>(m_impl->io);
            const tcp::endpoint endpoint(address, listener.port);
            asio::error_code ec;
            acceptor->open(endpoint.protocol(), ec);
            if (!ec) {
                acceptor->set_option(asio::socket_base::reuse_address(true), ec);
                if (address.is_v6()) {
                    acceptor->set_option(asio::ip::v6_only(true), ec);
                }
                acceptor->bind(endpoint, ec);
            }
            if (!ec) {
                acceptor->listen(asio::socket_base::max_listen_connections, ec);
            }
            if (ec) {
                // `localhost` on a host without IPv6 (some containers): skip its ::1.
                if (address.is_v6() && listener.interface == "localhost" &&
                    (ec == asio::error::address_family_not_supported || ec.value() == EADDRNOTAVAIL)) {
                    core::log::warning("smtp", "listen-skipped", {{"address", text}, {"error", ec.message()}});
                    continue;
                }
                return core::fail(Errc::io, "cannot listen on " + text + " port " +
                                                std::to_string(listener.port) + ": " + ec.message());
            }
            bound.push_back({text, acceptor->local_endpoint().port(), "smtp"});
            m_impl->acceptors.push_back(std::move(acceptor));
            m_impl->configs.push_back(listener);
        }
    }
    return bound;
}

core::Result<void> Listeners::load_tls(const core::config::Config& config) {
    m_impl->tls.assign(m_impl->configs.size(), nullptr);
    for (std::size_t i = 0; i < m_impl->configs.size(); ++i) {
        if (m_impl->configs[i].tls != core::config::Listener::Tls::none) {
            MXD_TRY_ASSIGN(m_impl->tls[i], ServerTls::create(config, m_impl->configs[i]));
        }
    }
    return {};
}

void Listeners::start(RuntimeState& state, Workers& workers) {
    // `for local` matches the machine's names: its host name, localhost, and the names the
    // listeners announce.
    std::set<std::string> local_names{core::to_lower(state.node), "localhost", "localhost.localdomain"};
    for (const auto& c : m_impl->configs) {
        if (!c.hostname.empty()) {
            local_names.insert(core::to_lower(c.hostname));
        }
    }
    for (std::size_t i = 0; i < m_impl->acceptors.size(); ++i) {
        const auto& config = m_impl->configs[i];
        auto env = std::make_shared<const SessionEnvironment>(SessionEnvironment{
            state, config, state.rules, config.hostname.empty() ? state.node : config.hostname, local_names,
            i < m_impl->tls.size() ? m_impl->tls[i] : nullptr, workers});
        asio::co_spawn(m_impl->io, m_impl->accept_loop(*m_impl->acceptors[i], std::move(env)), asio::detached);
    }
}

void Listeners::close() {
    asio::error_code ignored;
    for (auto& acceptor : m_impl->acceptors) {
        static_cast<void>(acceptor->close(ignored));
    }
}

asio::awaitable<void> Listeners::Impl::accept_loop(tcp::acceptor& acceptor, std::shared_ptr<const SessionEnvironment> env) {
    auto self = shared_from_this();
    for (;;) {
        asio::error_code ec;
        auto socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
            co_return;
        }
        if (ec) {
            continue;
        }
        asio::co_spawn(io, run_session(std::move(socket), env), asio::detached);
    }
}

} // namespace mxd::smtp
