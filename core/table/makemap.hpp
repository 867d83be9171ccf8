// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <sys/types.h>

#include <filesystem>
#include <istream>
#include <optional>
#include <ostream>
#include <string_view>

// makemap(8): builds a `db:` table from a table(5) or aliases(5) text file, and dumps one back.
namespace core::table {

// `-t`: a plain table, an aliases file (every target is checked), or a set (keys only).
enum class MakemapType { map, aliases, set };

struct MakemapOptions {
    MakemapType type = MakemapType::map;
    mode_t mode = 0644;                                // the new file's mode (the source's)
    std::optional<std::pair<uid_t, gid_t>> owner;      // and owner, when it can be kept
};

// Reads table text from `in` (named `source_name` in messages) and atomically replaces
// `output` with the db built from it. Returns the number of entries. Fails with Errc::parse
// listing every bad line as `source:line: message` (the first 20), duplicates included;
// `output` is then left as it was.
Result<std::size_t> build_db(std::istream& in, std::string_view source_name, const std::filesystem::path& output,
                             const MakemapOptions& options);

// Writes a db's entries back as table text (`makemap -U`), keys in order.
Result<void> dump_db(const std::filesystem::path& db, std::ostream& out);

// Checks one target of an alias (aliases(5)): `|command`, `/file`, `:include:/file`,
// `error:NNN text` (4xx or 5xx), or an address or user name. Errc::invalid_argument says why.
Result<void> check_alias_target(std::string_view target);

} // namespace core::table
