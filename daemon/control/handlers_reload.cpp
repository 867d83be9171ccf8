// SPDX-License-Identifier: ISC
// reload.
#include "daemon/control/handlers.hpp"
#include "daemon/reload.hpp"

namespace mxd::control {

using nlohmann::json;

asio::awaitable<core::Result<json>> handle_reload(Context& context, const json&) {
    if (context.state.reloader == nullptr) {
        co_return core::fail(core::Errc::unsupported, "this daemon cannot reload");
    }
    auto reloading = context.state.reloader->reload();
    auto outcome = co_await std::move(reloading);
    if (!outcome) {
        co_return core::fail(std::move(outcome).error());
    }
    co_return json{{"generation", outcome->generation}, {"config", outcome->config}, {"notes", outcome->notes}};
}

} // namespace mxd::control
