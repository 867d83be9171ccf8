// SPDX-License-Identifier: ISC
// show relays and show routes.
#include "daemon/control/handlers.hpp"
#include "daemon/scheduler/agents.hpp"

#include <ctime>

namespace mxd::control {

using nlohmann::json;

asio::awaitable<core::Result<json>> handle_show_relays(Context& context, const json&) {
    std::size_t count = 0;
    if (!context.state.relay_activity) {
        co_return json{{"count", count}};
    }
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    const auto ago = [now](std::int64_t at) { return at == 0 ? json(nullptr) : json(now - at); };
    for (const auto& route : context.state.relay_activity->routes()) {
        const json item{{"action", route.action},
                        {"destination", route.destination},
                        {"active", route.active},
                        {"idle", route.idle},
                        {"connections", route.connections},
                        {"messages", route.messages},
                        {"last_connection_ago", ago(route.last_connection)},
                        {"last_attempt_ago", ago(route.last_attempt)},
                        {"last_error", route.last_error}};
        // g++ 12: the awaitable is built first, and the item stays alive while it is sent.
        auto sending = context.emit(item);
        if (!co_await std::move(sending)) {
            break;
        }
        ++count;
    }
    co_return json{{"count", count}};
}

asio::awaitable<core::Result<json>> handle_show_routes(Context& context, const json&) {
    std::size_t count = 0;
    if (!context.state.relay_activity) {
        co_return json{{"count", count}};
    }
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    const auto text_or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
    for (const auto& route : context.state.relay_activity->network_routes()) {
        // OpenSMTPD's route flags, as far as mxd has them: new (never connected), disabled
        // (failing: a penalty), keepalive (an idle connection waits).
        std::string state = route.connections == 0 ? "new" : "ok";
        if (route.penalty > 0) {
            state = "failing";
        }
        const json item{{"id", route.id},
                        {"source", text_or_null(route.source)},
                        {"local_address", text_or_null(route.local)},
                        {"address", route.address},
                        {"port", route.port},
                        {"host", text_or_null(route.host)},
                        {"state", state},
                        {"active", route.active},
                        {"idle", route.idle},
                        {"connections", route.connections},
                        {"errors", route.errors},
                        {"penalty", route.penalty},
                        {"last_used_ago", now - route.last_used},
                        {"last_error", route.last_error}};
        // g++ 12: the awaitable is built first, and the item stays alive while it is sent.
        auto sending = context.emit(item);
        if (!co_await std::move(sending)) {
            break;
        }
        ++count;
    }
    co_return json{{"count", count}};
}

} // namespace mxd::control
