// SPDX-License-Identifier: ISC
#pragma once

#include "core/protocol/commands.hpp"

#include <sys/types.h>

#include <vector>

namespace mxd::control {

// Who is on the other end of a control connection, from SO_PEERCRED and SO_PEERGROUPS, and
// the access level that grants.
struct Peer {
    pid_t pid = 0;
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
    std::vector<gid_t> groups;
    core::protocol::Access access = core::protocol::Access::anyone;
};

// Reads the peer's credentials from a connected Unix socket; false when the kernel refuses.
bool read_peer_credentials(int fd, Peer& peer);

// The access level of a peer (DESIGN "Control protocol"): admin for root, the daemon's own
// user and members of an admin group; read for members of a read group; anyone otherwise.
core::protocol::Access access_for(const Peer& peer, uid_t daemon_uid, const std::vector<gid_t>& read_gids,
                                  const std::vector<gid_t>& admin_gids);

// True when `granted` is enough for a command that requires `required`.
bool allows(core::protocol::Access granted, core::protocol::Access required);

} // namespace mxd::control
