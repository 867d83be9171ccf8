// SPDX-License-Identifier: ISC
// expand: how the running configuration routes one recipient, like `exim -bt`.
#include "daemon/control/handlers.hpp"

#include "core/queue/envelope.hpp"
#include "core/rules/ruleset.hpp"
#include "core/util/strings.hpp"
#include "daemon/lookup/router.hpp"

namespace mxd::control {

using nlohmann::json;

namespace {

// "<alice@example.org>" and "alice@example.org" are the same sender; "<>" and "" the null one.
std::string bare_address(std::string text) {
    text = std::string(core::trim(text));
    if (text.size() >= 2 && text.front() == '<' && text.back() == '>') {
        text = text.substr(1, text.size() - 2);
    }
    return text;
}

} // namespace

asio::awaitable<core::Result<json>> handle_expand(Context& context, const json& args) {
    core::rules::Facts facts;
    facts.rcpt_to = bare_address(args.at("address").get<std::string>());
    if (facts.rcpt_to.find('@') == std::string::npos) {
        co_return core::fail(core::Errc::invalid_argument,
                             "'" + facts.rcpt_to + "' is not an address (user@domain)");
    }
    facts.mail_from = bare_address(args.value("from", ""));
    // Without --src, mail from this machine (the local socket, as sendmail); with it, an SMTP
    // client at that address.
    facts.src = args.value("src", "");
    facts.local_socket = facts.src.empty();
    if (args.contains("auth")) {
        facts.auth_user = args.at("auth").get<std::string>();
    }
    // Held across the worker hop, whatever a reload does meanwhile.
    const auto gen = context.state.generation();
    facts.local_names = lookup::local_names(*gen);
    auto work = [gen, facts] { return lookup::explain(*gen, facts); };
    auto explained = co_await context.workers.run(std::move(work));
    if (!explained) {
        co_return core::fail(std::move(explained).error());
    }
    const auto& e = *explained;
    json rule = nullptr;
    if (e.rule) {
        rule = json{{"number", *e.rule + 1}, {"text", core::rules::Ruleset::describe(gen->rules->rule(*e.rule))}};
    }
    json deliveries = json::array();
    for (const auto& d : e.destinations) {
        deliveries.push_back({{"dest", d.dest},
                              {"action", d.action},
                              {"type", core::queue::delivery_type_name(d.type)},
                              {"run_as", d.run_as}});
    }
    json described = json::array();
    for (const auto& d : e.expansion.deliveries) {
        described.push_back(d.describe());
    }
    const bool deliverable = !e.rejected && !e.error && !e.destinations.empty();
    co_return json{{"address", facts.rcpt_to},
                   {"from", facts.mail_from},
                   {"src", facts.local_socket ? std::string("local") : facts.src},
                   {"auth", facts.auth_user ? json(*facts.auth_user) : json(nullptr)},
                   {"rule", rule},
                   {"rejected", e.rejected},
                   {"action", e.rejected ? json(nullptr) : json(e.action)},
                   {"steps", e.expansion.steps},
                   {"expansion", described},
                   {"deliveries", deliveries},
                   {"error", e.error ? json(e.error->message) : json(nullptr)},
                   {"deliverable", deliverable}};
}

} // namespace mxd::control
