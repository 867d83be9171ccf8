// SPDX-License-Identifier: ISC
#include "daemon/submit/submit.hpp"

#include "core/queue/store.hpp"
#include "core/smtp/address.hpp"
#include "core/smtp/headers.hpp"
#include "core/submit/message.hpp"
#include "core/table/lookup.hpp"
#include "core/util/log.hpp"
#include "core/util/strings.hpp"
#include "daemon/lookup/router.hpp"
#include "daemon/queue/queue_service.hpp"
#include "daemon/state.hpp"
#include "daemon/workers.hpp"

#include <pwd.h>
#include <unistd.h>

#include <ctime>

namespace mxd::submit {

namespace {

using core::Errc;

// The options of `listen on socket`, or the defaults when the configuration has none: the
// local submission socket exists either way, as in OpenSMTPD.
core::config::Listener socket_listener(const Generation& gen) {
    for (const auto& l : gen.config.listeners) {
        if (l.kind == core::config::Listener::Kind::socket) {
            return l;
        }
    }
    core::config::Listener l;
    l.kind = core::config::Listener::Kind::socket;
    return l;
}

// A passwd entry's name and GECOS full name; nullopt for a uid without one.
struct Account {
    std::string name;
    std::string full_name;
};
std::optional<Account> account_of(uid_t uid) {
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    if (::getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
        return std::nullopt;
    }
    const std::string name = pw.pw_name;
    return Account{name,
                   core::submit::gecos_full_name(pw.pw_gecos != nullptr ? pw.pw_gecos : "", name)};
}

// `user` alone means user@host, as sendmail and OpenSMTPD's enqueue qualify addresses.
core::Result<std::string> qualified(std::string_view text, const std::string& host) {
    core::smtp::ParseOptions options;
    options.domain_optional = true;
    options.smtputf8 = true;
    auto mailbox = core::smtp::parse_address(core::trim(text), options);
    if (!mailbox) {
        return core::fail(Errc::invalid_argument, mailbox.error().message);
    }
    if (mailbox->domain.empty()) {
        mailbox->domain = core::to_lower(host);
    }
    return mailbox->to_string();
}

// What the worker thread works out: who, from whom, and where each recipient goes.
struct Routed {
    Account account;
    Outcome outcome;
    std::vector<std::pair<std::string, std::vector<lookup::Destination>>> destinations;
};

// Blocking (NSS, tables, .forward files): runs on a worker thread.
core::Result<Routed> route(const Generation& gen, const core::config::Listener& listener,
                           Identity who, const Submission& submission) {
    auto account = account_of(who.uid);
    if (!account) {
        return core::fail(Errc::permission_denied,
                          "uid " + std::to_string(who.uid) + " has no passwd entry");
    }
    Routed routed;
    routed.account = *account;
    auto& outcome = routed.outcome;
    outcome.user = account->name;
    const std::string own = account->name + "@" + core::to_lower(gen.node);
    outcome.sender = own;
    if (submission.sender) {
        std::string wanted;
        const auto text = core::trim(*submission.sender);
        if (!text.empty() && text != "<>") {
            auto q = qualified(text, gen.node);
            if (!q) {
                return core::fail(Errc::invalid_argument,
                                  "sender " + std::string(text) + ": " + q.error().message);
            }
            wanted = std::move(*q);
        }
        bool allowed = who.access == core::protocol::Access::admin ||
                       core::to_lower(wanted) == core::to_lower(own);
        if (!allowed && !listener.senders_table.empty()) {
            // The mxd extension `listen on socket senders <t>`: the table maps a login name to
            // the addresses it may send as, as it maps an authenticated user on `listen on`.
            auto table = gen.tables->get(listener.senders_table);
            if (!table) {
                return core::fail(Errc::temp_failure,
                                  "senders table " + listener.senders_table + " is not loaded");
            }
            auto found =
                core::table::lookup(*table, core::table::Service::mailaddrmap, account->name);
            if (!found) {
                return core::fail(Errc::temp_failure, "senders table " + listener.senders_table +
                                                          ": " + found.error().message);
            }
            allowed = *found && !wanted.empty() &&
                      core::table::mailaddr_allowed(wanted, (*found)->value,
                                                    gen.config.smtp.sub_addr_delim);
        }
        if (allowed) {
            outcome.sender = wanted;
        } else {
            outcome.sender_forced = true;
        }
    }
    const lookup::LocalOrigin origin{listener.tag, outcome.sender};
    for (const auto& r : submission.recipients) {
        auto address = qualified(r, gen.node);
        if (!address) {
            outcome.refused.push_back({r, address.error().message});
            continue;
        }
        auto destinations = lookup::route_local(gen, *address, origin);
        if (!destinations) {
            if (destinations.error().code != Errc::not_found) {
                return core::fail(std::move(destinations).error());
            }
            outcome.refused.push_back({*address, destinations.error().message});
            continue;
        }
        if (destinations->empty()) {
            outcome.refused.push_back({*address, "expands to no destination"});
            continue;
        }
        outcome.accepted.push_back(*address);
        routed.destinations.emplace_back(*address, std::move(*destinations));
    }
    return routed;
}

} // namespace

asio::awaitable<core::Result<Outcome>> enqueue(RuntimeState& state, Workers& workers, Identity who,
                                               Via via, Submission submission, DryRun dry_run) {
    // The configuration of this submission, whatever a reload does meanwhile.
    const auto gen = state.generation();
    const auto& config = gen->config;
    if (submission.recipients.empty()) {
        co_return core::fail(Errc::invalid_argument, "no recipients");
    }
    if (submission.recipients.size() > static_cast<std::size_t>(config.smtp.max_rcpt)) {
        co_return core::fail(
            Errc::invalid_argument,
            "too many recipients (" + std::to_string(submission.recipients.size()) +
                "; smtp max-rcpt is " + std::to_string(config.smtp.max_rcpt) + ")");
    }
    if (submission.message.size() > static_cast<std::size_t>(config.smtp.max_message_size)) {
        co_return core::fail(Errc::invalid_argument,
                             "message too large (" + std::to_string(submission.message.size()) +
                                 " bytes; smtp max-message-size is " +
                                 std::to_string(config.smtp.max_message_size) + ")");
    }
    const auto listener = socket_listener(*gen);
    auto work = [gen, listener, who, &submission] {
        return route(*gen, listener, who, submission);
    };
    auto routing = workers.run(std::move(work));
    auto routed = co_await std::move(routing);
    if (!routed) {
        co_return core::fail(std::move(routed).error());
    }
    auto outcome = std::move(routed->outcome);
    if (outcome.accepted.empty()) {
        std::string why;
        for (const auto& r : outcome.refused) {
            why += (why.empty() ? "" : "; ") + r.recipient + ": " + r.error;
        }
        co_return core::fail(Errc::not_found, "no recipient accepted: " + why);
    }
    if (dry_run == DryRun::yes) {
        co_return outcome;
    }

    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    const std::string& user = outcome.user;
    const std::string single =
        outcome.accepted.size() == 1 ? outcome.accepted.front() : std::string{};
    std::string body = core::submit::to_crlf(submission.message);
    submission.message.clear();
    if (listener.masquerade && !outcome.sender.empty()) {
        if (auto rewritten = core::smtp::masquerade_from(body, outcome.sender)) {
            body = std::move(*rewritten);
        }
    }
    // The From: a message lacks names the envelope sender, with -F's name or the GECOS one.
    const std::string full_name =
        !submission.full_name.empty() ? submission.full_name : routed->account.full_name;
    const std::string from = core::submit::from_field(
        full_name,
        outcome.sender.empty() ? user + "@" + core::to_lower(state.node) : outcome.sender);
    core::submit::Completion completion;
    completion.date = static_cast<std::time_t>(now);
    completion.host = state.node;
    completion.from = from;
    body = core::submit::complete_headers(body, completion);
    // The message as message `id`: our Received line on top, an envelope per destination.
    auto make = [&](core::queue::MsgId id) {
        core::queue::NewMessage message;
        message.id = id;
        message.created = now;
        core::submit::LocalReceived received;
        received.user = user;
        received.uid = who.uid;
        received.by_host = state.node;
        const auto hex = id.hex();
        received.id = hex;
        received.recipient = single;
        received.mask_source = listener.mask_src;
        received.date = static_cast<std::time_t>(now);
        message.body = core::submit::local_received_header(received) + body;
        for (const auto& [rcpt, destinations] : routed->destinations) {
            for (const auto& d : destinations) {
                core::queue::Envelope e;
                e.id = core::queue::EvpId::random(message.id);
                e.origin = core::queue::Origin::local;
                e.type = d.type;
                e.run_as = d.run_as;
                e.sender = outcome.sender;
                e.rcpt = rcpt;
                e.dest = d.dest;
                e.action = d.action;
                e.helo = "localhost";
                e.src = "local";
                // The submitting user, which mailq shows a user without read access.
                e.auth_user = user;
                e.tag = listener.tag;
                const auto* action = config.find_action(d.action);
                e.created = now;
                e.expires = now + (action != nullptr && action->ttl ? *action->ttl : config.queue.ttl);
                e.next_try = now;
                message.envelopes.push_back(std::move(e));
            }
        }
        outcome.size = message.body.size();
        outcome.envelopes = message.envelopes.size();
        return message;
    };
    auto queue = state.queue;
    auto commit = queue->commit_new(make);
    auto committed = co_await std::move(commit);
    if (!committed) {
        core::log::error("submit", "commit-failed", {{"error", committed.error().message}});
        co_return core::fail(Errc::temp_failure, "queue: " + committed.error().message);
    }
    outcome.msgid = *committed;
    const auto hex = committed->hex();
    core::log::info("submit", "message",
                    {{"msgid", hex},
                     {"uid", who.uid},
                     {"user", user},
                     {"from", outcome.sender.empty() ? std::string("<>") : outcome.sender},
                     {"size", outcome.size},
                     {"nrcpt", outcome.envelopes},
                     {"via", via == Via::socket ? "socket" : "offline"}});
    if (outcome.sender_forced) {
        core::log::notice(
            "submit", "sender-forced",
            {{"msgid", hex}, {"user", user}, {"requested", submission.sender.value_or("")}});
    }
    for (const auto& r : outcome.refused) {
        core::log::info("submit", "recipient-refused",
                        {{"msgid", hex}, {"rcpt", r.recipient}, {"error", r.error}});
    }
    co_return outcome;
}

} // namespace mxd::submit
