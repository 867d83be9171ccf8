// SPDX-License-Identifier: ISC
#include "core/config/diagnostic.hpp"

#include <sstream>

namespace core::config {

const char* severity_name(Severity severity) {
    switch (severity) {
    case Severity::error:
        return "error";
    case Severity::warning:
        return "warning";
    case Severity::note:
        return "note";
    }
    return "error";
}

std::string format_diagnostics(const std::vector<Diagnostic>& diagnostics) {
    std::ostringstream out;
    for (const auto& d : diagnostics) {
        if (!d.file.empty()) {
            out << d.file.string() << ':';
            if (d.line > 0) {
                out << d.line << ':';
                if (d.column > 0) {
                    out << d.column << ':';
                }
            }
            out << ' ';
        }
        out << severity_name(d.severity) << ": " << d.message << '\n';
        if (!d.source_line.empty()) {
            out << "    " << d.source_line << '\n';
            if (d.column > 0) {
                std::string pad;
                // Tabs in the source line keep their width so that the caret lines up.
                for (int i = 0; i < d.column - 1 && i < static_cast<int>(d.source_line.size());
                     ++i) {
                    pad += d.source_line[static_cast<std::size_t>(i)] == '\t' ? '\t' : ' ';
                }
                out << "    " << pad << "^\n";
            }
        }
        if (!d.hint.empty()) {
            std::istringstream lines(d.hint);
            std::string line;
            bool first = true;
            while (std::getline(lines, line)) {
                out << (first ? "  hint: " : "        ") << line << '\n';
                first = false;
            }
        }
    }
    return out.str();
}

} // namespace core::config
