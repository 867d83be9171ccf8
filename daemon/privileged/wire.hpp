// SPDX-License-Identifier: ISC
#pragma once

#include "core/util/fd.hpp"
#include "core/util/result.hpp"

#include <sys/types.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

// The messages between the daemon and its privileged process (daemon/privileged/privileged.hpp):
// one SOCK_SEQPACKET record each, a type and fields in host order (both ends are the same
// binary), with at most one descriptor beside it (SCM_RIGHTS).
namespace mxd::privileged::wire {

enum class Type : std::uint32_t {
    start = 1,     // daemon: start a delivery child (id, ChildSpec); its stdin beside it
    kill = 2,      // daemon: kill the child `id` (its process group), the delivery timed out
    started = 3,   // privileged: child `id` runs (its output pipe beside it), or why not
    exited = 4,    // privileged: child `id` ended with a waitpid() status
    open_forward = 5, // daemon: open HOME/.forward as user UID; beside it the socket that
                      // gets the `opened` answer (as for open_offline)
    open_offline = 6, // daemon: open SPOOL/offline/NAME
    opened = 7,    // privileged: the descriptor beside it, or an errno value
    check_password = 8, // daemon: USER PASSWORD against the system's password database;
                        // beside it the socket that gets the `checked` answer
    checked = 9,   // privileged: 1 it matches, 0 it does not, 2 an error (its text follows)
    stopping = 10, // daemon: it stops cleanly; remove the control socket at the end
};

// The largest record either end sends or accepts: argv and environment of a delivery.
inline constexpr std::size_t k_record_max = 256 * 1024;

// Builds a record field by field.
class Writer {
  public:
    explicit Writer(Type type) { u32(static_cast<std::uint32_t>(type)); }
    void u32(std::uint32_t v) { m_bytes.append(reinterpret_cast<const char*>(&v), sizeof v); }
    void u64(std::uint64_t v) { m_bytes.append(reinterpret_cast<const char*>(&v), sizeof v); }
    void str(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        m_bytes.append(s);
    }
    const std::string& bytes() const { return m_bytes; }

  private:
    std::string m_bytes;
};

// Reads a record field by field; a short or malformed record leaves ok() false and zeros.
class Reader {
  public:
    explicit Reader(std::string_view bytes) : m_in(bytes) {}
    std::uint32_t u32() { return take<std::uint32_t>(); }
    std::uint64_t u64() { return take<std::uint64_t>(); }
    std::string str() {
        const std::uint32_t n = u32();
        if (!m_ok || n > m_in.size()) {
            m_ok = false;
            return {};
        }
        std::string out(m_in.substr(0, n));
        m_in.remove_prefix(n);
        return out;
    }
    bool ok() const { return m_ok; }
    bool at_end() const { return m_in.empty(); }

  private:
    template <typename T> T take() {
        T v{};
        if (!m_ok || m_in.size() < sizeof v) {
            m_ok = false;
            return v;
        }
// g++ 12 takes the bytes of a std::string's small buffer, checked above, for uninitialized.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
        std::memcpy(&v, m_in.data(), sizeof v);
#pragma GCC diagnostic pop
        m_in.remove_prefix(sizeof v);
        return v;
    }
    std::string_view m_in;
    bool m_ok = true;
};

// Sends one record with `fd` beside it (-1: none). An io error when the other end is gone.
core::Result<void> send(int socket, const std::string& bytes, int fd, int flags = 0);

// Receives one record and the descriptor beside it, if any. An empty record means the other
// end closed. Errc::busy when MSG_DONTWAIT finds none waiting; io for a socket error.
struct Received {
    std::string bytes;
    core::UniqueFd fd;
};
core::Result<Received> receive(int socket, int flags = 0);

} // namespace mxd::privileged::wire
