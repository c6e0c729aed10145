#include "proxy/proxy_stats.h"

#include <gtest/gtest.h>

namespace pgstack::proxy {
namespace {

TEST(LatencyHistogram, BucketsAndQuantiles) {
  LatencyHistogram h;
  h.record(10);
  h.record(50);
  h.record(51);
  h.record(2'000'000);
  EXPECT_EQ(h.count, 4u);
  EXPECT_EQ(h.sum_micros, 2'000'111u);
  EXPECT_EQ(h.buckets[0], 2u);  // <= 50
  EXPECT_EQ(h.buckets[1], 1u);  // <= 100
  EXPECT_EQ(h.quantile_bound_micros(0.5), 50u);
  EXPECT_EQ(h.quantile_bound_micros(0.99), 2'500'000u);
  h.record(100'000'000);
  EXPECT_EQ(h.buckets.back(), 1u);
}

TEST(SessionCounters, MergeAddsEverythingAndCapsFingerprints) {
  SessionCounters total;
  SessionCounters delta;
  delta.sessions_total = 1;
  delta.sessions_active = 1;
  delta.statements[static_cast<std::size_t>(pgwire::CommandKind::kInsert)] = 3;
  delta.record_error("ERROR", "42P01");
  delta.record_error("ERROR", "42703");
  delta.record_error("FATAL", "28P01");
  delta.fingerprints["select ?"] = {2, 100};
  delta.fingerprints["select ? from t"] = {1, 10};
  total.merge(delta, 1);
  total.merge(delta, 1);
  EXPECT_EQ(total.sessions_total, 2u);
  EXPECT_EQ(total.statements[static_cast<std::size_t>(pgwire::CommandKind::kInsert)], 6u);
  EXPECT_EQ((total.errors[{"ERROR", "42"}]), 4u);
  EXPECT_EQ((total.errors[{"FATAL", "28"}]), 2u);
  ASSERT_EQ(total.fingerprints.size(), 2u);  // one kept, the rest in <other>
  EXPECT_TRUE(total.fingerprints.contains(std::string(kOtherFingerprint)));
  std::uint64_t calls = 0;
  for (const auto& [text, stats] : total.fingerprints) calls += stats.calls;
  EXPECT_EQ(calls, 6u);
}

TEST(StatsEntry, FlushClearsTheDelta) {
  StatsRegistry registry(100);
  auto entry = registry.entry({"demo", "rw", "db", "alice"});
  EXPECT_EQ(entry, registry.entry({"demo", "rw", "db", "alice"}));
  SessionCounters delta;
  delta.bytes_in = 10;
  entry->flush(delta);
  EXPECT_TRUE(delta.empty());
  delta.bytes_in = 5;
  entry->flush(delta);
  EXPECT_EQ(entry->copy().bytes_in, 15u);
  EXPECT_EQ(registry.collect().size(), 1u);
}

TEST(TopFingerprints, OrderedByTotalTime) {
  std::unordered_map<std::string, FingerprintStats> fingerprints{{"a", {1, 5}}, {"b", {10, 50}}, {"c", {2, 20}}};
  const auto top = top_fingerprints(fingerprints, 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].first, "b");
  EXPECT_EQ(top[1].first, "c");
}

TEST(RenderPrometheus, ExactSamplesAndEscapedLabels) {
  StatsView view;
  SessionCounters counters;
  counters.sessions_tls = 1;
  counters.sessions_plain = 2;
  counters.sessions_active = 1;
  counters.statements[static_cast<std::size_t>(pgwire::CommandKind::kSelect)] = 7;
  counters.commits = 3;
  counters.record_error("ERROR", "22012");
  counters.query_latency.record(40);
  counters.query_latency.record(300);
  counters.fingerprints["select \"x\" from t where a = ?"] = {4, 2000};
  view.entries.push_back({StatsKey{"demo", "rw", "app\"db", "bob"}, counters});
  ListenerCounters listener{"demo", "rw", "read-write"};
  listener.mirror_enabled = true;
  listener.mirrored = 9;
  view.listeners.push_back(listener);
  view.members.push_back(MemberGauge{"demo", "demo-0", true, false, 4});
  const auto text = render_prometheus(view);
  const std::string labels = R"(cluster="demo",listener="rw",database="app\"db",user="bob")";
  EXPECT_NE(text.find("pgstack_proxy_sessions_total{" + labels + ",tls=\"true\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pgstack_proxy_sessions_total{" + labels + ",tls=\"false\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("pgstack_proxy_statements_total{" + labels + ",type=\"select\"} 7\n"), std::string::npos);
  EXPECT_NE(text.find("pgstack_proxy_transactions_total{" + labels + ",outcome=\"commit\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("pgstack_proxy_errors_total{" + labels + ",severity=\"ERROR\",class=\"22\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("pgstack_proxy_query_duration_seconds_bucket{" + labels + ",le=\"5e-05\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("pgstack_proxy_query_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("pgstack_proxy_query_duration_seconds_count{" + labels + "} 2\n"), std::string::npos);
  EXPECT_NE(text.find(R"(query="select \"x\" from t where a = ?"} 4)"), std::string::npos);
  EXPECT_NE(text.find("pgstack_proxy_mirrored_total{cluster=\"demo\",listener=\"rw\",role=\"read-write\"} 9\n"),
            std::string::npos);
  EXPECT_NE(text.find("pgstack_proxy_member_primary{cluster=\"demo\",member=\"demo-0\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE pgstack_proxy_query_duration_seconds histogram\n"), std::string::npos);

  const auto json = render_stats_json(view);
  EXPECT_EQ(json["entries"][0]["statements"]["select"], 7);
  EXPECT_EQ(json["entries"][0]["top_queries"][0]["calls"], 4);
  EXPECT_DOUBLE_EQ(json["entries"][0]["top_queries"][0]["mean_ms"].get<double>(), 0.5);
  EXPECT_EQ(json["listeners"][0]["mirror"]["mirrored"], 9);
}

}  // namespace
}  // namespace pgstack::proxy
