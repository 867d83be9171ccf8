// SPDX-License-Identifier: ISC
// __complete: the values of the running daemon that shell completion offers (mxctl __complete).
#include "daemon/control/handlers.hpp"

#include "core/util/strings.hpp"
#include "daemon/queue/queue_service.hpp"

namespace mxd::control {

using nlohmann::json;

namespace {

// Ids of each kind in one reply: enough to choose from, and a 100,000-envelope queue costs the
// same two index range reads as a small one.
constexpr std::size_t k_complete_limit = 100;

} // namespace

asio::awaitable<core::Result<json>> handle_complete(Context& context, const json& args) {
    const auto kind = args.at("kind").get<std::string>();
    const auto prefix = core::to_lower(args.value("prefix", ""));
    json values = json::array();
    if (kind == "table") {
        auto& tables = context.state.tables();
        for (const auto& info : tables.list()) {
            if (info.name.starts_with(prefix)) {
                values.push_back(info.name);
            }
        }
        co_return json{{"values", std::move(values)}};
    }
    // queue_id: a prefix that cannot start an id completes to nothing, not to an error.
    if (prefix.size() > 16 || prefix.find_first_not_of("0123456789abcdef") != std::string::npos) {
        co_return json{{"values", std::move(values)}};
    }
    auto queue = context.state.queue;
    auto work = [queue, prefix] { return queue->ids_with_prefix(prefix, k_complete_limit); };
    auto found = co_await context.workers.run(std::move(work));
    if (!found) {
        co_return core::fail(std::move(found).error());
    }
    for (const auto& id : found->msgids) {
        values.push_back(id.hex());
    }
    for (const auto& id : found->evpids) {
        values.push_back(id.hex());
    }
    co_return json{{"values", std::move(values)}};
}

} // namespace mxd::control
