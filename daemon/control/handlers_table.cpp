// SPDX-License-Identifier: ISC
// show tables, table lookup, update table.
#include "daemon/control/handlers.hpp"

#include "core/table/lookup.hpp"
#include "core/util/strings.hpp"
#include "core/util/time.hpp"

namespace mxd::control {

using core::Errc;
using nlohmann::json;

namespace {

json uses_of(const std::vector<core::table::Service>& uses) {
    json names = json::array();
    for (auto s : uses) {
        names.push_back(core::table::service_name(s));
    }
    return names;
}

} // namespace

asio::awaitable<core::Result<json>> handle_show_tables(Context& context, const json&) {
    const auto gen = context.state.generation(); // held across the worker hop, whatever a reload does
    auto& tables = *gen->tables;
    // Counting a large db reads it, so the rows are made on a worker thread.
    auto work = [&tables] {
        std::vector<json> out;
        for (const auto& info : tables.list()) {
            const auto size = info.table->size();
            out.push_back({{"name", info.name},
                           {"backend", info.table->backend()},
                           {"source", info.table->source()},
                           {"kind", info.table->is_list() ? "list" : "mapping"},
                           {"uses", uses_of(info.uses)},
                           {"entries", size ? json(*size) : json(nullptr)},
                           {"loaded", core::format_rfc3339(info.table->loaded_at())}});
        }
        return out;
    };
    const auto rows = co_await context.workers.run(std::move(work));
    for (const auto& row : rows) {
        auto sending = context.emit(row);  // built outside co_await: g++ 12 coroutine bug
        if (!co_await std::move(sending)) {
            break;
        }
    }
    co_return json{{"count", rows.size()}};
}

asio::awaitable<core::Result<json>> handle_table_lookup(Context& context, const json& args) {
    const auto name = args.at("table").get<std::string>();
    const auto key = args.at("key").get<std::string>();
    const auto service = args.value("service", "");
    const auto gen = context.state.generation(); // held across the worker hop, whatever a reload does
    auto& tables = *gen->tables;
    // A named lambda, never a temporary inside co_await: g++ 12 destroys such temporaries twice.
    auto work = [&tables, name, key, service]() -> core::Result<std::optional<core::table::Match>> {
        const auto table = tables.get(name);
        if (!table) {
            return core::fail(Errc::not_found, "no table named '" + name + "'");
        }
        MXD_TRACE(core::Subsystem::lookup, {}, "table-lookup",
                  {{"table", name}, {"service", service.empty() ? "exact" : service},
                   {"key", service == "credentials" ? std::string("<redacted>") : key}});
        if (service == "virtual") {
            return core::table::lookup_virtual(*table, key, '+');
        }
        if (service.empty()) {
            MXD_TRY_ASSIGN(auto value, table->get(core::to_lower(key)));
            if (!value) {
                return std::optional<core::table::Match>{};
            }
            return std::optional<core::table::Match>{core::table::Match{core::to_lower(key), std::move(*value)}};
        }
        return core::table::lookup(*table, *core::table::parse_service(service), key);
    };
    auto found = co_await context.workers.run(std::move(work));
    if (!found) {
        co_return core::fail(std::move(found).error());
    }
    if (!*found) {
        co_return json{{"found", false}, {"table", name}, {"key", key}};
    }
    co_return json{{"found", true}, {"table", name}, {"key", (*found)->key}, {"value", (*found)->value}};
}

asio::awaitable<core::Result<json>> handle_update_table(Context& context, const json& args) {
    const auto name = args.at("table").get<std::string>();
    const auto gen = context.state.generation(); // held across the worker hop, whatever a reload does
    auto& tables = *gen->tables;
    auto work = [&tables, name] { return tables.update(name); };
    auto updated = co_await context.workers.run(std::move(work));
    if (!updated) {
        core::log::warning("table", "update-failed", {{"table", name}, {"error", updated.error().message}});
        co_return core::fail(std::move(updated).error());
    }
    const auto size = (*updated)->size();
    core::log::info("table", "updated", {{"table", name}, {"entries", size ? std::to_string(*size) : "?"}});
    co_return json{{"table", name},
                   {"source", (*updated)->source()},
                   {"entries", size ? json(*size) : json(nullptr)},
                   {"loaded", core::format_rfc3339((*updated)->loaded_at())}};
}

} // namespace mxd::control
