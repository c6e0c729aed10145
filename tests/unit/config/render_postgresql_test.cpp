#include "config/render_postgresql.h"

#include <algorithm>
#include <regex>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "golden.h"
#include "model/kinds.h"

namespace pgstack::config {
namespace {

using testing::demo_cluster;
using testing::expect_matches_golden;
using testing::profile_of;

struct ConfCase {
  int cpus;
  int memory_gi;
  std::string volume;
};

const ConfCase kConfCases[] = {{1, 2, "5Gi"}, {4, 16, "100Gi"}, {16, 64, "500Gi"}, {64, 512, "4Ti"}};

TEST(RenderPostgresql, GoldenPerProfileAndStorage) {
  for (const auto& size : kConfCases) {
    for (const auto storage : {model::StorageKind::kSsd, model::StorageKind::kHdd}) {
      model::Cluster cluster = demo_cluster();
      cluster.volume_size = size.volume;
      cluster.storage_kind = storage;
      const model::InstanceProfile profile = profile_of(size.cpus, size.memory_gi);
      const InstanceLayout layout = default_instance_layout(cluster, 0, 15);
      const auto parameters = tune_postgres_parameters(tuning_input_for(cluster, profile, nullptr, 15));
      const std::string name =
          fmt::format("postgresql/{}-{}.conf", profile.name, storage == model::StorageKind::kSsd ? "ssd" : "hdd");
      SCOPED_TRACE(name);
      expect_matches_golden(name, render_postgresql_conf(cluster, profile, layout, parameters));
    }
  }
}

TEST(RenderPostgresql, GoldenWithUserParametersAndSyncReplication) {
  model::Cluster cluster = demo_cluster();
  cluster.replication_mode = model::ReplicationMode::kSync;
  cluster.postgres_config_name = "pgconf";
  cluster.inline_postgres_parameters = {
      {"statement_timeout", "30s"}, {"archive_command", "rm -rf /"}, {"search_path", "\"$user\", public, it's"}};
  const model::PostgresConfig config{"pgconf", "15", {{"work_mem", "32MB"}, {"listen_addresses", "*"}}};
  const auto profile = profile_of(4, 16);
  const auto parameters = tune_postgres_parameters(tuning_input_for(cluster, profile, &config, 15));
  expect_matches_golden("postgresql/user-parameters.conf",
                        render_postgresql_conf(cluster, profile, default_instance_layout(cluster, 1, 15), parameters));
}

TEST(RenderPostgresql, OwnedParametersAreNotInTheFile) {
  model::Cluster cluster = demo_cluster();
  cluster.inline_postgres_parameters = {{"port", "1"}, {"wal_log_hints", "off"}, {"log_directory", "/tmp"}};
  const auto profile = profile_of(1, 2);
  const std::string text =
      render_postgresql_conf(cluster, profile, default_instance_layout(cluster, 0, 15),
                             tune_postgres_parameters(tuning_input_for(cluster, profile, nullptr, 15)));
  for (const auto& name : model::blocked_postgres_parameters()) {
    EXPECT_EQ(text.find("\n" + name + " = "), std::string::npos) << name;
  }
}

TEST(RenderPostgresql, QuotesValuesThePostgresWay) {
  EXPECT_EQ(quote_postgres_value("512MB"), "'512MB'");
  EXPECT_EQ(quote_postgres_value("it's"), "'it''s'");
  EXPECT_EQ(quote_postgres_value("a\\b"), "'a\\\\b'");
  EXPECT_EQ(quote_postgres_value("line\nbreak"), "'line\\nbreak'");
  EXPECT_EQ(quote_postgres_value(""), "''");
}

TEST(RenderPostgresql, EveryLineIsACommentOrAQuotedSetting) {
  model::Cluster cluster = demo_cluster();
  cluster.inline_postgres_parameters = {{"application_name", "x'\ny = 'z"}};
  const auto profile = profile_of(1, 2);
  const std::string text =
      render_postgresql_conf(cluster, profile, default_instance_layout(cluster, 0, 15),
                             tune_postgres_parameters(tuning_input_for(cluster, profile, nullptr, 15)));
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    EXPECT_TRUE(std::regex_match(line, std::regex(R"(^[a-z_.0-9]+ = '([^'\\]|''|\\.)*'  # .*$)"))) << line;
  }
}

TEST(RenderPostgresql, DefaultLayout) {
  const InstanceLayout layout = default_instance_layout(demo_cluster(), 2, 15);
  EXPECT_EQ(layout.member_name, "demo-2");
  EXPECT_EQ(layout.data_dir, "/var/lib/pgstack/default/demo/demo-2/data");
  EXPECT_EQ(layout.config_dir, "/var/lib/pgstack/default/demo/demo-2/config");
  EXPECT_EQ(layout.socket_dir, "/run/pgstack/default/demo-2");
  EXPECT_EQ(layout.bin_dir, "/usr/lib/postgresql/15/bin");
  EXPECT_EQ(layout.postgres_port, 5432);
  EXPECT_EQ(layout.patroni_port, 8008);
  EXPECT_EQ(layout.pgbouncer_port, 6432);
}

TEST(RenderPostgresql, OwnedParametersCoverTheBlockedListPatroniDoesNotSet) {
  const model::Cluster cluster = demo_cluster();
  const auto owned = owned_postgres_parameters(cluster, default_instance_layout(cluster, 0, 15));
  for (const auto& name : model::blocked_postgres_parameters()) {
    if (name == "listen_addresses" || name == "port" || name == "wal_log_hints") continue;  // Patroni sets these
    EXPECT_TRUE(std::any_of(owned.begin(), owned.end(), [&](const auto& p) { return p.name == name; })) << name;
  }
}

}  // namespace
}  // namespace pgstack::config
