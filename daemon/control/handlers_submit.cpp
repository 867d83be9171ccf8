// SPDX-License-Identifier: ISC
// submit: what sendmail sends.
#include "daemon/control/handlers.hpp"

#include "core/smtp/sasl.hpp"
#include "daemon/submit/submit.hpp"

namespace mxd::control {

using core::Errc;
using nlohmann::json;

asio::awaitable<core::Result<json>> handle_submit(Context& context, const json& args) {
    auto& pending = context.connection.submit_data;
    const auto max_size = static_cast<std::size_t>(context.state.config().smtp.max_message_size);
    const bool more = args.value("more", false);
    const bool dry_run = args.value("dry_run", false);
    if (args.contains("data")) {
        auto part = core::smtp::base64_decode(args.at("data").get<std::string>());
        if (!part) {
            pending.clear();
            co_return core::fail(Errc::invalid_argument, "argument 'data' is not base64");
        }
        if (pending.size() + part->size() > max_size) {
            pending.clear();
            co_return core::fail(Errc::invalid_argument,
                                 "message too large (smtp max-message-size is " +
                                     std::to_string(max_size) + " bytes)");
        }
        pending += *part;
    }
    if (more) {
        if (args.contains("recipient") || args.contains("sender") || dry_run) {
            co_return core::fail(Errc::invalid_argument,
                                 "the envelope goes with the last part, not with --more");
        }
        co_return json{{"received", pending.size()}};
    }
    submit::Submission submission;
    if (args.contains("sender")) {
        submission.sender = args.at("sender").get<std::string>();
    }
    submission.full_name = args.value("full_name", "");
    submission.recipients = args.value("recipient", std::vector<std::string>{});
    if (dry_run == false) {
        submission.message = std::move(pending);
        pending.clear();
    }
    const submit::Identity who{context.peer.uid, context.peer.access};
    auto op =
        submit::enqueue(context.state, context.workers, who, submit::Via::socket,
                        std::move(submission), dry_run ? submit::DryRun::yes : submit::DryRun::no);
    auto outcome = co_await std::move(op);
    if (!outcome) {
        co_return core::fail(std::move(outcome).error());
    }
    json refused = json::array();
    for (const auto& r : outcome->refused) {
        refused.push_back({{"recipient", r.recipient}, {"error", r.error}});
    }
    co_return json{{"msgid", outcome->msgid ? json(outcome->msgid->hex()) : json(nullptr)},
                   {"user", outcome->user},
                   {"sender", outcome->sender},
                   {"sender_forced", outcome->sender_forced},
                   {"accepted", outcome->accepted},
                   {"refused", refused},
                   {"envelopes", outcome->envelopes},
                   {"size", outcome->size}};
}

} // namespace mxd::control
