// SPDX-License-Identifier: ISC
#include "core/util/trace.hpp"

namespace core {

std::optional<Subsystem> parse_subsystem(std::string_view name) {
    for (std::size_t i = 0; i < k_subsystem_names.size(); ++i) {
        if (k_subsystem_names[i] == name) {
            return static_cast<Subsystem>(i);
        }
    }
    return std::nullopt;
}

std::optional<SubsystemSet> parse_subsystem_set(std::string_view name) {
    if (name == "all") {
        return SubsystemSet::all();
    }
    const auto one = parse_subsystem(name);
    if (!one) {
        return std::nullopt;
    }
    SubsystemSet set;
    set.add(*one);
    return set;
}

} // namespace core
