// SPDX-License-Identifier: ISC
// The registry of table backends.
#include "core/table/table.hpp"

#include "core/config/config.hpp"

namespace core::table {

Result<TablePtr> open_table(const core::config::Table& config) {
    using Backend = core::config::Table::Backend;
    switch (config.backend) {
    case Backend::inline_static:
        return make_inline_table(config.name, config.entries, config.kind != core::config::Table::Kind::mapping);
    case Backend::file:
        return open_file_table(config.source);
    case Backend::db:
        return open_db_table(config.source);
    case Backend::builtin:
        if (config.name == "getpwnam") {
            return make_getpwnam_table();
        }
        if (config.name == "aliases") {
            // The system aliases file, when there is one; without it, no aliases.
            std::error_code ec;
            if (!std::filesystem::exists(config.source, ec)) {
                return make_inline_table(config.name, {}, false);
            }
            return open_file_table(config.source);
        }
        // localhost, localnames, anyhost, anydestination: matched by the rules themselves.
        return make_inline_table(config.name, {}, true);
    case Backend::proc:
        break;
    }
    return fail(Errc::unsupported, "table backend '" + config.backend_name + "' is not supported by mxd yet");
}

} // namespace core::table
