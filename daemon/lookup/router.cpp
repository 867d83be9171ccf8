// SPDX-License-Identifier: ISC
#include "daemon/lookup/router.hpp"

#include "core/util/fs.hpp"
#include "core/util/log.hpp"
#include "core/util/strings.hpp"
#include "daemon/state.hpp"

#include <sys/stat.h>

namespace mxd::lookup {

namespace {

// Reads a small file whole; nullopt when it does not exist.
core::Result<std::optional<std::string>> read_optional(const std::string& path) {
    auto text = core::fs::read_file(path, 1024 * 1024);
    if (!text) {
        if (text.error().code == core::Errc::not_found) {
            return std::optional<std::string>{};
        }
        return core::fail(std::move(text).error());
    }
    return std::optional<std::string>{std::move(*text)};
}

// A ~/.forward is honoured only when its owner is the user (or root) and nobody else may
// write it, as sendmail and OpenSMTPD require.
core::Result<std::optional<std::string>> read_forward(const std::string& home, uid_t uid) {
    const std::string path = home + "/.forward";
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return std::optional<std::string>{};
    }
    if ((st.st_uid != uid && st.st_uid != 0) || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
        !S_ISREG(st.st_mode)) {
        core::log::warning("expand", "forward-ignored",
                           {{"path", path}, {"reason", "unsafe owner or mode"}});
        return std::optional<std::string>{};
    }
    return read_optional(path);
}

} // namespace

core::Result<core::expand::Expansion> expand_recipient(const Generation& gen,
                                                       const core::rules::Facts& facts,
                                                       const core::config::Action& action,
                                                       const std::string& address) {
    auto& tables = *gen.tables;
    core::rules::TableResolver resolve = [&tables](const std::string& name) {
        return tables.get(name);
    };
    const auto& rules = *gen.rules;
    core::expand::Context context{
        gen.config, resolve, read_forward, read_optional,
        [&](const std::string& next) -> core::Result<const core::config::Action*> {
            auto f = facts;
            f.rcpt_to = next;
            MXD_TRY_ASSIGN(const auto m, rules.match(f, resolve));
            if (!m || rules.rule(*m).reject) {
                return static_cast<const core::config::Action*>(nullptr);
            }
            return gen.config.find_action(rules.rule(*m).action);
        }};
    return core::expand::expand(context, action, address);
}

std::vector<Destination> destinations_of(const Generation& gen,
                                         const core::expand::Expansion& expansion,
                                         const std::string& default_action) {
    std::vector<Destination> out;
    for (const auto& d : expansion.deliveries) {
        using Kind = core::expand::Delivery::Kind;
        Destination dest;
        dest.action = d.action.empty() ? default_action : d.action;
        switch (d.kind) {
        case Kind::user:
            dest.dest = d.user.name;
            break;
        case Kind::address:
        case Kind::relay:
            dest.dest = d.address;
            break;
        case Kind::command:
            dest.dest = "|" + d.target;
            break;
        case Kind::file:
            dest.dest = d.target;
            break;
        case Kind::error:
            continue;
        }
        if (d.run_as) {
            dest.run_as = d.run_as->name;
        }
        const auto* action = gen.config.find_action(dest.action);
        dest.type = action != nullptr && action->method == core::config::Action::Method::relay
                        ? core::queue::DeliveryType::mta
                        : core::queue::DeliveryType::mda;
        out.push_back(std::move(dest));
    }
    return out;
}

core::Result<std::vector<Destination>> route_local(const Generation& gen,
                                                   const std::string& address) {
    return route_local(gen, address, LocalOrigin{});
}

core::Result<std::vector<Destination>>
route_local(const Generation& gen, const std::string& address, const LocalOrigin& origin) {
    core::rules::Facts facts;
    facts.local_socket = true;
    facts.rcpt_to = address;
    facts.tag = origin.tag;
    facts.mail_from = origin.sender;
    facts.local_names = {core::to_lower(gen.node), "localhost", "localhost.localdomain"};
    for (const auto& l : gen.config.listeners) {
        if (!l.hostname.empty()) {
            facts.local_names.insert(core::to_lower(l.hostname));
        }
    }
    auto& tables = *gen.tables;
    MXD_TRY_ASSIGN(
        const auto matched,
        gen.rules->match(facts, [&tables](const std::string& name) { return tables.get(name); }));
    if (!matched || gen.rules->rule(*matched).reject) {
        return core::fail(core::Errc::not_found, "no rule accepts " + address);
    }
    const auto& action_name = gen.rules->rule(*matched).action;
    const auto* action = gen.config.find_action(action_name);
    if (action == nullptr) {
        return core::fail(core::Errc::not_found, "no action " + action_name);
    }
    MXD_TRY_ASSIGN(const auto expansion, expand_recipient(gen, facts, *action, address));
    if (const auto* error = expansion.first_error()) {
        return core::fail(core::Errc::not_found, error->text);
    }
    return destinations_of(gen, expansion, action_name);
}

} // namespace mxd::lookup
