// SPDX-License-Identifier: ISC
// show relays.
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

} // namespace mxd::control
