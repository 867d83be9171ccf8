// SPDX-License-Identifier: ISC
#include "core/db/wal_vfs.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <utility>

namespace core::db {

namespace {

// SQLite writes a WAL frame as two pwrite(2) calls, its 24-byte header then its page, so a
// commit of 20 pages made 40 system calls before its fsync. The frames of a commit are
// contiguous and nothing reads them before the commit's xSync (synchronous=FULL syncs before
// the wal-index makes them visible), so this VFS keeps contiguous writes to a WAL file in a
// buffer and hands them to the kernel together (one pwrite(2) per 124 KiB): at xSync, before
// anything reads or sizes the file, and when the buffer is full. Every other file is the unix
// VFS's own.
constexpr int k_buffer_max = 1 << 20;
// The unix VFS takes at most 128 KiB - 1 bytes in one xWrite (it masks the length with 0x1ffff:
// a 1 MiB write would write nothing and fail as a full disk), so the buffer goes out in parts.
constexpr int k_write_max = 0x1ffff & ~0xfff;

struct WalFile {
    sqlite3_file base;   // pMethods is k_wal_methods
    sqlite3_file* real;  // the unix VFS's file, in the same allocation, after this struct
    char* buffer;        // sqlite3_malloc'd; bytes not yet written, from file offset `start`
    int used;
    int capacity;
    sqlite3_int64 start;
};

sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs;

WalFile* wal(sqlite3_file* file) { return reinterpret_cast<WalFile*>(file); }

// Writes `amount` bytes at `offset` through the unix VFS, in parts it accepts.
int write_through(WalFile* f, const char* data, int amount, sqlite3_int64 offset) {
    for (int done = 0; done < amount;) {
        const int part = std::min(amount - done, k_write_max);
        if (const int rc = f->real->pMethods->xWrite(f->real, data + done, part, offset + done);
            rc != SQLITE_OK) {
            return rc;
        }
        done += part;
    }
    return SQLITE_OK;
}

int flush(WalFile* f) {
    const int used = std::exchange(f->used, 0);
    return write_through(f, f->buffer, used, f->start);
}

int wal_close(sqlite3_file* file) {
    auto* f = wal(file);
    const int flushed = flush(f);
    const int closed = f->real->pMethods->xClose(f->real);
    sqlite3_free(f->buffer);
    f->buffer = nullptr;
    return flushed != SQLITE_OK ? flushed : closed;
}

int wal_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
    auto* f = wal(file);
    if (const int rc = flush(f); rc != SQLITE_OK) {
        return rc;
    }
    return f->real->pMethods->xRead(f->real, out, amount, offset);
}

int wal_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
    auto* f = wal(file);
    const bool follows = f->used > 0 && offset == f->start + f->used;
    if (!follows || f->used + amount > k_buffer_max) {
        if (const int rc = flush(f); rc != SQLITE_OK) {
            return rc;
        }
        if (amount > k_buffer_max) {
            return write_through(f, static_cast<const char*>(data), amount, offset);
        }
        f->start = offset;
    }
    if (f->used + amount > f->capacity) {
        int capacity = f->capacity > 0 ? f->capacity : 64 * 1024;
        while (capacity < f->used + amount) {
            capacity *= 2;
        }
        auto* grown = static_cast<char*>(sqlite3_realloc(f->buffer, capacity));
        if (grown == nullptr) {
            // Nothing is lost: write what is held, then this, as the unix VFS would.
            if (const int rc = flush(f); rc != SQLITE_OK) {
                return rc;
            }
            return write_through(f, static_cast<const char*>(data), amount, offset);
        }
        f->buffer = grown;
        f->capacity = capacity;
    }
    std::memcpy(f->buffer + f->used, data, static_cast<std::size_t>(amount));
    f->used += amount;
    return SQLITE_OK;
}

int wal_truncate(sqlite3_file* file, sqlite3_int64 size) {
    auto* f = wal(file);
    if (const int rc = flush(f); rc != SQLITE_OK) {
        return rc;
    }
    return f->real->pMethods->xTruncate(f->real, size);
}

int wal_sync(sqlite3_file* file, int flags) {
    auto* f = wal(file);
    if (const int rc = flush(f); rc != SQLITE_OK) {
        return rc;
    }
    return f->real->pMethods->xSync(f->real, flags);
}

int wal_file_size(sqlite3_file* file, sqlite3_int64* size) {
    auto* f = wal(file);
    if (const int rc = flush(f); rc != SQLITE_OK) {
        return rc;
    }
    return f->real->pMethods->xFileSize(f->real, size);
}

int wal_lock(sqlite3_file* file, int level) {
    return wal(file)->real->pMethods->xLock(wal(file)->real, level);
}

int wal_unlock(sqlite3_file* file, int level) {
    return wal(file)->real->pMethods->xUnlock(wal(file)->real, level);
}

int wal_check_reserved_lock(sqlite3_file* file, int* out) {
    return wal(file)->real->pMethods->xCheckReservedLock(wal(file)->real, out);
}

int wal_file_control(sqlite3_file* file, int op, void* arg) {
    auto* f = wal(file);
    if (const int rc = flush(f); rc != SQLITE_OK) {
        return rc;
    }
    return f->real->pMethods->xFileControl(f->real, op, arg);
}

int wal_sector_size(sqlite3_file* file) {
    return wal(file)->real->pMethods->xSectorSize(wal(file)->real);
}

int wal_device_characteristics(sqlite3_file* file) {
    return wal(file)->real->pMethods->xDeviceCharacteristics(wal(file)->real);
}

// Version 1: a WAL file is never memory-mapped and has no shared memory of its own.
const sqlite3_io_methods k_wal_methods = {
    1,
    wal_close,
    wal_read,
    wal_write,
    wal_truncate,
    wal_sync,
    wal_file_size,
    wal_lock,
    wal_unlock,
    wal_check_reserved_lock,
    wal_file_control,
    wal_sector_size,
    wal_device_characteristics,
    nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
};

int vfs_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    if ((flags & SQLITE_OPEN_WAL) == 0) {
        return g_real->xOpen(g_real, name, file, flags, out_flags);
    }
    auto* f = wal(file);
    f->base.pMethods = nullptr;
    f->real = reinterpret_cast<sqlite3_file*>(f + 1);
    f->buffer = nullptr;
    f->used = 0;
    f->capacity = 0;
    f->start = 0;
    const int rc = g_real->xOpen(g_real, name, f->real, flags, out_flags);
    if (rc == SQLITE_OK) {
        f->base.pMethods = &k_wal_methods;
    }
    return rc;
}

} // namespace

const char* wal_batching_vfs() {
    static std::once_flag registered;
    static const char* name = nullptr;
    std::call_once(registered, [] {
        g_real = sqlite3_vfs_find(nullptr);
        if (g_real == nullptr) {
            return;
        }
        // The unix VFS itself, but for the name, the size of a file and xOpen; its other
        // methods see the same pAppData and limits through this copy.
        g_vfs = *g_real;
        g_vfs.pNext = nullptr;
        g_vfs.szOsFile = static_cast<int>(sizeof(WalFile)) + g_real->szOsFile;
        g_vfs.zName = "mxd-wal-batching";
        g_vfs.xOpen = vfs_open;
        if (sqlite3_vfs_register(&g_vfs, 0) == SQLITE_OK) {
            name = g_vfs.zName;
        }
    });
    return name;
}

} // namespace core::db
