// SPDX-License-Identifier: ISC
#include "daemon/lookup/expansion_cache.hpp"

namespace mxd::lookup {

std::optional<std::string> ExpansionCache::user(const std::string& name) const {
    std::lock_guard lock(m_mutex);
    const auto it = m_users.find(name);
    if (it == m_users.end() || it->second.expires <= Clock::now()) {
        return std::nullopt;
    }
    return it->second.value;
}

void ExpansionCache::put_user(const std::string& name, std::string userinfo) {
    std::lock_guard lock(m_mutex);
    make_room();
    m_users.insert_or_assign(name, Entry<std::string>{std::move(userinfo), Clock::now() + k_ttl});
}

std::optional<std::optional<std::string>> ExpansionCache::forward(const std::string& home,
                                                                  uid_t uid) const {
    std::lock_guard lock(m_mutex);
    const auto it = m_forwards.find({home, uid});
    if (it == m_forwards.end() || it->second.expires <= Clock::now()) {
        return std::nullopt;
    }
    return it->second.value;
}

void ExpansionCache::put_forward(const std::string& home, uid_t uid, std::optional<std::string> text) {
    std::lock_guard lock(m_mutex);
    make_room();
    m_forwards.insert_or_assign(std::pair{home, uid},
                                Entry<std::optional<std::string>>{std::move(text), Clock::now() + k_ttl});
}

void ExpansionCache::make_room() {
    if (m_users.size() + m_forwards.size() >= k_max_entries) {
        m_users.clear();
        m_forwards.clear();
    }
}

} // namespace mxd::lookup
