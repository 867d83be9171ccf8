// SPDX-License-Identifier: ISC
#include "daemon/dns/resolver.hpp"

#include "core/util/log.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <span>

namespace mxd::dns {

using Clock = std::chrono::steady_clock;
using core::Errc;
using core::dns::RecordType;

namespace {

// A configured nameserver, ready for sockets.
struct Server {
    std::string label; // "192.0.2.1:53", for messages and traces
    asio::ip::address address;
    std::uint16_t port = 53;
};

// We send no EDNS, so servers answer UDP in at most 512 octets (RFC 1035 4.2.1); a larger
// datagram is tolerated up to this size, and one that fills the buffer is taken as cut off.
constexpr std::size_t k_udp_receive_max = 4096;

} // namespace

// What running lookups share with the Resolver: they keep it alive, so a Resolver may go
// away while its lookups finish.
struct Resolver::Shared {
    asio::any_io_executor executor; // of the sockets and timers
    core::dns::ResolvConf conf;
    std::vector<Server> servers;
    std::chrono::milliseconds deadline;
};

namespace {

using RecordsResult = core::Result<std::vector<core::dns::RData>>;
using SharedPtr = std::shared_ptr<const Resolver::Shared>;

void trace(std::string_view event, core::log::Fields fields) {
    MXD_TRACE(core::Subsystem::lookup, {}, event, fields);
}

// Arms `timer` to close `socket` at `deadline`, which ends its pending operation with an
// error. The timer holds the socket weakly: when it fires after the exchange is over and the
// socket is gone, it has nothing to do.
template <typename Socket>
void close_at(asio::steady_timer& timer, const std::shared_ptr<Socket>& socket,
              Clock::time_point deadline) {
    timer.expires_at(deadline);
    timer.async_wait([weak = std::weak_ptr<Socket>(socket)](const asio::error_code& ec) {
        if (ec) {
            return;
        }
        if (auto s = weak.lock()) {
            asio::error_code ignored;
            static_cast<void>(s->close(ignored));
        }
    });
}

std::string failure_text(const asio::error_code& ec, Clock::time_point deadline) {
    if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor ||
        Clock::now() >= deadline) {
        return "timed out";
    }
    return ec.message();
}

// One query over UDP to one server, until a reply that matches it or `deadline`.
asio::awaitable<core::Result<core::dns::Response>>
exchange_udp(const asio::any_io_executor& executor, const Server& server,
             const core::dns::Query& query, Clock::time_point deadline) {
    const asio::ip::udp::endpoint peer(server.address, server.port);
    auto socket = std::make_shared<asio::ip::udp::socket>(executor);
    asio::error_code ec;
    static_cast<void>(socket->open(peer.protocol(), ec));
    // A fresh socket per query, connected: the kernel binds it to a random ephemeral port
    // (RFC 5452 9.2 source port randomisation), drops datagrams from other addresses, and
    // reports an ICMP port unreachable as ECONNREFUSED, so that a dead port fails at once.
    if (!ec) {
        static_cast<void>(socket->connect(peer, ec));
    }
    if (ec) {
        co_return core::fail(Errc::temp_failure, server.label + ": " + ec.message());
    }
    asio::steady_timer timer(executor);
    close_at(timer, socket, deadline);
    co_await socket->async_send(asio::buffer(query.wire),
                                asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        co_return core::fail(Errc::temp_failure, server.label + ": " + failure_text(ec, deadline));
    }
    std::vector<std::uint8_t> buffer(k_udp_receive_max);
    for (;;) {
        asio::ip::udp::endpoint from;
        const std::size_t n = co_await socket->async_receive_from(
            asio::buffer(buffer), from, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            co_return core::fail(Errc::temp_failure,
                                 server.label + ": " + failure_text(ec, deadline));
        }
        // Anything that is not the reply to this query is dropped and the wait goes on, so a
        // spoofed or stray datagram cannot end a lookup (RFC 5452 9.1).
        std::string_view ignored;
        auto response = core::dns::parse_response(std::span(buffer.data(), n));
        if (from != peer) {
            ignored = "wrong source";
        } else if (n == buffer.size()) {
            ignored = "oversized";
        } else if (!response) {
            ignored = "malformed";
        } else if (!core::dns::answers_query(*response, query)) {
            ignored = "wrong id or question";
        }
        if (ignored.empty()) {
            co_return response;
        }
        trace("dns-ignored",
              {{"server", server.label}, {"from", from.address().to_string()}, {"why", ignored}});
    }
}

// The same query over TCP (RFC 1035 4.2.2, RFC 7766), after a truncated UDP reply.
asio::awaitable<core::Result<core::dns::Response>>
exchange_tcp(const asio::any_io_executor& executor, const Server& server,
             const core::dns::Query& query, Clock::time_point deadline) {
    const asio::ip::tcp::endpoint peer(server.address, server.port);
    auto socket = std::make_shared<asio::ip::tcp::socket>(executor);
    asio::error_code ec;
    static_cast<void>(socket->open(peer.protocol(), ec));
    if (ec) {
        co_return core::fail(Errc::temp_failure, server.label + " (tcp): " + ec.message());
    }
    asio::steady_timer timer(executor);
    close_at(timer, socket, deadline);
    co_await socket->async_connect(peer, asio::redirect_error(asio::use_awaitable, ec));
    std::array<std::uint8_t, 2> length{static_cast<std::uint8_t>(query.wire.size() >> 8),
                                       static_cast<std::uint8_t>(query.wire.size() & 0xff)};
    if (!ec) {
        const std::array<asio::const_buffer, 2> out{asio::buffer(length), asio::buffer(query.wire)};
        co_await asio::async_write(*socket, out, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!ec) {
        co_await asio::async_read(*socket, asio::buffer(length),
                                  asio::redirect_error(asio::use_awaitable, ec));
    }
    // The 16-bit length prefix bounds the reply to k_tcp_message_max octets.
    std::vector<std::uint8_t> buffer(static_cast<std::size_t>(length[0] << 8 | length[1]));
    if (!ec) {
        co_await asio::async_read(*socket, asio::buffer(buffer),
                                  asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) {
        co_return core::fail(Errc::temp_failure,
                             server.label + " (tcp): " + failure_text(ec, deadline));
    }
    auto response = core::dns::parse_response(buffer);
    if (!response) {
        co_return core::fail(Errc::temp_failure,
                             server.label + " (tcp): " + response.error().message);
    }
    if (!core::dns::answers_query(*response, query)) {
        co_return core::fail(Errc::temp_failure,
                             server.label + " (tcp): reply does not match the query");
    }
    co_return response;
}

// Asks the servers in turn, `attempts` rounds, until one gives an answer that settles the
// question (NOERROR or NXDOMAIN), or `deadline`.
asio::awaitable<core::Result<core::dns::Response>>
resolve(SharedPtr shared, std::string name, RecordType type, Clock::time_point deadline) {
    const auto type_name = core::dns::record_type_name(type);
    std::string last = "no usable nameserver";
    for (int attempt = 0; attempt < shared->conf.attempts; ++attempt) {
        for (const auto& server : shared->servers) {
            if (Clock::now() >= deadline) {
                co_return core::fail(Errc::temp_failure,
                                     name + " " + type_name + ": deadline reached, " + last);
            }
            // A new id for every try: a late reply to an earlier try cannot be mistaken for
            // this one, and its socket is closed anyway.
            auto query = core::dns::make_query(name, type);
            if (!query) {
                co_return core::fail(std::move(query).error());
            }
            const auto try_deadline = std::min(deadline, Clock::now() + shared->conf.timeout);
            trace("dns-query", {{"name", name},
                                {"type", type_name},
                                {"server", server.label},
                                {"id", query->id},
                                {"proto", "udp"}});
            auto response = co_await exchange_udp(shared->executor, server, *query, try_deadline);
            if (response && response->truncated) {
                trace("dns-truncated", {{"name", name}, {"type", type_name}, {"id", query->id}});
                const auto tcp_deadline = std::min(deadline, Clock::now() + shared->conf.timeout);
                response = co_await exchange_tcp(shared->executor, server, *query, tcp_deadline);
            }
            if (!response) {
                last = response.error().message;
                trace("dns-failed", {{"name", name}, {"type", type_name}, {"error", last}});
                continue;
            }
            trace("dns-reply", {{"name", name},
                                {"type", type_name},
                                {"server", server.label},
                                {"rcode", core::dns::rcode_name(response->rcode)},
                                {"answers", response->answers.size()}});
            if (response->rcode == core::dns::Rcode::noerror ||
                response->rcode == core::dns::Rcode::nxdomain) {
                co_return response;
            }
            // SERVFAIL, REFUSED, NOTIMP, FORMERR: another server may do better (as glibc).
            last = server.label + " answered " + core::dns::rcode_name(response->rcode);
        }
    }
    co_return core::fail(Errc::temp_failure, name + " " + type_name + ": " + last);
}

asio::awaitable<RecordsResult> lookup_records(SharedPtr shared, std::string name, RecordType type,
                                              Clock::time_point deadline) {
    // Check the name first, so that a bad one is invalid_argument and not a temp_failure.
    auto probe = core::dns::make_query(name, type, 0);
    if (!probe) {
        co_return core::fail(std::move(probe).error());
    }
    auto response = co_await resolve(shared, probe->question.name, type, deadline);
    if (!response) {
        co_return core::fail(std::move(response).error());
    }
    if (response->rcode == core::dns::Rcode::nxdomain) {
        co_return core::fail(Errc::not_found, probe->question.name + ": no such domain");
    }
    auto answer = core::dns::find_answer(*response, probe->question.name, type);
    if (!answer) {
        co_return core::fail(Errc::temp_failure, answer.error().message);
    }
    co_return std::move(answer->data);
}

// The results of tasks that run at once; see all_of().
template <typename T> struct Gather {
    Gather(const asio::any_io_executor& executor, std::size_t n)
        : done(executor, asio::steady_timer::time_point::max()), results(n), pending(n) {}
    asio::steady_timer done; // cancelled when the last task ends
    std::vector<std::optional<T>> results;
    std::size_t pending;
    std::exception_ptr error;
};

template <typename T>
asio::awaitable<void> collect(asio::awaitable<T> task, std::shared_ptr<Gather<T>> state,
                              std::size_t index) {
    try {
        state->results[index].emplace(co_await std::move(task));
    } catch (...) {
        state->error = std::current_exception();
    }
    if (--state->pending == 0) {
        state->done.cancel();
    }
}

// Runs `tasks` at once and returns their results in order when all have ended. Each task
// is bounded by its own deadline, and so is this. (Not asio's parallel_group: co_spawn's
// handler needs a default-constructible result, which core::Result is not.)
template <typename T>
asio::awaitable<std::vector<T>> all_of(std::vector<asio::awaitable<T>> tasks) {
    const auto executor = co_await asio::this_coro::executor;
    auto state = std::make_shared<Gather<T>>(executor, tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        asio::co_spawn(executor, collect(std::move(tasks[i]), state, i), asio::detached);
    }
    // co_spawn only starts the tasks after a post, so none can have ended yet, and the
    // cancel() of the last one finds this wait in place.
    if (state->pending > 0) {
        asio::error_code ignored;
        co_await state->done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    if (state->error) {
        std::rethrow_exception(state->error);
    }
    std::vector<T> out;
    out.reserve(state->results.size());
    for (auto& result : state->results) {
        out.push_back(std::move(*result));
    }
    co_return out;
}

// An IPv4-mapped IPv6 address (::ffff:192.0.2.1, how a dual-stack socket shows an IPv4
// peer) as the IPv4 address it stands for; other addresses unchanged.
asio::ip::address unmapped(const asio::ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    return address;
}

std::string reverse_name_of(const asio::ip::address& address) {
    if (address.is_v4()) {
        return core::dns::reverse_name(core::dns::Ipv4{address.to_v4().to_bytes()});
    }
    return core::dns::reverse_name(core::dns::Ipv6{address.to_v6().to_bytes()});
}

std::vector<asio::ip::address> to_addresses(const std::vector<core::dns::RData>& data) {
    std::vector<asio::ip::address> out;
    for (const auto& item : data) {
        if (const auto* v4 = std::get_if<core::dns::Ipv4>(&item)) {
            out.emplace_back(asio::ip::address_v4(v4->bytes));
        } else if (const auto* v6 = std::get_if<core::dns::Ipv6>(&item)) {
            out.emplace_back(asio::ip::address_v6(v6->bytes));
        }
    }
    return out;
}

asio::awaitable<core::Result<std::vector<asio::ip::address>>> lookup_addresses(SharedPtr shared,
                                                                               std::string name) {
    const auto deadline = Clock::now() + shared->deadline;
    std::vector<asio::awaitable<RecordsResult>> tasks;
    tasks.push_back(lookup_records(shared, name, RecordType::a, deadline));
    tasks.push_back(lookup_records(shared, name, RecordType::aaaa, deadline));
    auto results = co_await all_of(std::move(tasks));
    std::vector<asio::ip::address> out;
    const core::Error* temp = nullptr;
    const core::Error* other = nullptr;
    bool some_data = false;
    for (const auto& result : results) {
        if (result) {
            some_data = true;
            const auto addresses = to_addresses(*result);
            out.insert(out.end(), addresses.begin(), addresses.end());
        } else if (result.error().code == Errc::temp_failure) {
            temp = &result.error();
        } else {
            other = &result.error();
        }
    }
    if (!out.empty()) {
        co_return out;
    }
    // No address: a temporary failure of either family means we cannot say there is none.
    if (temp != nullptr) {
        co_return core::fail(*temp);
    }
    if (!some_data && other != nullptr) {
        co_return core::fail(*other);
    }
    co_return out;
}

asio::awaitable<core::Result<std::vector<std::string>>>
lookup_ptr(SharedPtr shared, asio::ip::address address, Clock::time_point deadline) {
    auto result = co_await lookup_records(shared, reverse_name_of(unmapped(address)),
                                          RecordType::ptr, deadline);
    if (!result) {
        co_return core::fail(std::move(result).error());
    }
    std::vector<std::string> names;
    for (const auto& item : *result) {
        if (const auto* target = std::get_if<core::dns::Target>(&item)) {
            names.push_back(target->name);
        }
    }
    co_return names;
}

asio::awaitable<core::Result<std::vector<std::string>>> lookup_ptr_now(SharedPtr shared,
                                                                       asio::ip::address address) {
    const auto deadline = Clock::now() + shared->deadline;
    co_return co_await lookup_ptr(shared, address, deadline);
}

asio::awaitable<core::Result<std::vector<MxHost>>> lookup_mx(SharedPtr shared, std::string domain) {
    const auto deadline = Clock::now() + shared->deadline;
    auto result = co_await lookup_records(shared, domain, RecordType::mx, deadline);
    if (!result) {
        co_return core::fail(std::move(result).error());
    }
    std::vector<MxHost> hosts;
    for (const auto& item : *result) {
        if (const auto* mx = std::get_if<core::dns::Mx>(&item)) {
            hosts.push_back(MxHost{mx->preference, mx->exchange});
        }
    }
    // Equal preferences keep the server's order; RFC 5321 5.1 asks the client (the relay)
    // to randomise among them.
    std::stable_sort(hosts.begin(), hosts.end(),
                     [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
    co_return hosts;
}

asio::awaitable<core::Result<std::optional<std::string>>> lookup_fcrdns(SharedPtr shared,
                                                                        asio::ip::address address) {
    const auto deadline = Clock::now() + shared->deadline;
    const auto peer = unmapped(address);
    auto names = co_await lookup_ptr(shared, peer, deadline);
    if (!names) {
        if (names.error().code == Errc::not_found) {
            co_return std::optional<std::string>{};
        }
        co_return core::fail(std::move(names).error());
    }
    // Names that cannot be asked for (escaped octets, say) cannot confirm anything.
    std::vector<std::string> candidates;
    for (const auto& name : *names) {
        if (candidates.size() < k_fcrdns_names_max &&
            core::dns::make_query(name, RecordType::a, 0)) {
            candidates.push_back(name);
        }
    }
    const auto type = peer.is_v4() ? RecordType::a : RecordType::aaaa;
    std::vector<asio::awaitable<RecordsResult>> tasks;
    for (const auto& name : candidates) {
        tasks.push_back(lookup_records(shared, name, type, deadline));
    }
    auto results = co_await all_of(std::move(tasks));
    const core::Error* temp = nullptr;
    for (std::size_t i = 0; i < results.size(); ++i) {
        if (!results[i]) {
            if (results[i].error().code == Errc::temp_failure) {
                temp = &results[i].error();
            }
            continue;
        }
        for (const auto& forward : to_addresses(*results[i])) {
            if (forward == peer) {
                co_return std::optional<std::string>(candidates[i]);
            }
        }
    }
    if (temp != nullptr) {
        co_return core::fail(*temp);
    }
    co_return std::optional<std::string>{};
}

asio::awaitable<RecordsResult> lookup_records_now(SharedPtr shared, std::string name,
                                                  RecordType type) {
    const auto deadline = Clock::now() + shared->deadline;
    co_return co_await lookup_records(shared, std::move(name), type, deadline);
}

} // namespace

Resolver::Resolver(asio::any_io_executor executor, core::dns::ResolvConf conf,
                   std::chrono::milliseconds deadline) {
    auto shared = std::make_shared<Shared>();
    shared->executor = std::move(executor);
    for (const auto& ns : conf.nameservers) {
        asio::error_code ec;
        // make_address understands "fe80::1%eth0" scopes.
        const auto address = asio::ip::make_address(ns.address, ec);
        if (ec) {
            core::log::warning(
                "lookup", "nameserver",
                {{"server", ns.to_string()}, {"error", ec.message() + ", ignoring"}});
            continue;
        }
        shared->servers.push_back(Server{ns.to_string(), address, ns.port});
    }
    shared->conf = std::move(conf);
    shared->deadline = deadline;
    m_shared = std::move(shared);
}

Resolver Resolver::from_system(asio::any_io_executor executor) {
    const char* env = std::getenv("MXD_RESOLV_CONF");
    const std::filesystem::path path =
        env != nullptr && *env != '\0' ? env : core::dns::k_resolv_conf_path;
    auto conf = core::dns::load_resolv_conf(path);
    if (!conf) {
        core::log::warning(
            "lookup", "resolv-conf",
            {{"file", path.string()}, {"error", conf.error().message + ", using 127.0.0.1:53"}});
        conf = core::dns::parse_resolv_conf({});
    }
    for (const auto& warning : conf->warnings) {
        core::log::warning("lookup", "resolv-conf",
                           {{"file", path.string()}, {"problem", warning}});
    }
    return Resolver(std::move(executor), std::move(*conf));
}

const core::dns::ResolvConf& Resolver::conf() const {
    return m_shared->conf;
}

// The public lookups are plain functions that hand a copy of the shared state to a
// coroutine, so a lookup never touches `this` once started.
asio::awaitable<core::Result<std::vector<asio::ip::address>>>
Resolver::addresses(std::string name) const {
    return lookup_addresses(m_shared, std::move(name));
}

asio::awaitable<core::Result<std::vector<std::string>>>
Resolver::ptr(asio::ip::address address) const {
    return lookup_ptr_now(m_shared, address);
}

asio::awaitable<core::Result<std::vector<MxHost>>> Resolver::mx(std::string domain) const {
    return lookup_mx(m_shared, std::move(domain));
}

asio::awaitable<core::Result<std::optional<std::string>>>
Resolver::forward_confirmed(asio::ip::address address) const {
    return lookup_fcrdns(m_shared, address);
}

asio::awaitable<core::Result<std::vector<core::dns::RData>>>
Resolver::records(std::string name, core::dns::RecordType type) const {
    return lookup_records_now(m_shared, std::move(name), type);
}

} // namespace mxd::dns
