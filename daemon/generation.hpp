// SPDX-License-Identifier: ISC
#pragma once

#include "core/config/config.hpp"
#include "core/util/result.hpp"
#include "daemon/state.hpp"

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

// Building a configuration generation (daemon/state.hpp), at start and at each reload.
namespace mxd {

// Opens the tables of a checked configuration and compiles its rules. Blocking (reads table
// files): at start, or on a worker thread. Fails naming the table or the rule at fault.
core::Result<std::shared_ptr<const Generation>> build_generation(core::config::Config config,
                                                                 std::string node,
                                                                 std::uint64_t number);

// Resolves `control group` names to gids; an unknown group is a configuration error.
core::Result<std::vector<gid_t>> group_ids(const std::vector<std::string>& names);

} // namespace mxd
