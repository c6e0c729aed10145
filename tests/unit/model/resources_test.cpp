#include "model/resources.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "model/codec.h"
#include "model/validator.h"

namespace pgstack::model {
namespace {

std::vector<Document> valid_documents(const std::string& text) {
  ValidationContext context;
  context.installed_postgres = {{15, "15.18"}};
  auto result = validate_documents(load_documents(text, "r.yaml").documents, context);
  EXPECT_TRUE(result.valid());
  return result.documents;
}

TEST(Resources, ClusterViewHasDefaultsAndSettings) {
  const auto documents = valid_documents(R"(
apiVersion: stackgres.io/v1
kind: SGCluster
metadata: {name: orders, namespace: prod}
spec:
  instances: 3
  postgres: {version: '15'}
  sgInstanceProfile: size-m
  replication: {mode: strict-sync, syncInstances: 2}
  configurations:
    sgPostgresConfig: conf
    postgres:
      postgresql.conf: {work_mem: 64MB, jit: false}
    pooling:
      pgBouncer:
        pgbouncer.ini:
          pgbouncer: {pool_mode: transaction}
          databases: {app: {dbname: app, pool_size: 20}}
    patroni:
      dynamicConfig: {maximum_lag_on_failover: 1048576}
    credentials:
      users:
        superuser: {username: admin}
    observability: {disableMetrics: true}
  pods:
    persistentVolume: {size: 100Gi, storageClass: cheap-hdd}
    disableConnectionPooling: true
    connectionPooler: pgstack-proxy
)");
  ASSERT_EQ(documents.size(), 1u);
  const Cluster cluster = cluster_from(documents[0]);
  EXPECT_EQ(cluster.name, "orders");
  EXPECT_EQ(cluster.namespace_name, "prod");
  EXPECT_EQ(cluster.instances, 3);
  EXPECT_EQ(cluster.replication_mode, ReplicationMode::kStrictSync);
  EXPECT_EQ(cluster.sync_instances, 2);
  EXPECT_EQ(cluster.instance_profile_name, "size-m");
  EXPECT_EQ(cluster.postgres_config_name, "conf");
  const SettingList expected_parameters = {{"work_mem", "64MB"}, {"jit", "false"}};
  EXPECT_EQ(cluster.inline_postgres_parameters, expected_parameters);
  ASSERT_TRUE(cluster.inline_pooling.has_value());
  EXPECT_EQ(cluster.inline_pooling->pgbouncer, (SettingList{{"pool_mode", "transaction"}}));
  EXPECT_EQ(cluster.inline_pooling->databases, (SettingList{{"app", "dbname=app pool_size=20"}}));
  EXPECT_EQ(cluster.patroni_dynamic_config["maximum_lag_on_failover"], 1048576);
  EXPECT_EQ(cluster.credentials.superuser_name, "admin");
  EXPECT_EQ(cluster.credentials.replication_name, "replicator");
  EXPECT_EQ(cluster.storage_kind, StorageKind::kHdd);
  EXPECT_TRUE(cluster.disable_connection_pooling);
  EXPECT_TRUE(cluster.proxy_pooling);
  EXPECT_TRUE(cluster.disable_metrics);
  EXPECT_TRUE(cluster.prometheus_autobind);  // pgstack's default, filled in with the observability section
  EXPECT_TRUE(cluster.ssl_enabled);
}

// Either field set false keeps the cluster out of the installation's Prometheus.
TEST(Resources, PrometheusAutobindFalseInEitherPlace) {
  for (const char* spec : {"observability: {prometheusAutobind: false}", "prometheusAutobind: false"}) {
    const bool nested = std::string_view(spec).starts_with("observability");
    const auto documents = valid_documents(fmt::format(R"(
apiVersion: stackgres.io/v1
kind: SGCluster
metadata: {{name: quiet}}
spec:
  instances: 1
  postgres: {{version: '15'}}
  pods: {{persistentVolume: {{size: 1Gi}}}}
  {}{}
)",
                                                       nested ? "configurations:\n    " : "", spec));
    ASSERT_EQ(documents.size(), 1u) << spec;
    EXPECT_FALSE(cluster_from(documents[0]).prometheus_autobind) << spec;
  }
}

TEST(Resources, ProfileAndConfigViews) {
  const auto documents = valid_documents(R"(
apiVersion: stackgres.io/v1
kind: SGInstanceProfile
metadata: {name: size-l}
spec: {cpu: 16, memory: 64Gi, hugePages: {hugepages-2Mi: 16Gi}}
---
apiVersion: stackgres.io/v1
kind: SGPostgresConfig
metadata: {name: conf}
spec: {postgresVersion: 15, postgresql.conf: {max_connections: 200}}
)");
  ASSERT_EQ(documents.size(), 2u);
  const InstanceProfile profile = instance_profile_from(documents[0]);
  EXPECT_EQ(profile.cpu_millicores, 16000);
  EXPECT_EQ(profile.memory_bytes, 64LL << 30);
  EXPECT_EQ(profile.hugepages_2mi_bytes, 16LL << 30);
  const PostgresConfig config = postgres_config_from(documents[1]);
  EXPECT_EQ(config.postgres_version, "15");
  EXPECT_EQ(config.parameters, (SettingList{{"max_connections", "200"}}));
  EXPECT_EQ(default_instance_profile().cpu_millicores, 1000);
  EXPECT_EQ(default_instance_profile().memory_bytes, 2LL << 30);
}

}  // namespace
}  // namespace pgstack::model
