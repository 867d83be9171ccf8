// SPDX-License-Identifier: ISC
// The queue commands of mxctl against a real mxd whose deliveries are paused: the filters of
// show queue, show envelope, show message, schedule, remove, pause envelope and resume
// envelope (ids, all, filters, --dry-run), the refusal of an unscoped remove, and pause
// --reason --for in show status.
#include "core/util/time.hpp"
#include "tests/integration/daemon_fixture.hpp"

#include "core/queue/store.hpp"

#include <gmock/gmock.h>

#include <ctime>
#include <sstream>

using namespace mxd_test;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;
using nlohmann::json;

namespace {

// One message to fill the spool with, and what it became.
struct Fill {
    std::string sender;
    std::vector<std::string> rcpts;
    std::int64_t age = 0;  // seconds before now
    std::string body = "Subject: test\r\n\r\nbody\r\n";
    std::int64_t next_try_in = 0;  // seconds after now
    // Set by fill(): the message's id and its envelopes' ids, in rcpts' order.
    std::string msgid;
    std::vector<std::string> evpids;
};

class QueueOps : public DaemonFixture {
protected:
    // Writes the messages into the spool as an earlier run would have left them; the daemon
    // then starts with deliveries paused (-P mda -P mta), so that everything stays queued.
    void fill_and_start(std::vector<Fill>& messages) {
        std::filesystem::create_directories(spool());
        {
            auto store = core::queue::QueueStore::open(spool(), core::queue::QueueStore::Access::writer);
            ASSERT_TRUE(store) << store.error().message;
            const auto now = static_cast<std::int64_t>(std::time(nullptr));
            std::vector<core::queue::NewMessage> batch;
            for (auto& f : messages) {
                core::queue::NewMessage m;
                m.id = core::queue::MsgId::random();
                m.created = now - f.age;
                m.body = f.body;
                f.msgid = m.id.hex();
                for (const auto& rcpt : f.rcpts) {
                    core::queue::Envelope e;
                    e.id = core::queue::EvpId::random(m.id);
                    e.origin = core::queue::Origin::inet4;
                    e.type = core::queue::DeliveryType::mta;
                    e.sender = f.sender;
                    e.rcpt = e.dest = rcpt;
                    e.action = "relay";
                    e.src = "192.0.2.7";
                    e.helo = "client.example";
                    e.created = m.created;
                    e.expires = m.created + 4 * 86400;
                    e.next_try = now + f.next_try_in;
                    f.evpids.push_back(e.id.hex());
                    m.envelopes.push_back(e);
                }
                batch.push_back(std::move(m));
            }
            ASSERT_TRUE(store->commit(batch));
        }
        ASSERT_TRUE(start({"-P", "mda", "-P", "mta"}));
    }

    // The evpids that `show queue ARGS` lists, checking that each line is smtpctl's.
    std::vector<std::string> listed(std::vector<std::string> args) {
        args.insert(args.begin(), {"show", "queue"});
        const auto r = mxctl(args);
        EXPECT_EQ(r.status, 0) << r.err;
        std::vector<std::string> out;
        std::istringstream lines(r.out);
        for (std::string line; std::getline(lines, line);) {
            EXPECT_EQ(std::count(line.begin(), line.end(), '|'), 13) << line;
            out.push_back(line.substr(0, 16));
        }
        return out;
    }

    // The three messages most cases use.
    std::vector<Fill> three() {
        return {
            {"alice@a.org", {"x@one.org", "y@two.org"}, 3 * 3600},
            {"bob@b.org", {"z@one.org"}, 600},
            {"", {"alice@a.org"}, 0},
        };
    }
};

} // namespace

TEST_F(QueueOps, FiltersSelectTheRightEnvelopes) {
    auto m = three();
    fill_and_start(m);
    const auto& a = m[0].evpids;
    const auto& b = m[1].evpids;
    const auto& c = m[2].evpids;
    EXPECT_EQ(listed({}).size(), 4u);
    EXPECT_THAT(listed({"--sender", "alice@a.org"}), UnorderedElementsAre(a[0], a[1]));
    EXPECT_THAT(listed({"--sender", "*@B.ORG"}), ElementsAre(b[0]));
    EXPECT_THAT(listed({"--sender", "<>"}), ElementsAre(c[0]));
    EXPECT_THAT(listed({"--rcpt", "z@one.org"}), ElementsAre(b[0]));
    EXPECT_THAT(listed({"--domain", "one.org"}), UnorderedElementsAre(a[0], b[0]));
    EXPECT_THAT(listed({"--older-than", "2h"}), UnorderedElementsAre(a[0], a[1]));
    EXPECT_THAT(listed({"--older-than", "5m"}), UnorderedElementsAre(a[0], a[1], b[0]));
    EXPECT_THAT(listed({"--domain", "one.org", "--older-than", "1h"}), ElementsAre(a[0]));
    EXPECT_THAT(listed({m[0].msgid}), UnorderedElementsAre(a[0], a[1]));
    EXPECT_THAT(listed({a[1]}), ElementsAre(a[1]));
    EXPECT_EQ(listed({"all", "--state", "pending"}).size(), 4u);
    EXPECT_TRUE(listed({"--state", "held"}).empty());

    const auto j = mxctl({"-j", "show", "queue", "--sender", "<>"});
    ASSERT_EQ(j.status, 0) << j.err;
    const auto item = json::parse(j.out);
    EXPECT_EQ(item["evpid"], c[0]);
    EXPECT_EQ(item["sender"], "");
    EXPECT_EQ(item["rcpt"], "alice@a.org");

    // Bad filters are usage errors, caught before the daemon is asked.
    EXPECT_EQ(mxctl({"show", "queue", "--state", "asleep"}).status, 64);
    EXPECT_EQ(mxctl({"show", "queue", "--older-than", "2 hours"}).status, 64);
    EXPECT_EQ(mxctl({"show", "queue", "xyz"}).status, 64);
}

TEST_F(QueueOps, ShowEnvelopePrintsEveryField) {
    auto m = three();
    fill_and_start(m);
    const auto evpid = m[0].evpids[1];
    const auto text = mxctl({"show", "envelope", evpid});
    ASSERT_EQ(text.status, 0) << text.err;
    EXPECT_THAT(text.out, StartsWith("evpid: " + evpid + "\nmsgid: " + m[0].msgid + "\n"));
    EXPECT_THAT(text.out, HasSubstr("\nsender: alice@a.org\n"));
    EXPECT_THAT(text.out, HasSubstr("\nrcpt: y@two.org\n"));
    EXPECT_THAT(text.out, HasSubstr("\nsrc: 192.0.2.7\n"));
    EXPECT_THAT(text.out, HasSubstr("\nhelo: client.example\n"));
    EXPECT_THAT(text.out, HasSubstr("\nrunstate: pending\n"));

    const auto j = mxctl({"-j", "show", "envelope", evpid});
    ASSERT_EQ(j.status, 0) << j.err;
    const auto e = json::parse(j.out);
    EXPECT_EQ(e["evpid"], evpid);
    EXPECT_EQ(e["type"], "mta");
    EXPECT_EQ(e["action"], "relay");
    EXPECT_EQ(e["runstate"], "pending");
    EXPECT_EQ(e["helo"], "client.example");
    EXPECT_EQ(e["flags"], json::array());
    EXPECT_TRUE(e.contains("dsn_notify"));

    const auto unknown = mxctl({"show", "envelope", m[0].msgid + "00000001"});
    EXPECT_EQ(unknown.status, 65);
    EXPECT_EQ(unknown.err, "mxctl: show envelope: no envelope " + m[0].msgid + "00000001 in the queue\n");
    EXPECT_EQ(mxctl({"show", "envelope", m[0].msgid}).status, 65) << "a msgid names no one envelope";
    EXPECT_EQ(mxctl({"show", "envelope"}).status, 64);
}

TEST_F(QueueOps, ShowMessagePrintsTheRawMessage) {
    auto m = three();
    m[0].body = "Subject: caf\xe9\r\n\r\nline one\r\n\r\n.dot\r\n";
    // Larger than a protocol line (1 MiB), so it must come in parts.
    m[1].body = "Subject: big\r\n\r\n";
    while (m[1].body.size() < 1536 * 1024) {
        m[1].body += std::string(76, 'x') + "\r\n";
    }
    fill_and_start(m);
    const auto by_msgid = mxctl({"show", "message", m[0].msgid});
    ASSERT_EQ(by_msgid.status, 0) << by_msgid.err;
    EXPECT_EQ(by_msgid.out, m[0].body);
    const auto by_evpid = mxctl({"show", "message", m[0].evpids[1]});
    EXPECT_EQ(by_evpid.out, m[0].body);
    const auto big = mxctl({"show", "message", m[1].msgid});
    ASSERT_EQ(big.status, 0) << big.err;
    EXPECT_EQ(big.out.size(), m[1].body.size());
    EXPECT_TRUE(big.out == m[1].body);

    const auto parts = mxctl({"-j", "show", "message", m[1].msgid});
    ASSERT_EQ(parts.status, 0);
    std::istringstream lines(parts.out);
    std::size_t n = 0;
    for (std::string line; std::getline(lines, line); ++n) {
        const auto j = json::parse(line);
        EXPECT_EQ(j["msgid"], m[1].msgid);
        EXPECT_TRUE(j["data"].is_string());
    }
    EXPECT_GT(n, 1u);

    const auto missing = mxctl({"show", "message", "0badc0de"});
    EXPECT_EQ(missing.status, 65);
    EXPECT_EQ(missing.err, "mxctl: show message: no message 0badc0de in the queue\n");
    EXPECT_EQ(mxctl({"show", "message", "all"}).status, 65);
}

TEST_F(QueueOps, PauseAndResumeEnvelopes) {
    auto m = three();
    fill_and_start(m);
    const auto& a = m[0].evpids;

    const auto dry = mxctl({"pause", "envelope", m[0].msgid, "--dry-run"});
    ASSERT_EQ(dry.status, 0) << dry.err;
    EXPECT_THAT(dry.out, HasSubstr("\n2 envelopes would be paused (dry run)\n"));
    EXPECT_TRUE(listed({"--state", "held"}).empty()) << "a dry run changes nothing";

    const auto paused = mxctl({"pause", "envelope", m[0].msgid});
    ASSERT_EQ(paused.status, 0) << paused.err;
    EXPECT_EQ(paused.out, "2 envelopes paused\n");
    EXPECT_THAT(listed({"--state", "held"}), UnorderedElementsAre(a[0], a[1]));
    EXPECT_THAT(mxctl({"show", "queue", a[0]}).out, MatchesRegex(a[0] + "\\|inet4\\|mta\\|hold\\|.*\\|held\\|.*\n"));
    const auto e = json::parse(mxctl({"-j", "show", "envelope", a[0]}).out);
    EXPECT_EQ(e["flags"], json::array({"hold"}));
    EXPECT_EQ(e["runstate"], "held");

    // Held envelopes stay held across a schedule, and across a restart.
    const auto scheduled = mxctl({"schedule", "all"});
    ASSERT_EQ(scheduled.status, 0) << scheduled.err;
    EXPECT_EQ(scheduled.out, "2 envelopes scheduled; 2 held, left alone (resume envelope first)\n");
    ASSERT_EQ(stop(), 0);
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"}));
    EXPECT_THAT(listed({"--state", "held"}), UnorderedElementsAre(a[0], a[1]));

    const auto resumed = mxctl({"resume", "envelope", "--sender", "alice@a.org"});
    ASSERT_EQ(resumed.status, 0) << resumed.err;
    EXPECT_EQ(resumed.out, "2 envelopes resumed\n");
    EXPECT_TRUE(listed({"--state", "held"}).empty());
    const auto j = json::parse(mxctl({"-j", "resume", "envelope", a[0]}).out);
    EXPECT_EQ(j["command"], "resume-envelope");
    EXPECT_EQ(j["matched"], 1);
}

TEST_F(QueueOps, ScheduleCountsWhatItMadeDue) {
    std::vector<Fill> m{{"alice@a.org", {"x@one.org", "y@two.org"}, 60, "Subject: later\r\n\r\n", 3600}};
    fill_and_start(m);
    const auto next_try = [&](const std::string& evpid) {
        return json::parse(mxctl({"-j", "show", "envelope", evpid}).out)["next_try"].get<std::string>();
    };
    const auto later = next_try(m[0].evpids[0]);
    const auto now = core::format_rfc3339(std::chrono::system_clock::now());
    ASSERT_GT(later, now) << "filled to be tried in an hour";
    const auto r = mxctl({"schedule", m[0].evpids[0]});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "1 envelope scheduled\n");
    // What show envelope and show queue say is the scheduler's new time, not the stored one.
    EXPECT_LE(next_try(m[0].evpids[0]), core::format_rfc3339(std::chrono::system_clock::now()));
    EXPECT_EQ(next_try(m[0].evpids[1]), later) << "the other envelope was not scheduled";
    EXPECT_EQ(mxctl({"schedule", "--domain", "two.org"}).out, "1 envelope scheduled\n");
    EXPECT_EQ(mxctl({"sched", m[0].msgid}).out, "2 envelopes scheduled\n");
    // -j --dry-run: one object per envelope it would touch, then the summary object.
    const auto dry = mxctl({"-j", "schedule", "all", "--dry-run"});
    ASSERT_EQ(dry.status, 0) << dry.err;
    std::vector<json> lines;
    std::istringstream in(dry.out);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(json::parse(line));
    }
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0]["msgid"], m[0].msgid);
    EXPECT_EQ(lines[2]["dry_run"], true);
    EXPECT_EQ(lines[2]["matched"], 2);
    EXPECT_EQ(mxctl({"schedule", "0badc0de"}).status, 65);
}

TEST_F(QueueOps, RemoveByIdFilterAndAll) {
    auto m = three();
    fill_and_start(m);
    const auto& a = m[0].evpids;
    const auto& b = m[1].evpids;
    const auto& c = m[2].evpids;

    const auto dry = mxctl({"remove", "--domain", "one.org", "--dry-run"});
    ASSERT_EQ(dry.status, 0) << dry.err;
    std::istringstream lines(dry.out);
    std::vector<std::string> out;
    for (std::string line; std::getline(lines, line);) {
        out.push_back(line);
    }
    ASSERT_EQ(out.size(), 3u);
    EXPECT_THAT((std::vector<std::string>{out[0].substr(0, 16), out[1].substr(0, 16)}),
                UnorderedElementsAre(a[0], b[0]));
    EXPECT_EQ(out[2], "2 envelopes would be removed (dry run)");
    EXPECT_EQ(listed({}).size(), 4u) << "a dry run removes nothing";

    const auto one = mxctl({"remove", b[0]});
    ASSERT_EQ(one.status, 0) << one.err;
    EXPECT_EQ(one.out, "1 envelope removed\n");
    EXPECT_THAT(listed({}), UnorderedElementsAre(a[0], a[1], c[0]));
    const auto again = mxctl({"remove", b[0]});
    EXPECT_EQ(again.status, 65);
    EXPECT_EQ(again.err, "mxctl: remove: no envelope " + b[0] + " in the queue\n");
    EXPECT_EQ(mxctl({"show", "message", m[1].msgid}).status, 65) << "its message went with it";

    EXPECT_EQ(mxctl({"remove", "--older-than", "1h"}).out, "2 envelopes removed\n");
    EXPECT_THAT(listed({}), ElementsAre(c[0]));
    EXPECT_EQ(mxctl({"remove", "--sender", "nobody@nowhere"}).out, "0 envelopes removed\n");

    const auto j = json::parse(mxctl({"-j", "remove", "all"}).out);
    EXPECT_EQ(j["command"], "remove");
    EXPECT_EQ(j["done"], 1);
    EXPECT_TRUE(listed({}).empty());
    ASSERT_EQ(stop(), 0);
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"}));
    EXPECT_TRUE(listed({}).empty()) << "removed for good";
}

TEST_F(QueueOps, UnscopedQueueCommandsAreRefused) {
    auto m = three();
    fill_and_start(m);
    for (const auto& words : std::vector<std::vector<std::string>>{
             {"remove"}, {"remove", "--dry-run"}, {"schedule"}, {"pause", "envelope"}, {"resume", "envelope"}}) {
        const auto r = mxctl(words);
        EXPECT_EQ(r.status, 64) << words[0];
        EXPECT_THAT(r.err, HasSubstr("needs an envelope id, a message id, all, or a filter"));
        EXPECT_EQ(r.out, "");
    }
    EXPECT_EQ(listed({}).size(), 4u);
}

TEST_F(QueueOps, PauseOfADeliveryAgentKeepsItsWords) {
    ASSERT_TRUE(start());
    EXPECT_EQ(mxctl({"pause", "mta"}).out, "paused: mta\n");
    EXPECT_EQ(mxctl({"pa", "mda"}).out, "paused: mda mta\n");
    EXPECT_EQ(mxctl({"resume", "mta"}).out, "paused: mda\n");
    EXPECT_EQ(mxctl({"resume", "mda"}).out, "paused: nothing\n");
    EXPECT_EQ(mxctl({"pause"}).status, 64);
    EXPECT_EQ(mxctl({"pause", "mtx"}).status, 64);
    EXPECT_EQ(mxctl({"resume", "mta", "--for", "1m"}).status, 64) << "--for is pause's";
}

TEST_F(QueueOps, PauseWithReasonAndForShowsInStatusAndEnds) {
    ASSERT_TRUE(start());
    const auto r = mxctl({"pause", "mta", "--reason", "relay upgrade", "--for", "2s"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_THAT(r.out, StartsWith("paused: mta\nmta paused: since "));
    EXPECT_THAT(r.out, HasSubstr(", reason: relay upgrade\n"));

    const auto text = mxctl({"show", "status"}).out;
    EXPECT_THAT(text, StartsWith("MDA running\nMTA paused\nSMTP running\n"));
    EXPECT_THAT(text, MatchesRegex("(.|\n)*\nmta paused: since [0-9TZ:-]+, until [0-9TZ:-]+ \\([0-9s]+ left\\), "
                                   "reason: relay upgrade\n(.|\n)*"));
    const auto s = status();
    EXPECT_EQ(s["paused"]["mta"], true);
    EXPECT_EQ(s["pauses"]["mta"]["reason"], "relay upgrade");
    EXPECT_TRUE(s["pauses"]["mta"]["until"].is_string());
    EXPECT_FALSE(s["pauses"].contains("mda"));

    // The timer resumes it by itself.
    EXPECT_TRUE(wait_until([&] { return status()["paused"]["mta"] == false; }, std::chrono::seconds(20)));
    EXPECT_EQ(status()["pauses"], json::object());
    EXPECT_THAT(slurp(log_path()), HasSubstr("pause --for ended"));

    // A resume before the end disarms the timer: a later pause without --for stays.
    ASSERT_EQ(mxctl({"pause", "mda", "--for", "1s"}).status, 0);
    ASSERT_EQ(mxctl({"resume", "mda"}).status, 0);
    ASSERT_EQ(mxctl({"pause", "mda"}).status, 0);
    const auto until = status()["pauses"]["mda"]["until"];
    EXPECT_TRUE(until.is_null());
}

TEST_F(QueueOps, QueueCommandsNeedTheirAccessLevel) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to run mxctl as nobody";
    }
    auto m = three();
    fill_and_start(m);
    for (const auto& words : std::vector<std::vector<std::string>>{
             {"show", "envelope", m[0].evpids[0]}, {"show", "message", m[0].msgid}, {"remove", "all"},
             {"schedule", "all"}, {"pause", "envelope", "all"}, {"resume", "envelope", "all"}}) {
        EXPECT_EQ(mxctl(words, {.user = "nobody"}).status, 77) << words[0] << " " << words[1];
    }
    EXPECT_EQ(listed({}).size(), 4u);
}
