// SPDX-License-Identifier: ISC
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace core::config {

// How bad a diagnostic is: errors fail the check, warnings only with --strict.
enum class Severity { error, warning, note };

// One message of the check, compiler style: where, how bad, what, and an optional hint
// (a suggestion, or the modern form of an old line). source_line is the line it points into.
struct Diagnostic {
    std::filesystem::path file;
    int line = 0;
    int column = 0;
    Severity severity = Severity::error;
    std::string message;
    std::string hint;
    std::string source_line;
};

// "error", "warning" or "note".
const char* severity_name(Severity severity);

// Renders diagnostics for stderr: `file:line:col: error: message`, the source line, a caret
// under the column, then the hint lines. Never fails.
std::string format_diagnostics(const std::vector<Diagnostic>& diagnostics);

} // namespace core::config
