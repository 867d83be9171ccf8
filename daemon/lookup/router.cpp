// SPDX-License-Identifier: ISC
#include "daemon/lookup/router.hpp"

#include "core/util/fs.hpp"
#include "core/util/log.hpp"
#include "core/util/strings.hpp"
#include "daemon/privileged/privileged.hpp"
#include "daemon/state.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

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
    auto unsafe = [&](const struct stat& st) {
        if ((st.st_uid != uid && st.st_uid != 0) || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
            !S_ISREG(st.st_mode)) {
            core::log::warning("expand", "forward-ignored",
                               {{"path", path}, {"reason", "unsafe owner or mode"}});
            return true;
        }
        return false;
    };
    if (auto* link = privileged::link()) {
        // mxd gave root up, and a home directory may be closed to it: the privileged process
        // opens the file as its user.
        MXD_TRY_ASSIGN(auto opened, link->open_forward(home, uid));
        struct stat st {};
        if (!opened || ::fstat(opened->get(), &st) != 0 || unsafe(st)) {
            return std::optional<std::string>{};
        }
        std::string text;
        char buffer[8192];
        for (;;) {
            const ssize_t n = ::read(opened->get(), buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                return core::fail(core::Error::from_errno(errno, "read", path));
            }
            if (n == 0) {
                break;
            }
            text.append(buffer, static_cast<std::size_t>(n));
            if (text.size() > 1024 * 1024) {
                return core::fail(core::Errc::invalid_argument, path + " is larger than 1 MiB");
            }
        }
        return std::optional<std::string>{std::move(text)};
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return std::optional<std::string>{};
    }
    if (unsafe(st)) {
        return std::optional<std::string>{};
    }
    return read_optional(path);
}

} // namespace

core::Result<core::expand::Expansion> expand_recipient(const Generation& gen,
                                                       const core::rules::Facts& facts,
                                                       const core::config::Action& action,
                                                       const std::string& address,
                                                       std::vector<std::string>* steps_on_failure) {
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
        },
        steps_on_failure};
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

std::set<std::string> local_names(const Generation& gen) {
    std::set<std::string> names{core::to_lower(gen.node), "localhost", "localhost.localdomain"};
    for (const auto& l : gen.config.listeners) {
        if (!l.hostname.empty()) {
            names.insert(core::to_lower(l.hostname));
        }
    }
    return names;
}

core::Result<Explanation> explain(const Generation& gen, const core::rules::Facts& facts) {
    Explanation out;
    auto& tables = *gen.tables;
    MXD_TRY_ASSIGN(out.rule, gen.rules->match(facts, [&tables](const std::string& name) {
        return tables.get(name);
    }));
    if (!out.rule || gen.rules->rule(*out.rule).reject) {
        out.rejected = true;
        return out;
    }
    out.action = gen.rules->rule(*out.rule).action;
    const auto* action = gen.config.find_action(out.action);
    if (action == nullptr) {
        out.error = core::Error{core::Errc::not_found, "no action " + out.action};
        return out;
    }
    auto expansion = expand_recipient(gen, facts, *action, facts.rcpt_to, &out.expansion.steps);
    if (!expansion) {
        out.error = std::move(expansion).error();
        return out;
    }
    out.expansion = std::move(*expansion);
    if (const auto* error = out.expansion.first_error()) {
        out.error = core::Error{core::Errc::not_found, std::to_string(error->code) + " " + error->text};
        return out;
    }
    out.destinations = destinations_of(gen, out.expansion, out.action);
    return out;
}

core::Result<std::vector<Destination>>
route_local(const Generation& gen, const std::string& address, const LocalOrigin& origin) {
    core::rules::Facts facts;
    facts.local_socket = true;
    facts.rcpt_to = address;
    facts.tag = origin.tag;
    facts.mail_from = origin.sender;
    facts.local_names = local_names(gen);
    MXD_TRY_ASSIGN(auto explained, explain(gen, facts));
    if (explained.rejected) {
        return core::fail(core::Errc::not_found, "no rule accepts " + address);
    }
    if (explained.error) {
        // An `error:` target refuses the recipient with its text, as before.
        return core::fail(explained.expansion.first_error() ? core::Errc::not_found : explained.error->code,
                          explained.expansion.first_error() ? explained.expansion.first_error()->text
                                                            : explained.error->message);
    }
    return std::move(explained.destinations);
}

} // namespace mxd::lookup
