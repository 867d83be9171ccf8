// SPDX-License-Identifier: ISC
#include "daemon/mda/deliver.hpp"

#include "core/mda/deliver_main.hpp"
#include "core/mda/format.hpp"
#include "core/mda/message.hpp"
#include "core/util/log.hpp"
#include "daemon/mda/remote.hpp"
#include "daemon/mda/spawn.hpp"
#include "daemon/privileged/privileged.hpp"
#include "daemon/stats.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <deque>

namespace mxd::mda {

namespace {

using core::mda::Status;
using Method = DeliveryRequest::Method;

// OpenBSD's _PATH_DEFPATH, which mda_unpriv.c gives to delivery programs.
constexpr std::string_view k_path =
    "PATH=/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin:/usr/local/sbin";

DeliveryResult permanent(std::string text) {
    return DeliveryResult{Status::permanent, std::move(text)};
}
DeliveryResult temporary(std::string text) {
    return DeliveryResult{Status::temporary, std::move(text)};
}

std::string_view user_part(std::string_view address) {
    const auto at = address.rfind('@');
    return at == std::string_view::npos ? address : address.substr(0, at);
}

std::string_view domain_part(std::string_view address) {
    const auto at = address.rfind('@');
    return at == std::string_view::npos ? std::string_view{} : address.substr(at + 1);
}

// mda_unpriv.c escapes the address parts it puts in the environment (MAILADDR_RAW_ESCAPE).
std::string env_value(std::string_view value) {
    std::string out(value);
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || c == '/') {
            c = ':';
        }
    }
    return out;
}

// The environment of a command delivery, as mda_unpriv.c builds it.
std::vector<std::string> command_environment(const DeliveryRequest& r,
                                             const core::expand::LocalUser& runner) {
    std::vector<std::string> env{
        std::string(k_path),
        "DOMAIN=" + env_value(domain_part(r.rcpt)),
        "HOME=" + runner.home,
        "ORIGINAL_RECIPIENT=" + env_value(r.rcpt),
        "RECIPIENT=" + env_value(r.dest),
        "SHELL=/bin/sh",
        "LOCAL=" + env_value(user_part(r.rcpt)),
        "LOGNAME=" + r.user.name,
        "USER=" + r.user.name,
        "SENDER=" + env_value(r.sender),
    };
    if (!r.subaddress.empty()) {
        env.push_back("EXTENSION=" + env_value(r.subaddress));
    }
    return env;
}

// What the other methods' child needs: a PATH, who it is, and the daemon's time zone, so that
// the From_ lines of mbox files show the same time as the daemon's logs.
std::vector<std::string> plain_environment(const DeliveryRequest& r,
                                           const core::expand::LocalUser& runner) {
    std::vector<std::string> env{std::string(k_path), "HOME=" + runner.home,
                                 "LOGNAME=" + r.user.name, "USER=" + r.user.name};
    if (const char* tz = std::getenv("TZ"); tz != nullptr) {
        env.push_back(std::string("TZ=") + tz);
    }
    return env;
}

// The child's command line, environment and identity. Fails (for a permanent failure) when a
// format does not expand, the mbox name is unusable, or the delivery would run as root.
core::Result<spawn::ChildSpec> plan(const DeliveryRequest& r, const SpawnerOptions& options,
                                    bool root) {
    const core::expand::LocalUser& runner = r.run_as ? *r.run_as : r.user;
    core::mda::FormatContext format;
    format.sender = r.sender;
    format.rcpt = r.rcpt;
    format.dest = r.dest;
    format.username = r.user.name;
    format.directory = r.user.home;
    format.subaddress_delimiter = options.subaddress_delimiter;

    spawn::ChildSpec spec;
    spec.argv = {"mxd", std::string(core::mda::k_deliver_mode), std::string(method_name(r.method))};
    spec.directory = runner.home;
    if (root && r.method != Method::mbox) {
        // smtpd.c forkmda: "MDA not allowed to deliver to: root".
        if (runner.uid == 0) {
            return core::fail(core::Errc::permission_denied,
                              "refusing to run a " + std::string(method_name(r.method)) +
                                  " delivery as root (" +
                                  (runner.name.empty() ? std::string("uid 0") : runner.name) + ")");
        }
        spec.identity = spawn::Identity{true, runner.uid, runner.gid, {}};
    }
    switch (r.method) {
    case Method::mbox: {
        const std::string& name = r.user.name;
        if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
            return core::fail(core::Errc::invalid_argument,
                              "invalid user name for an mbox delivery: '" + name + "'");
        }
        // As mail.local: the child stays root to create the mailbox in the spool (root:mail 2775
        // on Debian) for its owner.
        spec.directory = "/";
        if (!r.sender.empty()) {
            spec.argv.insert(spec.argv.end(), {"--from", r.sender});
        }
        if (root) {
            spec.argv.insert(spec.argv.end(), {"--owner", std::to_string(r.user.uid) + ":" +
                                                              std::to_string(r.user.gid)});
        }
        spec.argv.insert(spec.argv.end(), {"--", (options.mail_spool / name).string()});
        spec.environment = plain_environment(r, runner);
        break;
    }
    case Method::maildir: {
        MXD_TRY_ASSIGN(const std::string path,
                       core::mda::expand_format(r.target.empty() ? "~/Maildir" : r.target, format));
        if (r.junk) {
            spec.argv.emplace_back("--junk");
        }
        if (!r.subaddress.empty()) {
            spec.argv.insert(spec.argv.end(), {"--folder", r.subaddress});
        }
        spec.argv.insert(spec.argv.end(), {"--", path});
        spec.environment = plain_environment(r, runner);
        break;
    }
    case Method::file: {
        MXD_TRY_ASSIGN(const std::string path, core::mda::expand_format(r.target, format));
        if (!r.sender.empty()) {
            spec.argv.insert(spec.argv.end(), {"--from", r.sender});
        }
        spec.argv.insert(spec.argv.end(), {"--", path});
        spec.environment = plain_environment(r, runner);
        break;
    }
    case Method::command: {
        MXD_TRY_ASSIGN(std::string command, core::mda::expand_format(r.target, format));
        if (!r.wrapper.empty()) {
            format.mda = command;
            MXD_TRY_ASSIGN(command, core::mda::expand_format(r.wrapper, format));
        }
        spec.argv.insert(spec.argv.end(), {"--", command});
        spec.environment = command_environment(r, runner);
        break;
    }
    }
    return spec;
}

// initgroups(3) without changing anything: the user's supplementary groups, or only `gid`
// when the user is unknown to NSS (a virtual user from a userbase table).
std::vector<gid_t> supplementary_groups(const std::string& name, gid_t gid) {
    std::vector<gid_t> groups(32);
    for (int attempt = 0; attempt < 4 && !name.empty(); ++attempt) {
        int count = static_cast<int>(groups.size());
        if (::getgrouplist(name.c_str(), gid, groups.data(), &count) >= 0) {
            groups.resize(static_cast<std::size_t>(count));
            return groups;
        }
        groups.resize(static_cast<std::size_t>(count) > groups.size()
                          ? static_cast<std::size_t>(count)
                          : groups.size() * 2);
    }
    return {gid};
}

DeliveryResult result_of(const spawn::Ending& ending, std::chrono::seconds timeout) {
    const std::string text = core::mda::one_line(ending.output);
    const auto with_text = [&](std::string why) { return text.empty() ? why : why + ": " + text; };
    if (ending.lost) {
        return temporary("lost track of the delivery process");
    }
    if (ending.timed_out) {
        return temporary(
            with_text("delivery timed out after " + std::to_string(timeout.count()) + "s"));
    }
    if (WIFSIGNALED(ending.status)) {
        return temporary(with_text("delivery process killed by signal " +
                                   std::to_string(WTERMSIG(ending.status))));
    }
    const int code = WEXITSTATUS(ending.status);
    const Status status = core::mda::status_from_exit(code);
    if (status == Status::delivered) {
        return DeliveryResult{Status::delivered, {}};
    }
    return DeliveryResult{status, text.empty() ? "delivery process exited with status " +
                                                     std::to_string(code)
                                               : text};
}

} // namespace

std::string_view method_name(DeliveryRequest::Method method) {
    switch (method) {
    case Method::mbox:
        return "mbox";
    case Method::maildir:
        return "maildir";
    case Method::command:
        return "command";
    case Method::file:
        return "file";
    }
    return "mbox";
}

// One user's deliveries: how many run, and the turns of those waiting, first come first served.
struct Spawner::UserTurns {
    std::size_t running = 0;
    std::deque<std::shared_ptr<asio::steady_timer>> waiting; // cancelled: the turn is theirs
};

// A running delivery's turn; the next waiting delivery of the user gets it when it ends.
class Spawner::Turn {
  public:
    Turn(std::shared_ptr<std::map<std::string, UserTurns>> turns, std::string user)
        : m_turns(std::move(turns)), m_user(std::move(user)) {}
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;
    ~Turn() {
        const auto found = m_turns->find(m_user);
        if (found == m_turns->end()) {
            return;
        }
        auto& user = found->second;
        if (!user.waiting.empty()) {
            // Handed over: `running` stays.
            user.waiting.front()->cancel();
            user.waiting.pop_front();
        } else if (--user.running == 0) {
            m_turns->erase(found);
        }
    }

  private:
    std::shared_ptr<std::map<std::string, UserTurns>> m_turns;
    std::string m_user;
};

Spawner::Spawner(Workers& workers, SpawnerOptions options, core::UniqueFd executable)
    : m_workers(&workers), m_options(std::move(options)), m_executable(std::move(executable)),
      m_turns(std::make_shared<std::map<std::string, UserTurns>>()) {}

asio::awaitable<std::shared_ptr<Spawner::Turn>> Spawner::take_turn(std::string user,
                                                                    std::size_t max) {
    auto& turns = (*m_turns)[user];
    if (turns.running < max) {
        ++turns.running;
        co_return std::make_shared<Turn>(m_turns, user);
    }
    const auto executor = co_await asio::this_coro::executor;
    auto wake = std::make_shared<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
    turns.waiting.push_back(wake);
    asio::error_code ec;
    co_await wake->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return std::make_shared<Turn>(m_turns, user);
}

core::Result<Spawner> Spawner::open(Workers& workers, SpawnerOptions options) {
    // O_PATH: executing needs no read permission, and the file may be replaced on disk later.
    core::UniqueFd executable(::open(options.executable.c_str(), O_PATH | O_CLOEXEC));
    if (!executable) {
        return core::fail(core::Error::from_errno(errno, "open", options.executable.string()));
    }
    Spawner spawner(workers, std::move(options), std::move(executable));
    if (auto* link = privileged::link()) {
        spawner.m_remote = std::make_shared<remote::Launcher>(link->deliveries());
    }
    return spawner;
}

asio::awaitable<DeliveryResult> Spawner::deliver(DeliveryRequest request) {
    const stats::Held running(stats::Counter::mda_envelope);  // show stats: mda.envelope
    // Root, or the privileged process that stayed root when the daemon gave it up.
    const bool root = ::geteuid() == 0 || m_remote != nullptr;
    const core::expand::LocalUser& runner = request.run_as ? *request.run_as : request.user;
    MXD_TRACE(core::Subsystem::mda, request.dest, "start",
              {{"method", method_name(request.method)},
               {"user", request.user.name},
               {"as", runner.name}});
    auto spec = plan(request, m_options, root);
    if (!spec) {
        co_return permanent(spec.error().message);
    }
    const std::string message = core::mda::to_unix_lines(request.message);
    // OpenSMTPD mda.c: a message that already went through this recipient is in a loop.
    if (core::mda::has_delivery_loop(message, request.dest)) {
        co_return permanent("mail loop detected: the message already has Delivered-To: " +
                            request.dest);
    }
    if (spec->identity.change) {
        // NSS may ask a directory server: not on the event loop.
        auto lookup = [name = runner.name, gid = runner.gid] {
            return supplementary_groups(name, gid);
        };
        spec->identity.groups = co_await m_workers->run(lookup);
    }
    std::shared_ptr<Turn> turn;
    if (request.max_per_user > 0) {
        auto taking = take_turn(request.user.name, request.max_per_user);
        turn = co_await std::move(taking);
    }
    auto input = core::mda::make_message_fd(
        core::mda::delivery_headers(request.sender,
                                    request.rcpt.empty() ? request.dest : request.rcpt) +
        message);
    if (!input) {
        co_return temporary("cannot hand the message to the delivery: " + input.error().message);
    }
    spawn::Ending ending;
    if (m_remote) {
        auto remote_run = m_remote->run(*spec, input->get(), request.timeout);
        auto ended = co_await std::move(remote_run);
        input->reset();
        if (!ended) {
            co_return temporary("cannot start the delivery: " + ended.error().message);
        }
        ending = std::move(*ended);
    } else {
        auto child = spawn::start(m_executable.get(), *spec, input->get());
        input->reset();
        if (!child) {
            co_return temporary("cannot start the delivery: " + child.error().message);
        }
        auto waiting = spawn::wait(std::move(*child), request.timeout);
        ending = co_await std::move(waiting);
    }
    DeliveryResult result = result_of(ending, request.timeout);
    MXD_TRACE(core::Subsystem::mda, request.dest, "done",
              {{"method", method_name(request.method)},
               {"result", core::mda::status_name(result.status)},
               {"text", result.text}});
    co_return result;
}

} // namespace mxd::mda
