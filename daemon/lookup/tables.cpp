// SPDX-License-Identifier: ISC
#include "daemon/lookup/tables.hpp"

#include "core/util/log.hpp"

namespace mxd::lookup {

core::Result<std::unique_ptr<Tables>> Tables::open(const core::config::Config& config) {
    auto tables = std::make_unique<Tables>();
    for (const auto& t : config.tables) {
        auto opened = core::table::open_table(t);
        if (!opened) {
            return core::fail(opened.error().code, "table " + t.name + ": " + opened.error().message);
        }
        tables->m_tables[t.name] = Entry{std::move(*opened), t.uses};
    }
    return tables;
}

core::table::TablePtr Tables::get(const std::string& name) {
    core::table::TablePtr current;
    {
        std::lock_guard lock(m_mutex);
        const auto it = m_tables.find(name);
        if (it == m_tables.end()) {
            return nullptr;
        }
        current = it->second.table;
    }
    if (!current->stale()) {
        return current;
    }
    // makemap replaced the file: Sympa relies on this being picked up with no command.
    auto fresh = current->reload();
    if (!fresh) {
        core::log::warning("table", "reload-failed", {{"table", name}, {"error", fresh.error().message},
                                                      {"action", "keeping the loaded contents"}});
        return current;
    }
    MXD_TRACE(core::Subsystem::table, {}, "reloaded", {{"table", name}, {"source", (*fresh)->source()}});
    std::lock_guard lock(m_mutex);
    auto& entry = m_tables[name];
    if (entry.table == current) {
        entry.table = *fresh;
    }
    return entry.table;
}

core::Result<core::table::TablePtr> Tables::update(const std::string& name) {
    core::table::TablePtr current;
    {
        std::lock_guard lock(m_mutex);
        const auto it = m_tables.find(name);
        if (it == m_tables.end()) {
            return core::fail(core::Errc::not_found, "no table named '" + name + "'");
        }
        current = it->second.table;
    }
    MXD_TRY_ASSIGN(auto fresh, current->reload());
    std::lock_guard lock(m_mutex);
    m_tables[name].table = fresh;
    return fresh;
}

std::vector<Tables::Info> Tables::list() {
    std::vector<std::string> names;
    {
        std::lock_guard lock(m_mutex);
        for (const auto& [name, entry] : m_tables) {
            names.push_back(name);
        }
    }
    std::vector<Info> out;
    for (const auto& name : names) {
        auto table = get(name);
        std::lock_guard lock(m_mutex);
        out.push_back(Info{name, std::move(table), m_tables[name].uses});
    }
    return out;
}

} // namespace mxd::lookup
