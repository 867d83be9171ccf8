// SPDX-License-Identifier: ISC
// `mxctl config migrate`: the file with each old-grammar statement replaced by its modern form,
// every other line (comments included) kept byte for byte.
#include "core/config/parser.hpp"
#include "core/config/parser_impl.hpp"
#include "core/util/strings.hpp"

#include <fstream>
#include <sstream>

namespace core::config {

namespace {

// The `# comment` at the end of a line, outside quotes; empty when there is none.
std::string trailing_comment(std::string_view line) {
    char quote = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quote != 0) {
            if (c == '\\') {
                ++i;
            } else if (c == quote) {
                quote = 0;
            }
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '#') {
            return std::string(line.substr(i));
        }
    }
    return {};
}

} // namespace

core::Result<std::string> migrate_string(std::string_view text, const std::filesystem::path& name,
                                         const LoadOptions& options) {
    detail::Parser parser(options);
    parser.m_config.source_file = name;
    parser.parse_text(text, name, 0);
    parser.finish();
    std::vector<Diagnostic> errors;
    for (const auto& d : parser.m_diagnostics) {
        if (d.severity == Severity::error) {
            errors.push_back(d);
        }
    }
    if (!errors.empty()) {
        return core::fail(core::Errc::config, format_diagnostics(errors));
    }
    std::vector<std::string> lines;
    for (auto line : split(text, '\n')) {
        lines.emplace_back(line);
    }
    std::map<int, const detail::LegacyEdit*> edits;
    for (const auto& e : parser.m_edits) {
        edits[e.first_line] = &e;
    }
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const int number = static_cast<int>(i) + 1;
        const auto it = edits.find(number);
        if (it == edits.end()) {
            out += lines[i];
            if (i + 1 < lines.size()) {
                out += '\n';
            }
            continue;
        }
        const auto& edit = *it->second;
        const std::string& first = lines[i];
        const std::string indent =
            first.substr(0, first.find_first_not_of(" \t") == std::string::npos
                                ? 0
                                : first.find_first_not_of(" \t"));
        std::string comments;
        for (int n = edit.first_line; n <= edit.last_line && n <= static_cast<int>(lines.size());
             ++n) {
            const auto c = trailing_comment(lines[static_cast<std::size_t>(n - 1)]);
            if (!c.empty()) {
                comments += (comments.empty() ? "" : " ") + c;
            }
        }
        std::istringstream modern(edit.modern);
        std::string line;
        bool first_line = true;
        while (std::getline(modern, line)) {
            if (!first_line) {
                out += '\n';
            }
            out += indent + line;
            first_line = false;
        }
        if (!comments.empty()) {
            out += "  " + comments;
        }
        const auto last = static_cast<std::size_t>(std::max(edit.last_line, edit.first_line));
        i = last - 1;
        if (i + 1 < lines.size()) {
            out += '\n';
        }
    }
    return out;
}

core::Result<std::string> migrate_file(const std::filesystem::path& path,
                                       const LoadOptions& options) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return core::fail(core::Error::from_errno(errno, "open", path.string()));
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return migrate_string(buffer.str(), path, options);
}

} // namespace core::config
