// SPDX-License-Identifier: ISC
// mailq: the queue by message, as mailq(1) users read it.
#include "daemon/control/handlers.hpp"

#include "core/queue/envelope.hpp"
#include "core/util/time.hpp"
#include "daemon/queue/queue_service.hpp"
#include "daemon/scheduler/scheduler.hpp"

#include <pwd.h>

#include <ctime>

namespace mxd::control {

using core::queue::Envelope;
using nlohmann::json;

namespace {

// Envelopes read per trip to a worker thread: memory stays constant whatever the queue's size.
constexpr std::size_t k_page_size = 1000;

// The envelopes of one message, in queue order.
struct Group {
    core::queue::MsgId msgid;
    std::vector<Envelope> envelopes;
};

std::string rfc3339(std::int64_t t) {
    return core::format_rfc3339(
        std::chrono::system_clock::from_time_t(static_cast<std::time_t>(t)));
}

// One item: a message, its sender and the recipients still queued (mxctl(8) lists the fields).
json item_of(const Group& group, std::size_t size, const RuntimeState& state) {
    const auto& first = group.envelopes.front();
    json recipients = json::array();
    bool active = false;
    bool held = false;
    for (const auto& e : group.envelopes) {
        const bool inflight = state.scheduler && state.scheduler->runstate(e.id) == "inflight";
        active = active || inflight;
        held = held || (e.flags & core::queue::k_flag_hold) != 0;
        recipients.push_back({{"evpid", e.id.hex()},
                              {"rcpt", e.rcpt},
                              {"dest", e.dest},
                              {"retries", e.retries},
                              {"runstate", inflight ? "inflight" : "pending"},
                              {"last_error", e.last_error}});
    }
    return json{{"msgid", group.msgid.hex()},
                {"size", size},
                {"created", rfc3339(first.created)},
                {"sender", first.sender},
                {"origin", core::queue::origin_name(first.origin)},
                {"user", first.origin == core::queue::Origin::local ? json(first.auth_user)
                                                                    : json(nullptr)},
                {"active", active},
                {"held", held},
                {"recipients", recipients}};
}

} // namespace

asio::awaitable<core::Result<json>> handle_mailq(Context& context, const json&) {
    auto queue = context.state.queue;
    // Without read access, a user sees what they submitted locally: the envelopes that record
    // their login name (daemon/submit). NSS blocks, so the name comes from a worker.
    std::optional<std::string> only;
    if (!allows(context.peer.access, core::protocol::Access::read)) {
        auto lookup = [uid = context.peer.uid]() -> std::string {
            passwd pw{};
            passwd* found = nullptr;
            std::vector<char> buffer(16384);
            if (::getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) != 0 ||
                found == nullptr) {
                return {};
            }
            return pw.pw_name;
        };
        auto op = context.workers.run(std::move(lookup));
        only = co_await std::move(op);
    }
    auto mine = [&only](const Envelope& e) {
        return !only ||
               (!only->empty() && e.origin == core::queue::Origin::local && e.auth_user == *only);
    };
    std::optional<core::queue::EvpId> after;
    std::optional<Group> current;
    std::size_t messages = 0;
    std::size_t envelopes = 0;
    std::size_t bytes = 0;
    for (bool last = false; !last;) {
        auto work = [queue, after] { return queue->page(after, k_page_size); };
        auto reading = context.workers.run(std::move(work));
        auto page = co_await std::move(reading);
        if (!page) {
            co_return core::fail(std::move(page).error());
        }
        last = page->size() < k_page_size;
        if (!page->empty()) {
            after = page->back().id;
        }
        // Envelope ids start with their message id, so a message's envelopes are adjacent.
        std::vector<Group> ready;
        for (auto& e : *page) {
            if (!mine(e)) {
                continue;
            }
            if (current && current->msgid != e.id.msgid()) {
                ready.push_back(std::move(*current));
                current.reset();
            }
            if (!current) {
                current = Group{e.id.msgid(), {}};
            }
            current->envelopes.push_back(std::move(e));
        }
        if (last && current) {
            ready.push_back(std::move(*current));
            current.reset();
        }
        if (ready.empty()) {
            continue;
        }
        std::vector<core::queue::MsgId> ids;
        for (const auto& g : ready) {
            ids.push_back(g.msgid);
        }
        auto measure = [queue, ids]() {
            std::vector<std::size_t> sizes;
            for (const auto id : ids) {
                auto body = queue->message_body(id);
                sizes.push_back(body && *body ? (*body)->size() : 0);
            }
            return sizes;
        };
        auto measuring = context.workers.run(std::move(measure));
        const auto sizes = co_await std::move(measuring);
        for (std::size_t i = 0; i < ready.size(); ++i) {
            // g++ 12 destroys temporaries inside a co_await expression twice: build it first.
            const auto item = item_of(ready[i], sizes[i], context.state);
            auto sending = context.emit(item);
            if (!co_await std::move(sending)) {
                co_return json{{"messages", messages}, {"envelopes", envelopes}, {"bytes", bytes}};
            }
            ++messages;
            envelopes += ready[i].envelopes.size();
            bytes += sizes[i];
        }
    }
    co_return json{{"messages", messages}, {"envelopes", envelopes}, {"bytes", bytes}};
}

} // namespace mxd::control
