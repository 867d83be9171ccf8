// SPDX-License-Identifier: ISC
#pragma once

#include "core/config/config.hpp"
#include "core/table/table.hpp"
#include "core/util/result.hpp"

#include <map>
#include <mutex>
#include <string>
#include <vector>

// The daemon's tables by name (OpenSMTPD's lookup process keeps them). Snapshots are swapped
// whole: a lookup holds the snapshot it started with, so an update never blocks it. Safe to
// call from the event loop and from worker threads.
namespace mxd::lookup {

class Tables {
public:
    // Opens every table of the configuration. Fails with the first that cannot be opened,
    // naming the table and the source's file:line.
    static core::Result<std::unique_ptr<Tables>> open(const core::config::Config& config);

    // The current snapshot of a table, or nullptr for an unknown name. A db table whose file
    // was replaced (makemap) is reopened first; if that fails, the old snapshot stays.
    core::table::TablePtr get(const std::string& name);

    // Re-reads a table's source and swaps the new snapshot in. Errc::not_found for an unknown
    // table; the source's error (file:line) when it does not load, and the old one stays.
    // Blocking: call it from a worker thread.
    core::Result<core::table::TablePtr> update(const std::string& name);

    // One row of `mxctl show tables`.
    struct Info {
        std::string name;
        core::table::TablePtr table;
        std::vector<core::table::Service> uses;
    };
    std::vector<Info> list();

private:
    struct Entry {
        core::table::TablePtr table;
        std::vector<core::table::Service> uses;
    };
    std::mutex m_mutex;
    std::map<std::string, Entry> m_tables;
};

} // namespace mxd::lookup
