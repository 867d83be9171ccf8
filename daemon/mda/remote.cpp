// SPDX-License-Identifier: ISC
#include "daemon/mda/remote.hpp"

#include "core/util/log.hpp"
#include "daemon/privileged/wire.hpp"

#include <sys/socket.h>
#include <unistd.h>

namespace mxd::mda::remote {

namespace wire = privileged::wire;

// One child's requests and reports, as the records come in (event loop only).
struct Launcher::Slot {
    explicit Slot(const asio::any_io_executor& executor) : wake(executor) {}

    bool replied = false;  // the start was answered
    std::string refused;   // why it did not start, when it did not
    core::UniqueFd output; // its output pipe, when it did
    std::optional<int> status;
    bool lost = false; // the privileged process went away first
    asio::steady_timer wake; // cancelled at each change
};

class Launcher::RemoteExit : public spawn::Exit {
  public:
    RemoteExit(std::shared_ptr<Launcher> launcher, std::uint64_t id, std::shared_ptr<Slot> slot)
        : m_launcher(std::move(launcher)), m_id(id), m_slot(std::move(slot)) {}

    asio::awaitable<std::optional<int>> wait() override {
        asio::error_code ec;
        while (!m_slot->status && !m_slot->lost) {
            m_slot->wake.expires_at(asio::steady_timer::time_point::max());
            co_await m_slot->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        m_launcher->m_slots.erase(m_id);
        co_return m_slot->status;
    }

    void kill() override {
        if (!m_slot->status && !m_slot->lost) {
            m_launcher->kill(m_id);
        }
    }

  private:
    std::shared_ptr<Launcher> m_launcher;
    std::uint64_t m_id;
    std::shared_ptr<Slot> m_slot;
};

void Launcher::gone(const std::string& why) {
    if (!m_gone) {
        core::log::error("mda", "privileged-process-gone", {{"error", why}});
    }
    m_gone = true;
    for (auto& [id, slot] : m_slots) {
        slot->lost = true;
        slot->wake.cancel();
    }
}

void Launcher::kill(std::uint64_t id) {
    wire::Writer w(wire::Type::kill);
    w.u64(id);
    if (auto sent = wire::send(m_socket, w.bytes(), -1); !sent) {
        gone(sent.error().message);
    }
}

asio::awaitable<void> Launcher::read_records(std::shared_ptr<Launcher> self) {
    // `self` keeps the launcher alive while records may come.
    static_cast<void>(self);
    const auto executor = co_await asio::this_coro::executor;
    // A descriptor of our own to wait on: the link keeps the socket for the process's life.
    asio::posix::stream_descriptor socket(executor, ::dup(m_socket));
    for (;;) {
        asio::error_code ec;
        co_await socket.async_wait(asio::posix::descriptor_base::wait_read,
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            gone(ec.message());
            co_return;
        }
        for (;;) {
            auto received = wire::receive(m_socket, MSG_DONTWAIT);
            if (!received) {
                if (received.error().code == core::Errc::busy) {
                    break;
                }
                gone(received.error().message);
                co_return;
            }
            if (received->bytes.empty()) {
                gone("its socket closed");
                co_return;
            }
            wire::Reader r(received->bytes);
            const auto type = static_cast<wire::Type>(r.u32());
            const std::uint64_t id = r.u64();
            const auto found = m_slots.find(id);
            if (!r.ok() || found == m_slots.end()) {
                continue;
            }
            Slot& slot = *found->second;
            if (type == wire::Type::started) {
                const bool ok = r.u32() != 0;
                slot.refused = r.str();
                slot.replied = true;
                if (ok && received->fd) {
                    slot.output = std::move(received->fd);
                } else if (slot.refused.empty()) {
                    slot.refused = "no output descriptor";
                }
            } else if (type == wire::Type::exited) {
                slot.status = static_cast<int>(r.u32());
            }
            slot.wake.cancel();
        }
    }
}

asio::awaitable<core::Result<spawn::Ending>>
Launcher::run(const spawn::ChildSpec& spec, int stdin_fd, std::chrono::seconds timeout) {
    const auto executor = co_await asio::this_coro::executor;
    if (m_gone) {
        co_return core::fail(core::Errc::temp_failure, "the privileged process is gone");
    }
    if (!m_reading) {
        m_reading = true;
        asio::co_spawn(executor, read_records(shared_from_this()), asio::detached);
    }
    const std::uint64_t id = m_next_id++;
    auto slot = std::make_shared<Slot>(executor);
    m_slots[id] = slot;

    wire::Writer w(wire::Type::start);
    w.u64(id);
    w.u32(static_cast<std::uint32_t>(spec.argv.size()));
    for (const auto& a : spec.argv) {
        w.str(a);
    }
    w.u32(static_cast<std::uint32_t>(spec.environment.size()));
    for (const auto& e : spec.environment) {
        w.str(e);
    }
    w.str(spec.directory);
    w.u32(spec.identity.change ? 1 : 0);
    w.u32(spec.identity.uid);
    w.u32(spec.identity.gid);
    w.u32(static_cast<std::uint32_t>(spec.identity.groups.size()));
    for (const gid_t g : spec.identity.groups) {
        w.u32(g);
    }
    if (w.bytes().size() > wire::k_record_max) {
        m_slots.erase(id);
        co_return core::fail(core::Errc::invalid_argument, "delivery command line too long");
    }
    // Small records on a local socket the privileged process drains at once: the send does
    // not wait in practice.
    if (auto sent = wire::send(m_socket, w.bytes(), stdin_fd); !sent) {
        m_slots.erase(id);
        gone(sent.error().message);
        co_return core::fail(core::Errc::temp_failure, "the privileged process is gone");
    }
    asio::error_code ec;
    while (!slot->replied && !slot->lost) {
        slot->wake.expires_at(asio::steady_timer::time_point::max());
        co_await slot->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (slot->lost) {
        m_slots.erase(id);
        co_return core::fail(core::Errc::temp_failure, "the privileged process is gone");
    }
    if (!slot->output) {
        m_slots.erase(id);
        co_return core::fail(core::Errc::temp_failure, slot->refused);
    }
    auto exit = std::make_shared<RemoteExit>(shared_from_this(), id, slot);
    auto supervising = spawn::supervise(std::move(exit), std::move(slot->output), timeout);
    co_return co_await std::move(supervising);
}

} // namespace mxd::mda::remote
