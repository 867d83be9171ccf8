// SPDX-License-Identifier: ISC
#pragma once

namespace core::db {

// The name of a SQLite VFS, registered on the first call, that is the default (unix) VFS except
// that it gives each WAL file's contiguous writes to the kernel together at the commit's sync
// (one write per 124 KiB, not two per page); nullptr when it cannot be registered (the default
// VFS then serves).
const char* wal_batching_vfs();

} // namespace core::db
