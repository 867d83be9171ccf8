// SPDX-License-Identifier: ISC
#include "daemon/generation.hpp"

#include "core/rules/ruleset.hpp"
#include "daemon/lookup/expansion_cache.hpp"
#include "daemon/lookup/tables.hpp"

#include <grp.h>

namespace mxd {

core::Result<std::shared_ptr<const Generation>> build_generation(core::config::Config config,
                                                                 std::string node,
                                                                 std::uint64_t number) {
    auto generation = std::make_shared<Generation>();
    // The rules and tables are made from the generation's own copy, which they may point into.
    generation->config = std::move(config);
    MXD_TRY_ASSIGN(auto tables, lookup::Tables::open(generation->config));
    generation->tables = std::move(tables);
    MXD_TRY_ASSIGN(auto rules, core::rules::Ruleset::compile(generation->config));
    generation->rules = std::make_shared<const core::rules::Ruleset>(std::move(rules));
    generation->expansion_cache = std::make_shared<lookup::ExpansionCache>();
    generation->node = std::move(node);
    generation->number = number;
    return std::shared_ptr<const Generation>(std::move(generation));
}

core::Result<std::vector<gid_t>> group_ids(const std::vector<std::string>& names) {
    std::vector<gid_t> gids;
    for (const auto& name : names) {
        const group* g = ::getgrnam(name.c_str());
        if (g == nullptr) {
            return core::fail(core::Errc::config, "control group '" + name + "' does not exist");
        }
        gids.push_back(g->gr_gid);
    }
    return gids;
}

} // namespace mxd
