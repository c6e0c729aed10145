#include "config/render_exporter.h"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace pgstack::config {
namespace {

TEST(ExporterQueries, EveryGroupIsWhatPostgresExporterReads) {
  const YAML::Node file = YAML::Load(render_exporter_queries());
  ASSERT_TRUE(file.IsMap());
  EXPECT_EQ(file.size(), exporter_queries().size());
  for (const auto& group : file) {
    const std::string name = group.first.as<std::string>();
    const YAML::Node body = group.second;
    ASSERT_TRUE(body["query"].IsScalar()) << name;
    const std::string query = body["query"].as<std::string>();
    EXPECT_TRUE(query.starts_with("SELECT ") || query.starts_with("WITH ")) << name;
    EXPECT_TRUE(body["master"].as<bool>()) << name;
    ASSERT_TRUE(body["metrics"].IsSequence()) << name;
    int values = 0;
    for (const auto& metric : body["metrics"]) {
      ASSERT_TRUE(metric.IsMap()) << name;
      ASSERT_EQ(metric.size(), 1U) << name;
      const std::string column = metric.begin()->first.as<std::string>();
      const std::string usage = metric.begin()->second["usage"].as<std::string>();
      EXPECT_TRUE(usage == "LABEL" || usage == "GAUGE" || usage == "COUNTER") << name << "." << column;
      EXPECT_FALSE(metric.begin()->second["description"].as<std::string>().empty()) << name << "." << column;
      // Each column is named in the query, so a typo shows here and not as a missing series.
      EXPECT_NE(body["query"].as<std::string>().find(column), std::string::npos) << name << "." << column;
      if (usage != "LABEL") ++values;
    }
    EXPECT_GT(values, 0) << name << " has only labels";
  }
}

TEST(ExporterQueries, ExportsTheFamiliesTheAlertRulesUse) {
  const auto families = exporter_query_families();
  const std::set<std::string> exported(families.begin(), families.end());
  EXPECT_EQ(exported.size(), families.size()) << "a family is defined twice";
  for (const char* family : {"pg_replication_lag",
                             "pg_replication_is_replica",
                             "pg_replication_status_lag_bytes",
                             "pg_replication_status_lag_seconds",
                             "pg_replication_slot_active",
                             "pg_replication_slot_retained_wal_bytes",
                             "pg_database_datfrozenxid_age",
                             "pg_long_running_transactions_max_age_seconds",
                             "pg_idle_in_transaction_max_idle_seconds",
                             "pg_connections_used",
                             "pg_connections_max_connections",
                             "pg_blocked_queries",
                             "pg_oldest_blocked_age_seconds",
                             "pg_cache_hit_ratio",
                             "pg_statements_calls",
                             "pg_statements_total_time_seconds",
                             "pg_stat_user_tables_n_dead_tup",
                             "pg_stat_user_tables_last_vacuum_age_seconds",
                             "pg_postmaster_start_time_seconds",
                             "pg_wal_position_bytes"}) {
    EXPECT_EQ(exported.count(family), 1U) << family;
  }
}

TEST(ExporterQueries, TopStatementsAndLargestTablesAreLimited) {
  const std::string yaml = render_exporter_queries({7, 3});
  EXPECT_NE(yaml.find("ORDER BY s.total_exec_time DESC LIMIT 7"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("ORDER BY size_bytes DESC NULLS LAST LIMIT 3"), std::string::npos) << yaml;
}

TEST(ExporterConnection, OverTheSocketWithATimeoutAndNoPassword) {
  InstanceLayout layout;
  layout.socket_dir = "/run/pgstack/it's";
  layout.postgres_port = 15433;
  EXPECT_EQ(exporter_data_source(layout, "pgstack_monitor", "app"),
            "host='/run/pgstack/it\\'s' port=15433 user='pgstack_monitor' dbname='app' sslmode=disable "
            "application_name=pgstack-exporter statement_timeout=5000");
  EXPECT_EQ(exporter_passfile("pgstack_monitor", "a:b\\c"), "*:*:*:pgstack_monitor:a\\:b\\\\c\n");
}

TEST(ExporterConnection, ListensOnTheHostAddress) {
  InstanceLayout layout;
  layout.host_address = "10.0.0.5";
  layout.exporter_port = 19187;
  const auto arguments = exporter_arguments(layout, "/etc/q.yaml");
  EXPECT_EQ(arguments.front(), "--web.listen-address=10.0.0.5:19187");
  EXPECT_NE(std::find(arguments.begin(), arguments.end(), "--extend.query-path=/etc/q.yaml"), arguments.end());
  layout.host_address = "fd00::5";
  EXPECT_EQ(exporter_listen_address(layout), "[fd00::5]:19187");
}

}  // namespace
}  // namespace pgstack::config
