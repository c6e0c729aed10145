// Typed views of validated resources: what the config renderer, controller and agent read.
// Built from documents that passed validation (defaults filled in), so they do not re-check input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/document.h"

namespace pgstack::model {

// Ordered (name, value) pairs, as the user wrote them; later entries win when merged.
using SettingList = std::vector<std::pair<std::string, std::string>>;

enum class ReplicationMode { kAsync, kSync, kStrictSync, kSyncAll, kStrictSyncAll };
std::string_view replication_mode_name(ReplicationMode mode);

enum class StorageKind { kSsd, kHdd };

struct InstanceProfile {
  std::string name;
  std::int64_t cpu_millicores = 1000;            // StackGres' default profile: 1 CPU
  std::int64_t memory_bytes = 2LL << 30;          // and 2Gi
  std::optional<std::int64_t> hugepages_2mi_bytes;  // spec.hugePages.hugepages-2Mi
};
InstanceProfile default_instance_profile();
InstanceProfile instance_profile_from(const Document& document);

struct PostgresConfig {
  std::string name;
  std::string postgres_version;  // major
  SettingList parameters;        // spec."postgresql.conf"
};
PostgresConfig postgres_config_from(const Document& document);

struct PoolingConfig {
  std::string name;
  SettingList pgbouncer;  // [pgbouncer] section
  SettingList databases;  // [databases]
  SettingList users;      // [users]
};
PoolingConfig pooling_config_from(const Document& document);

struct ClusterCredentials {
  std::string superuser_name = "postgres";
  std::string replication_name = "replicator";
  std::string authenticator_name = "authenticator";
};

struct Cluster {
  std::string name;
  std::string namespace_name = "default";
  int instances = 1;
  std::string profile = "production";  // production | testing | development
  std::string postgres_version = "latest";
  std::vector<std::string> extensions;
  bool ssl_enabled = true;
  std::string instance_profile_name;  // empty: the default profile
  ReplicationMode replication_mode = ReplicationMode::kAsync;
  int sync_instances = 1;
  std::string postgres_config_name;  // configurations.sgPostgresConfig
  std::string pooling_config_name;   // configurations.sgPoolingConfig
  SettingList inline_postgres_parameters;  // configurations.postgres."postgresql.conf"
  std::optional<PoolingConfig> inline_pooling;  // configurations.pooling.pgBouncer."pgbouncer.ini"
  Json patroni_dynamic_config = Json::object();  // configurations.patroni.dynamicConfig
  Json patroni_initial_config = Json::object();  // configurations.patroni.initialConfig
  ClusterCredentials credentials;
  std::string volume_size = "5Gi";
  std::string storage_class;
  StorageKind storage_kind = StorageKind::kSsd;  // hint from storageClass ("hdd" in the name -> hdd)
  bool disable_connection_pooling = false;
};
Cluster cluster_from(const Document& document);

}  // namespace pgstack::model
