// SPDX-License-Identifier: ISC
#include "daemon/privileged/privileged.hpp"

#include "core/auth/password.hpp"
#include "core/mda/deliver_main.hpp"
#include "core/util/log.hpp"
#include "daemon/mda/spawn.hpp"
#include "daemon/privileged/wire.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>
#include <map>
#include <vector>

namespace mxd::privileged {

namespace {

using Clock = std::chrono::steady_clock;

// Once the daemon is gone, how long deliveries in flight may still finish before they are
// killed; the privileged process reaps them either way, then exits.
constexpr std::chrono::seconds k_shutdown_grace{10};
// Seconds a request answered aside (a password check, a .forward open) may take before its
// child is killed (SIGALRM); the daemon gives up waiting for the answer after 30. A child
// blocked on a file system that hangs (a hard NFS mount) dies only once the open returns.
constexpr unsigned k_aside_limit = 60;
// Children answering aside at once, at most, for each kind of request: a file system that
// hangs keeps each of its opens, and the daemon asks again for every recipient. Beyond, that
// kind of request fails at once, as temporary, and the other kind goes on.
constexpr std::size_t k_aside_max = 32;

// What a child of Process::aside() answers.
enum class Aside { password_check, open };

Link* g_link = nullptr; // set once by start(), before any thread exists

// The name ps(1) and /proc/PID/comm show: comm holds 15 characters, exactly this.
constexpr char k_title[] = "mxd: privileged";

// Writes the title over the daemon's argv, so that ps shows which process this is.
void set_title(int argc, char** argv) {
    static_cast<void>(::prctl(PR_SET_NAME, k_title, 0, 0, 0));
    if (argc < 1 || argv == nullptr || argv[0] == nullptr) {
        return;
    }
    char* begin = argv[0];
    char* end = argv[0] + std::strlen(argv[0]);
    for (int i = 1; i < argc && argv[i] == end + 1; ++i) {
        end = argv[i] + std::strlen(argv[i]);
    }
    const std::size_t room = static_cast<std::size_t>(end - begin);
    std::memset(begin, 0, room);
    std::memcpy(begin, k_title, std::min(room, sizeof k_title - 1));
}

// The number of threads of this process (entries of /proc/self/task); 0 when unknown.
int thread_count() {
    DIR* dir = ::opendir("/proc/self/task");
    if (dir == nullptr) {
        return 0;
    }
    int count = 0;
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] != '.') {
            ++count;
        }
    }
    ::closedir(dir);
    return count;
}

// Closes every descriptor from 3 up except those in `keep`.
void close_others(std::vector<int> keep) {
    std::sort(keep.begin(), keep.end());
    unsigned first = 3;
    for (const int fd : keep) {
        if (fd >= static_cast<int>(first)) {
            if (fd > static_cast<int>(first)) {
                static_cast<void>(::syscall(SYS_close_range, first, static_cast<unsigned>(fd - 1), 0U));
            }
            first = static_cast<unsigned>(fd) + 1;
        }
    }
    static_cast<void>(::syscall(SYS_close_range, first, ~0U, 0U));
}

std::string record_error(std::uint64_t id, const std::string& why) {
    wire::Writer w(wire::Type::started);
    w.u64(id);
    w.u32(0);
    w.str(why);
    return w.bytes();
}

core::Result<mda::spawn::ChildSpec> decode_start(wire::Reader& r) {
    mda::spawn::ChildSpec spec;
    const std::uint32_t nargs = r.u32();
    for (std::uint32_t i = 0; r.ok() && i < nargs; ++i) {
        spec.argv.push_back(r.str());
    }
    const std::uint32_t nenv = r.u32();
    for (std::uint32_t i = 0; r.ok() && i < nenv; ++i) {
        spec.environment.push_back(r.str());
    }
    spec.directory = r.str();
    spec.identity.change = r.u32() != 0;
    spec.identity.uid = r.u32();
    spec.identity.gid = r.u32();
    const std::uint32_t ngroups = r.u32();
    for (std::uint32_t i = 0; r.ok() && i < ngroups && i < 65536; ++i) {
        spec.identity.groups.push_back(r.u32());
    }
    if (!r.ok() || !r.at_end()) {
        return core::fail(core::Errc::invalid_argument, "malformed delivery request");
    }
    return spec;
}

// The opened file as `uid` with its primary group only: the file system checks use the fsuid
// and fsgid, and the supplementary groups, which are root's meanwhile and restored after.
int open_as(const std::string& path, uid_t uid, gid_t gid) {
    std::vector<gid_t> saved(static_cast<std::size_t>(std::max(::getgroups(0, nullptr), 0)));
    if (::getgroups(static_cast<int>(saved.size()), saved.data()) < 0 ||
        ::setgroups(1, &gid) != 0) {
        return -EPERM;
    }
    static_cast<void>(::setfsgid(gid));
    static_cast<void>(::setfsuid(uid));
    // A symbolic link is followed, as stat() did before: opened as the user, it reaches only
    // what the user may read, and the caller checks the owner and mode of what it reached.
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    const int error = errno;
    static_cast<void>(::setfsuid(0));
    static_cast<void>(::setfsgid(0));
    if (::setgroups(saved.size(), saved.data()) != 0) {
        // Cannot go on with the wrong groups: the daemon sees the socket close and stops.
        core::log::error("privileged", "setgroups-failed", {{"error", std::strerror(errno)}});
        ::_exit(1);
    }
    return fd >= 0 ? fd : -error;
}

// ~/.forward of `uid`, opened as that user. Root's only in root's own home directory.
int open_forward(const std::string& home, uid_t uid) {
    if (home.empty() || home.front() != '/' || home.find("/../") != std::string::npos ||
        home.ends_with("/..") || home.size() > 4096) {
        return -EINVAL;
    }
    std::vector<char> buffer(16384);
    passwd pw{};
    passwd* found = nullptr;
    const bool known = ::getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) == 0 &&
                       found != nullptr;
    if (uid == 0 && (!known || home != pw.pw_dir)) {
        return -EPERM;
    }
    const gid_t gid = known ? pw.pw_gid : static_cast<gid_t>(65534);
    return open_as(home + "/.forward", uid, gid);
}

int open_offline(const Settings& settings, const std::string& name) {
    if (name.empty() || name.front() == '.' || name.find('/') != std::string::npos ||
        name.size() > 255) {
        return -EINVAL;
    }
    const auto path = settings.spool / "offline" / name;
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

std::string opened_record(int result) {
    wire::Writer w(wire::Type::opened);
    w.u32(static_cast<std::uint32_t>(result < 0 ? -result : 0));
    return w.bytes();
}

// Removes the daemon's control socket when nobody listens on it any more: not one that a
// daemon started since then has bound at the same path. Only after a clean stop: a daemon
// that was killed leaves its socket, as it would without privilege separation.
void remove_stale_socket(const std::filesystem::path& path) {
    struct stat st {};
    sockaddr_un address{};
    if (path.empty() || path.string().size() >= sizeof address.sun_path ||
        ::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
        return;
    }
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.string().size());
    core::UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe && ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address),
                           sizeof address) != 0 && errno == ECONNREFUSED) {
        static_cast<void>(::unlink(path.c_str()));
    }
}

class Process {
  public:
    Process(const Settings& settings, int deliveries, int opens, int executable)
        : m_settings(settings), m_deliveries(deliveries), m_opens(opens), m_executable(executable) {}

    [[noreturn]] void serve();

  private:
    void remove_socket() {
        if (m_stopping) {
            remove_stale_socket(m_settings.socket);
        }
    }
    void reap();
    // Runs `answer` in a child of its own, which answers on the request's socket and exits
    // (reap() takes it): crypt(3) is slow by design and a home directory's file system may
    // hang, and this loop, which starts and reaps deliveries, must wait for neither, nor one
    // request for another. Why nothing runs, when fork() fails or k_aside_max children of that
    // kind run already; empty when the child runs.
    std::string aside(Aside kind, int socket, const std::function<void()>& answer);
    // False when the daemon's end is closed.
    bool on_delivery_record();
    bool on_open_record();
    void send(const std::string& bytes, int fd) {
        // A failure means the daemon is gone: the next poll() sees it.
        static_cast<void>(wire::send(m_deliveries, bytes, fd));
    }

    const Settings& m_settings;
    int m_deliveries;
    int m_opens;
    int m_executable;
    std::map<pid_t, std::uint64_t> m_children; // running delivery children, by pid
    std::map<pid_t, Aside> m_aside;            // running children of aside()
    bool m_closing = false;
    Clock::time_point m_deadline{};
    bool m_killed = false;
    bool m_stopping = false; // the daemon said it stops cleanly (not killed)
};

void Process::reap() {
    for (;;) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            return;
        }
        m_aside.erase(pid);
        const auto found = m_children.find(pid);
        if (found == m_children.end()) {
            continue;
        }
        if (!m_closing) {
            wire::Writer w(wire::Type::exited);
            w.u64(found->second);
            w.u32(static_cast<std::uint32_t>(status));
            send(w.bytes(), -1);
        }
        m_children.erase(found);
    }
}

bool Process::on_delivery_record() {
    auto received = wire::receive(m_deliveries, MSG_DONTWAIT);
    if (!received) {
        return received.error().code == core::Errc::busy;
    }
    if (received->bytes.empty()) {
        return false;
    }
    wire::Reader r(received->bytes);
    const auto type = static_cast<wire::Type>(r.u32());
    const std::uint64_t id = r.u64();
    if (!r.ok()) {
        core::log::error("privileged", "bad-record", {{"size", received->bytes.size()}});
        return false;
    }
    if (type == wire::Type::kill) {
        for (const auto& [pid, child_id] : m_children) {
            if (child_id == id) {
                // Not reaped yet, so the pid (and its process group) cannot have been reused.
                static_cast<void>(::kill(-pid, SIGKILL));
                static_cast<void>(::kill(pid, SIGKILL));
            }
        }
        return true;
    }
    if (type != wire::Type::start) {
        core::log::error("privileged", "bad-record", {{"type", static_cast<unsigned>(type)}});
        return false;
    }
    auto spec = decode_start(r);
    if (!spec) {
        send(record_error(id, spec.error().message), -1);
        return true;
    }
    if (const auto why = refusal(*spec, m_settings.mail_spool); !why.empty()) {
        core::log::warning("privileged", "refused", {{"reason", why}});
        send(record_error(id, why), -1);
        return true;
    }
    if (!received->fd) {
        send(record_error(id, "no message descriptor"), -1);
        return true;
    }
    auto child = mda::spawn::start(m_executable, *spec, received->fd.get());
    if (!child) {
        send(record_error(id, child.error().message), -1);
        return true;
    }
    m_children[child->pid] = id;
    wire::Writer w(wire::Type::started);
    w.u64(id);
    w.u32(1);
    w.str("");
    send(w.bytes(), child->output.get());
    return true;
}

bool Process::on_open_record() {
    auto received = wire::receive(m_opens, MSG_DONTWAIT);
    if (!received) {
        return received.error().code == core::Errc::busy;
    }
    if (received->bytes.empty()) {
        return false;
    }
    wire::Reader r(received->bytes);
    const auto type = static_cast<wire::Type>(r.u32());
    if (type == wire::Type::stopping) {
        m_stopping = true;
        return true;
    }
    // Every other request comes with the socket its answer goes to.
    const int socket = received->fd.get();
    if (socket < 0) {
        core::log::error("privileged", "bad-record", {{"reason", "a request without its answer socket"}});
        return true;
    }
    const auto answer_opened = [socket](int result) {
        core::UniqueFd opened(result >= 0 ? result : -1);
        static_cast<void>(wire::send(socket, opened_record(result), opened.get()));
    };
    if (type == wire::Type::open_forward) {
        const std::string home = r.str();
        const auto uid = static_cast<uid_t>(r.u32());
        if (!r.ok()) {
            answer_opened(-EINVAL);
        } else if (!aside(Aside::open, socket, [&] { answer_opened(open_forward(home, uid)); }).empty()) {
            answer_opened(-EAGAIN);
        }
    } else if (type == wire::Type::open_offline) {
        // In the spool, on a local disk: answered here.
        const std::string name = r.str();
        answer_opened(r.ok() ? open_offline(m_settings, name) : -EINVAL);
    } else if (type == wire::Type::check_password) {
        const std::string user = r.str();
        std::string password = r.str();
        const auto answer_checked = [socket](std::uint32_t verdict, const std::string& text) {
            wire::Writer w(wire::Type::checked);
            w.u32(verdict);
            w.str(text);
            static_cast<void>(wire::send(socket, w.bytes(), -1));
        };
        if (!r.ok()) {
            answer_checked(2, "malformed request");
        } else if (const auto why = aside(Aside::password_check, socket, [&] {
                       const auto matched = core::auth::verify_system_password(user, password);
                       answer_checked(!matched ? 2 : *matched ? 1 : 0,
                                      !matched ? matched.error().message : std::string());
                   });
                   !why.empty()) {
            answer_checked(2, why);
        }
        std::fill(password.begin(), password.end(), '\0');
    } else {
        core::log::error("privileged", "bad-record", {{"type", static_cast<unsigned>(type)}});
    }
    return true;
}

std::string Process::aside(Aside kind, int socket, const std::function<void()>& answer) {
    const auto running = static_cast<std::size_t>(std::count_if(
        m_aside.begin(), m_aside.end(), [kind](const auto& child) { return child.second == kind; }));
    if (running >= k_aside_max) {
        const std::string what = kind == Aside::open ? "opens" : "password checks";
        core::log::warning("privileged", "aside-full", {{"kind", what}, {"running", running}});
        return "too many " + what + " at once";
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        const std::string why = std::string("fork: ") + std::strerror(errno);
        core::log::error("privileged", "fork-failed", {{"error", why}});
        return why;
    }
    if (pid == 0) {
        // Only the answer socket: not the daemon's sockets, nor the delivery children's pipes.
        close_others({socket});
        ::alarm(k_aside_limit);
        answer();
        ::_exit(0);
    }
    m_aside.emplace(pid, kind);
    return {};
}

void Process::serve() {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    static_cast<void>(::sigprocmask(SIG_BLOCK, &mask, nullptr));
    const int signals = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    // Ctrl-C on `mxd -d` and a hang-up reach the whole process group: the daemon decides.
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGHUP, SIG_IGN);
    std::signal(SIGPIPE, SIG_IGN);
    for (;;) {
        pollfd fds[3] = {{signals, POLLIN, 0},
                         {m_closing ? -1 : m_deliveries, POLLIN, 0},
                         {m_closing ? -1 : m_opens, POLLIN, 0}};
        int timeout = -1;
        if (m_closing) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                m_deadline - Clock::now());
            timeout = static_cast<int>(std::max<long long>(left.count(), 0)) + 1;
        }
        // Without a signalfd (it cannot fail on Linux 2.6.27+), poll the children each second.
        if (signals < 0 && (timeout < 0 || timeout > 1000)) {
            timeout = 1000;
        }
        const int n = ::poll(fds, 3, timeout);
        if (n < 0 && errno != EINTR) {
            core::log::error("privileged", "poll-failed", {{"error", std::strerror(errno)}});
            ::_exit(1);
        }
        if (signals >= 0 && (fds[0].revents & POLLIN) != 0) {
            signalfd_siginfo info{};
            while (::read(signals, &info, sizeof info) == sizeof info) {
            }
        }
        reap();
        if (!m_closing) {
            bool open = true;
            if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
                open = on_delivery_record() && open;
            }
            if ((fds[2].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
                open = on_open_record() && open;
            }
            if (!open) {
                m_closing = true;
                m_deadline = Clock::now() + k_shutdown_grace;
            }
        }
        if (m_closing && m_children.empty()) {
            remove_socket();
            ::_exit(0);
        }
        if (m_closing && !m_killed && Clock::now() >= m_deadline) {
            for (const auto& [pid, id] : m_children) {
                static_cast<void>(::kill(-pid, SIGKILL));
                static_cast<void>(::kill(pid, SIGKILL));
            }
            m_killed = true;
            m_deadline = Clock::now() + std::chrono::hours(1);
        }
    }
}

} // namespace

Link* link() {
    return g_link;
}

std::string refusal(const mda::spawn::ChildSpec& spec, const std::filesystem::path& mail_spool) {
    const auto& a = spec.argv;
    if (a.size() < 4 || a[0] != "mxd" || a[1] != core::mda::k_deliver_mode) {
        return "not a delivery command line";
    }
    const std::string& method = a[2];
    if (method == "mbox") {
        if (spec.identity.change) {
            return "an mbox delivery runs as root";
        }
        const std::string& path = a.back();
        const std::string prefix = mail_spool.string() + "/";
        const std::string name = path.starts_with(prefix) ? path.substr(prefix.size()) : "";
        if (a[a.size() - 2] != "--" || name.empty() || name == "." || name == ".." ||
            name.find('/') != std::string::npos) {
            return "an mbox delivery writes only in " + mail_spool.string();
        }
        return {};
    }
    if (method != "maildir" && method != "command" && method != "file") {
        return "unknown delivery method '" + method + "'";
    }
    if (!spec.identity.change || spec.identity.uid == 0) {
        return "refusing to run a " + method + " delivery as root";
    }
    return {};
}


void Link::shut_down() {
    {
        // A clean stop: the control socket goes too, as it would without privilege separation.
        std::lock_guard lock(m_opens_mutex);
        static_cast<void>(wire::send(m_opens.get(), wire::Writer(wire::Type::stopping).bytes(), -1));
    }
    static_cast<void>(::shutdown(m_deliveries.get(), SHUT_RDWR));
    static_cast<void>(::shutdown(m_opens.get(), SHUT_RDWR));
}

void finish() {
    if (g_link == nullptr) {
        return;
    }
    g_link->shut_down();
    int status = 0;
    while (::waitpid(g_link->pid(), &status, 0) < 0 && errno == EINTR) {
    }
}

core::Result<wire::Received> Link::ask(const std::string& record, const std::string& what) {
    // The answer comes on a socket of this request's own, sent beside it: requests from several
    // threads wait side by side, and an answer that comes too late reaches nobody else.
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
        return core::fail(core::Errc::temp_failure,
                          what + ": socketpair: " + std::strerror(errno));
    }
    core::UniqueFd answer(pair[0]);
    core::UniqueFd theirs(pair[1]);
    // A request that never gets its answer (a file system that hangs) fails after 30 s.
    timeval limit{30, 0};
    static_cast<void>(::setsockopt(answer.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit));
    {
        std::lock_guard lock(m_opens_mutex);
        if (auto sent = wire::send(m_opens.get(), record, theirs.get()); !sent) {
            return core::fail(core::Errc::temp_failure, what + ": the privileged process is gone");
        }
    }
    // Once the privileged process and its child hold the only other copies, an answer that
    // never comes reads as the end of the socket.
    theirs.reset();
    auto reply = wire::receive(answer.get());
    if (!reply && reply.error().code == core::Errc::busy) {
        return core::fail(core::Errc::busy, what + ": no answer within 30 s");
    }
    if (!reply) {
        return core::fail(core::Errc::temp_failure, what + ": " + reply.error().message);
    }
    if (reply->bytes.empty()) {
        return core::fail(core::Errc::temp_failure, what + ": ended without an answer");
    }
    return reply;
}

core::Result<core::UniqueFd> Link::open_request(const std::string& record, const std::string& what) {
    MXD_TRY_ASSIGN(auto reply, ask(record, "open " + what));
    wire::Reader r(reply.bytes);
    const auto type = static_cast<wire::Type>(r.u32());
    const std::uint32_t error = r.u32();
    if (!r.ok() || type != wire::Type::opened) {
        return core::fail(core::Errc::io, "open " + what + ": a malformed answer");
    }
    if (error != 0 || !reply.fd) {
        return core::fail(core::Error::from_errno(error != 0 ? static_cast<int>(error) : EIO,
                                                  "open", what));
    }
    return std::move(reply.fd);
}

core::Result<std::optional<core::UniqueFd>> Link::open_forward(const std::string& home, uid_t uid) {
    const auto began = Clock::now();
    {
        // A home whose file system hangs would hold one worker thread per recipient, 30 s
        // each, and soon every worker: its recipients fail at once while it does not answer.
        std::lock_guard lock(m_forward_mutex);
        auto& waits = m_forward_waits[home];
        const bool slow = !waits.waiting.empty() && began - *waits.waiting.begin() > k_forward_slow;
        const bool shunned = waits.given_up && began - *waits.given_up < k_forward_shunned;
        if (slow || shunned) {
            return core::fail(core::Errc::temp_failure,
                              "open " + home + "/.forward: " +
                                  (slow ? "an earlier open has not answered yet"
                                        : "an earlier open got no answer within 30 s"));
        }
        waits.given_up.reset();
        waits.waiting.insert(began);
    }
    wire::Writer w(wire::Type::open_forward);
    w.str(home);
    w.u32(uid);
    auto opened = open_request(w.bytes(), home + "/.forward");
    {
        std::lock_guard lock(m_forward_mutex);
        auto& waits = m_forward_waits[home];
        waits.waiting.erase(waits.waiting.find(began));
        if (!opened && opened.error().code == core::Errc::busy) {
            waits.given_up = Clock::now();
        } else if (waits.waiting.empty()) {
            m_forward_waits.erase(home);
        }
    }
    if (!opened) {
        if (opened.error().code == core::Errc::not_found) {
            return std::optional<core::UniqueFd>{};
        }
        return core::fail(std::move(opened).error());
    }
    return std::optional<core::UniqueFd>{std::move(*opened)};
}

core::Result<bool> Link::check_password(const std::string& user, const std::string& password) {
    wire::Writer w(wire::Type::check_password);
    w.str(user);
    w.str(password);
    MXD_TRY_ASSIGN(auto reply, ask(w.bytes(), "password check"));
    wire::Reader r(reply.bytes);
    const auto type = static_cast<wire::Type>(r.u32());
    const std::uint32_t verdict = r.u32();
    const std::string text = r.str();
    if (!r.ok() || type != wire::Type::checked || verdict > 2) {
        return core::fail(core::Errc::temp_failure, "password check: a malformed answer");
    }
    if (verdict == 2) {
        return core::fail(core::Errc::temp_failure, text);
    }
    return verdict == 1;
}
core::Result<core::UniqueFd> Link::open_offline(const std::string& name) {
    wire::Writer w(wire::Type::open_offline);
    w.str(name);
    return open_request(w.bytes(), name);
}

core::Result<void> start(const Settings& settings) {
    // fork() copies only the calling thread: locks other threads held would stay held.
    if (const int threads = thread_count(); threads != 1) {
        return core::fail(core::Errc::internal,
                          "the privileged process must start before any thread (" +
                              std::to_string(threads) + " running)");
    }
    int deliveries[2];
    int opens[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, deliveries) != 0) {
        return core::fail(core::Error::from_errno(errno, "socketpair"));
    }
    core::UniqueFd ours_d(deliveries[0]);
    core::UniqueFd theirs_d(deliveries[1]);
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, opens) != 0) {
        return core::fail(core::Error::from_errno(errno, "socketpair"));
    }
    core::UniqueFd ours_o(opens[0]);
    core::UniqueFd theirs_o(opens[1]);
    // Its own descriptor of the binary: deliveries keep executing this mxd after an upgrade.
    core::UniqueFd executable(::open("/proc/self/exe", O_PATH | O_CLOEXEC));
    if (!executable) {
        return core::fail(core::Error::from_errno(errno, "open", "/proc/self/exe"));
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        return core::fail(core::Error::from_errno(errno, "fork"));
    }
    if (pid == 0) {
        ours_d.reset();
        ours_o.reset();
        close_others({theirs_d.get(), theirs_o.get(), executable.get()});
        const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
            ::dup2(null, STDIN_FILENO);
            ::dup2(null, STDOUT_FILENO);
            if (!settings.foreground) {
                ::dup2(null, STDERR_FILENO);
                core::log::set_target(core::log::Target::syslog);
            }
            ::close(null);
        }
        set_title(settings.argc, settings.argv);
        Process process(settings, theirs_d.release(), theirs_o.release(), executable.release());
        process.serve();
    }
    g_link = new Link(pid, std::move(ours_d), std::move(ours_o)); // lives as long as the process
    return {};
}

core::Result<User> find_user() {
    const char* variable = std::getenv(std::string(k_user_variable).c_str());
    const std::string name = variable != nullptr && *variable != '\0' ? variable
                                                                      : std::string(k_default_user);
    std::vector<char> buffer(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwnam_r(name.c_str(), &pw, buffer.data(), buffer.size(), &found) != 0 ||
        found == nullptr) {
        return core::fail(
            core::Errc::config,
            "user " + name + " does not exist: mxd started as root runs as " + name +
                " after opening its sockets. Create it with: useradd --system --user-group "
                "--home-dir /var/spool/mxd --no-create-home --shell /usr/sbin/nologin " + name +
                " (or systemd-sysusers with mxd's sysusers.d file)");
    }
    if (pw.pw_uid == 0 || pw.pw_gid == 0) {
        return core::fail(core::Errc::config, "user " + name + " has uid or gid 0: mxd needs an "
                                                               "unprivileged user to run as");
    }
    return User{name, pw.pw_uid, pw.pw_gid};
}

core::Result<void> hand_over(const std::filesystem::path& spool, const User& user) {
    auto give = [&](const std::filesystem::path& path, gid_t gid) -> core::Result<void> {
        if (::lchown(path.c_str(), user.uid, gid) != 0 && errno != ENOENT) {
            return core::fail(core::Error::from_errno(errno, "chown", path.string()));
        }
        return {};
    };
    MXD_TRY(give(spool, user.gid));
    const auto offline = spool / "offline";
    std::error_code ec;
    std::filesystem::recursive_directory_iterator it(spool, ec);
    if (ec) {
        return core::fail(core::Errc::io, "read " + spool.string() + ": " + ec.message());
    }
    for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) {
            return core::fail(core::Errc::io, "read " + spool.string() + ": " + ec.message());
        }
        const auto& path = it->path();
        if (path == offline) {
            // Its group (sendmail's set-group-ID group) stays; its files stay their owners'.
            MXD_TRY(give(path, static_cast<gid_t>(-1)));
            it.disable_recursion_pending();
            continue;
        }
        MXD_TRY(give(path, user.gid));
    }
    return {};
}

core::Result<void> drop_to(const User& user) {
    // glibc applies set*id to every thread of the process (the worker threads exist already).
    if (::setgroups(1, &user.gid) != 0 || ::setgid(user.gid) != 0 || ::setuid(user.uid) != 0) {
        return core::fail(core::Error::from_errno(errno, "become user", user.name));
    }
    uid_t ruid = 0, euid = 0, suid = 0;
    gid_t rgid = 0, egid = 0, sgid = 0;
    if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0 ||
        ruid != user.uid || euid != user.uid || suid != user.uid || rgid != user.gid ||
        egid != user.gid || sgid != user.gid) {
        return core::fail(core::Errc::internal, "the change to user " + user.name + " did not hold");
    }
    if (::setuid(0) == 0 || ::seteuid(0) == 0) {
        return core::fail(core::Errc::internal, "could become root again after becoming " + user.name);
    }
    // Every thread: a line "Uid:\tR\tE\tS\tFS" in each task's status.
    DIR* dir = ::opendir("/proc/self/task");
    if (dir != nullptr) {
        const std::string want = "Uid:\t" + std::to_string(user.uid) + "\t" +
                                 std::to_string(user.uid) + "\t" + std::to_string(user.uid) +
                                 "\t" + std::to_string(user.uid) + "\n";
        bool held = true;
        while (const dirent* entry = ::readdir(dir)) {
            if (entry->d_name[0] == '.') {
                continue;
            }
            const std::string path = std::string("/proc/self/task/") + entry->d_name + "/status";
            core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
            char text[4096] = {};
            const ssize_t n = fd ? ::read(fd.get(), text, sizeof text - 1) : -1;
            if (n > 0 && std::string_view(text, static_cast<std::size_t>(n)).find(want) ==
                             std::string_view::npos) {
                held = false;
            }
        }
        ::closedir(dir);
        if (!held) {
            return core::fail(core::Errc::internal,
                              "a thread kept another identity after becoming " + user.name);
        }
    }
    return {};
}

} // namespace mxd::privileged
