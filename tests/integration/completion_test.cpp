// SPDX-License-Identifier: ISC
// Shell completion in a real bash: completions/mxctl.bash sourced, COMP_WORDS and COMP_CWORD
// set, _mxctl called, COMPREPLY read back. Command words and static values need no daemon;
// queue ids and table names come from a running test daemon through mxctl __complete.
#include "tests/integration/daemon_fixture.hpp"

#include "core/protocol/commands.hpp"
#include "core/queue/store.hpp"
#include "core/util/strings.hpp"

#include <gmock/gmock.h>

#include <algorithm>
#include <set>
#include <sstream>

using namespace mxd_test;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

// The words before a queue id on a command line: `remove` when the table has it, else the
// first listed command that takes a queue id as its first positional argument, else the first
// that takes one as an option's value (its words, then the option).
std::vector<std::string> queue_id_command() {
    std::vector<std::string> positional;
    std::vector<std::string> option;
    for (const auto& c : core::protocol::commands()) {
        if (c.visibility != core::protocol::Visibility::listed) {
            continue;
        }
        std::vector<std::string> words;
        std::istringstream in{std::string(c.words)};
        for (std::string w; in >> w;) {
            words.push_back(w);
        }
        bool first = true;
        for (const auto& arg : c.args) {
            const bool is_option = std::string_view(arg.name).starts_with("-");
            const bool first_positional = !is_option && first;
            first = first && is_option;
            if (arg.type != core::protocol::ArgType::queue_id || (!is_option && !first_positional)) {
                continue;
            }
            if (!is_option) {
                if (c.words == "remove") {
                    return words;
                }
                if (positional.empty()) {
                    positional = words;
                }
            } else if (option.empty()) {
                option = words;
                option.emplace_back(arg.name);
            }
        }
    }
    return positional.empty() ? option : positional;
}

class Completion : public DaemonFixture {
protected:
    std::string extra_config() const override {
        return "table vusers { alice = bob, carol = dave }\n"
               "table vdomains { \"example.org\" }\n";
    }

    // Queues `messages` messages of one envelope each, as an earlier run would have left them.
    std::vector<core::queue::EvpId> fill(std::size_t messages) {
        std::filesystem::create_directories(spool());
        auto store = core::queue::QueueStore::open(spool(), core::queue::QueueStore::Access::writer);
        EXPECT_TRUE(store) << store.error().message;
        std::vector<core::queue::NewMessage> batch;
        std::vector<core::queue::EvpId> ids;
        std::set<std::uint32_t> taken;
        for (std::size_t i = 0; i < messages; ++i) {
            core::queue::NewMessage m;
            // Random as the daemon's, but never twice: 20,000 draws of 32 bits collide one
            // time in 20, and the store refuses a second message with the same msgid.
            do {
                m.id = core::queue::MsgId::random();
            } while (!taken.insert(m.id.value()).second);
            m.created = 1700000000;
            m.body = "Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n";
            core::queue::Envelope e;
            e.id = core::queue::EvpId::random(m.id);
            e.origin = core::queue::Origin::inet4;
            e.sender = "sender@example.org";
            e.rcpt = e.dest = "rcpt" + std::to_string(i) + "@example.org";
            e.created = m.created;
            e.expires = m.created + 345600;
            e.next_try = m.created;
            m.envelopes.push_back(e);
            ids.push_back(e.id);
            batch.push_back(std::move(m));
        }
        EXPECT_TRUE(store->commit(batch));
        return ids;
    }

    // COMPREPLY after `_mxctl` in bash for the command line `words`, the last one being the
    // word under the cursor. mxctl is found on PATH (the build's), and finds this daemon's
    // socket through $MXD_SOCKET (`socket` when given).
    std::vector<std::string> complete(const std::vector<std::string>& words, const std::string& socket = {}) const {
        const std::string script =
            "source \"$MXD_SOURCE_ROOT/completions/mxctl.bash\" || exit 1\n"
            "COMP_WORDS=(\"$@\")\n"
            "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
            "_mxctl || exit 1\n"
            "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
        std::vector<std::string> argv{"bash", "--norc", "--noprofile", "-c", script, "bash"};
        argv.insert(argv.end(), words.begin(), words.end());
        RunOptions options;
        options.env["PATH"] = std::filesystem::path(mxctl_binary()).parent_path().string() + ":" +
                              env_or("PATH", "/usr/bin:/bin");
        options.env["MXD_SOCKET"] = socket.empty() ? socket_path().string() : socket;
        options.env["MXD_SOURCE_ROOT"] = env_or("MXD_SOURCE_ROOT", ".");
        const auto r = run(argv, options);
        EXPECT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(r.err, "");
        auto out = lines_of(r.out);
        out.erase(std::remove(out.begin(), out.end(), std::string{}), out.end());
        return out;
    }
};

} // namespace

TEST_F(Completion, CommandWordsAndStaticValuesNeedNoDaemon) {
    EXPECT_THAT(complete({"mxctl", "sh"}), ElementsAre("show"));
    EXPECT_THAT(complete({"mxctl", "show", "q"}), ElementsAre("queue"));
    EXPECT_THAT(complete({"mxctl", "log", ""}), UnorderedElementsAre("verbose", "brief"));
    // Abbreviated words resolve as mxctl resolves them.
    EXPECT_THAT(complete({"mxctl", "sh", "q"}), ElementsAre("queue"));
    EXPECT_THAT(complete({"mxctl", "-j", "upd", "t"}), ElementsAre("table"));
    // Choices, subsystems and options, from the table and the binary.
    EXPECT_THAT(complete({"mxctl", "pause", "m"}), UnorderedElementsAre("mda", "mta"));
    EXPECT_THAT(complete({"mxctl", "trace", "sc"}), ElementsAre("scheduler"));
    EXPECT_THAT(complete({"mxctl", "untrace", "a"}), ElementsAre("all"));
    EXPECT_THAT(complete({"mxctl", "encrypt", "--scheme", "b"}), ElementsAre("bcrypt"));
    EXPECT_THAT(complete({"mxctl", "check-config", "--st"}), ElementsAre("--strict"));
    EXPECT_THAT(complete({"mxctl", "--vers"}), ElementsAre("--version"));
    EXPECT_THAT(complete({"makemap", "--ty"}), ElementsAre("--type"));
    EXPECT_THAT(complete({"makemap", "-t", ""}), UnorderedElementsAre("aliases", "set"));
    // Nothing to say is not an error: no daemon, no ids, only "all".
    EXPECT_THAT(complete({"mxctl", "frobnicate", ""}), IsEmpty());
    EXPECT_THAT(complete({"mxctl", "update", "table", ""}), IsEmpty());
    const auto command = queue_id_command();
    if (!command.empty()) {
        auto words = command;
        words.insert(words.begin(), "mxctl");
        words.emplace_back("");
        EXPECT_THAT(complete(words), ElementsAre("all"));
    }
}

TEST_F(Completion, QueueIdsAndTableNamesFromTheRunningDaemon) {
    const auto ids = fill(3);
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"}));
    std::vector<std::string> queued{"all"};
    for (const auto& id : ids) {
        queued.push_back(id.msgid().hex());
        queued.push_back(id.hex());
    }
    EXPECT_THAT(complete({"mxctl", "update", "table", "v"}), UnorderedElementsAre("vusers", "vdomains"));
    EXPECT_THAT(complete({"mxctl", "table", "lookup", "vd"}), ElementsAre("vdomains"));
    // After the table comes a key: nothing to offer.
    EXPECT_THAT(complete({"mxctl", "table", "lookup", "vusers", ""}), IsEmpty());

    auto command = queue_id_command();
    std::cerr << "completing the ids of: mxctl "
              << (command.empty() ? std::string("__complete queue_id (no command takes one)") : core::join(command, " "))
              << "\n";
    command.insert(command.begin(), "mxctl");
    // What the shell offers after the command, or, while no listed command takes a queue id,
    // what mxctl __complete prints for the scripts.
    auto ids_for = [&](const std::string& prefix) {
        if (command.size() == 1) {
            return lines_of(mxctl({"__complete", "queue_id", prefix}).out);
        }
        auto words = command;
        words.push_back(prefix);
        return complete(words);
    };
    EXPECT_THAT(ids_for(""), UnorderedElementsAre(queued[0], queued[1], queued[2], queued[3], queued[4],
                                                  queued[5], queued[6]));
    // A prefix: the message and its envelope.
    EXPECT_THAT(ids_for(ids[1].hex().substr(0, 8)), UnorderedElementsAre(ids[1].hex(), ids[1].msgid().hex()));
    EXPECT_THAT(ids_for(ids[1].hex()), ElementsAre(ids[1].hex()));
    EXPECT_THAT(ids_for("zz"), IsEmpty());
    if (command.size() > 1) {
        // The socket given on the command line wins over $MXD_SOCKET.
        auto words = command;
        words.insert(words.begin() + 1, {"-s", socket_path().string()});
        words.push_back(ids[2].hex().substr(0, 12));
        EXPECT_THAT(complete(words, "/nonexistent/mxd.sock"), ElementsAre(ids[2].hex()));
    }
}

TEST_F(Completion, ALargeQueueGivesABoundedAnswer) {
    const auto ids = fill(20000);
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"}));
    const auto all = mxctl({"__complete", "queue_id", ""});
    ASSERT_EQ(all.status, 0) << all.err;
    const auto values = lines_of(all.out);
    // "all", then at most 100 msgids and 100 evpids.
    ASSERT_EQ(values.size(), 201u);
    EXPECT_EQ(values.front(), "all");
    EXPECT_TRUE(std::is_sorted(values.begin() + 1, values.begin() + 101));
    EXPECT_TRUE(std::is_sorted(values.begin() + 101, values.end()));
    // An id deep in the queue is found by its prefix.
    const auto& target = ids[12345];
    const auto some = mxctl({"__complete", "queue_id", target.hex().substr(0, 6)});
    EXPECT_THAT(lines_of(some.out), Contains(target.hex()));
    EXPECT_THAT(lines_of(some.out), Contains(target.msgid().hex()));
    const auto one = mxctl({"__complete", "queue_id", target.hex()});
    EXPECT_THAT(lines_of(one.out), ElementsAre(target.hex()));
}
