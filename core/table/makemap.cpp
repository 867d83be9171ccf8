// SPDX-License-Identifier: ISC
#include "core/table/makemap.hpp"

#include "core/db/sqlite.hpp"
#include "core/table/table_db_format.hpp"
#include "core/table/table_file_format.hpp"
#include "core/util/strings.hpp"

#include <cctype>
#include <string>
#include <vector>

namespace core::table {

namespace {

constexpr std::size_t k_errors_listed = 20;
constexpr std::size_t k_line_max = 1024 * 1024;

bool is_address_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > ' ' && u != 0x7f && c != ',' && c != '<' && c != '>' && c != '(' && c != ')' && c != ';' &&
           c != '\\' && c != '"';
}

} // namespace

Result<void> check_alias_target(std::string_view target) {
    const auto bad = [&](std::string_view why) {
        return fail(Errc::invalid_argument, "invalid alias target '" + std::string(target) + "': " + std::string(why));
    };
    if (target.empty()) {
        return bad("empty");
    }
    if (target.front() == '|') {
        return trim(target.substr(1)).empty() ? bad("no command after '|'") : Result<void>{};
    }
    if (target.front() == '/') {
        return target.size() > 1 ? Result<void>{} : bad("no file name");
    }
    if (starts_with_nocase(target, ":include:")) {
        const auto path = trim(target.substr(9));
        return !path.empty() && path.front() == '/' ? Result<void>{} : bad(":include: needs an absolute path");
    }
    if (starts_with_nocase(target, "error:")) {
        const auto rest = target.substr(6);
        if (rest.size() < 3 || !std::isdigit(static_cast<unsigned char>(rest[0])) ||
            !std::isdigit(static_cast<unsigned char>(rest[1])) || !std::isdigit(static_cast<unsigned char>(rest[2])) ||
            (rest[0] != '4' && rest[0] != '5')) {
            return bad("error: needs a 4xx or 5xx code");
        }
        return {};
    }
    for (char c : target) {
        if (!is_address_char(c)) {
            return bad("not an address, a user, a |command, a /file, :include: or error:");
        }
    }
    if (target.find('@') != target.rfind('@')) {
        return bad("more than one '@'");
    }
    return {};
}

Result<std::size_t> build_db(std::istream& in, std::string_view source_name, const std::filesystem::path& output,
                             const MakemapOptions& options) {
    MXD_TRY_ASSIGN(auto writer, DbWriter::create(output));
    TableLineParser parser = options.type == MakemapType::set ? TableLineParser(FileKind::list) : TableLineParser();
    std::vector<std::string> errors;
    std::size_t error_count = 0;
    auto report = [&](int line, const std::string& message) {
        if (++error_count <= k_errors_listed) {
            errors.push_back(std::string(source_name) + ":" + std::to_string(line) + ": " + message);
        }
    };
    std::string line;
    int line_number = 0;
    while (std::getline(in, line)) {
        ++line_number;
        if (line.size() > k_line_max) {
            report(line_number, "line longer than " + std::to_string(k_line_max) + " bytes");
            continue;
        }
        auto outcome = parser.feed(line, line_number);
        if (outcome.error) {
            report(outcome.error->line, outcome.error->message);
            continue;
        }
        if (!outcome.entry) {
            continue;
        }
        const auto& entry = *outcome.entry;
        if (options.type == MakemapType::aliases) {
            if (parser.kind() != FileKind::mapping) {
                report(line_number, "an aliases file maps each alias to targets; '" + entry.key + "' has none");
                continue;
            }
            for (const auto& target : split_alias_value(entry.value)) {
                if (auto ok = check_alias_target(target); !ok) {
                    report(line_number, ok.error().message);
                }
            }
        }
        const std::string_view value = options.type == MakemapType::set ? std::string_view{} : entry.value;
        if (auto added = writer.add(entry.key, value); !added) {
            report(line_number, added.error().message);
        }
    }
    if (in.bad()) {
        return fail(Errc::io, "read " + std::string(source_name) + ": input error");
    }
    if (error_count > 0) {
        std::string message = join(errors, "\n");
        if (error_count > k_errors_listed) {
            message += "\n" + std::string(source_name) + ": " + std::to_string(error_count - k_errors_listed) +
                       " more errors";
        }
        return fail(Errc::parse, std::move(message));
    }
    const bool list = options.type == MakemapType::set || parser.kind() == FileKind::list;
    MXD_TRY(writer.commit(list ? DbKind::list : DbKind::mapping, options.mode, options.owner));
    return writer.count();
}

Result<void> dump_db(const std::filesystem::path& path, std::ostream& out) {
    MXD_TRY_ASSIGN(auto database, db::Database::open(path, db::Database::Mode::read_only));
    MXD_TRY_ASSIGN(const auto kind, read_db_kind(database, path));
    MXD_TRY_ASSIGN(auto all, database.prepare("SELECT key, value FROM " + std::string(k_db_table_name) + " ORDER BY key"));
    if (kind == DbKind::list) {
        // A key with blanks or a colon reads back whole only under a `# @list` first line.
        MXD_TRY_ASSIGN(auto odd, database.prepare("SELECT 1 FROM " + std::string(k_db_table_name) +
                                                  " WHERE key GLOB '*[ :\t]*' LIMIT 1"));
        MXD_TRY_ASSIGN(const bool any, odd.step());
        if (any) {
            out << "# @list\n";
        }
    }
    for (;;) {
        MXD_TRY_ASSIGN(const bool row, all.step());
        if (!row) {
            break;
        }
        const auto key = all.column_text(0);
        if (kind == DbKind::list) {
            out << key << "\n";
        } else {
            out << key << "\t" << all.column_text(1) << "\n";
        }
    }
    return {};
}

} // namespace core::table
