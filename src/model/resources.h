// Typed views of validated resources: what the config renderer, controller and agent read.
// Built from documents that passed validation (defaults filled in), so they do not re-check input.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
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
  std::int64_t cpu_millicores = 1000;               // StackGres' default profile: 1 CPU
  std::int64_t memory_bytes = 2LL << 30;            // and 2Gi
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

// spec.configurations.backups[0]: where and how the cluster is backed up (pgBackRest).
struct BackupConfiguration {
  std::string object_storage;  // SGObjectStorage name
  std::string cron_schedule;   // 5 fields, UTC; empty: no scheduled backups
  int retention = 5;           // full backups kept
  std::string compression = "lz4";
  std::string path;             // inside the storage; empty: <namespace>/<cluster>
  int process_max = 0;          // performance.uploadConcurrency; 0: one per CPU
  int restore_process_max = 0;  // performance.downloadConcurrency; 0: one per CPU
};

// spec.initialData.restore.fromBackup: the cluster starts as a copy of a backup, optionally recovered
// to a point in time.
struct RestoreSource {
  std::string backup;                      // SGBackup name, same namespace
  std::optional<std::string> target_time;  // pointInTimeRecovery.restoreToTimestamp (ISO 8601)
  std::optional<std::string> target_lsn;
  std::optional<std::string> target_xid;
  std::optional<std::string> target_name;
  bool target_immediate = false;               // target: immediate, recovery ends once the backup is consistent
  std::optional<std::string> target_timeline;  // latest, current or a number
  bool target_inclusive = true;
};

// postgres.extensions[]: made available on every member (the package installed, its library
// preloaded when it needs that); CREATE EXTENSION stays the user's.
struct ExtensionRequest {
  std::string name;
  std::string version;  // empty: what the package provides
  bool operator==(const ExtensionRequest&) const = default;
};

struct Cluster {
  std::string name;
  std::string namespace_name = "default";
  std::string uid;  // metadata.uid: tells a cluster made again under the same name from the one deleted
  int instances = 1;
  std::string profile = "production";  // production | testing | development
  std::string postgres_version = "latest";
  std::vector<ExtensionRequest> extensions;
  bool ssl_enabled = true;
  // postgres.ssl.required (pgstack's): TCP clients must use TLS (pg_hba hostssl only); Unix-socket
  // clients on the host are not affected.
  bool ssl_required = false;
  // postgres.ssl.duration: the lifetime of the certificates issued to the members; nullopt: the agent's.
  std::optional<std::chrono::seconds> ssl_duration;
  std::string instance_profile_name;  // empty: the default profile
  ReplicationMode replication_mode = ReplicationMode::kAsync;
  int sync_instances = 1;
  std::string postgres_config_name;              // configurations.sgPostgresConfig
  std::string pooling_config_name;               // configurations.sgPoolingConfig
  SettingList inline_postgres_parameters;        // configurations.postgres."postgresql.conf"
  std::optional<PoolingConfig> inline_pooling;   // configurations.pooling.pgBouncer."pgbouncer.ini"
  Json patroni_dynamic_config = Json::object();  // configurations.patroni.dynamicConfig
  Json patroni_initial_config = Json::object();  // configurations.patroni.initialConfig
  ClusterCredentials credentials;
  std::string volume_size = "5Gi";
  std::string storage_class;
  StorageKind storage_kind = StorageKind::kSsd;  // hint from storageClass ("hdd" in the name -> hdd)
  bool disable_connection_pooling = false;
  // pods.connectionPooler (pgstack's): "pgstack-proxy" makes the proxy's endpoints pool themselves and
  // go to Postgres directly; "pgbouncer" (the default) relays them to the members' PgBouncer.
  bool proxy_pooling = false;
  // pods.scheduling.nodeSelector: members go only to hosts with all of these labels (pgstack up/join
  // --label); empty: any host.
  std::map<std::string, std::string> node_selector;
  // configurations.observability.disableMetrics (or StackGres' older pods.disableMetricsExporter):
  // no postgres_exporter for the cluster's instances.
  bool disable_metrics = false;
  // configurations.observability.prometheusAutobind (or the older spec.prometheusAutobind): whether the
  // installation's Prometheus scrapes the cluster's members and proxy. pgstack's default is true (its own
  // Prometheus is part of every installation; StackGres defaults to false because binding there needs a
  // Prometheus Operator); false keeps the exporters running for a Prometheus the user points at them.
  bool prometheus_autobind = true;
  std::optional<BackupConfiguration> backup;
  std::optional<RestoreSource> restore;
  // spec.distributedLogs: the SGDistributedLogs ("name" or "namespace.name") its members' logs are
  // shipped to (empty: none), and how long the store keeps them ("7 days"; empty: the store's default).
  std::string distributed_logs;
  std::string distributed_logs_retention;
};
Cluster cluster_from(const Document& document);

// SGObjectStorage: where backups are kept.
struct ObjectStorage {
  std::string name;
  std::string type;  // filesystem, s3, s3Compatible, gcs, azureBlob
  std::string filesystem_path;
  std::string bucket;
  std::string region;
  std::string endpoint;  // s3Compatible, and pgstack's extension to gcs and azureBlob: https://host[:port]
  bool path_style = false;
  std::string storage_class;
  bool metadata_service_credentials = false;  // gcs: gcpCredentials.fetchCredentialsFromMetadataService
  // Secret references ("<secret>/<key>"), resolved by whoever runs pgBackRest; never the values.
  std::string access_key_ref, secret_key_ref;        // s3, s3Compatible: awsCredentials
  std::string service_account_json_ref;              // gcs: gcpCredentials
  std::string storage_account_ref, account_key_ref;  // azureBlob: azureCredentials
  std::string ca_certificate_ref;
  bool use_iam_role = false;  // s3: awsCredentials.useIAMRole, the instance's IAM role instead of keys
  // spec.encryption: the repository is encrypted (pgBackRest aes-256-cbc) with a passphrase derived
  // from this key (and passphrase), whatever the method (sodium, openpgp) says.
  std::string encryption_method;          // sodium, openpgp; empty: not encrypted
  std::string encryption_key_ref;         // encryption.<method>.key
  std::string encryption_passphrase_ref;  // encryption.openpgp.keyPassphrase
};
ObjectStorage object_storage_from(const Document& document);

// SGBackup's spec.
struct Backup {
  std::string name;
  std::string namespace_name;
  std::string cluster;
  std::string type;  // full, diff, incr; empty: pgBackRest's default (incr after a full, else full)
  bool managed_lifecycle = false;
};
Backup backup_from(const Document& document);

// "<cluster>-<YYYYMMDDHHMMSS>" (UTC, whole seconds): the name of a backup pgstack creates for that
// moment, whether the controller's schedule or `pgstack backup` asks for it.
std::string backup_name_at(std::string_view cluster, std::chrono::system_clock::time_point time);

}  // namespace pgstack::model
