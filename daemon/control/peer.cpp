// SPDX-License-Identifier: ISC
#include "daemon/control/peer.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace mxd::control {

using core::protocol::Access;

bool read_peer_credentials(int fd, Peer& peer) {
    ucred cred{};
    socklen_t length = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) {
        return false;
    }
    peer.pid = cred.pid;
    peer.uid = cred.uid;
    peer.gid = cred.gid;
    // SO_PEERGROUPS (Linux 4.13) gives the supplementary groups the peer had at connect time;
    // without it only the primary group counts.
    std::vector<gid_t> groups(64);
    length = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &length) != 0 && errno == ERANGE) {
        groups.resize(length / sizeof(gid_t));
        static_cast<void>(::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &length));
    }
    groups.resize(length / sizeof(gid_t));
    peer.groups = std::move(groups);
    return true;
}

Access access_for(const Peer& peer, uid_t daemon_uid, const std::vector<gid_t>& read_gids,
                  const std::vector<gid_t>& admin_gids) {
    auto member_of = [&](const std::vector<gid_t>& gids) {
        return std::any_of(gids.begin(), gids.end(), [&](gid_t g) {
            return g == peer.gid || std::find(peer.groups.begin(), peer.groups.end(), g) != peer.groups.end();
        });
    };
    if (peer.uid == 0 || peer.uid == daemon_uid || member_of(admin_gids)) {
        return Access::admin;
    }
    if (member_of(read_gids)) {
        return Access::read;
    }
    return Access::anyone;
}

bool allows(Access granted, Access required) {
    return static_cast<int>(granted) >= static_cast<int>(required);
}

} // namespace mxd::control
