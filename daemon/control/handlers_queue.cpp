// SPDX-License-Identifier: ISC
// show queue, show envelope, show message, and the queue operations (schedule, remove, pause
// envelope, resume envelope). Every one selects envelopes through core::queue::Filter.
#include "daemon/control/handlers.hpp"
#include "daemon/scheduler/scheduler.hpp"

#include "core/queue/envelope.hpp"
#include "core/queue/filter.hpp"
#include "core/smtp/sasl.hpp"
#include "core/util/strings.hpp"
#include "core/util/time.hpp"
#include "daemon/queue/queue_service.hpp"

#include <algorithm>
#include <ctime>

namespace mxd::control {

using core::Errc;
using core::queue::Envelope;
using core::queue::EvpId;
using core::queue::Filter;
using nlohmann::json;

namespace {

// Envelopes read per trip to a worker thread: memory stays constant whatever the queue's size.
constexpr std::size_t k_page_size = 1000;

// Raw message bytes per item of show message: 48 KiB is 64 KiB of base64, far below the
// protocol's 1 MiB line limit.
constexpr std::size_t k_message_chunk = 48 * 1024;

json flags_list(unsigned flags) {
    json out = json::array();
    const auto names = core::queue::flags_text(flags);  // split's views point into it
    for (auto name : core::split(names, ',')) {
        if (!name.empty()) {
            out.push_back(name);
        }
    }
    return out;
}

std::string rfc3339_or_null(std::int64_t t) {
    return t == 0 ? std::string{} : core::format_rfc3339(std::chrono::system_clock::from_time_t(static_cast<std::time_t>(t)));
}

std::int64_t unix_now() {
    return static_cast<std::int64_t>(std::time(nullptr));
}

// Brings `e`, as read from the queue, up to what the scheduler knows of it now (its next try,
// which `schedule` changes in memory only) and returns its run state.
std::string live_state_of(const RuntimeState& state, Envelope& e) {
    if (!state.scheduler) {
        return "pending";
    }
    if (const auto next = state.scheduler->next_try(e.id)) {
        e.next_try = *next;
    }
    return state.scheduler->runstate(e.id);
}

// One item: the smtpctl line for people, and the fields for -j (mxctl(8) lists them).
// item_text_of writes the same object as text for show queue: change both together.
json item_of(const Envelope& e, std::int64_t now, const std::string& runstate) {
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

// Appends `s` to `out` as a JSON string, the bytes nlohmann's dump writes for it: printable
// ASCII without quote or backslash as is, anything else (escapes, UTF-8, invalid bytes)
// through nlohmann itself.
void append_json_string(std::string& out, std::string_view s) {
    const bool plain = std::all_of(s.begin(), s.end(), [](char c) {
        return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
    });
    if (plain) {
        out += '"';
        out += s;
        out += '"';
        return;
    }
    out += json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// item_of's object as JSON text, the very bytes of its dump (keys in nlohmann's sorted order),
// without building a json object per envelope: what show queue streams.
std::string item_text_of(const Envelope& e, std::int64_t now, const std::string& runstate) {
    std::string out;
    out.reserve(640);
    auto key = [&out](std::string_view name) {
        out += out.empty() ? "{\"" : ",\"";
        out += name;
        out += "\":";
    };
    auto text = [&](std::string_view name, std::string_view value) {
        key(name);
        append_json_string(out, value);
    };
    text("action", e.action);
    text("created", rfc3339_or_null(e.created));
    text("dest", e.dest);
    text("evpid", e.id.hex());
    text("expires", rfc3339_or_null(e.expires));
    key("flags");
    out += '[';
    bool first = true;
    const auto flags = core::queue::flags_text(e.flags);  // split's views point into it
    for (auto name : core::split(flags, ',')) {
        if (!name.empty()) {
            out += first ? "" : ",";
            append_json_string(out, name);
            first = false;
        }
    }
    out += ']';
    text("last_error", e.last_error);
    key("last_try");
    if (e.last_try == 0) {
        out += "null";
    } else {
        append_json_string(out, rfc3339_or_null(e.last_try));
    }
    text("line", core::queue::show_queue_line(e, runstate, now));
    text("msgid", e.id.msgid().hex());
    text("next_try", rfc3339_or_null(e.next_try));
    text("origin", core::queue::origin_name(e.origin));
    text("rcpt", e.rcpt);
    key("retries");
    out += std::to_string(e.retries);
    text("runstate", runstate);
    text("sender", e.sender);
    text("type", core::queue::delivery_type_name(e.type));
    out += '}';
    return out;
}

// The filter of a request (its arguments were checked against the command table).
core::Result<Filter> filter_of(const json& args) {
    core::queue::FilterSpec spec;
    spec.id = args.value("id", "");
    spec.sender = args.value("sender", "");
    spec.rcpt = args.value("rcpt", "");
    spec.domain = args.value("domain", "");
    spec.older_than = args.value("older_than", "");
    spec.state = args.value("state", "");
    return Filter::parse(spec);
}

// Reads the queued envelopes a filter may select, page by page on a worker thread: only the
// named envelope or the named message's when the filter has an id, every one otherwise.
class Pager {
public:
    Pager(Context& context, const Filter& filter) : m_context(context), m_filter(filter) {
        // A message's envelopes are consecutive in evpid order, after its id with a zero low half.
        if (const auto msgid = filter.msgid(); msgid && !filter.evpid()) {
            m_after = EvpId(static_cast<std::uint64_t>(msgid->value()) << 32);
        }
    }

    // The next page; empty when there is no more. Fails with the store's error, or with
    // Errc::io when the client went away while the previous page was sent.
    asio::awaitable<core::Result<std::vector<Envelope>>> next() {
        if (m_done) {
            co_return std::vector<Envelope>{};
        }
        // The items of the previous page go out before the trip to the worker: the first lines
        // reach the client before the last envelope is read.
        auto flushing = m_context.flush();
        if (!co_await std::move(flushing)) {
            co_return core::fail(Errc::io, "the client closed the connection");
        }
        auto queue = m_context.state.queue;
        if (const auto evpid = m_filter.evpid()) {
            m_done = true;
            auto work = [queue, id = *evpid] { return queue->envelope(id); };
            auto one = co_await m_context.workers.run(std::move(work));
            if (!one) {
                co_return core::fail(std::move(one).error());
            }
            std::vector<Envelope> page;
            if (*one) {
                page.push_back(std::move(**one));
            }
            co_return page;
        }
        auto work = [queue, after = m_after] { return queue->page(after, k_page_size); };
        auto page = co_await m_context.workers.run(std::move(work));
        if (!page) {
            co_return core::fail(std::move(page).error());
        }
        m_done = page->size() < k_page_size;
        if (!page->empty()) {
            m_after = page->back().id;
        }
        if (const auto msgid = m_filter.msgid()) {
            // Past the message's last envelope: the rest belongs to other messages.
            const auto end = std::find_if(page->begin(), page->end(),
                                          [&](const Envelope& e) { return e.id.msgid() != *msgid; });
            if (end != page->end()) {
                page->erase(end, page->end());
                m_done = true;
            }
        }
        co_return std::move(*page);
    }

private:
    Context& m_context;
    const Filter& m_filter;
    std::optional<EvpId> m_after;
    bool m_done = false;
};

// "envelope 0c1d2e3f4a5b6c7d", "message 0c1d2e3f" or "" (all, filters): what an id names.
std::string named(const Filter& filter) {
    if (const auto evpid = filter.evpid()) {
        return "envelope " + evpid->hex();
    }
    if (const auto msgid = filter.msgid()) {
        return "message " + msgid->hex();
    }
    return {};
}

// The queue operations, and what their log lines and replies call them.
enum class QueueOp { schedule, remove, hold, release };

std::string_view op_name(QueueOp op) {
    switch (op) {
    case QueueOp::schedule:
        return "schedule";
    case QueueOp::remove:
        return "remove";
    case QueueOp::hold:
        return "pause-envelope";
    case QueueOp::release:
        return "resume-envelope";
    }
    return "?";
}

} // namespace

asio::awaitable<core::Result<json>> handle_show_queue(Context& context, const json& args) {
    auto filter = filter_of(args);
    if (!filter) {
        co_return core::fail(std::move(filter).error());
    }
    Pager pager(context, *filter);
    std::size_t count = 0;
    for (;;) {
        auto page = co_await pager.next();
        if (!page) {
            co_return core::fail(std::move(page).error());
        }
        if (page->empty()) {
            break;
        }
        const auto now = unix_now();
        for (auto& e : *page) {
            const std::string runstate = live_state_of(context.state, e);
            if (!filter->matches(e, runstate, now)) {
                continue;
            }
            // g++ 12 destroys temporaries inside a co_await expression twice: build it first,
            // and keep the item alive while emit_text (which takes a view) runs.
            const auto item = item_text_of(e, now, runstate);
            auto sending = context.emit_text(item);
            if (!co_await std::move(sending)) {
                co_return json{{"count", count}};
            }
            ++count;
        }
    }
    co_return json{{"count", count}};
}

asio::awaitable<core::Result<json>> handle_show_envelope(Context& context, const json& args) {
    const auto text = args.at("id").get<std::string>();
    const auto id = EvpId::parse(text);
    if (!id) {
        co_return core::fail(Errc::invalid_argument,
                             "'" + text + "' is not an envelope id (16 hex digits); show queue lists them");
    }
    auto queue = context.state.queue;
    auto work = [queue, evpid = *id] { return queue->envelope(evpid); };
    auto found = co_await context.workers.run(std::move(work));
    if (!found) {
        co_return core::fail(std::move(found).error());
    }
    if (!*found) {
        co_return core::fail(Errc::not_found, "no envelope " + id->hex() + " in the queue");
    }
    auto e = std::move(**found);
    const auto runstate = live_state_of(context.state, e);
    auto out = item_of(e, unix_now(), runstate);
    out.erase("line");
    out["helo"] = e.helo;
    out["src"] = e.src;
    out["hostname"] = e.hostname;
    out["auth_user"] = e.auth_user;
    out["tag"] = e.tag;
    out["run_as"] = e.run_as;
    out["warnings"] = e.warnings;
    out["dsn_ret"] = e.dsn_ret;
    out["dsn_envid"] = e.dsn_envid;
    out["dsn_notify"] = e.dsn_notify;
    out["dsn_orcpt"] = e.dsn_orcpt;
    co_return out;
}

asio::awaitable<core::Result<json>> handle_show_message(Context& context, const json& args) {
    const auto text = args.at("id").get<std::string>();
    auto msgid = core::queue::MsgId::parse(text);
    if (const auto evpid = EvpId::parse(text)) {
        msgid = evpid->msgid();
    }
    if (!msgid) {
        co_return core::fail(Errc::invalid_argument, "'" + text +
                                                         "' is not a message id (8 hex digits) or an "
                                                         "envelope id (16); show queue lists them");
    }
    auto queue = context.state.queue;
    auto work = [queue, id = *msgid] { return queue->message_body(id); };
    auto body = co_await context.workers.run(std::move(work));
    if (!body) {
        co_return core::fail(std::move(body).error());
    }
    if (!*body) {
        co_return core::fail(Errc::not_found, "no message " + msgid->hex() + " in the queue");
    }
    const std::string& raw = **body;
    // In parts: a message may be larger than a protocol line, and need not be UTF-8.
    for (std::size_t offset = 0; offset < raw.size(); offset += k_message_chunk) {
        const json item{{"msgid", msgid->hex()},
                        {"offset", offset},
                        {"data", core::smtp::base64_encode(std::string_view(raw).substr(offset, k_message_chunk))}};
        auto sending = context.emit(item);
        if (!co_await std::move(sending)) {
            break;
        }
    }
    co_return json{{"msgid", msgid->hex()}, {"size", raw.size()}};
}

namespace {

asio::awaitable<core::Result<json>> handle_queue_op(Context& context, const json& args, QueueOp op) {
    auto filter = filter_of(args);
    if (!filter) {
        co_return core::fail(std::move(filter).error());
    }
    if (!filter->scoped()) {
        // The command table says so too (Scope::required); this guards other clients.
        co_return core::fail(Errc::invalid_argument,
                             "name an envelope id, a message id, all, or a filter (no implicit all)");
    }
    const bool dry_run = args.value("dry_run", false);
    std::vector<EvpId> ids;
    Pager pager(context, *filter);
    for (;;) {
        auto page = co_await pager.next();
        if (!page) {
            co_return core::fail(std::move(page).error());
        }
        if (page->empty()) {
            break;
        }
        const auto now = unix_now();
        for (auto& e : *page) {
            const std::string runstate = live_state_of(context.state, e);
            if (!filter->matches(e, runstate, now)) {
                continue;
            }
            ids.push_back(e.id);
            if (dry_run) {
                // What would be touched, as show queue lists it.
                const auto item = item_text_of(e, now, runstate);
                auto sending = context.emit_text(item);
                if (!co_await std::move(sending)) {
                    co_return json{{"matched", ids.size()}, {"dry_run", true}};
                }
            }
        }
    }
    if (ids.empty() && !named(*filter).empty()) {
        co_return core::fail(Errc::not_found, "no " + named(*filter) + " in the queue");
    }
    json out{{"command", op_name(op)}, {"matched", ids.size()}, {"dry_run", dry_run}};
    if (dry_run) {
        co_return out;
    }
    if (!context.state.scheduler) {
        co_return core::fail(Errc::temp_failure, "the scheduler is not running");
    }
    scheduler::Touched touched;
    switch (op) {
    case QueueOp::schedule:
        touched = context.state.scheduler->schedule(ids);
        break;
    case QueueOp::remove: {
        auto removing = context.state.scheduler->remove(std::move(ids));
        auto done = co_await std::move(removing);
        if (!done) {
            co_return core::fail(std::move(done).error());
        }
        touched = *done;
        break;
    }
    case QueueOp::hold:
    case QueueOp::release: {
        auto holding = context.state.scheduler->hold(std::move(ids), op == QueueOp::hold);
        auto done = co_await std::move(holding);
        if (!done) {
            co_return core::fail(std::move(done).error());
        }
        touched = *done;
        break;
    }
    }
    core::log::notice("control", op_name(op),
                      {{"uid", context.peer.uid},
                       {"matched", out["matched"].get<std::size_t>()},
                       {"done", touched.done},
                       {"inflight", touched.inflight},
                       {"held", touched.held},
                       {"missing", touched.missing}});
    out["done"] = touched.done;
    out["inflight"] = touched.inflight;
    out["held"] = touched.held;
    out["missing"] = touched.missing;
    co_return out;
}

} // namespace

asio::awaitable<core::Result<json>> handle_schedule(Context& context, const json& args) {
    return handle_queue_op(context, args, QueueOp::schedule);
}

asio::awaitable<core::Result<json>> handle_remove(Context& context, const json& args) {
    return handle_queue_op(context, args, QueueOp::remove);
}

asio::awaitable<core::Result<json>> handle_pause_envelope(Context& context, const json& args, PauseSwitch to) {
    return handle_queue_op(context, args, to == PauseSwitch::pause ? QueueOp::hold : QueueOp::release);
}

} // namespace mxd::control
