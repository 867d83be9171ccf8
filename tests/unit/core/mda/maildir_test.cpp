// SPDX-License-Identifier: ISC
#include "core/mda/maildir.hpp"

#include "tests/unit/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace core::mda;
namespace fs = std::filesystem;

namespace {

const std::string k_message = "From: a@example.org\nSubject: hello\n\nFrom here on, the body.\n";
const std::string k_spam = "From: a@example.org\nX-Spam: yes\nSubject: cheap\n\nbuy\n";

std::vector<fs::path> files_in(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        out.push_back(entry.path());
    }
    return out;
}

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

mode_t mode_of(const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

class Maildir : public ::testing::Test {
  protected:
    unit_test::TempDir m_dir;
    fs::path maildir() const { return m_dir.path() / "home" / "eric" / "Maildir"; }
    fs::path deliver(MaildirOptions options, const std::string& message) {
        auto delivered = deliver_maildir(options, message);
        EXPECT_TRUE(delivered) << delivered.error().message;
        return delivered ? *delivered : fs::path();
    }
};

TEST_F(Maildir, CreatesTheMaildirAndPutsTheMessageInNew) {
    MaildirOptions options;
    options.path = maildir();
    const fs::path file = deliver(options, k_message);
    EXPECT_EQ(file.parent_path(), maildir() / "new");
    const auto in_new = files_in(maildir() / "new");
    ASSERT_EQ(in_new.size(), 1u);
    EXPECT_EQ(in_new[0], file);
    EXPECT_EQ(read(file), k_message);
    EXPECT_EQ(mode_of(file), 0600u);
    EXPECT_TRUE(files_in(maildir() / "tmp").empty());
    EXPECT_TRUE(files_in(maildir() / "cur").empty());
    for (const char* sub : {"", "tmp", "new", "cur"}) {
        EXPECT_EQ(mode_of(maildir() / sub), 0700u) << sub;
    }
}

TEST_F(Maildir, FileNamesAreUniqueAndFollowMaildir5) {
    MaildirOptions options;
    options.path = maildir();
    options.hostname = "mx/1:a";
    std::set<std::string> names;
    for (int i = 0; i < 50; ++i) {
        names.insert(deliver(options, k_message).filename().string());
    }
    EXPECT_EQ(names.size(), 50u);
    EXPECT_EQ(files_in(maildir() / "new").size(), 50u);
    const std::regex k_form(R"(\d+\.M\d+P\d+R[0-9a-f]{16}\.mx\\0571\\072a)");
    for (const auto& name : names) {
        EXPECT_TRUE(std::regex_match(name, k_form)) << name;
    }
}

TEST_F(Maildir, JunkGoesToTheJunkFolderOnlyWithTheJunkOption) {
    MaildirOptions options;
    options.path = maildir();
    options.junk = true;
    const fs::path spam = deliver(options, k_spam);
    EXPECT_EQ(spam.parent_path(), maildir() / ".Junk" / "new");
    EXPECT_EQ(read(spam), k_spam);
    const fs::path ham = deliver(options, k_message);
    EXPECT_EQ(ham.parent_path(), maildir() / "new");

    options.junk = false;
    const fs::path unfiltered = deliver(options, k_spam);
    EXPECT_EQ(unfiltered.parent_path(), maildir() / "new");
    EXPECT_EQ(files_in(maildir() / ".Junk" / "new").size(), 1u);
}

TEST_F(Maildir, TagSelectsAnExistingFolder) {
    MaildirOptions options;
    options.path = maildir();
    options.folder = "lists";
    // No .lists folder yet: the inbox.
    EXPECT_EQ(deliver(options, k_message).parent_path(), maildir() / "new");
    fs::create_directories(maildir() / ".lists");
    EXPECT_EQ(deliver(options, k_message).parent_path(), maildir() / ".lists" / "new");
    EXPECT_TRUE(fs::is_directory(maildir() / ".lists" / "cur"));
}

TEST_F(Maildir, TagCannotLeaveTheMaildir) {
    EXPECT_EQ(maildir_folder("lists"), "lists");
    EXPECT_EQ(maildir_folder("a.b"), "a.b");
    EXPECT_EQ(maildir_folder("../x"), ":x");
    EXPECT_EQ(maildir_folder("."), "");
    EXPECT_EQ(maildir_folder(".."), "");
    EXPECT_EQ(maildir_folder("a/b"), "a:b");
    EXPECT_EQ(maildir_folder("$(x)"), ":(x)");

    MaildirOptions options;
    options.path = maildir();
    fs::create_directories(maildir());
    for (const char* tag : {".", "..", "../..", "/"}) {
        options.folder = tag;
        EXPECT_EQ(deliver(options, k_message).parent_path(), maildir() / "new") << tag;
    }
    EXPECT_FALSE(fs::exists(maildir().parent_path() / "new"));
}

TEST_F(Maildir, RefusesARelativePath) {
    MaildirOptions options;
    options.path = "Maildir";
    const auto delivered = deliver_maildir(options, k_message);
    ASSERT_FALSE(delivered);
    EXPECT_EQ(delivered.error().code, core::Errc::invalid_argument);
}

TEST_F(Maildir, AnUncreatableMaildirIsATemporaryFailure) {
    const fs::path file = m_dir.write("plain-file", "x");
    MaildirOptions options;
    options.path = file / "Maildir";
    const auto delivered = deliver_maildir(options, k_message);
    ASSERT_FALSE(delivered);
    EXPECT_EQ(delivered.error().code, core::Errc::temp_failure);
    EXPECT_NE(delivered.error().message.find("plain-file"), std::string::npos)
        << delivered.error().message;
}

} // namespace
