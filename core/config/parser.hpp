// SPDX-License-Identifier: ISC
#pragma once

#include "core/config/config.hpp"
#include "core/config/diagnostic.hpp"
#include "core/util/paths.hpp"
#include "core/util/result.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Loading and checking smtpd.conf(5) files: the modern grammar, the pre-6.4 grammar (translated
// with warnings), the mxd extensions, and the semantic checks of `mxd -n` / `mxctl check-config`.
namespace core::config {

// Whether the check opens referenced files (tables, certificates); `no` is --skip-files.
enum class CheckFiles { yes, no };

// Options of a load: `-D name=value` macros (they win over the file's own definitions).
struct LoadOptions {
    std::map<std::string, std::string> macros;
    CheckFiles check_files = CheckFiles::yes;
};

// The model when there is no error, and every diagnostic, in file order.
struct LoadResult {
    std::optional<Config> config;
    std::vector<Diagnostic> diagnostics;

    // True when no diagnostic is an error.
    bool ok() const;
    // True when at least one diagnostic is a warning.
    bool has_warnings() const;
};

// Parses and checks a file. Never throws; an unreadable file is an error diagnostic.
LoadResult load_file(const std::filesystem::path& path, const LoadOptions& options);

// Parses and checks text; `name` is used in diagnostics and to resolve relative includes.
LoadResult load_string(std::string_view text, const std::filesystem::path& name,
                       const LoadOptions& options);

// The configuration in canonical modern smtpd.conf text (`mxd -n -v`). Never fails.
std::string to_canonical(const Config& config);

// The whole file rewritten in the modern grammar, comments and unchanged lines kept. Fails
// with Errc::config (message = formatted diagnostics) when the file has errors.
core::Result<std::string> migrate_file(const std::filesystem::path& path,
                                       const LoadOptions& options);

// Same as migrate_file, on text.
core::Result<std::string> migrate_string(std::string_view text, const std::filesystem::path& name,
                                         const LoadOptions& options);

// The configuration used when there is no file: listen on localhost port defaults.smtp_port,
// deliver mail for local users to their mbox, relay nothing; queue in defaults.spool.
Config builtin_default(const core::paths::Defaults& defaults);

} // namespace core::config
