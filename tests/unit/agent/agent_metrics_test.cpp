#include "agent/agent_metrics.h"

#include <limits>

#include <gtest/gtest.h>

#include "common/prometheus_text.h"

namespace pgstack::agent {
namespace {

ProcessStatus running(int restarts) {
  ProcessStatus status;
  status.state = ProcessState::kRunning;
  status.restarts = restarts;
  return status;
}

TEST(AgentMetrics, ProcessesReconcileStateAndArchiving) {
  AgentMetricsInput input;
  input.host = "node-a";
  input.host_processes["node_exporter"] = running(0);
  InstanceMetricsInput instance;
  instance.namespace_name = "shop";
  instance.cluster = "demo";
  instance.member = "demo-0";
  instance.processes["patroni"] = running(2);
  ProcessStatus backoff;
  backoff.state = ProcessState::kBackoff;
  backoff.restarts = 5;
  instance.processes["pgbouncer"] = backoff;
  instance.reconcile_failing = true;
  instance.reconcile_errors = 3;
  instance.archiver = model::Json::parse(R"({"archived_count": 42, "failed_count": 1,
      "last_archived_time": "2026-11-24T01:30:00.500000Z", "last_failed_time": "2026-11-24T01:31:00.000000Z"})");
  input.instances.push_back(instance);
  const std::string text = format_prometheus_text(agent_metric_families(input));
  const std::string labels = R"(namespace="shop",cluster="demo",instance_name="demo-0")";
  EXPECT_EQ(
      text,
      "# HELP pgstack_process_up 1 while the supervised process runs, 0 while it is down or backing off\n"
      "# TYPE pgstack_process_up gauge\n"
      "pgstack_process_up{host=\"node-a\",process=\"node_exporter\"} 1\n"
      "pgstack_process_up{" +
          labels +
          ",process=\"patroni\"} 1\n"
          "pgstack_process_up{" +
          labels +
          ",process=\"pgbouncer\"} 0\n"
          "# HELP pgstack_process_restarts_total Restarts of the supervised process after it died, since the agent "
          "started\n"
          "# TYPE pgstack_process_restarts_total counter\n"
          "pgstack_process_restarts_total{host=\"node-a\",process=\"node_exporter\"} 0\n"
          "pgstack_process_restarts_total{" +
          labels +
          ",process=\"patroni\"} 2\n"
          "pgstack_process_restarts_total{" +
          labels +
          ",process=\"pgbouncer\"} 5\n"
          "# HELP pgstack_instance_reconcile_failing 1 while the agent cannot bring the instance to its assignment "
          "(the report says why)\n"
          "# TYPE pgstack_instance_reconcile_failing gauge\n"
          "pgstack_instance_reconcile_failing{" +
          labels +
          "} 1\n"
          "# HELP pgstack_instance_reconcile_errors_total Reconciles of the instance that stopped at a failed step, "
          "since the agent started\n"
          "# TYPE pgstack_instance_reconcile_errors_total counter\n"
          "pgstack_instance_reconcile_errors_total{" +
          labels +
          "} 3\n"
          "# HELP pgstack_wal_archive_archived_total WAL segments archived (pg_stat_archiver, primary)\n"
          "# TYPE pgstack_wal_archive_archived_total counter\n"
          "pgstack_wal_archive_archived_total{" +
          labels +
          "} 42\n"
          "# HELP pgstack_wal_archive_failed_total Failed WAL archive attempts (pg_stat_archiver, primary)\n"
          "# TYPE pgstack_wal_archive_failed_total counter\n"
          "pgstack_wal_archive_failed_total{" +
          labels +
          "} 1\n"
          "# HELP pgstack_wal_archive_last_success_timestamp_seconds When the last WAL segment was archived\n"
          "# TYPE pgstack_wal_archive_last_success_timestamp_seconds gauge\n"
          "pgstack_wal_archive_last_success_timestamp_seconds{" +
          labels +
          "} 1795483800.5\n"
          "# HELP pgstack_wal_archive_last_failure_timestamp_seconds When the last WAL archive attempt failed\n"
          "# TYPE pgstack_wal_archive_last_failure_timestamp_seconds gauge\n"
          "pgstack_wal_archive_last_failure_timestamp_seconds{" +
          labels +
          "} 1795483860\n"
          "# HELP pgstack_wal_archive_failing 1 when the last archive attempt failed after the last success\n"
          "# TYPE pgstack_wal_archive_failing gauge\n"
          "pgstack_wal_archive_failing{" +
          labels + "} 1\n");
}

// psql -A -F '|' -P footer=off of SHOW POOLS, SHOW STATS and SHOW LISTS against PgBouncer 1.18.
constexpr const char* kShow =
    "database|user|cl_active|cl_waiting|cl_active_cancel_req|cl_waiting_cancel_req|sv_active|sv_active_cancel|"
    "sv_being_canceled|sv_idle|sv_used|sv_tested|sv_login|maxwait|maxwait_us|pool_mode\n"
    "app|app|4|2|0|0|3|0|0|1|0|0|0|1|500000|session\n"
    "database|total_xact_count|total_query_count|total_received|total_sent|total_xact_time|total_query_time|"
    "total_wait_time|avg_xact_count|avg_query_count|avg_recv|avg_sent|avg_xact_time|avg_query_time|avg_wait_time\n"
    "app|10|20|300|400|2000000|1500000|250000|0|0|0|0|0|0|0\n"
    "list|items\n"
    "free_clients|49\n"
    "used_clients|6\n";

TEST(AgentMetrics, PgbouncerPoolsStatsAndLists) {
  const auto tables = parse_pgbouncer_show(kShow);
  ASSERT_EQ(tables.size(), 3U);
  EXPECT_EQ(tables[0].rows.size(), 1U);
  EXPECT_EQ(tables[2].rows.size(), 2U);
  AgentMetricsInput input;
  InstanceMetricsInput instance;
  instance.namespace_name = "shop";
  instance.cluster = "demo";
  instance.member = "demo-0";
  instance.pgbouncer_show = kShow;
  input.instances.push_back(instance);
  const std::string text = format_prometheus_text(agent_metric_families(input));
  const std::string labels = R"(namespace="shop",cluster="demo",instance_name="demo-0")";
  for (const std::string& line : {
           "pgbouncer_up{" + labels + "} 1",
           "pgbouncer_pools_cl_active{" + labels + ",database=\"app\",user=\"app\"} 4",
           "pgbouncer_pools_cl_waiting{" + labels + ",database=\"app\",user=\"app\"} 2",
           "pgbouncer_pools_sv_active{" + labels + ",database=\"app\",user=\"app\"} 3",
           "pgbouncer_pools_sv_idle{" + labels + ",database=\"app\",user=\"app\"} 1",
           "pgbouncer_pools_maxwait_seconds{" + labels + ",database=\"app\",user=\"app\"} 1.5",
           "pgbouncer_stats_transactions_total{" + labels + ",database=\"app\"} 10",
           "pgbouncer_stats_queries_total{" + labels + ",database=\"app\"} 20",
           "pgbouncer_stats_query_seconds_total{" + labels + ",database=\"app\"} 1.5",
           "pgbouncer_stats_wait_seconds_total{" + labels + ",database=\"app\"} 0.25",
           "pgbouncer_lists_items{" + labels + ",list=\"used_clients\"} 6",
       }) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n" << text;
  }
  EXPECT_NE(text.find("# TYPE pgbouncer_stats_queries_total counter\n"), std::string::npos);
  // No answer: down, and nothing else about it.
  input.instances[0].pgbouncer_show = "";
  const std::string down = format_prometheus_text(agent_metric_families(input));
  EXPECT_NE(down.find("pgbouncer_up{" + labels + "} 0\n"), std::string::npos) << down;
  EXPECT_EQ(down.find("pgbouncer_pools"), std::string::npos);
}

TEST(AgentMetrics, BackupsLastSuccessDurationAndErrorsPerCluster) {
  AgentMetricsInput input;
  input.backups.push_back(
      {"shop",
       "demo",
       {model::Json::parse(R"({"phase": "Completed", "finishedAt": "1970-01-01T00:01:00Z", "durationSeconds": 20,
            "verification": {"phase": "Passed", "finishedAt": "1970-01-01T00:03:00Z", "durationSeconds": 40}})"),
        model::Json::parse(R"({"phase": "Completed", "finishedAt": "1970-01-01T00:02:00Z", "durationSeconds": 30,
            "verification": {"phase": "Failed", "finishedAt": "1970-01-01T00:04:00Z", "durationSeconds": 5}})"),
        model::Json::parse(R"({"phase": "Failed", "finishedAt": "1970-01-01T00:05:00Z"})"),
        model::Json::parse(R"({"phase": "Running"})")}});
  input.backups.push_back({"shop", "fresh", {}});
  const std::string text = format_prometheus_text(agent_metric_families(input));
  const std::string demo = R"({namespace="shop",cluster="demo"})";
  const std::string fresh = R"({namespace="shop",cluster="fresh"})";
  for (const std::string& line : {
           "pgstack_backup_last_success_timestamp_seconds" + demo + " 120",
           "pgstack_backup_duration_seconds" + demo + " 30",
           "pgstack_backup_errors_total" + demo + " 1",
           "pgstack_restore_verification_last_success_timestamp_seconds" + demo + " 180",
           "pgstack_restore_verification_duration_seconds" + demo + " 40",
           "pgstack_restore_verification_errors_total" + demo + " 1",
           "pgstack_backup_errors_total" + fresh + " 0",
       }) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n" << text;
  }
  // No backup yet: no last-success series (absent() finds it), not a zero that looks like 1970.
  EXPECT_EQ(text.find("pgstack_backup_last_success_timestamp_seconds" + fresh), std::string::npos);
}

TEST(AgentMetrics, LogShippingPerInstanceAndLogType) {
  AgentMetricsInput input;
  InstanceMetricsInput instance;
  instance.namespace_name = "shop";
  instance.cluster = "demo";
  instance.member = "demo-0";
  model::ReportedLogShipping postgres_log;
  postgres_log.records_total = 42;
  postgres_log.errors_total = 3;
  postgres_log.bytes_behind = 1000;
  postgres_log.last_success = "1970-01-01T00:02:00Z";
  postgres_log.files_removed_unshipped = 1;
  instance.log_shipping["postgres"] = postgres_log;
  instance.log_shipping["patroni"] = model::ReportedLogShipping{};  // no success yet
  input.instances.push_back(instance);
  const std::string text = format_prometheus_text(agent_metric_families(input));
  const std::string postgres = R"({namespace="shop",cluster="demo",instance_name="demo-0",log_type="postgres"})";
  const std::string patroni = R"({namespace="shop",cluster="demo",instance_name="demo-0",log_type="patroni"})";
  for (const std::string& line : {
           "pgstack_log_shipper_records_total" + postgres + " 42",
           "pgstack_log_shipper_errors_total" + postgres + " 3",
           "pgstack_log_shipper_bytes_behind" + postgres + " 1000",
           "pgstack_log_shipper_last_success_timestamp_seconds" + postgres + " 120",
           "pgstack_log_files_removed_unshipped_total" + postgres + " 1",
           "pgstack_log_shipper_records_total" + patroni + " 0",
       }) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n" << text;
  }
  EXPECT_EQ(text.find("pgstack_log_shipper_last_success_timestamp_seconds" + patroni), std::string::npos);

  // A cluster without a store: none of these series.
  input.instances.front().log_shipping.clear();
  EXPECT_EQ(format_prometheus_text(agent_metric_families(input)).find("pgstack_log_"), std::string::npos);
}

TEST(AgentMetrics, ArchiverTimesParseOnlyTheirOwnFormat) {
  EXPECT_EQ(archiver_time_seconds(model::Json("1970-01-01T00:01:00.250000Z")), 60.25);
  EXPECT_FALSE(archiver_time_seconds(model::Json(nullptr)).has_value());
  EXPECT_FALSE(archiver_time_seconds(model::Json("yesterday")).has_value());
}

TEST(PrometheusText, EscapesLabelValuesAndHelpAndSkipsEmptyFamilies) {
  const std::string text =
      format_prometheus_text({{"a_total", "line\\one\ntwo", MetricType::kCounter, {{{{"path", "C:\\x \"q\"\n"}}, 1.5}}},
                              {"empty", "none", MetricType::kGauge, {}},
                              {"b", "nan", MetricType::kGauge, {{{}, std::numeric_limits<double>::quiet_NaN()}}}});
  EXPECT_EQ(text,
            "# HELP a_total line\\\\one\\ntwo\n# TYPE a_total counter\n"
            "a_total{path=\"C:\\\\x \\\"q\\\"\\n\"} 1.5\n"
            "# HELP b nan\n# TYPE b gauge\nb NaN\n");
}

}  // namespace
}  // namespace pgstack::agent
