// SPDX-License-Identifier: ISC
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

// What recipient expansion read from the system a moment ago: the user database's answers
// and the users' ~/.forward files. With them at hand, the RCPT of a known user expands on the
// event loop without blocking; without them, it goes to a worker, which fills the cache.
namespace mxd::lookup {

class ExpansionCache {
  public:
    // How long an entry is trusted: a user added to the system or a .forward written is seen
    // by the next recipient after at most this long.
    static constexpr std::chrono::seconds k_ttl{5};
    // Entries kept at most; a full cache forgets everything and starts again.
    static constexpr std::size_t k_max_entries = 10000;

    // The userinfo value (`uid:gid:home`) of a user known to the system, or nullopt when
    // it is not cached. Unknown users are never cached: a new user may appear at any time.
    std::optional<std::string> user(const std::string& name) const;
    void put_user(const std::string& name, std::string userinfo);

    // The ~/.forward of `home` owned by `uid`: its text, or nullopt inside when there is none;
    // nullopt outside when it is not cached.
    std::optional<std::optional<std::string>> forward(const std::string& home, uid_t uid) const;
    void put_forward(const std::string& home, uid_t uid, std::optional<std::string> text);

  private:
    using Clock = std::chrono::steady_clock;
    template <typename V> struct Entry {
        V value;
        Clock::time_point expires;
    };
    void make_room();

    mutable std::mutex m_mutex;
    std::map<std::string, Entry<std::string>> m_users;
    std::map<std::pair<std::string, uid_t>, Entry<std::optional<std::string>>> m_forwards;
};

} // namespace mxd::lookup
