#include "monitoring/prometheus_query.h"

#include <cmath>

#include <gtest/gtest.h>

#include "monitoring/cluster_metrics.h"

namespace pgstack::monitoring {
namespace {

TEST(PrometheusQuery, ParsesAVectorWithLabelsAndValues) {
  const auto result = parse_prometheus_response(
      R"({"status":"success","data":{"resultType":"vector","result":[
          {"metric":{"__name__":"pg_up","cluster":"demo","instance_name":"demo-0"},"value":[1700000000.5,"1"]},
          {"metric":{"cluster":"demo","instance_name":"demo-1"},"value":[1700000000.5,"0"]}]}})",
      "pg_up");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->type, PromResultType::kVector);
  ASSERT_EQ(result->series.size(), 2u);
  EXPECT_EQ(result->series[0].labels.at("instance_name"), "demo-0");
  EXPECT_EQ(result->series[0].labels.at("__name__"), "pg_up");
  ASSERT_EQ(result->series[0].samples.size(), 1u);
  EXPECT_DOUBLE_EQ(result->series[0].samples[0].time, 1700000000.5);
  EXPECT_DOUBLE_EQ(result->series[0].samples[0].value, 1);
  EXPECT_DOUBLE_EQ(result->series[1].samples[0].value, 0);
}

TEST(PrometheusQuery, ParsesAMatrixOldestFirst) {
  const auto result = parse_prometheus_response(
      R"({"status":"success","data":{"resultType":"matrix","result":[
          {"metric":{"instance_name":"demo-1"},"values":[[100,"1.5"],[110,"2.5"],[120,"3"]]}]}})",
      "q");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->type, PromResultType::kMatrix);
  ASSERT_EQ(result->series.size(), 1u);
  ASSERT_EQ(result->series[0].samples.size(), 3u);
  EXPECT_DOUBLE_EQ(result->series[0].samples[2].time, 120);
  EXPECT_DOUBLE_EQ(result->series[0].samples[1].value, 2.5);
}

TEST(PrometheusQuery, ParsesScalarAndStringAndWarnings) {
  const auto scalar = parse_prometheus_response(
      R"({"status":"success","data":{"resultType":"scalar","result":[5,"42"]},"warnings":["slow"]})", "42");
  ASSERT_TRUE(scalar.ok()) << scalar.error().message;
  EXPECT_EQ(scalar->type, PromResultType::kScalar);
  ASSERT_EQ(scalar->series.size(), 1u);
  EXPECT_TRUE(scalar->series[0].labels.empty());
  EXPECT_DOUBLE_EQ(scalar->series[0].samples[0].value, 42);
  EXPECT_EQ(scalar->warnings, std::vector<std::string>{"slow"});
  const auto text =
      parse_prometheus_response(R"({"status":"success","data":{"resultType":"string","result":[5,"hi"]}})", "\"hi\"");
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ(text->type, PromResultType::kString);
  EXPECT_EQ(text->string_value, "hi");
}

TEST(PrometheusQuery, ReadsNaNAndInfinities) {
  const auto result = parse_prometheus_response(
      R"({"status":"success","data":{"resultType":"vector","result":[
          {"metric":{"a":"1"},"value":[1,"NaN"]},{"metric":{"a":"2"},"value":[1,"+Inf"]},
          {"metric":{"a":"3"},"value":[1,"-Inf"]},{"metric":{"a":"4"},"value":[1,"1e-3"]}]}})",
      "q");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(std::isnan(result->series[0].samples[0].value));
  EXPECT_TRUE(std::isinf(result->series[1].samples[0].value) && result->series[1].samples[0].value > 0);
  EXPECT_TRUE(std::isinf(result->series[2].samples[0].value) && result->series[2].samples[0].value < 0);
  EXPECT_DOUBLE_EQ(result->series[3].samples[0].value, 0.001);
  EXPECT_EQ(format_prometheus_value(result->series[0].samples[0].value), "NaN");
  EXPECT_EQ(format_prometheus_value(result->series[1].samples[0].value), "+Inf");
  EXPECT_EQ(format_prometheus_value(result->series[2].samples[0].value), "-Inf");
  EXPECT_EQ(format_prometheus_value(2.5), "2.5");
  // They survive the API's JSON, which has no NaN: values stay strings as Prometheus writes them.
  const auto back = prom_result_from_json(prom_result_to_json(*result));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(std::isnan(back->series[0].samples[0].value));
  EXPECT_EQ(back->series[3].labels.at("a"), "4");
}

TEST(PrometheusQuery, AnErrorBodyNamesTheQueryAndPrometheusWords) {
  const auto result = parse_prometheus_response(
      R"({"status":"error","errorType":"bad_data","error":"1:8: parse error: unexpected \"}\""})", "rate(x}");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(result.error().message.find("rate(x}"), std::string::npos) << result.error().message;
  EXPECT_NE(result.error().message.find("parse error"), std::string::npos) << result.error().message;
  // Prometheus's own trouble is not the caller's fault.
  const auto timeout =
      parse_prometheus_response(R"({"status":"error","errorType":"timeout","error":"query timed out"})", "up");
  ASSERT_FALSE(timeout.ok());
  EXPECT_EQ(timeout.error().code, ErrorCode::kUnavailable);
}

TEST(PrometheusQuery, MalformedBodiesAreClearErrors) {
  for (const char* body :
       {"not json", "[]", R"({"status":"success"})",
        R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1]}]}})",
        R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"abc"]}]}})",
        R"({"status":"success","data":{"resultType":"histogram","result":[]}})",
        R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"1"]}]}})",
        R"({"status":"maybe"})"}) {
    const auto result = parse_prometheus_response(body, "up");
    ASSERT_FALSE(result.ok()) << body;
    EXPECT_NE(result.error().message.find("\"up\""), std::string::npos) << result.error().message;
  }
  EXPECT_FALSE(parse_prometheus_value("").ok());
  EXPECT_FALSE(parse_prometheus_value("1x").ok());
}

TEST(PrometheusQuery, FormEncodingAndLabelQuoting) {
  EXPECT_EQ(form_encode("pg_up{cluster=\"demo\"} > 0"), "pg_up%7Bcluster%3D%22demo%22%7D%20%3E%200");
  EXPECT_EQ(promql_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
}

PromResult vector_of(std::vector<std::pair<std::map<std::string, std::string>, double>> items) {
  PromResult result;
  for (auto& [labels, value] : items) result.series.push_back({labels, {{100, value}}});
  return result;
}

TEST(ClusterMetrics, QueriesSelectOnlyTheClusterLabels) {
  const std::string on_member_hosts = R"( and on (host) max by (host) (pg_up{namespace="team-a",cluster="demo"}))";
  for (const auto& query : cluster_metrics_queries("team-a", "demo")) {
    // node_exporter's series have no cluster labels: they are kept only for the hosts of the cluster's members.
    if (query.promql.find("node_") != std::string::npos) {
      ASSERT_GE(query.promql.size(), on_member_hosts.size()) << query.key;
      EXPECT_EQ(query.promql.substr(query.promql.size() - on_member_hosts.size()), on_member_hosts) << query.key;
    }
    // Every other metric selector carries both labels.
    std::size_t position = 0, selectors = 0;
    while ((position = query.promql.find('{', position)) != std::string::npos) {
      ++selectors;
      if (query.promql.compare(position, 13, "{mode=\"idle\"}") == 0) {
        ++position;
        continue;
      }
      EXPECT_EQ(query.promql.compare(position, 35, "{namespace=\"team-a\",cluster=\"demo\"}"), 0)
          << query.key << ": " << query.promql;
      ++position;
    }
    EXPECT_GT(selectors, 0u) << query.key;
  }
  EXPECT_EQ(cluster_metrics_step(10), 10);
  EXPECT_EQ(cluster_metrics_step(1), 5);
}

TEST(ClusterMetrics, AssemblesMembersLagAndTopQueries) {
  std::map<std::string, PromResult> results;
  results["up"] = vector_of(
      {{{{"instance_name", "demo-0"}}, 1}, {{{"instance_name", "demo-1"}}, 1}, {{{"instance_name", "demo-2"}}, 0}});
  results["replica"] = vector_of(
      {{{{"instance_name", "demo-0"}}, 0}, {{{"instance_name", "demo-1"}}, 1}, {{{"instance_name", "demo-2"}}, 1}});
  results["tps"] = vector_of({{{}, 12.5}});
  results["member_connections"] = vector_of({{{{"instance_name", "demo-0"}}, 7}, {{{"instance_name", "demo-1"}}, 2}});
  results["member_max_connections"] = vector_of({{{{"instance_name", "demo-0"}}, 100}});
  results["lag_seconds"] = vector_of({{{{"instance_name", "demo-0"}}, 0}, {{{"instance_name", "demo-1"}}, 1.5}});
  results["lag_bytes"] = vector_of({{{{"application_name", "demo-1"}}, 4096}});
  results["cache_hit_ratio"] = vector_of({{{}, std::nan("")}});
  results["statements_time"] = vector_of({{{{"queryid", "42"}, {"datname", "app"}, {"user", "u"}}, 0.5},
                                          {{{"queryid", "7"}, {"datname", "app"}, {"user", "u"}}, 0}});
  results["statements_calls"] = vector_of({{{{"queryid", "42"}, {"datname", "app"}, {"user", "u"}}, 100}});
  results["proxy_time"] = vector_of({{{{"query", "SELECT $1"}, {"database", "app"}, {"user", "u"}}, 0.9}});
  results["host_cpu"] = vector_of({{{{"host", "b"}}, 0.25}, {{{"host", "a"}}, 0.5}});
  results["host_memory"] = vector_of({{{{"host", "a"}}, 0.75}});
  results["host_disk"] = vector_of({{{{"host", "a"}}, 0.1}, {{{"host", ""}}, 0.9}});
  results["host_cpu_history"].type = PromResultType::kMatrix;
  results["host_cpu_history"].series = {{{{"host", "a"}}, {{90, 0.4}, {100, 0.5}}}};
  results["lag_history"].type = PromResultType::kMatrix;
  results["lag_history"].series = {{{{"instance_name", "demo-1"}}, {{90, 1}, {100, 1.5}}},
                                   {{{"instance_name", "demo-0"}}, {{90, 0}, {100, 0}}}};
  const ClusterMetrics metrics = assemble_cluster_metrics("default", "demo", 10, 100, results);
  ASSERT_EQ(metrics.members.size(), 3u);
  EXPECT_EQ(metrics.members[0].role, "primary");
  EXPECT_FALSE(metrics.members[0].lag_seconds.has_value());  // a primary has no lag
  EXPECT_EQ(metrics.members[1].lag_seconds, 1.5);
  EXPECT_EQ(metrics.members[1].lag_bytes, 4096);
  EXPECT_FALSE(metrics.members[2].up);
  EXPECT_EQ(metrics.tps, 12.5);
  EXPECT_EQ(metrics.connections, 9);
  EXPECT_EQ(metrics.max_connections, 100);
  EXPECT_FALSE(metrics.cache_hit_ratio.has_value());  // NaN: nothing read yet
  ASSERT_EQ(metrics.top_queries.size(), 2u);
  EXPECT_EQ(metrics.top_queries[0].source, "pgstack-proxy");
  EXPECT_EQ(metrics.top_queries[1].id, "42");
  EXPECT_DOUBLE_EQ(metrics.top_queries[1].mean_seconds.value_or(0), 0.005);
  EXPECT_EQ(metrics.lag_history.size(), 1u);
  EXPECT_TRUE(metrics.lag_history.contains("demo-1"));
  ASSERT_EQ(metrics.hosts.size(), 2u);  // by name; a series without a host is none
  EXPECT_EQ(metrics.hosts[0].name, "a");
  EXPECT_EQ(metrics.hosts[0].cpu_busy, 0.5);
  EXPECT_EQ(metrics.hosts[0].memory_used, 0.75);
  EXPECT_EQ(metrics.hosts[0].disk_used, 0.1);
  EXPECT_EQ(metrics.hosts[1].cpu_busy, 0.25);
  EXPECT_FALSE(metrics.hosts[1].memory_used.has_value());
  EXPECT_EQ(metrics.host_cpu_history.at("a").size(), 2u);

  const auto back = cluster_metrics_from_json(cluster_metrics_to_json(metrics));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->members.size(), 3u);
  EXPECT_EQ(back->members[1].lag_bytes, 4096);
  EXPECT_EQ(back->tps, 12.5);
  EXPECT_EQ(back->top_queries.size(), 2u);
  EXPECT_EQ(back->lag_history.at("demo-1").size(), 2u);
  ASSERT_EQ(back->hosts.size(), 2u);
  EXPECT_EQ(back->hosts[0].memory_used, 0.75);
  EXPECT_FALSE(back->hosts[1].disk_used.has_value());
  EXPECT_EQ(back->host_cpu_history.at("a").size(), 2u);
  EXPECT_FALSE(cluster_metrics_from_json(nlohmann::ordered_json::object()).ok());
}

TEST(ClusterMetrics, TheProxysLatencyErrorsBySqlstateClassAndReadWriteSplit) {
  std::map<std::string, PromResult> results;
  results["proxy_p50"] = vector_of({{{}, 0.0004}});
  results["proxy_p95"] = vector_of({{{}, 0.002}});
  results["proxy_p99"] = vector_of({{{}, std::nan("")}});  // no queries in the window
  results["proxy_statements"] = vector_of({{{{"listener", "rw"}}, 30}, {{{"listener", "ro"}}, 90}, {{{}}, 5}});
  results["proxy_errors"] = vector_of({{{{"severity", "ERROR"}, {"class", "42"}}, 2.9},
                                       {{{"severity", "ERROR"}, {"class", "23"}}, 7.1},
                                       {{{"severity", "FATAL"}, {"class", "28"}}, 0.2}});
  const ClusterMetrics metrics = assemble_cluster_metrics("default", "demo", 10, 100, results);
  EXPECT_EQ(metrics.proxy.p50, 0.0004);
  EXPECT_EQ(metrics.proxy.p95, 0.002);
  EXPECT_FALSE(metrics.proxy.p99.has_value());
  EXPECT_EQ(metrics.proxy.statements_per_second, (std::map<std::string, double>{{"ro", 90}, {"rw", 30}}));
  ASSERT_EQ(metrics.proxy.errors.size(), 2u);  // under one error in the hour is none (increase() extrapolates)
  EXPECT_EQ(metrics.proxy.errors[0].sqlstate_class, "23");
  EXPECT_EQ(metrics.proxy.errors[0].count, 7);
  EXPECT_EQ(metrics.proxy.errors[1].count, 3);

  const auto json = cluster_metrics_to_json(metrics);
  EXPECT_TRUE(json["proxy"]["latencySeconds"]["p99"].is_null());
  const auto back = cluster_metrics_from_json(json);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->proxy.p95, 0.002);
  EXPECT_EQ(back->proxy.statements_per_second.at("ro"), 90);
  ASSERT_EQ(back->proxy.errors.size(), 2u);
  EXPECT_EQ(back->proxy.errors[1].severity, "ERROR");
}

}  // namespace
}  // namespace pgstack::monitoring

namespace pgstack::monitoring {
namespace {

TEST(ClusterMetrics, StatusFiguresForEveryClusterAtOnce) {
  std::map<std::string, PromResult> results;
  results["tps"] = vector_of(
      {{{{"namespace", "default"}, {"cluster", "demo"}}, 3.5}, {{{"namespace", "team"}, {"cluster", "other"}}, 1}});
  results["connections"] = vector_of({{{{"namespace", "default"}, {"cluster", "demo"}}, 9}});
  results["max_connections"] = vector_of({{{{"namespace", "default"}, {"cluster", "demo"}}, 100}});
  results["lag_seconds"] =
      vector_of({{{{"namespace", "default"}, {"cluster", "demo"}, {"instance_name", "demo-1"}}, 0.5},
                 {{{"namespace", "default"}, {"cluster", "demo"}, {"instance_name", "demo-2"}}, 0}});
  const auto figures = status_figures_by_cluster(results, "2026-12-05T02:00:00Z");
  ASSERT_EQ(figures.size(), 2u);
  const auto& demo = figures.at("default/demo");
  EXPECT_EQ(demo["tps"], 3.5);
  EXPECT_EQ(demo["connections"], 9);
  EXPECT_EQ(demo["maxConnections"], 100);
  EXPECT_EQ(demo["lagSeconds"]["demo-1"], 0.5);
  EXPECT_EQ(demo["lagSeconds"]["demo-2"], 0);
  EXPECT_EQ(demo["observedAt"], "2026-12-05T02:00:00Z");
  EXPECT_TRUE(figures.at("team/other")["connections"].is_null());
  EXPECT_EQ(status_figures_queries().size(), 4u);
}

}  // namespace
}  // namespace pgstack::monitoring
