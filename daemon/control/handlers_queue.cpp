// SPDX-License-Identifier: ISC
// show queue.
#include "daemon/control/handlers.hpp"
#include "daemon/scheduler/scheduler.hpp"

#include "core/queue/envelope.hpp"
#include "core/util/strings.hpp"
#include "core/util/time.hpp"
#include "daemon/queue/queue_service.hpp"

#include <ctime>

namespace mxd::control {

using nlohmann::json;

namespace {

// Envelopes read per trip to a worker thread: memory stays constant whatever the queue's size.
constexpr std::size_t k_page_size = 1000;

json flags_list(unsigned flags) {
    json out = json::array();
    for (auto name : core::split(core::queue::flags_text(flags), ',')) {
        if (!name.empty()) {
            out.push_back(name);
        }
    }
    return out;
}

std::string rfc3339_or_null(std::int64_t t) {
    return t == 0 ? std::string{} : core::format_rfc3339(std::chrono::system_clock::from_time_t(static_cast<std::time_t>(t)));
}

// One item: the smtpctl line for people, and the fields for -j (mxctl(8) lists them).
json item_of(const core::queue::Envelope& e, std::int64_t now, const std::string& runstate) {
    return json{{"line", core::queue::show_queue_line(e, runstate, now)},
                {"evpid", e.id.hex()},
                {"msgid", e.id.msgid().hex()},
                {"origin", core::queue::origin_name(e.origin)},
                {"type", core::queue::delivery_type_name(e.type)},
                {"flags", flags_list(e.flags)},
                {"sender", e.sender},
                {"rcpt", e.rcpt},
                {"dest", e.dest},
                {"action", e.action},
                {"created", rfc3339_or_null(e.created)},
                {"expires", rfc3339_or_null(e.expires)},
                {"last_try", e.last_try == 0 ? json(nullptr) : json(rfc3339_or_null(e.last_try))},
                {"next_try", rfc3339_or_null(e.next_try)},
                {"retries", e.retries},
                {"runstate", runstate},
                {"last_error", e.last_error}};
}

} // namespace

asio::awaitable<core::Result<json>> handle_show_queue(Context& context, const json&) {
    auto queue = context.state.queue;
    std::optional<core::queue::EvpId> after;
    std::size_t count = 0;
    for (;;) {
        auto work = [queue, after] { return queue->page(after, k_page_size); };
        auto page = co_await context.workers.run(std::move(work));
        if (!page) {
            co_return core::fail(std::move(page).error());
        }
        const auto now = static_cast<std::int64_t>(std::time(nullptr));
        for (const auto& e : *page) {
            const std::string runstate = context.state.scheduler ? context.state.scheduler->runstate(e.id) : "pending";
            // g++ 12 destroys temporaries inside a co_await expression twice: build it first,
            // and keep the item alive while emit (which takes a reference) runs.
            const auto item = item_of(e, now, runstate);
            auto sending = context.emit(item);
            if (!co_await std::move(sending)) {
                co_return json{{"count", count}};
            }
            ++count;
        }
        if (page->size() < k_page_size) {
            break;
        }
        after = page->back().id;
    }
    co_return json{{"count", count}};
}

} // namespace mxd::control
