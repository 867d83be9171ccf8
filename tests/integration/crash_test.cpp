// SPDX-License-Identifier: ISC
// The durability rule under SIGKILL: every message whose 250 a client received is in the queue
// after a restart, and no half-received message is.
#include "tests/integration/daemon_fixture.hpp"

#include "core/queue/store.hpp"

#include <signal.h>

#include <gmock/gmock.h>

#include <cstdlib>
#include <set>
#include <sstream>
#include <thread>

using namespace mxd_test;
using nlohmann::json;

namespace {

class Crash : public DaemonFixture {
  protected:
    // The msgids that `mxctl -j show queue` lists.
    std::set<std::string> queued_msgids() const {
        std::set<std::string> out;
        std::istringstream items(mxctl({"-j", "show", "queue"}).out);
        for (std::string line; std::getline(items, line);) {
            out.insert(json::parse(line)["msgid"].get<std::string>());
        }
        return out;
    }
    // How many acknowledged msgids are not queued.
    static std::size_t lost(const std::set<std::string>& acknowledged,
                            const std::set<std::string>& queued) {
        std::size_t n = 0;
        for (const auto& msgid : acknowledged) {
            n += queued.count(msgid) == 0 ? 1 : 0;
        }
        return n;
    }
    std::string extra_config() const override {
        return "table vusers { \"@example.org\" = root }\n"
               "action \"local\" mbox virtual <vusers>\n"
               "match from any for domain \"example.org\" action \"local\"\n";
    }
};

// Ten clients send messages in a loop and print the msgid of every 250 they get, until the
// connection breaks; each message ends with a marker line so that a truncated one shows.
constexpr const char* k_clients = R"(
import smtplib, sys, threading
port = int(sys.argv[1])
lock = threading.Lock()
def client(n):
    # A new session every 50 messages: a session may carry at most `smtp limit max-mails`.
    try:
        for session in range(100000):
            s = smtplib.SMTP('127.0.0.1', port, timeout=10)
            s.ehlo('load.example.net')
            for i in range(50):
                body = 'Subject: %d-%d-%d\r\n\r\n' % (n, session, i) + ('x' * 70 + '\r\n') * 28 + 'END-OF-MESSAGE\r\n'
                s.mail('load@sender.net')
                s.rcpt('rcpt%d@example.org' % n)
                code, text = s.data(body)
                if code == 250:
                    with lock:
                        print(text.decode().split()[1], flush=True)
            s.quit()
    except Exception:
        pass
threads = [threading.Thread(target=client, args=(n,)) for n in range(10)]
for t in threads: t.start()
for t in threads: t.join()
)";

} // namespace

TEST_F(Crash, AcknowledgedMessagesSurviveSigkill) {
    ASSERT_TRUE(start({"-P", "mda"})); // deliveries held: the queue shows what was accepted
    const int port = smtp_port();
    std::thread killer([&] {
        // Let the load run, then kill the daemon in the middle of it.
        wait_until([&] { return std::filesystem::exists(spool() / "queue.db-wal"); },
                   std::chrono::seconds(10));
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        ::kill(daemon()->pid(), SIGKILL);
    });
    const auto load = run({"python3", "-c", k_clients, std::to_string(port)},
                          {.timeout = std::chrono::seconds(60)});
    killer.join();
    ASSERT_EQ(daemon()->wait(std::chrono::seconds(5)), 128 + SIGKILL);
    std::set<std::string> acknowledged;
    std::istringstream lines(load.out);
    for (std::string msgid; std::getline(lines, msgid);) {
        acknowledged.insert(msgid);
    }
    ASSERT_GT(acknowledged.size(), 50u) << "the load barely ran: " << load.err;

    ASSERT_TRUE(start({"-P", "mda"})); // deliveries held: the queue shows what was accepted
    const auto queued = queued_msgids();
    EXPECT_EQ(lost(acknowledged, queued), 0u)
        << "of " << acknowledged.size() << " acknowledged messages";
    // Anything queued but not acknowledged lost its 250 in flight: a duplicate, not a loss.
    // Every stored message is whole.
    ASSERT_EQ(stop(), 0);
    auto store = core::queue::QueueStore::open(spool(), core::queue::QueueStore::Access::reader);
    ASSERT_TRUE(store);
    std::size_t whole = 0;
    for (const auto& msgid : queued) {
        const auto body = store->message_body(*core::queue::MsgId::parse(msgid));
        ASSERT_TRUE(body && *body);
        EXPECT_THAT(**body, ::testing::EndsWith("END-OF-MESSAGE\r\n")) << msgid;
        ++whole;
    }
    std::cerr << "crash test: " << acknowledged.size() << " acknowledged, " << queued.size()
              << " queued after restart, " << whole << " checked whole\n";
}

// The issue's own load: Postfix's smtp-source, 10 sessions of 2 KB messages, each session
// carrying many messages, and mxd SIGKILLed in the middle. Its -v output shows every 250 and
// the msgid in it.
TEST_F(Crash, SmtpSourceLoadSurvivesSigkill) {
    ASSERT_TRUE(start({"-P", "mda"})); // deliveries held: the queue shows what was accepted
    const std::string tool =
        std::string(std::getenv("MXD_SOURCE_ROOT") ? std::getenv("MXD_SOURCE_ROOT") : ".") +
        "/tests/scripts/smtp-source.sh";
    const std::string cache =
        std::string(std::getenv("MXD_BUILD_ROOT") ? std::getenv("MXD_BUILD_ROOT") : "/tmp") +
        "/postfix-tools";
    // Unpack smtp-source first, so that the kill below lands during the load.
    const auto fetched = run({tool, cache, "-c", "-m", "1", "-l", "2048", "-f", "load@sender.net",
                              "-t", "rcpt@example.org", "127.0.0.1:" + std::to_string(smtp_port())},
                             {.timeout = std::chrono::seconds(120)});
    ASSERT_EQ(fetched.status, 0) << fetched.err;
    std::thread killer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(2000));
        ::kill(daemon()->pid(), SIGKILL);
    });
    const auto load = run({tool, cache, "-v", "-d", "-s", "10", "-m", "1000000", "-l", "2048", "-f",
                           "load@sender.net", "-t", "rcpt@example.org",
                           "127.0.0.1:" + std::to_string(smtp_port())},
                          {.timeout = std::chrono::seconds(60)});
    killer.join();
    ASSERT_EQ(daemon()->wait(std::chrono::seconds(5)), 128 + SIGKILL);
    // "smtp-source: <<< 250 2.0.0 0a1b2c3d Message accepted for delivery"
    std::set<std::string> acknowledged;
    std::istringstream lines(load.err);
    const std::string marker = "<<< 250 2.0.0 ";
    for (std::string line; std::getline(lines, line);) {
        const auto at = line.find(marker);
        if (at != std::string::npos && line.find("Message accepted") != std::string::npos) {
            acknowledged.insert(line.substr(at + marker.size(), 8));
        }
    }
    ASSERT_GT(acknowledged.size(), 100u) << "the load barely ran: " << load.err.substr(0, 2000);

    ASSERT_TRUE(start({"-P", "mda"})); // deliveries held: the queue shows what was accepted
    const auto queued = queued_msgids();
    EXPECT_EQ(lost(acknowledged, queued), 0u)
        << "of " << acknowledged.size() << " acknowledged messages";
    // Only a message whose final dot was sent can be stored, and at most one per session can
    // have lost its 250 in flight (plus the one of the first, unpacking run).
    EXPECT_LE(queued.size(), acknowledged.size() + 10 + 1);
    ASSERT_EQ(stop(), 0);
    auto store = core::queue::QueueStore::open(spool(), core::queue::QueueStore::Access::reader);
    ASSERT_TRUE(store);
    for (const auto& msgid : queued) {
        const auto body = store->message_body(*core::queue::MsgId::parse(msgid));
        ASSERT_TRUE(body && *body);
        EXPECT_GE((*body)->size(), 2048u) << msgid;
    }
    std::cerr << "smtp-source crash test: " << acknowledged.size() << " acknowledged, "
              << queued.size() << " queued after restart\n";
}
