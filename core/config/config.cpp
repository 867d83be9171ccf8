// SPDX-License-Identifier: ISC
#include "core/config/config.hpp"

#include "core/config/parser.hpp"
#include "core/config/parser_impl.hpp"

namespace core::config {

namespace {

template <typename T> const T* find_named(const std::vector<T>& items, std::string_view name) {
    for (const auto& item : items) {
        if (item.name == name) {
            return &item;
        }
    }
    return nullptr;
}

} // namespace

const Table* Config::find_table(std::string_view name) const {
    // Later definitions shadow the built-in tables, which are added first.
    const Table* found = nullptr;
    for (const auto& t : tables) {
        if (t.name == name) {
            found = &t;
        }
    }
    return found;
}

const Action* Config::find_action(std::string_view name) const {
    return find_named(actions, name);
}

const Pki* Config::find_pki(std::string_view name) const {
    return find_named(pkis, name);
}

const Ca* Config::find_ca(std::string_view name) const {
    return find_named(cas, name);
}

void set_default_limits(Config& config) {
    // OpenSMTPD's defaults (smtpd.h, limit_mta_set_defaults(), mda.c, scheduler.c).
    config.mta.limits = {
        {"max-conn-per-host", 10},
        {"max-conn-per-route", 5},
        {"max-conn-per-source", 100},
        {"max-conn-per-connector", 20},
        {"max-conn-per-relay", 100},
        {"max-conn-per-domain", 100},
        {"conn-delay-host", 0},
        {"conn-delay-route", 5},
        {"conn-delay-source", 0},
        {"conn-delay-connector", 0},
        {"conn-delay-relay", 2},
        {"conn-delay-domain", 0},
        {"reconn-delay-route", 3},
        {"session-mail-max", 100},
        {"session-transaction-delay", 0},
        {"session-keepalive", 10},
        {"max-failures-per-session", 25},
        {"task-hiwat", 50},
        {"task-lowat", 30},
        {"task-release", 10},
    };
    config.mda.limits = {
        {"max-session", 50}, {"max-session-per-user", 7}, {"task-hiwat", 50},
        {"task-lowat", 30},  {"task-release", 10},
    };
    config.scheduler_limits = {
        {"max-inflight", 5000},
        {"max-evp-batch-size", 256},
        {"max-msg-batch-size", 1024},
        {"max-schedule", 10},
    };
}

Config builtin_default(const core::paths::Defaults& defaults) {
    Config config;
    set_default_limits(config);
    config.queue_directory = defaults.spool;
    Listener listener;
    listener.kind = Listener::Kind::inet;
    listener.interface = "localhost";
    listener.port = defaults.smtp_port;
    listener.port_given = true;
    config.listeners.push_back(listener);

    Table aliases;
    aliases.name = "aliases";
    aliases.backend = Table::Backend::builtin;
    aliases.backend_name = "file";
    aliases.source = detail::system_aliases_path();
    aliases.kind = Table::Kind::mapping;
    aliases.uses = {core::table::Service::alias};
    config.tables.push_back(aliases);

    Action local;
    local.name = "local";
    local.method = Action::Method::mbox;
    local.alias_table = "aliases";
    config.actions.push_back(local);

    // Only `from local for local`: mail for local users is delivered, nothing is relayed.
    Rule rule;
    rule.action = "local";
    config.rules.push_back(rule);
    return config;
}

} // namespace core::config
