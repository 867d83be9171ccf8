// SPDX-License-Identifier: ISC
// trace --follow, monitor and show stats against a real daemon, driven by python3 smtplib:
// the dialogue of a session that starts after the follow began, with AUTH payloads and
// passwords nowhere (follow output or log); the counters in their three forms.
#include "tests/integration/daemon_fixture.hpp"

#include <gmock/gmock.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>

using namespace mxd_test;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using nlohmann::json;

namespace {

// The password, its base64, and the AUTH PLAIN payload (\0roger\0roger-secret) and the AUTH
// LOGIN user name, in base64: none may appear in a trace or the log.
const std::vector<std::string> k_secrets{"roger-secret", "cm9nZXItc2VjcmV0", "AHJvZ2VyAHJvZ2VyLXNlY3JldA", "cm9nZXI="};

class Observability : public DaemonFixture {
protected:
    void SetUp() override {
        DaemonFixture::SetUp();
        const auto made =
            run({"openssl", "req", "-new", "-x509", "-nodes", "-newkey", "rsa:2048", "-subj", "/CN=mx.example.org",
                 "-keyout", (dir() / "mx.key").string(), "-out", (dir() / "mx.crt").string(), "-days", "30"});
        ASSERT_EQ(made.status, 0) << made.err;
        const auto hash = run({mxctl_binary(), "encrypt", "roger-secret"});
        ASSERT_EQ(hash.status, 0);
        std::ofstream(dir() / "creds") << "roger " << hash.out;
        const auto d = dir().string();
        std::ofstream(config_path(), std::ios::app)
            << "pki mx.example.org cert \"" << d << "/mx.crt\"\n"
            << "pki mx.example.org key \"" << d << "/mx.key\"\n"
            << "table creds file:" << d << "/creds\n"
            << "listen on 127.0.0.1 port 0 tls-require pki mx.example.org auth <creds>\n"
            << "action \"local\" mbox\n"
            << "match from any for domain \"example.org\" action \"local\"\n";
    }

    // A message over the TLS listener, authenticated with AUTH PLAIN (smtplib's choice) or
    // AUTH LOGIN; prints the code of the QUIT reply.
    RunResult send_authenticated(const std::string& mechanism) {
        const auto port = status()["listeners"][1]["port"].get<int>();
        const std::string login = mechanism == "LOGIN"
                                      ? "s.user, s.password = 'roger', 'roger-secret'\n"
                                        "s.auth('LOGIN', s.auth_login, initial_response_ok=False)\n"
                                      : "s.login('roger', 'roger-secret')\n";
        return run({"python3", "-c",
                    "import smtplib, ssl\n"
                    "ctx = ssl.create_default_context(cafile='" + (dir() / "mx.crt").string() + "')\n"
                    "ctx.check_hostname = False\n"
                    "s = smtplib.SMTP('127.0.0.1', " + std::to_string(port) + ", timeout=10)\n"
                    "s.starttls(context=ctx)\n"
                    "s.ehlo('client.example.net')\n" + login +
                    "s.sendmail('roger@example.org', ['root@example.org'], 'Subject: hi\\r\\n\\r\\nbody\\r\\n')\n"
                    "print(s.quit()[0])\n"});
    }

    // A plain message over the fixture's listener.
    RunResult send_plain() {
        return run({"python3", "-c",
                    "import smtplib\n"
                    "s = smtplib.SMTP('127.0.0.1', " + std::to_string(smtp_port()) + ", timeout=10)\n"
                    "s.sendmail('alice@example.net', ['root@example.org'], 'Subject: hi\\r\\n\\r\\nbody\\r\\n')\n"
                    "print(s.quit()[0])\n"});
    }

    json stats() const {
        const auto r = mxctl({"-j", "show", "stats"});
        EXPECT_EQ(r.status, 0) << r.err;
        return json::parse(r.out, nullptr, false);
    }

    // Waits until the daemon counts `n` trace followers.
    bool followers_are(int n) const {
        return wait_until([&] { return stats().value("control.trace.follower", -1) == n; }, std::chrono::seconds(10));
    }
};

// Stops a background mxctl as Ctrl-C would.
void interrupt(Background& b) {
    ::kill(b.pid(), SIGINT);
    if (!b.wait(std::chrono::seconds(5))) {
        b.kill();
    }
}

} // namespace

TEST_F(Observability, FollowShowsTheDialogueWithAuthRedactedAndTurnsNothingOn) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"}));
    const auto text_out = dir() / "follow.txt";
    const auto json_out = dir() / "follow.jsonl";
    Background text({mxctl_binary(), "-s", socket_path().string(), "trace", "--follow", "smtp", "tls"}, text_out);
    Background lines({mxctl_binary(), "-s", socket_path().string(), "-j", "trace", "--follow", "smtp"}, json_out);
    ASSERT_TRUE(followers_are(2));
    // The follow turned nothing on for the log.
    EXPECT_EQ(status()["traces"], json::array());

    const auto plain = send_authenticated("PLAIN");
    ASSERT_EQ(plain.status, 0) << plain.err;
    EXPECT_EQ(plain.out, "221\n");
    const auto login = send_authenticated("LOGIN");
    ASSERT_EQ(login.status, 0) << login.err;
    ASSERT_TRUE(wait_until([&] { return slurp(text_out).find("<<< line=quit") != std::string::npos &&
                                        slurp(json_out).find("<<< line=quit") != std::string::npos; },
                           std::chrono::seconds(10)));
    ASSERT_TRUE(wait_until(
        [&] {
            const auto t = slurp(text_out);
            return t.find("<<< line=quit") != t.rfind("<<< line=quit") && t.rfind("221") > t.rfind("<<< line=quit");
        },
        std::chrono::seconds(10)));
    interrupt(text);
    interrupt(lines);

    const auto followed = slurp(text_out);
    // Both directions of the dialogue, in the log's line format.
    EXPECT_THAT(followed, ContainsRegex("Z [0-9a-f]{16} smtp <<< line=\"ehlo client.example.net\""));
    EXPECT_THAT(followed, ContainsRegex("Z [0-9a-f]{16} smtp >>> line=\"220 "));
    EXPECT_THAT(followed, HasSubstr("smtp <<< line=STARTTLS"));
    EXPECT_THAT(followed, HasSubstr("smtp <<< line=\"AUTH PLAIN <redacted>\""));
    EXPECT_THAT(followed, HasSubstr("smtp <<< line=\"AUTH LOGIN\""));
    EXPECT_THAT(followed, HasSubstr("smtp <<< line=<redacted>"));
    EXPECT_THAT(followed, HasSubstr("smtp >>> line=\"235 "));
    EXPECT_THAT(followed, HasSubstr("smtp <<< line=\"mail FROM:<roger@example.org>"));
    EXPECT_THAT(followed, HasSubstr("tls handshake side=server"));
    EXPECT_THAT(followed, Not(HasSubstr(" io ")));  // not followed
    // Each JSON line is an object; the first says what is followed.
    std::istringstream json_lines(slurp(json_out));
    std::string first;
    ASSERT_TRUE(std::getline(json_lines, first));
    EXPECT_EQ(json::parse(first)["following"], json({"smtp"}));
    std::size_t dialogue = 0;
    for (std::string line; std::getline(json_lines, line);) {
        const auto item = json::parse(line, nullptr, false);
        ASSERT_TRUE(item.is_object()) << line;
        EXPECT_TRUE(item.contains("time"));
        EXPECT_THAT(item.value("line", ""), HasSubstr(" smtp "));
        ++dialogue;
    }
    EXPECT_GT(dialogue, 10u);
    for (const auto& secret : k_secrets) {
        EXPECT_THAT(followed, Not(HasSubstr(secret)));
        EXPECT_THAT(slurp(json_out), Not(HasSubstr(secret)));
        EXPECT_THAT(slurp(log_path()), Not(HasSubstr(secret)));
    }
    // Gone with their clients, and nothing stays on: the log got no trace line.
    EXPECT_TRUE(followers_are(0));
    EXPECT_EQ(status()["traces"], json::array());
    EXPECT_THAT(slurp(log_path()), Not(HasSubstr("smtp <<<")));
}

TEST_F(Observability, TracedToTheLogAuthIsRedactedToo) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"}));
    ASSERT_EQ(mxctl({"trace", "smtp", "tls"}).status, 0);
    EXPECT_EQ(status()["traces"], json({"smtp", "tls"}));
    ASSERT_EQ(send_authenticated("PLAIN").status, 0);
    ASSERT_EQ(send_authenticated("LOGIN").status, 0);
    ASSERT_EQ(mxctl({"untrace", "all"}).status, 0);
    const auto log = slurp(log_path());
    EXPECT_THAT(log, HasSubstr("smtp <<< line=\"AUTH PLAIN <redacted>\""));
    EXPECT_THAT(log, HasSubstr("tls handshake"));
    for (const auto& secret : k_secrets) {
        EXPECT_THAT(log, Not(HasSubstr(secret)));
    }
}

TEST_F(Observability, FollowFiltersOnASession) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"}));
    const auto all_out = dir() / "all.txt";
    Background all({mxctl_binary(), "-s", socket_path().string(), "trace", "--follow", "smtp"}, all_out);
    ASSERT_TRUE(followers_are(1));
    ASSERT_EQ(send_plain().status, 0);
    ASSERT_TRUE(wait_until([&] { return slurp(all_out).find("<<< line=quit") != std::string::npos; }, std::chrono::seconds(10)));
    // The session id of that first session, then a follower of another id sees nothing of a
    // second session, while the one of all sessions does.
    std::smatch m;
    const auto text = slurp(all_out);
    ASSERT_TRUE(std::regex_search(text, m, std::regex("Z ([0-9a-f]{16}) smtp ")));
    const auto session = m[1].str();
    const auto other_out = dir() / "other.txt";
    Background other({mxctl_binary(), "-s", socket_path().string(), "trace", "--follow", "smtp", "--session",
                      "0123456789abcdef"},
                     other_out);
    ASSERT_TRUE(followers_are(2));
    ASSERT_EQ(send_plain().status, 0);
    ASSERT_TRUE(wait_until(
        [&] {
            const auto t = slurp(all_out);
            return t.find("<<< line=quit") != t.rfind("<<< line=quit");
        },
        std::chrono::seconds(10)));
    interrupt(other);
    interrupt(all);
    EXPECT_EQ(slurp(other_out), "");
    EXPECT_THAT(slurp(all_out), HasSubstr(session));
}

TEST_F(Observability, FollowRefusesMsgidWithoutFollowAndUnknownSubsystems) {
    ASSERT_TRUE(start());
    const auto without = mxctl({"trace", "smtp", "--session", "abc"});
    EXPECT_EQ(without.status, 64);
    EXPECT_EQ(without.err, "mxctl: trace: --msgid and --session go with --follow\n");
    EXPECT_EQ(mxctl({"trace", "--follow", "smpt"}).status, 64);
    // trace with more than one subsystem, as before for one.
    const auto two = mxctl({"trace", "smtp", "mta"});
    EXPECT_EQ(two.status, 0) << two.err;
    EXPECT_EQ(two.out, "traces: smtp mta\n");
    EXPECT_EQ(mxctl({"trace", "smtp"}).out, "traces: smtp mta\n");
}

TEST_F(Observability, ShowStatsTextJsonAndPrometheus) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"}));
    ASSERT_EQ(send_plain().out, "221\n");
    ASSERT_EQ(send_authenticated("PLAIN").out, "221\n");
    ASSERT_TRUE(wait_until([&] { return stats().value("smtp.session", -1) == 0; }, std::chrono::seconds(10)));

    const auto text = mxctl({"show", "stats"});
    ASSERT_EQ(text.status, 0) << text.err;
    // Sorted key=value lines, smtpctl's names where it has the counter.
    std::istringstream lines(text.out);
    std::string previous;
    std::size_t count = 0;
    for (std::string line; std::getline(lines, line); ++count) {
        EXPECT_THAT(line, ContainsRegex("^[a-z0-9.]+=[^ ]+$"));
        EXPECT_LT(previous, line.substr(0, line.find('=')));
        previous = line.substr(0, line.find('='));
    }
    EXPECT_GT(count, 30u);
    for (const auto* expected : {"\nsmtp.session=0\n", "\nsmtp.session.opened=2\n", "\nsmtp.session.closed=2\n",
                                 "\nsmtp.message=2\n", "\nsmtp.auth.ok=1\n", "\nsmtp.auth.failed=0\n",
                                 "\nsmtp.tls=0\n", "\nqueue.envelope=2\n", "\nqueue.message=2\n",
                                 "\nqueue.envelope.enqueued=2\n", "\nscheduler.envelope=2\n", "\ncontrol.session=1\n",
                                 "\nscheduler.delivery.ok=0\n"}) {
        EXPECT_THAT("\n" + text.out, HasSubstr(expected));
    }
    EXPECT_THAT(text.out, ContainsRegex("\nuptime=[0-9]+\nuptime.human=[0-9dhms]+\n$"));

    const auto j = stats();
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j["smtp.message"], 2);
    EXPECT_EQ(j["queue.envelope"], 2);
    EXPECT_GE(j["queue.oldest.age"].get<long long>(), 0);
    EXPECT_TRUE(j["uptime.human"].is_string());
    // --format json is -j: one object on one line.
    const auto as_json = mxctl({"show", "stats", "--format", "json"});
    EXPECT_EQ(std::count(as_json.out.begin(), as_json.out.end(), '\n'), 1);
    EXPECT_EQ(json::parse(as_json.out, nullptr, false).value("smtp.message", -1), 2);

    const auto prom = mxctl({"show", "stats", "--format", "prometheus"});
    ASSERT_EQ(prom.status, 0) << prom.err;
    EXPECT_THAT(prom.out, HasSubstr("# HELP mxd_smtp_messages_total Messages accepted over SMTP since the daemon "
                                    "started.\n# TYPE mxd_smtp_messages_total counter\nmxd_smtp_messages_total 2\n"));
    EXPECT_THAT(prom.out, HasSubstr("# TYPE mxd_queue_envelopes gauge\nmxd_queue_envelopes 2\n"));
    EXPECT_THAT(prom.out, ContainsRegex("# TYPE mxd_queue_oldest_age_seconds gauge\nmxd_queue_oldest_age_seconds [0-9]+\n"));
    EXPECT_THAT(prom.out, HasSubstr("\nmxd_scheduler_deliveries_permfail_total 0\n"));  // zero-valued series too
    EXPECT_THAT(prom.out, HasSubstr("\nmxd_uptime_seconds "));
    EXPECT_THAT(prom.out, Not(HasSubstr("human")));
}

TEST_F(Observability, MonitorPrintsALineEverySecond) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"}));
    ASSERT_EQ(send_plain().out, "221\n");
    ASSERT_TRUE(wait_until([&] { return stats().value("smtp.session.closed", -1) == 1; }, std::chrono::seconds(10)));
    const auto text_out = dir() / "monitor.txt";
    const auto json_out = dir() / "monitor.jsonl";
    Background text({mxctl_binary(), "-s", socket_path().string(), "monitor"}, text_out);
    Background lines({mxctl_binary(), "-s", socket_path().string(), "-j", "monitor"}, json_out);
    const auto line_count = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n'); };
    ASSERT_TRUE(wait_until([&] { return line_count(slurp(text_out)) >= 4 && line_count(slurp(json_out)) >= 2; },
                           std::chrono::seconds(15)));
    interrupt(text);
    interrupt(lines);
    std::istringstream out(slurp(text_out));
    std::string header1, header2, first, second;
    std::getline(out, header1);
    std::getline(out, header2);
    std::getline(out, first);
    std::getline(out, second);
    EXPECT_EQ(header1, "--- client ---  -- envelope --   ---- relay/delivery --- ------- misc -------");
    EXPECT_EQ(header2, "curr conn disc  curr  enq  deq   ok tmpfail prmfail loop expire remove bounce");
    // The first line counts since start: one connection, one envelope queued and in the queue.
    EXPECT_EQ(first, "   0    1    1     1    1    0    0    0    0    0    0    0    0");
    EXPECT_EQ(second, "   0    0    0     1    0    0    0    0    0    0    0    0    0");
    std::istringstream jl(slurp(json_out));
    std::string line;
    ASSERT_TRUE(std::getline(jl, line));
    const auto item = json::parse(line);
    EXPECT_EQ(item["client_connected"], 1);
    EXPECT_EQ(item["envelope_current"], 1);
    EXPECT_EQ(item["envelope_enqueued"], 1);
    EXPECT_TRUE(item["time"].is_string());
}
