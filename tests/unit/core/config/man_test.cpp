// SPDX-License-Identifier: ISC
// man-covers-config: every keyword of the parser (core/config/keywords.hpp) is documented in
// man/mxd.conf.5 as a command or modifier (an `Ic` or `Cm` argument).
#include "core/config/keywords.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace core::config {
namespace {

std::set<std::string> documented_words(std::istream& in) {
    std::set<std::string> words;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] != '.') {
            continue;
        }
        for (std::size_t pos = 0; (pos = line.find("\\-", pos)) != std::string::npos;) {
            line.replace(pos, 2, "-");
        }
        for (std::size_t pos = 0; (pos = line.find("\\&", pos)) != std::string::npos;) {
            line.erase(pos, 2);
        }
        std::istringstream tokens(line.substr(1));
        std::string token;
        bool in_keyword_macro = false;
        while (tokens >> token) {
            if (token == "Ic" || token == "Cm") {
                in_keyword_macro = true;
                continue;
            }
            // Another macro name (two letters, capital first) ends the keyword arguments.
            if (token.size() == 2 && std::isupper(static_cast<unsigned char>(token[0])) &&
                std::islower(static_cast<unsigned char>(token[1]))) {
                in_keyword_macro = false;
                continue;
            }
            if (in_keyword_macro) {
                words.insert(token);
            }
        }
    }
    return words;
}

TEST(ConfigManPage, DocumentsEveryKeyword) {
    const char* root = std::getenv("MXD_SOURCE_ROOT");
    ASSERT_NE(root, nullptr) << "MXD_SOURCE_ROOT is not set";
    std::ifstream in(std::filesystem::path(root) / "man" / "mxd.conf.5");
    ASSERT_TRUE(in) << "cannot open man/mxd.conf.5";
    const auto words = documented_words(in);
    for (const auto& keyword : k_keywords) {
        EXPECT_TRUE(words.count(std::string(keyword.word)) != 0)
            << "keyword '" << keyword.word << "' is not documented in man/mxd.conf.5";
    }
}

} // namespace
} // namespace core::config
