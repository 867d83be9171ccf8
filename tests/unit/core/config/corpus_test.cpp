// SPDX-License-Identifier: ISC
// The configuration corpus in tests/data/conf: one NAME.conf per case and a NAME.expect listing
// the diagnostics it must produce, one per line:
//   error LINE:COL substring          (in NAME.conf)
//   warning FILE:LINE:COL substring   (FILE relative to tests/data/conf, e.g. a table file)
//   option skip-files                 (load with CheckFiles::no)
//   define NAME=VALUE                 (a -D macro)
// A case with no error and no warning line must load without any diagnostic. Every error or
// warning produced must be listed. `@FILES@` in a .conf is replaced by tests/data/conf/files.
#include "core/config/parser.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace core::config {
namespace {

namespace fs = std::filesystem;

fs::path corpus_dir() {
    const char* root = std::getenv("MXD_SOURCE_ROOT");
    return fs::absolute(fs::path(root != nullptr ? root : ".")) / "tests" / "data" / "conf";
}

std::vector<std::string> case_names() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(corpus_dir(), ec)) {
        if (entry.path().extension() == ".conf") {
            names.push_back(entry.path().stem().string());
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
    for (std::size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size()) {
        text.replace(pos, from.size(), to);
    }
    return text;
}

struct Expected {
    Severity severity = Severity::error;
    std::string file; // empty: the .conf itself
    int line = 0;
    int column = 0;
    std::string substring;
    std::string text; // the expect line, for messages
};

struct Case {
    std::vector<Expected> expected;
    LoadOptions options;
};

Case read_case(const std::string& name) {
    Case c;
    std::istringstream in(read(corpus_dir() / (name + ".expect")));
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        std::istringstream words(line);
        std::string kind;
        std::string where;
        words >> kind >> where;
        if (kind == "option" && where == "skip-files") {
            c.options.check_files = CheckFiles::no;
            continue;
        }
        if (kind == "define") {
            const auto eq = where.find('=');
            c.options.macros[where.substr(0, eq)] = where.substr(eq + 1);
            continue;
        }
        Expected e;
        e.text = line;
        e.severity = kind == "warning" ? Severity::warning : Severity::error;
        std::string rest;
        std::getline(words, rest);
        e.substring = rest.empty() ? rest : rest.substr(rest.find_first_not_of(' '));
        std::vector<std::string> parts;
        std::istringstream fields(where);
        std::string field;
        while (std::getline(fields, field, ':')) {
            parts.push_back(field);
        }
        if (parts.size() == 3) {
            e.file = parts[0];
            parts.erase(parts.begin());
        }
        if (parts.size() != 2) {
            ADD_FAILURE() << name << ".expect: bad line: " << line;
            continue;
        }
        e.line = std::stoi(parts[0]);
        e.column = std::stoi(parts[1]);
        c.expected.push_back(e);
    }
    return c;
}

bool matches(const Expected& e, const Diagnostic& d, const fs::path& conf) {
    const fs::path file = e.file.empty() ? conf : corpus_dir() / e.file;
    return d.severity == e.severity && d.file == file && d.line == e.line && d.column == e.column &&
           (d.message + " " + d.hint).find(e.substring) != std::string::npos;
}

class ConfigCorpus : public ::testing::TestWithParam<std::string> {};

TEST_P(ConfigCorpus, ProducesExpectedDiagnostics) {
    const std::string name = GetParam();
    const fs::path conf = corpus_dir() / (name + ".conf");
    const std::string text = replace_all(read(conf), "@FILES@", (corpus_dir() / "files").string());
    const Case c = read_case(name);
    const LoadResult result = load_string(text, conf, c.options);
    const std::string all = format_diagnostics(result.diagnostics);
    std::vector<bool> used(result.diagnostics.size());
    for (const auto& e : c.expected) {
        bool found = false;
        for (std::size_t i = 0; i < result.diagnostics.size() && !found; ++i) {
            if (!used[i] && matches(e, result.diagnostics[i], conf)) {
                used[i] = true;
                found = true;
            }
        }
        EXPECT_TRUE(found) << "expected: " << e.text << "\ngot:\n" << all;
    }
    for (std::size_t i = 0; i < result.diagnostics.size(); ++i) {
        if (!used[i] && result.diagnostics[i].severity != Severity::note) {
            ADD_FAILURE() << "unexpected diagnostic:\n"
                          << format_diagnostics({result.diagnostics[i]});
        }
    }
    EXPECT_EQ(result.ok(), result.config.has_value());
    if (!result.ok()) {
        return;
    }
    // A valid case prints back in canonical form, and that form passes without any warning
    // (a file without rules keeps its "no match" warning).
    const std::string canonical = to_canonical(*result.config);
    const auto again = load_string(canonical, conf, LoadOptions{{}, CheckFiles::no});
    EXPECT_TRUE(again.ok()) << format_diagnostics(again.diagnostics) << canonical;
    for (const auto& d : again.diagnostics) {
        if (d.message.find("no match rules") == std::string::npos &&
            d.message.find("can never match") == std::string::npos) {
            ADD_FAILURE() << "canonical form warns:\n" << format_diagnostics({d}) << canonical;
        }
    }
    EXPECT_EQ(to_canonical(*again.config), canonical);
    // And the migrated file has no legacy warning left.
    auto migrated = migrate_string(text, conf, c.options);
    ASSERT_TRUE(migrated) << migrated.error().message;
    const auto modern = load_string(*migrated, conf, c.options);
    EXPECT_TRUE(modern.ok()) << format_diagnostics(modern.diagnostics) << *migrated;
    for (const auto& d : modern.diagnostics) {
        EXPECT_EQ(d.message.find("old smtpd.conf grammar"), std::string::npos)
            << format_diagnostics({d}) << *migrated;
    }
}

// gtest names may not contain '-'. (A named function: the macro's own lambda parameter is
// called `info`, which a lambda here would shadow.)
std::string case_test_name(const ::testing::TestParamInfo<std::string>& param) {
    std::string name = param.param;
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
}

INSTANTIATE_TEST_SUITE_P(Data, ConfigCorpus, ::testing::ValuesIn(case_names()), case_test_name);

TEST(ConfigCorpusSize, HasAtLeastSixtyCasesEachWithExpectations) {
    const auto names = case_names();
    EXPECT_GE(names.size(), 60u);
    for (const auto& name : names) {
        EXPECT_TRUE(fs::exists(corpus_dir() / (name + ".expect"))) << name << ".expect is missing";
    }
}

} // namespace
} // namespace core::config
