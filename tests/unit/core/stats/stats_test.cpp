// SPDX-License-Identifier: ISC
#include "core/stats/stats.hpp"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

using namespace core::stats;
using nlohmann::json;

TEST(StatsMetrics, SortedUniqueAndNamedForPrometheus) {
    std::string previous;
    std::set<std::string_view> names;
    for (const auto& m : metrics()) {
        EXPECT_LT(previous, std::string(m.key));
        previous = std::string(m.key);
        EXPECT_TRUE(names.insert(m.prometheus).second) << m.prometheus;
        EXPECT_TRUE(m.prometheus.starts_with("mxd_")) << m.prometheus;
        EXPECT_EQ(m.kind == Kind::counter, m.prometheus.ends_with("_total")) << m.prometheus;
        EXPECT_FALSE(m.help.empty());
        EXPECT_EQ(find_metric(m.key), &m);
    }
    EXPECT_EQ(find_metric("uptime.human"), nullptr);
    EXPECT_EQ(find_metric("nope"), nullptr);
}

TEST(StatsText, SortedKeyValueLinesAsSmtpctl) {
    const json stats{{"uptime", 3723}, {"uptime.human", "1h2m3s"}, {"smtp.session", 0}, {"control.session", 1}};
    EXPECT_EQ(format_text(stats), "control.session=1\nsmtp.session=0\nuptime=3723\nuptime.human=1h2m3s\n");
    EXPECT_EQ(format_text(json::array()), "");
}

TEST(StatsPrometheus, HelpTypeAndSampleForEachNumber) {
    const json stats{{"smtp.session", 0}, {"scheduler.delivery.ok", 12}, {"uptime.human", "12s"}};
    EXPECT_EQ(format_prometheus(stats),
              "# HELP mxd_scheduler_deliveries_ok_total Deliveries that succeeded since the daemon started.\n"
              "# TYPE mxd_scheduler_deliveries_ok_total counter\n"
              "mxd_scheduler_deliveries_ok_total 12\n"
              "# HELP mxd_smtp_sessions Incoming SMTP sessions open now.\n"
              "# TYPE mxd_smtp_sessions gauge\n"
              "mxd_smtp_sessions 0\n");
}

TEST(StatsPrometheus, UnknownKeysAreUntypedWithASafeName) {
    EXPECT_EQ(format_prometheus(json{{"new.thing-x", 2.5}}),
              "# HELP mxd_new_thing_x mxd counter new.thing-x.\n"
              "# TYPE mxd_new_thing_x untyped\n"
              "mxd_new_thing_x 2.5\n");
}

TEST(StatsPrometheus, EveryLineIsHelpTypeOrSample) {
    json stats = json::object();
    for (const auto& m : metrics()) {
        stats[std::string(m.key)] = 0;
    }
    std::istringstream in(format_prometheus(stats));
    std::string line;
    std::size_t samples = 0;
    while (std::getline(in, line)) {
        if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
            continue;
        }
        EXPECT_TRUE(line.starts_with("mxd_") && line.ends_with(" 0")) << line;
        ++samples;
    }
    EXPECT_EQ(samples, metrics().size());
}

TEST(StatsMonitor, HeaderEvery25LinesWithABlankLineBeforeRepeats) {
    const std::string header = "--- client ---  -- envelope --   ---- relay/delivery --- ------- misc -------\n"
                               "curr conn disc  curr  enq  deq   ok tmpfail prmfail loop expire remove bounce\n";
    EXPECT_EQ(monitor_header(0), header);
    EXPECT_EQ(monitor_header(1), "");
    EXPECT_EQ(monitor_header(24), "");
    EXPECT_EQ(monitor_header(25), "\n" + header);
}

TEST(StatsMonitor, ColumnsAreWidthFour) {
    json item{{"client_current", 2}, {"client_connected", 10}, {"envelope_current", 1234}, {"bounce", 7}};
    EXPECT_EQ(monitor_line(item), "   2   10    0  1234    0    0    0    0    0    0    0    0    7\n");
    EXPECT_EQ(monitor_fields().size(), 13u);
}
