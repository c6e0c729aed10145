#include "cli/top_frame.h"

#include <cmath>

#include <gtest/gtest.h>

namespace pgstack::cli {
namespace {

std::vector<monitoring::PromSample> points(std::vector<double> values) {
  std::vector<monitoring::PromSample> out;
  for (std::size_t index = 0; index < values.size(); ++index) out.push_back({100.0 + index, values[index]});
  return out;
}

TEST(TopFrame, SparklinesScaleBetweenMinimumAndMaximum) {
  EXPECT_EQ(sparkline(points({0, 1, 2, 3, 4, 5, 6, 7}), 30), "▁▂▃▄▅▆▇█");
  EXPECT_EQ(sparkline(points({5, 5, 5}), 30), "▄▄▄");  // flat, not zero
  EXPECT_EQ(sparkline(points({0, 0}), 30), "▁▁");
  EXPECT_EQ(sparkline(points({0, std::nan(""), 7}), 30), "▁ █");  // a gap stays a gap
  EXPECT_EQ(sparkline(points({9, 0, 7}), 2), "▁█");               // the last `width` points
  EXPECT_EQ(sparkline({}, 30), "");
}

TEST(TopFrame, FiguresInFewCharacters) {
  EXPECT_EQ(format_rate(12.5), "12.5");
  EXPECT_EQ(format_rate(3), "3");
  EXPECT_EQ(format_rate(25000), "25.0k");
  EXPECT_EQ(format_rate(std::nan("")), "-");
  EXPECT_EQ(format_seconds(0.0123), "12.3ms");
  EXPECT_EQ(format_seconds(1.5), "1.5s");
  EXPECT_EQ(format_seconds(0.0005), "500us");
  EXPECT_EQ(format_seconds(0), "0s");
}

TEST(TopFrame, AFrameNamesEveryMemberAndItsFigures) {
  monitoring::ClusterMetrics metrics;
  metrics.namespace_name = "default";
  metrics.cluster = "demo";
  metrics.time = 1764900000;  // 2025-12-05 02:00:00 UTC
  metrics.tps = 42.5;
  metrics.connections = 9;
  metrics.max_connections = 100;
  metrics.connections_by_state = {{"active", 1}, {"idle", 8}};
  metrics.wal_bytes_per_second = 2048;
  metrics.cache_hit_ratio = 0.995;
  metrics.tps_history = points({1, 2, 3});
  monitoring::MemberFigures primary{"demo-0", "primary", true, 40, 7, 100, std::nullopt, std::nullopt};
  monitoring::MemberFigures replica{"demo-1", "replica", true, 2.5, 2, 100, 1.25, 4096};
  monitoring::MemberFigures down{"demo-2",     "replica",    false,        std::nullopt,
                                 std::nullopt, std::nullopt, std::nullopt, std::nullopt};
  metrics.members = {primary, replica, down};
  metrics.lag_history["demo-1"] = points({0, 1});
  metrics.top_queries.push_back({"pgstack-proxy", "SELECT * FROM t WHERE id = $1", "app", "u", 0.25, 100, 0.0025});
  metrics.top_queries.push_back({"pg_stat_statements", "-12345", "app", "u", 0.1, 10, std::nullopt});
  const std::string frame = render_top_frame(metrics);
  EXPECT_NE(frame.find("pgstack top default/demo   2025-12-05 02:00:00 UTC"), std::string::npos) << frame;
  EXPECT_NE(frame.find("TPS           42.5"), std::string::npos) << frame;
  EXPECT_NE(frame.find("9 / 100 (active 1, idle 8)"), std::string::npos) << frame;
  EXPECT_NE(frame.find("2.0KiB/s"), std::string::npos) << frame;
  EXPECT_NE(frame.find("99.50%"), std::string::npos) << frame;
  EXPECT_NE(frame.find("▁▅█"), std::string::npos) << frame;
  EXPECT_NE(frame.find("demo-0   primary"), std::string::npos) << frame;
  EXPECT_NE(frame.find("demo-1   replica   yes   2.5   2/100         1.2s   4.0KiB"), std::string::npos) << frame;
  EXPECT_NE(frame.find("demo-2   replica   no"), std::string::npos) << frame;
  EXPECT_NE(frame.find("SELECT * FROM t WHERE id = $1"), std::string::npos) << frame;
  EXPECT_NE(frame.find("queryid -12345"), std::string::npos) << frame;
  EXPECT_EQ(frame.find('\033'), std::string::npos);  // no escape codes: the caller redraws
}

TEST(TopFrame, AnEmptyClusterSaysWhy) {
  monitoring::ClusterMetrics metrics;
  metrics.cluster = "demo";
  metrics.errors = {"tps: Prometheus refused the query"};
  const std::string frame = render_top_frame(metrics);
  EXPECT_NE(frame.find("No members reported"), std::string::npos) << frame;
  EXPECT_NE(frame.find("! tps: Prometheus refused"), std::string::npos) << frame;
}

TEST(TopFrame, QueryResultsOneRowPerSeries) {
  monitoring::PromResult result;
  result.series.push_back({{{"__name__", "pg_up"}, {"cluster", "demo"}, {"instance_name", "demo-0"}}, {{1, 1}}});
  result.series.push_back({{{"cluster", "demo"}}, {{1, std::nan("")}}});
  const Table table = query_result_table(result);
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0][0], "pg_up{cluster=\"demo\", instance_name=\"demo-0\"}");
  EXPECT_EQ(table.rows[0][1], "1");
  EXPECT_EQ(table.rows[1][1], "NaN");
  result.type = monitoring::PromResultType::kMatrix;
  result.series[0].samples.push_back({2, 0});
  const Table range = query_result_table(result);
  EXPECT_EQ(range.header, (std::vector<std::string>{"SERIES", "LAST", "POINTS"}));
  EXPECT_EQ(range.rows[0][2], "2");
}

}  // namespace
}  // namespace pgstack::cli
