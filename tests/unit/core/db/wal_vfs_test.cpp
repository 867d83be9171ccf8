// SPDX-License-Identifier: ISC
#include "core/db/sqlite.hpp"
#include "core/db/wal_vfs.hpp"
#include "tests/unit/temp_dir.hpp"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

using unit_test::TempDir;

namespace {

// A file opened through the batching VFS, as SQLite opens a WAL file.
struct VfsFile {
    sqlite3_vfs* vfs = nullptr;
    sqlite3_file* file = nullptr;
    std::unique_ptr<char[]> storage;
    bool open = false;

    VfsFile(const std::filesystem::path& path, int kind) {
        vfs = sqlite3_vfs_find(core::db::wal_batching_vfs());
        storage = std::make_unique<char[]>(static_cast<std::size_t>(vfs->szOsFile));
        file = reinterpret_cast<sqlite3_file*>(storage.get());
        int out = 0;
        open = vfs->xOpen(vfs, path.c_str(), file,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | kind, &out) == SQLITE_OK;
    }
    ~VfsFile() {
        if (open) {
            file->pMethods->xClose(file);
        }
    }
    int write(const std::string& data, sqlite3_int64 offset) {
        return file->pMethods->xWrite(file, data.data(), static_cast<int>(data.size()), offset);
    }
    std::string read(int amount, sqlite3_int64 offset) {
        std::string out(static_cast<std::size_t>(amount), '\0');
        EXPECT_EQ(file->pMethods->xRead(file, out.data(), amount, offset), SQLITE_OK);
        return out;
    }
};

std::string contents(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

} // namespace

TEST(WalBatchingVfs, ContiguousWalWritesReachTheFileAtTheSyncInOrder) {
    TempDir dir;
    dir.write("q.db", ""); // the unix VFS gives a WAL file its database's owner and mode
    const auto path = dir.path() / "q.db-wal";
    VfsFile wal(path, SQLITE_OPEN_WAL);
    ASSERT_TRUE(wal.open);
    // A frame header and its page, as SQLite writes them: held until the sync.
    ASSERT_EQ(wal.write(std::string(24, 'h'), 0), SQLITE_OK);
    ASSERT_EQ(wal.write(std::string(100, 'p'), 24), SQLITE_OK);
    EXPECT_EQ(std::filesystem::file_size(path), 0u);
    ASSERT_EQ(wal.file->pMethods->xSync(wal.file, SQLITE_SYNC_NORMAL), SQLITE_OK);
    EXPECT_EQ(contents(path), std::string(24, 'h') + std::string(100, 'p'));

    // A write elsewhere (SQLite rewriting a frame in place) sends what is held first, so the
    // later bytes win; a read sees everything written before it.
    ASSERT_EQ(wal.write("AAAA", 124), SQLITE_OK);
    ASSERT_EQ(wal.write("BB", 10), SQLITE_OK);
    ASSERT_EQ(wal.write("CC", 125), SQLITE_OK);
    EXPECT_EQ(wal.read(6, 122), "ppACCA");
    EXPECT_EQ(wal.read(4, 9), "hBBh");
    sqlite3_int64 size = 0;
    ASSERT_EQ(wal.file->pMethods->xFileSize(wal.file, &size), SQLITE_OK);
    EXPECT_EQ(size, 128);
}

TEST(WalBatchingVfs, ALargeTransactionReachesTheFileWhole) {
    TempDir dir;
    dir.write("q.db", "");
    const auto path = dir.path() / "q.db-wal";
    VfsFile wal(path, SQLITE_OPEN_WAL);
    ASSERT_TRUE(wal.open);
    // 300 frames (1.2 MiB, past the buffer and past the unix VFS's 128 KiB per write), then
    // one write larger than the buffer.
    std::string expected;
    for (int frame = 0; frame < 300; ++frame) {
        const std::string bytes(4120, static_cast<char>('a' + frame % 26));
        ASSERT_EQ(wal.write(bytes, static_cast<sqlite3_int64>(expected.size())), SQLITE_OK);
        expected += bytes;
    }
    const std::string large(3 << 20, 'L');
    ASSERT_EQ(wal.write(large, static_cast<sqlite3_int64>(expected.size())), SQLITE_OK);
    expected += large;
    ASSERT_EQ(wal.file->pMethods->xSync(wal.file, SQLITE_SYNC_NORMAL), SQLITE_OK);
    EXPECT_TRUE(contents(path) == expected);
}

TEST(WalBatchingVfs, OtherFilesAreWrittenAtOnce) {
    TempDir dir;
    const auto path = dir.path() / "q.db";
    VfsFile db(path, SQLITE_OPEN_MAIN_DB);
    ASSERT_TRUE(db.open);
    ASSERT_EQ(db.write(std::string(512, 'd'), 0), SQLITE_OK);
    EXPECT_EQ(std::filesystem::file_size(path), 512u);
}

TEST(WalBatchingVfs, AnotherConnectionReadsEachCommitAndAReopenFindsThemAll) {
    TempDir dir;
    const auto path = dir.path() / "q.db";
    {
        auto writer = core::db::Database::open(path, core::db::Database::Mode::read_write_create,
                                               core::db::Database::WalWrites::batched);
        ASSERT_TRUE(writer);
        ASSERT_TRUE(writer->exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                                 "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)"));
        auto reader = core::db::Database::open(path, core::db::Database::Mode::read_only);
        ASSERT_TRUE(reader);
        for (int i = 1; i <= 300; ++i) {
            ASSERT_TRUE(writer->exec("INSERT INTO t (v) VALUES (randomblob(3000))"));
            auto count = reader->prepare("SELECT count(*), sum(length(v)) FROM t");
            ASSERT_TRUE(count);
            ASSERT_TRUE(*count->step());
            ASSERT_EQ(count->column_text(0), std::to_string(i));
            ASSERT_EQ(count->column_text(1), std::to_string(i * 3000));
        }
    }
    auto reopened = core::db::Database::open(path, core::db::Database::Mode::read_only);
    ASSERT_TRUE(reopened);
    auto check = reopened->prepare("PRAGMA integrity_check");
    ASSERT_TRUE(check && *check->step());
    EXPECT_EQ(check->column_text(0), "ok");
    auto count = reopened->prepare("SELECT count(*) FROM t");
    ASSERT_TRUE(count && *count->step());
    EXPECT_EQ(count->column_text(0), "300");
}
