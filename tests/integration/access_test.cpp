// SPDX-License-Identifier: ISC
// The three access levels of DESIGN, from SO_PEERCRED and the supplementary groups: a member
// of `control group read` reads (show queue, show stats, monitor) and is refused admin
// commands with exit 77; a user in no configured group is refused both; `control group
// admin` grants everything. The test makes real users and groups, so it needs root.
#include "tests/integration/daemon_fixture.hpp"

#include <gmock/gmock.h>

#include <signal.h>
#include <unistd.h>

#include <fstream>

using namespace mxd_test;
using ::testing::HasSubstr;
using nlohmann::json;

namespace {

std::string suffix() { return std::to_string(::getpid() % 100000); }

class Access : public DaemonFixture {
protected:
    void SetUp() override {
        if (::geteuid() != 0) {
            GTEST_SKIP() << "needs root to create users and groups";
        }
        m_read_group = "mxdr" + suffix();
        m_admin_group = "mxda" + suffix();
        m_reader = "mxdrd" + suffix();
        m_admin = "mxdad" + suffix();
        m_stranger = "mxdst" + suffix();
        ASSERT_EQ(run({"groupadd", m_read_group}).status, 0);
        ASSERT_EQ(run({"groupadd", m_admin_group}).status, 0);
        for (const auto& [user, group] : std::vector<std::pair<std::string, std::string>>{
                 {m_reader, m_read_group}, {m_admin, m_admin_group}, {m_stranger, ""}}) {
            std::vector<std::string> add{"useradd", "--no-create-home", "--shell", "/usr/sbin/nologin"};
            if (!group.empty()) {
                add.insert(add.end(), {"--groups", group});
            }
            add.push_back(user);
            ASSERT_EQ(run(add).status, 0) << user;
            m_users.push_back(user);
        }
        DaemonFixture::SetUp();
    }

    void TearDown() override {
        DaemonFixture::TearDown();
        for (const auto& user : m_users) {
            run({"userdel", user});
        }
        for (const auto& group : {m_read_group, m_admin_group}) {
            if (!group.empty()) {
                run({"groupdel", group});
            }
        }
    }

    std::string extra_config() const override {
        return "control group read \"" + m_read_group + "\"\ncontrol group admin \"" + m_admin_group + "\"\n";
    }

    RunResult as(const std::string& user, const std::vector<std::string>& args) const {
        return mxctl(args, {.user = user});
    }

    std::string m_read_group, m_admin_group, m_reader, m_admin, m_stranger;
    std::vector<std::string> m_users;
};

} // namespace

TEST_F(Access, ReadGroupReadsAndIsRefusedAdminCommands) {
    ASSERT_TRUE(start());
    const auto queue = as(m_reader, {"show", "queue"});
    EXPECT_EQ(queue.status, 0) << queue.err;
    const auto stats = as(m_reader, {"show", "stats"});
    EXPECT_EQ(stats.status, 0) << stats.err;
    EXPECT_THAT(stats.out, HasSubstr("control.session=1\n"));
    const auto prom = as(m_reader, {"show", "stats", "--format", "prometheus"});
    EXPECT_EQ(prom.status, 0) << prom.err;
    EXPECT_THAT(prom.out, HasSubstr("# TYPE mxd_queue_envelopes gauge\n"));
    // Admin commands, `remove` first (the example).
    const std::vector<std::vector<std::string>> admin{
        {"remove", "all"}, {"pause", "mta"}, {"trace", "--follow", "smtp"}, {"reload"}, {"stop"}};
    for (const auto& command : admin) {
        const auto r = as(m_reader, command);
        EXPECT_EQ(r.status, 77) << command[0] << ": " << r.err;
        EXPECT_THAT(r.err, HasSubstr("needs admin access; uid "));
        EXPECT_THAT(r.err, HasSubstr(" has read\n"));
    }
    EXPECT_EQ(status()["paused"]["mta"], false);  // the refusals changed nothing
}

TEST_F(Access, NoGroupIsRefusedReadCommandsButSeesStatus) {
    ASSERT_TRUE(start());
    for (const auto& command : std::vector<std::vector<std::string>>{{"show", "queue"}, {"show", "stats"}, {"monitor"}}) {
        const auto r = as(m_stranger, command);
        EXPECT_EQ(r.status, 77) << command[0] << " " << r.err;
        EXPECT_THAT(r.err, HasSubstr("needs read access; uid "));
        EXPECT_THAT(r.err, HasSubstr(" has anyone\n"));
    }
    const auto status = as(m_stranger, {"show", "status"});
    EXPECT_EQ(status.status, 0) << status.err;
}

TEST_F(Access, AdminGroupAdministers) {
    ASSERT_TRUE(start());
    const auto pause = as(m_admin, {"pause", "mta"});
    EXPECT_EQ(pause.status, 0) << pause.err;
    EXPECT_EQ(status()["paused"]["mta"], true);
    EXPECT_EQ(as(m_admin, {"resume", "mta"}).status, 0);
    EXPECT_EQ(as(m_admin, {"show", "stats"}).status, 0);
}
