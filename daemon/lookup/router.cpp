// SPDX-License-Identifier: ISC
#include "daemon/lookup/router.hpp"

#include "core/table/table.hpp"
#include "daemon/lookup/expansion_cache.hpp"

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

// How one expansion reaches what blocks. Without a cache: directly. With one: the user
// database and .forward files through it, and with `cache_only` nothing that is not in memory
// or in the cache, which `missed` then records.
struct CacheUse {
    ExpansionCache* cache = nullptr;
    bool cache_only = false;
    bool missed = false;
};

// The error a cache-only expansion gets for what it may not read; the expansion's result is
// then thrown away, so its words reach nobody.
core::Error not_in_memory() {
    return core::Error{core::Errc::temp_failure, "not in memory"};
}

// A table seen through CacheUse: the system's user database answered from the cache and kept
// there, and, cache-only, any other table that would block refused.
class CachedTable final : public core::table::Table {
  public:
    CachedTable(core::table::TablePtr inner, CacheUse& use) : m_inner(std::move(inner)), m_use(use) {}
    std::string_view backend() const override { return m_inner->backend(); }
    std::string source() const override { return m_inner->source(); }
    bool is_list() const override { return m_inner->is_list(); }
    std::optional<std::size_t> size() const override { return m_inner->size(); }
    core::Result<std::optional<std::string>> get(std::string_view key) const override {
        const bool users = m_inner->backend() == "getpwnam";
        if (users) {
            if (auto known = m_use.cache->user(std::string(key))) {
                return std::optional<std::string>{std::move(*known)};
            }
        }
        if (m_use.cache_only) {
            m_use.missed = true;
            return core::fail(not_in_memory());
        }
        auto found = m_inner->get(key);
        if (users && found && *found) {
            m_use.cache->put_user(std::string(key), **found);
        }
        return found;
    }
    core::Result<void> for_each(
        const std::function<bool(std::string_view key, std::string_view value)>& visit) const override {
        if (m_use.cache_only) {
            m_use.missed = true;
            return core::fail(not_in_memory());
        }
        return m_inner->for_each(visit);
    }
    core::Result<core::table::TablePtr> reload() const override { return m_inner->reload(); }

  private:
    core::table::TablePtr m_inner;
    CacheUse& m_use;
};

core::Result<core::expand::Expansion> expand_with(const Generation& gen, const core::rules::Facts& facts,
                                                  const core::config::Action& action,
                                                  const std::string& address,
                                                  std::vector<std::string>* steps_on_failure,
                                                  CacheUse& use) {
    auto& tables = *gen.tables;
    core::rules::TableResolver resolve = [&tables, &use](const std::string& name) -> core::table::TablePtr {
        auto table = tables.get(name);
        if (!table && name == "getpwnam") {
            table = core::table::make_getpwnam_table();
        }
        if (!table || use.cache == nullptr || table->in_memory()) {
            return table;
        }
        return std::make_shared<CachedTable>(std::move(table), use);
    };
    core::expand::ForwardReader forward = read_forward;
    core::expand::IncludeReader include = read_optional;
    if (use.cache != nullptr) {
        forward = [&use](const std::string& home, uid_t uid) -> core::Result<std::optional<std::string>> {
            if (auto known = use.cache->forward(home, uid)) {
                return std::move(*known);
            }
            if (use.cache_only) {
                use.missed = true;
                return core::fail(not_in_memory());
            }
            auto text = read_forward(home, uid);
            if (text) {
                use.cache->put_forward(home, uid, *text);
            }
            return text;
        };
        include = [&use](const std::string& path) -> core::Result<std::optional<std::string>> {
            if (use.cache_only) {
                use.missed = true;
                return core::fail(not_in_memory());
            }
            return read_optional(path);
        };
    }
    const auto& rules = *gen.rules;
    core::expand::Context context{
        gen.config, resolve, forward, include,
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

} // namespace

core::Result<core::expand::Expansion> expand_recipient(const Generation& gen,
                                                       const core::rules::Facts& facts,
                                                       const core::config::Action& action,
                                                       const std::string& address,
                                                       std::vector<std::string>* steps_on_failure) {
    CacheUse use{gen.expansion_cache.get()};
    return expand_with(gen, facts, action, address, steps_on_failure, use);
}

std::optional<core::Result<core::expand::Expansion>>
expand_recipient_in_memory(const Generation& gen, const core::rules::Facts& facts,
                           const core::config::Action& action, const std::string& address) {
    CacheUse use{gen.expansion_cache.get(), true};
    if (use.cache == nullptr) {
        return std::nullopt;
    }
    auto expansion = expand_with(gen, facts, action, address, nullptr, use);
    if (use.missed) {
        return std::nullopt;
    }
    return expansion;
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
