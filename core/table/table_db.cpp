// SPDX-License-Identifier: ISC
// The db backend: the SQLite file that makemap builds (one key/value table), looked up on
// disk without loading it, and reopened when makemap renames a new file over it.
#include "core/table/table.hpp"
#include "core/table/table_db_format.hpp"

#include "core/db/sqlite.hpp"

#include <sys/stat.h>

#include <mutex>

namespace core::table {

namespace {

// What identifies one version of the file: makemap's rename gives a new inode.
struct FileStamp {
    dev_t dev = 0;
    ino_t ino = 0;
    timespec mtime{};
    off_t size = 0;

    static std::optional<FileStamp> of(const std::filesystem::path& path) {
        struct stat st{};
        if (::stat(path.c_str(), &st) != 0) {
            return std::nullopt;
        }
        return FileStamp{st.st_dev, st.st_ino, st.st_mtim, st.st_size};
    }
    bool operator==(const FileStamp& o) const {
        return dev == o.dev && ino == o.ino && mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec &&
               size == o.size;
    }
};

class DbTable final : public Table {
public:
    DbTable(std::filesystem::path path, db::Database database, db::Statement get, bool is_list, FileStamp stamp)
        : m_path(std::move(path)), m_db(std::move(database)), m_get(std::move(get)), m_is_list(is_list),
          m_stamp(stamp) {}

    std::string_view backend() const override { return "db"; }
    std::string source() const override { return m_path.string(); }
    bool is_list() const override { return m_is_list; }

    std::optional<std::size_t> size() const override {
        std::lock_guard lock(m_mutex);
        if (!m_size) {
            auto count = m_db.prepare("SELECT count(*) FROM " + std::string(k_db_table_name));
            if (count && count->step().value_or(false)) {
                m_size = std::stoull(std::string(count->column_text(0)));
            }
        }
        return m_size;
    }

    Result<std::optional<std::string>> get(std::string_view key) const override {
        std::lock_guard lock(m_mutex);
        m_get.reset();
        MXD_TRY(m_get.bind(1, key));
        MXD_TRY_ASSIGN(const bool row, m_get.step());
        std::optional<std::string> value;
        if (row) {
            value = std::string(m_get.column_text(0));
        }
        m_get.reset();
        return value;
    }

    Result<void> for_each(const std::function<bool(std::string_view, std::string_view)>& visit) const override {
        std::lock_guard lock(m_mutex);
        MXD_TRY_ASSIGN(auto all, m_db.prepare("SELECT key, value FROM " + std::string(k_db_table_name) +
                                              " ORDER BY key"));
        for (;;) {
            MXD_TRY_ASSIGN(const bool row, all.step());
            if (!row || !visit(all.column_text(0), all.column_text(1))) {
                return {};
            }
        }
    }

    Result<TablePtr> reload() const override { return open_db_table(m_path); }

    bool stale() const override {
        const auto now = FileStamp::of(m_path);
        return now && !(*now == m_stamp);
    }

private:
    std::filesystem::path m_path;
    mutable std::mutex m_mutex;  // one connection, shared by the lookup threads
    mutable db::Database m_db;
    mutable db::Statement m_get;
    bool m_is_list;
    FileStamp m_stamp;
    mutable std::optional<std::size_t> m_size;
};

} // namespace

Result<TablePtr> open_db_table(const std::filesystem::path& path) {
    // The stamp is taken before opening: if makemap replaces the file in between, the table
    // looks stale at once and is opened again.
    const auto stamp = FileStamp::of(path);
    MXD_TRY_ASSIGN(auto database, db::Database::open(path, db::Database::Mode::read_only));
    MXD_TRY_ASSIGN(const auto kind, read_db_kind(database, path));
    // Lookups read pages straight from a shared mapping instead of copying them through read().
    // makemap never writes a db in place (it renames a new file over it), so the reader may keep
    // its shared lock for good instead of taking and dropping an fcntl lock on every lookup.
    MXD_TRY(database.exec("PRAGMA mmap_size = 1073741824; PRAGMA query_only = 1;"
                          "PRAGMA locking_mode = EXCLUSIVE;"));
    MXD_TRY_ASSIGN(auto get, database.prepare("SELECT value FROM " + std::string(k_db_table_name) + " WHERE key = ?1"));
    return TablePtr(std::make_shared<DbTable>(path, std::move(database), std::move(get), kind == DbKind::list,
                                              stamp.value_or(FileStamp{})));
}

} // namespace core::table
