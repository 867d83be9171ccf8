// SPDX-License-Identifier: ISC
// STARTTLS with a certificate made by `openssl req`, and AUTH PLAIN/LOGIN on a submission
// listener whose credentials table holds a hash from `mxctl encrypt`.
#include "tests/integration/daemon_fixture.hpp"

#include <gmock/gmock.h>

#include <unistd.h>

#include <fstream>

using namespace mxd_test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

class TlsAuth : public DaemonFixture {
  protected:
    void SetUp() override {
        DaemonFixture::SetUp();
        const auto made =
            run({"openssl", "req", "-new", "-x509", "-nodes", "-newkey", "rsa:2048", "-subj",
                 "/CN=mx.example.org", "-keyout", (dir() / "mx.key").string(), "-out",
                 (dir() / "mx.crt").string(), "-days", "30"});
        ASSERT_EQ(made.status, 0) << made.err;
        const auto hash = run({mxctl_binary(), "encrypt", "roger-secret"});
        ASSERT_EQ(hash.status, 0);
        std::ofstream(dir() / "creds") << "roger " << hash.out;
        std::ofstream(dir() / "senders") << "roger roger@example.org, @lists.example.org\n";
        const auto d = dir().string();
        std::ofstream(config_path(), std::ios::app)
            << "pki mx.example.org cert \"" << d << "/mx.crt\"\n"
            << "pki mx.example.org key \"" << d << "/mx.key\"\n"
            << "table creds file:" << d << "/creds\n"
            << "listen on 127.0.0.1 port 0 tls-require pki mx.example.org auth <creds> tag "
               "submission\n"
            << "listen on 127.0.0.1 port 0 smtps pki mx.example.org\n"
            << "table senders file:" << d << "/senders\n"
            << "listen on 127.0.0.1 port 0 tls-require pki mx.example.org auth <creds> senders "
               "<senders> masquerade"
               " received-auth mask-src\n"
            << "listen on 127.0.0.1 port 0 tls-require pki mx.example.org auth\n"
            << "action \"local\" mbox\n"
            << "action \"out\" relay\n"
            << "match from any for domain \"example.org\" action \"local\"\n"
            << "match from any auth for any action \"out\"\n";
    }
    // The port of the n-th listener: 1 submission, 2 smtps, 3 senders, 4 system passwords (the
    // fixture's own is 0).
    int listener_port(std::size_t n) {
        const auto listeners = status()["listeners"];
        return listeners.size() > n ? listeners[n]["port"].get<int>() : 0;
    }
    int submission_port() { return listener_port(1); }
    RunResult beside_slow_checks(const std::string& script);
    RunResult python(const std::string& script, std::size_t listener = 1) {
        return run({"python3", "-c",
                    "import smtplib, ssl, sys\nPORT = " + std::to_string(listener_port(listener)) +
                        "\nctx = ssl.create_default_context(cafile='" +
                        (dir() / "mx.crt").string() + "')\n" + "ctx.check_hostname = False\n" +
                        script});
    }
};

} // namespace

TEST_F(TlsAuth, OpensslSeesTheCertificateAfterStarttls) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"})); // held: these tests look at the queue
    const auto r = run({"openssl", "s_client", "-connect",
                        "127.0.0.1:" + std::to_string(submission_port()), "-starttls", "smtp",
                        "-servername", "mx.example.org", "-CAfile", (dir() / "mx.crt").string()},
                       {.input = "QUIT\r\n"});
    EXPECT_THAT(r.out, HasSubstr("CN = mx.example.org"));
    EXPECT_THAT(r.out, HasSubstr("Verify return code: 0 (ok)"));
    EXPECT_THAT(r.out, HasSubstr("TLSv1.3"));
}

TEST_F(TlsAuth, SmtpsGreetsInsideTls) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"})); // held: these tests look at the queue
    const auto listeners = status()["listeners"];
    ASSERT_EQ(listeners.size(), 5u);
    const auto r = run({"openssl", "s_client", "-connect",
                        "127.0.0.1:" + std::to_string(listeners[2]["port"].get<int>()), "-CAfile",
                        (dir() / "mx.crt").string(), "-ign_eof"},
                       {.input = "QUIT\r\n"});
    EXPECT_THAT(r.out, HasSubstr("Verify return code: 0 (ok)"));
    EXPECT_THAT(r.out, HasSubstr("220 "));
    EXPECT_THAT(r.out, HasSubstr("221 "));
}

TEST_F(TlsAuth, AuthPlainOverTlsChecksTheHashFromEncrypt) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"})); // held: these tests look at the queue
    const auto r = python(
        "s = smtplib.SMTP('127.0.0.1', PORT, timeout=10)\n"
        "s.ehlo('client.example.net')\n"
        "print('AUTH' in s.ehlo_resp.decode())\n" // not offered before TLS
        "s.starttls(context=ctx)\n"
        "s.ehlo('client.example.net')\n"
        "print('AUTH PLAIN LOGIN' in s.ehlo_resp.decode())\n"
        "try:\n"
        "    s.login('roger', 'wrong')\n"
        "except smtplib.SMTPAuthenticationError as e:\n"
        "    print(e.smtp_code)\n"
        "print(s.login('roger', 'roger-secret')[0])\n"
        "s.sendmail('roger@example.org', ['friend@gmail.com'], 'Subject: out\\r\\n\\r\\nx\\r\\n')\n"
        "s.quit()\n");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "False\nTrue\n535\n235\n");
    const auto queue = mxctl({"show", "queue"});
    EXPECT_THAT(queue.out, HasSubstr("|mta|auth|roger@example.org|friend@gmail.com|"));
}

// A client guessing passwords gets 535 four times, and after the fifth a 421 and the end of the
// session; four mistakes leave room for the right password.
TEST_F(TlsAuth, FiveRefusedAuthAttemptsEndTheSession) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"}));
    const auto r = python("def attempts(passwords):\n"
                          "    s = smtplib.SMTP('127.0.0.1', PORT, timeout=10)\n"
                          "    s.starttls(context=ctx)\n"
                          "    s.ehlo('client.example.net')\n"
                          "    codes = []\n"
                          "    for pw in passwords:\n"
                          "        s.user, s.password = 'roger', pw\n"
                          "        try:\n"
                          "            codes.append(s.auth('PLAIN', s.auth_plain)[0])\n"
                          "        except smtplib.SMTPAuthenticationError as e:\n"
                          "            codes.append(e.smtp_code)\n"
                          "    try:\n"
                          "        codes.append(s.noop()[0])\n"
                          "    except smtplib.SMTPServerDisconnected:\n"
                          "        codes.append('closed')\n"
                          "    print(*codes)\n"
                          "attempts(['wrong'] * 4 + ['roger-secret'])\n"
                          "attempts(['wrong'] * 5)\n");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "535 535 535 535 235 250\n535 535 535 535 535 421\n");
    EXPECT_THAT(slurp(log_path()), HasSubstr("smtp auth-failures"));
}

TEST_F(TlsAuth, AuthLoginWorksToo) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"})); // held: these tests look at the queue
    const auto r = python("s = smtplib.SMTP('127.0.0.1', PORT, timeout=10)\n"
                          "s.starttls(context=ctx)\n"
                          "s.ehlo('client.example.net')\n"
                          "s.user, s.password = 'roger', 'roger-secret'\n"
                          "print(s.auth('LOGIN', s.auth_login, initial_response_ok=False)[0])\n"
                          "s.quit()\n");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "235\n");
}

TEST_F(TlsAuth, BeforeTlsAuthAndMailAreRefused) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"})); // held: these tests look at the queue
    const auto r = python("s = smtplib.SMTP('127.0.0.1', PORT, timeout=10)\n"
                          "s.ehlo('client.example.net')\n"
                          "print(s.docmd('AUTH PLAIN AHJvZ2VyAHJvZ2VyLXNlY3JldA==')[0])\n"
                          "print(s.docmd('MAIL FROM:<roger@example.org>')[0])\n"
                          "s.quit()\n");
    ASSERT_EQ(r.status, 0) << r.err;
    std::istringstream codes(r.out);
    int auth = 0, mail = 0;
    codes >> auth >> mail;
    EXPECT_TRUE(auth == 530 || auth == 538) << r.out;
    EXPECT_EQ(mail, 530) << r.out;
}

TEST_F(TlsAuth, UnauthenticatedClientsCannotRelayAndPasswordsNeverReachTheLog) {
    ASSERT_TRUE(start({"-T", "smtp"}));
    const auto r = python(
        "s = smtplib.SMTP('127.0.0.1', PORT, timeout=10, source_address=('127.0.0.2', 0))\n"
        "s.starttls(context=ctx)\n"
        "s.ehlo('client.example.net')\n"
        "print(s.docmd('MAIL FROM:<x@example.net>')[0])\n" // auth is required on this listener
        "s.login('roger', 'roger-secret')\n"
        "s.quit()\n");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "530\n");
    const auto log = slurp(log_path());
    EXPECT_THAT(log, HasSubstr("<redacted>"));
    EXPECT_THAT(log, Not(HasSubstr("roger-secret")));
    EXPECT_THAT(log, Not(HasSubstr("cm9nZXItc2VjcmV0"))); // base64 of the password
    EXPECT_THAT(log, Not(HasSubstr("AHJvZ2VyAHJvZ2VyLXNlY3JldA")));
}

namespace {

// The count of queued messages, a newline, and the raw text of the first, read from the spool's
// SQLite file.
std::string queued_message(const std::filesystem::path& spool) {
    const auto r = run({"python3", "-c",
                        "import sqlite3, sys\nrows = sqlite3.connect(sys.argv[1]).execute('SELECT "
                        "body FROM messages').fetchall()\n"
                        "print(len(rows))\nsys.stdout.write(rows[0][0].decode() if rows else '')\n",
                        (spool / "queue.db").string()});
    return r.out;
}

} // namespace

TEST_F(TlsAuth, SendersTableMasqueradeReceivedAuthAndMaskSrc) {
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"})); // held: these tests look at the queue
    const auto r = python("s = smtplib.SMTP('127.0.0.1', PORT, timeout=10)\n"
                          "s.starttls(context=ctx)\n"
                          "s.login('roger', 'roger-secret')\n"
                          "print(s.docmd('MAIL FROM:<boss@example.org>')[0])\n"
                          "s.rset()\n"
                          "print(s.docmd('MAIL FROM:<anyone@lists.example.org>')[0])\n"
                          "s.rset()\n"
                          "s.sendmail('roger+work@example.org', ['root@example.org'],\n"
                          "           'From: \"Roger R.\" <roger@laptop.home>\\r\\nSubject: "
                          "m\\r\\n\\r\\nbody\\r\\n')\n"
                          "s.quit()\n",
                          3);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "553\n250\n");
    const auto message = queued_message(spool());
    EXPECT_THAT(message, HasSubstr("1\nReceived: by ")); // one message, no `from` clause
    EXPECT_THAT(message, HasSubstr(" auth=yes user=roger id "));
    EXPECT_THAT(message, HasSubstr("From: \"Roger R.\" <roger+work@example.org>\r\n"));
    EXPECT_THAT(message, Not(HasSubstr("127.0.0.1")));
    EXPECT_THAT(message, Not(HasSubstr("laptop.home")));
}

namespace {

// A system account for the duration of a test (useradd, needs root), with the password
// `system-secret`, or with `hash` as its shadow(5) entry.
struct SystemAccount {
    std::string user;
    bool made = false;
    explicit SystemAccount(const std::string& name, const std::string& hash = {})
        : user(name + std::to_string(::getpid() % 100000)) {
        made = run({"useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user}).status == 0 &&
               (hash.empty() ? run({"chpasswd"}, {.input = user + ":system-secret\n"})
                             : run({"usermod", "-p", hash, user}))
                       .status == 0;
    }
    ~SystemAccount() { run({"userdel", user}); }
    SystemAccount(const SystemAccount&) = delete;
    SystemAccount& operator=(const SystemAccount&) = delete;
};

// The password `slow-secret` under SHA-512 crypt with 8 million rounds: a check takes about
// 2 s, as a costly hash under attack would.
constexpr const char* k_slow_hash =
    "$6$rounds=8000000$mxdslowcheck$atS4tjyLC4HBz0m.7WhO.5.YT86YhTLIUYAIWgGpANfxtLzV.XiOeRVD11Q"
    "GMjQ1N.4v8nV3wjlP9y2sYeT800";

// Python: login(user, password, name) authenticates (AUTH PLAIN) on PORT over STARTTLS and
// appends (name, reply code) to `done` when the answer comes; slow(n) runs login() for SLOW
// with a wrong password in a thread.
constexpr const char* k_python_login =
    "import threading, time\n"
    "done = []\n"
    "def login(user, password, name):\n"
    "    s = smtplib.SMTP('127.0.0.1', PORT, timeout=60)\n"
    "    s.starttls(context=ctx)\n"
    "    s.ehlo('client.example.net')\n"
    "    s.user, s.password = user, password\n"
    "    try:\n" // PLAIN alone: login() would try LOGIN after a refusal, a second slow check
    "        code = s.auth('PLAIN', s.auth_plain)[0]\n"
    "    except smtplib.SMTPAuthenticationError as e:\n"
    "        code = e.smtp_code\n"
    "    done.append((name, code))\n"
    "    s.quit()\n"
    "def slow(n):\n"
    "    t = threading.Thread(target=login, args=(SLOW, 'wrong', 'slow' + str(n)))\n"
    "    t.start()\n"
    "    return t\n";

} // namespace

// Runs `script` on the system-password listener (PORT) of a daemon started with deliveries
// held, after k_python_login, with SLOW naming an account whose hash is k_slow_hash and
// PLAIN_PORT the port of the fixture's own listener.
RunResult TlsAuth::beside_slow_checks(const std::string& script) {
    SystemAccount slow("mxdslow", k_slow_hash);
    if (!slow.made) {
        return {.status = -1, .err = "useradd or usermod failed"};
    }
    if (!start({"-P", "mda", "-P", "mta"})) {
        return {.status = -1, .err = "mxd did not start"};
    }
    return python(std::string(k_python_login) + "SLOW = '" + slow.user + "'\n" +
                      "PLAIN_PORT = " + std::to_string(listener_port(0)) + "\n" + script,
                  4);
}

// `auth` without a table checks the system's passwords (shadow(5)); the test makes a real
// account for it, which needs root, as CI has.
TEST_F(TlsAuth, AuthWithoutATableChecksSystemPasswords) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "creating a system account needs root";
    }
    SystemAccount account("mxdauth");
    ASSERT_TRUE(account.made);
    const std::string& user = account.user;
    ASSERT_TRUE(start({"-P", "mda", "-P", "mta"})); // held: these tests look at the queue
    const auto r = python("s = smtplib.SMTP('127.0.0.1', PORT, timeout=10)\n"
                          "s.starttls(context=ctx)\n"
                          "s.ehlo('client.example.net')\n"
                          "for pw in ('wrong', 'system-secret'):\n"
                          "    try:\n"
                          "        print(s.login('" +
                              user +
                              "', pw)[0])\n"
                              "    except smtplib.SMTPAuthenticationError as e:\n"
                              "        print(e.smtp_code)\n"
                              "s.quit()\n",
                          4);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "535\n235\n");
}

// Each system password check runs in a child of the privileged process: a check with a costly
// hash (a client trying passwords for such an account) holds back neither another client's
// check nor the deliveries that process starts.
TEST_F(TlsAuth, ASlowSystemPasswordCheckHoldsBackNoOtherCheck) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "creating a system account needs root";
    }
    SystemAccount fast("mxdfast");
    ASSERT_TRUE(fast.made);
    const auto r = beside_slow_checks("t = slow(1)\n"
                                      "time.sleep(0.5)\n" // its check has begun
                                      "login('" + fast.user + "', 'system-secret', 'fast')\n"
                                      "t.join()\n"
                                      "print(done)\n");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "[('fast', 235), ('slow1', 535)]\n");
}

// Password checks have threads of their own: two slow ones at once leave the workers free for
// another client's recipient lookup.
TEST_F(TlsAuth, SlowPasswordChecksHoldBackNoRecipientLookup) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "creating a system account needs root";
    }
    const auto r = beside_slow_checks(
        "t1, t2 = slow(1), slow(2)\n"
        "time.sleep(0.5)\n" // both checks have begun
        "s = smtplib.SMTP('127.0.0.1', PLAIN_PORT, timeout=60)\n"
        "s.ehlo('client.example.net')\n"
        "s.mail('someone@example.net')\n"
        // The first lookup of root: not yet in memory, so on a worker.
        "done.append(('rcpt', s.rcpt('root@example.org')[0]))\n"
        "s.quit()\n"
        "t1.join()\n"
        "t2.join()\n"
        "print(done[0], len(done))\n");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "('rcpt', 250) 3\n");
}
