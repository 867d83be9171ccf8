// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/result.hpp"

#include <asio.hpp>

#include <cstdint>
#include <string>
#include <vector>

// `mxctl reload` and SIGHUP: the configuration read and checked again, and swapped in whole.
namespace mxd {

// What a reload did, for the reply and the log.
struct ReloadOutcome {
    std::uint64_t generation = 0;    // the number of the configuration now in force
    std::string config;              // the file read
    std::vector<std::string> notes;  // listeners opened and closed, what needs a restart
};

// The daemon's reload; mxd::Server implements it.
class Reloader {
public:
    virtual ~Reloader() = default;
    // Reads and checks the configuration off the event loop, then swaps it in. On any error the
    // running configuration stays and the error comes back: Errc::config with the diagnostics
    // of `mxd -n`, or the table, certificate or address at fault; Errc::busy while another
    // reload runs. Event loop only.
    virtual asio::awaitable<core::Result<ReloadOutcome>> reload() = 0;
};

} // namespace mxd
