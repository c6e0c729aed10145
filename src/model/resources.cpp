#include "model/resources.h"

#include <cstdio>

#include "common/strings.h"
#include "model/dbops.h"
#include "model/quantity.h"

namespace pgstack::model {
namespace {

const Json& at_pointer(const Json& value, const char* pointer) {
  static const Json kNull;
  const Json::json_pointer path(pointer);
  return value.contains(path) ? value.at(path) : kNull;
}

std::string string_at(const Json& value, const char* pointer, std::string fallback = "") {
  const Json& found = at_pointer(value, pointer);
  if (found.is_string()) return found.get<std::string>();
  return fallback;
}

SettingList settings_from(const Json& map) {
  SettingList settings;
  if (!map.is_object()) return settings;
  for (const auto& [key, value] : map.items()) {
    settings.emplace_back(key, value.is_string() ? value.get<std::string>() : value.dump());
  }
  return settings;
}

// [databases] and [users] entries may be written as a string or as a mapping of key = value pairs.
SettingList pgbouncer_entries_from(const Json& map) {
  SettingList entries;
  if (!map.is_object()) return entries;
  for (const auto& [key, value] : map.items()) {
    if (value.is_object()) {
      std::string line;
      for (const auto& [option, option_value] : value.items()) {
        if (!line.empty()) line += ' ';
        line += option + "=" + (option_value.is_string() ? option_value.get<std::string>() : option_value.dump());
      }
      entries.emplace_back(key, line);
    } else {
      entries.emplace_back(key, value.is_string() ? value.get<std::string>() : value.dump());
    }
  }
  return entries;
}

PoolingConfig pooling_from_ini(std::string name, const Json& ini) {
  PoolingConfig config;
  config.name = std::move(name);
  config.pgbouncer = settings_from(at_pointer(ini, "/pgbouncer"));
  config.databases = pgbouncer_entries_from(at_pointer(ini, "/databases"));
  config.users = pgbouncer_entries_from(at_pointer(ini, "/users"));
  return config;
}

std::string username_at(const Json& spec, const char* pointer, std::string fallback) {
  const Json& value = at_pointer(spec, pointer);
  if (value.is_string()) return value.get<std::string>();
  return fallback;  // a secret reference is not read (the validator warns)
}

}  // namespace

std::string_view replication_mode_name(ReplicationMode mode) {
  switch (mode) {
    case ReplicationMode::kAsync: return "async";
    case ReplicationMode::kSync: return "sync";
    case ReplicationMode::kStrictSync: return "strict-sync";
    case ReplicationMode::kSyncAll: return "sync-all";
    case ReplicationMode::kStrictSyncAll: return "strict-sync-all";
  }
  return "async";
}

InstanceProfile default_instance_profile() {
  InstanceProfile profile;
  profile.name = "default";
  return profile;
}

InstanceProfile instance_profile_from(const Document& document) {
  InstanceProfile profile;
  profile.name = document.name();
  const Json& spec = at_pointer(document.body, "/spec");
  if (auto cpu = parse_cpu_millicores(string_at(spec, "/cpu")); cpu.ok()) profile.cpu_millicores = cpu.value();
  if (auto memory = parse_memory_bytes(string_at(spec, "/memory")); memory.ok()) profile.memory_bytes = memory.value();
  if (auto huge = parse_memory_bytes(string_at(spec, "/hugePages/hugepages-2Mi")); huge.ok())
    profile.hugepages_2mi_bytes = huge.value();
  return profile;
}

PostgresConfig postgres_config_from(const Document& document) {
  PostgresConfig config;
  config.name = document.name();
  config.postgres_version = string_at(document.body, "/spec/postgresVersion");
  config.parameters = settings_from(at_pointer(document.body, "/spec/postgresql.conf"));
  return config;
}

PoolingConfig pooling_config_from(const Document& document) {
  return pooling_from_ini(document.name(), at_pointer(document.body, "/spec/pgBouncer/pgbouncer.ini"));
}

Cluster cluster_from(const Document& document) {
  Cluster cluster;
  const Json& spec = at_pointer(document.body, "/spec");
  cluster.name = document.name();
  cluster.namespace_name = document.namespace_name();
  cluster.uid = string_at(document.body, "/metadata/uid");
  if (const Json& instances = at_pointer(spec, "/instances"); instances.is_number_integer())
    cluster.instances = instances.get<int>();
  cluster.profile = string_at(spec, "/profile", cluster.profile);
  cluster.postgres_version = string_at(spec, "/postgres/version", cluster.postgres_version);
  for (const auto& extension :
       at_pointer(spec, "/postgres/extensions").is_array() ? at_pointer(spec, "/postgres/extensions") : Json::array()) {
    if (!extension.is_object() || !extension.contains("name") || !extension["name"].is_string()) continue;
    ExtensionRequest request{extension["name"].get<std::string>(), {}};
    if (const Json& version = at_pointer(extension, "/version"); version.is_string())
      request.version = version.get<std::string>();
    cluster.extensions.push_back(std::move(request));
  }
  if (const Json& ssl = at_pointer(spec, "/postgres/ssl/enabled"); ssl.is_boolean())
    cluster.ssl_enabled = ssl.get<bool>();
  if (const std::string duration = string_at(spec, "/postgres/ssl/duration"); !duration.empty()) {
    if (auto parsed = parse_iso_duration(duration); parsed.ok())
      cluster.ssl_duration = std::chrono::duration_cast<std::chrono::seconds>(parsed.value());
  }
  if (const Json& required = at_pointer(spec, "/postgres/ssl/required"); required.is_boolean())
    cluster.ssl_required = cluster.ssl_enabled && required.get<bool>();
  cluster.instance_profile_name = string_at(spec, "/sgInstanceProfile");
  const std::string mode = string_at(spec, "/replication/mode", "async");
  if (mode == "sync") cluster.replication_mode = ReplicationMode::kSync;
  if (mode == "strict-sync") cluster.replication_mode = ReplicationMode::kStrictSync;
  if (mode == "sync-all") cluster.replication_mode = ReplicationMode::kSyncAll;
  if (mode == "strict-sync-all") cluster.replication_mode = ReplicationMode::kStrictSyncAll;
  if (const Json& sync = at_pointer(spec, "/replication/syncInstances"); sync.is_number_integer())
    cluster.sync_instances = sync.get<int>();
  cluster.postgres_config_name = string_at(spec, "/configurations/sgPostgresConfig");
  cluster.pooling_config_name = string_at(spec, "/configurations/sgPoolingConfig");
  cluster.inline_postgres_parameters = settings_from(at_pointer(spec, "/configurations/postgres/postgresql.conf"));
  if (const Json& ini = at_pointer(spec, "/configurations/pooling/pgBouncer/pgbouncer.ini"); ini.is_object())
    cluster.inline_pooling = pooling_from_ini(cluster.name, ini);
  if (const Json& dynamic = at_pointer(spec, "/configurations/patroni/dynamicConfig"); dynamic.is_object())
    cluster.patroni_dynamic_config = dynamic;
  if (const Json& initial = at_pointer(spec, "/configurations/patroni/initialConfig"); initial.is_object())
    cluster.patroni_initial_config = initial;
  cluster.credentials.superuser_name =
      username_at(spec, "/configurations/credentials/users/superuser/username", cluster.credentials.superuser_name);
  cluster.credentials.replication_name =
      username_at(spec, "/configurations/credentials/users/replication/username", cluster.credentials.replication_name);
  cluster.credentials.authenticator_name = username_at(spec, "/configurations/credentials/users/authenticator/username",
                                                       cluster.credentials.authenticator_name);
  cluster.volume_size = string_at(spec, "/pods/persistentVolume/size", cluster.volume_size);
  cluster.storage_class = string_at(spec, "/pods/persistentVolume/storageClass");
  if (to_lower(cluster.storage_class).find("hdd") != std::string::npos) cluster.storage_kind = StorageKind::kHdd;
  if (const Json& pooling = at_pointer(spec, "/pods/disableConnectionPooling"); pooling.is_boolean())
    cluster.disable_connection_pooling = pooling.get<bool>();
  cluster.proxy_pooling = string_at(spec, "/pods/connectionPooler") == "pgstack-proxy";
  if (const Json& selector = at_pointer(spec, "/pods/scheduling/nodeSelector"); selector.is_object()) {
    for (const auto& [label, value] : selector.items())
      if (value.is_string()) cluster.node_selector[label] = value.get<std::string>();
  }
  for (const char* pointer : {"/configurations/observability/disableMetrics", "/pods/disableMetricsExporter"}) {
    if (const Json& disabled = at_pointer(spec, pointer); disabled.is_boolean() && disabled.get<bool>())
      cluster.disable_metrics = true;
  }
  for (const char* pointer : {"/configurations/observability/prometheusAutobind", "/prometheusAutobind"}) {
    if (const Json& autobind = at_pointer(spec, pointer); autobind.is_boolean() && !autobind.get<bool>())
      cluster.prometheus_autobind = false;
  }
  cluster.distributed_logs = string_at(spec, "/distributedLogs/sgDistributedLogs");
  cluster.distributed_logs_retention = string_at(spec, "/distributedLogs/retention");
  if (const Json& backups = at_pointer(spec, "/configurations/backups"); backups.is_array() && !backups.empty()) {
    const Json& first = backups[0];
    BackupConfiguration backup;
    backup.object_storage = string_at(first, "/sgObjectStorage");
    backup.cron_schedule = string_at(first, "/cronSchedule");
    if (const Json& retention = at_pointer(first, "/retention"); retention.is_number_integer())
      backup.retention = retention.get<int>();
    backup.compression = string_at(first, "/compression", backup.compression);
    backup.path = string_at(first, "/path");
    if (const Json& upload = at_pointer(first, "/performance/uploadConcurrency"); upload.is_number_integer())
      backup.process_max = upload.get<int>();
    if (const Json& download = at_pointer(first, "/performance/downloadConcurrency"); download.is_number_integer())
      backup.restore_process_max = download.get<int>();
    cluster.backup = backup;
  }
  if (const Json& from = at_pointer(spec, "/initialData/restore/fromBackup");
      from.is_object() && from.contains("name")) {
    RestoreSource restore;
    restore.backup = string_at(from, "/name");
    const std::string time = string_at(from, "/pointInTimeRecovery/restoreToTimestamp");
    if (!time.empty()) restore.target_time = time;
    if (const std::string lsn = string_at(from, "/targetLsn"); !lsn.empty()) restore.target_lsn = lsn;
    if (const Json& xid = at_pointer(from, "/targetXid"); !xid.is_null())
      restore.target_xid = xid.is_string() ? xid.get<std::string>() : xid.dump();
    if (const std::string name = string_at(from, "/targetName"); !name.empty()) restore.target_name = name;
    restore.target_immediate = string_at(from, "/target") == "immediate";
    if (const Json& timeline = at_pointer(from, "/targetTimeline"); !timeline.is_null())
      restore.target_timeline = timeline.is_string() ? timeline.get<std::string>() : timeline.dump();
    if (const Json& inclusive = at_pointer(from, "/targetInclusive"); inclusive.is_boolean())
      restore.target_inclusive = inclusive.get<bool>();
    cluster.restore = restore;
  }
  return cluster;
}

namespace {
std::string secret_ref(const Json& selector) {
  if (!selector.is_object()) return {};
  return string_at(selector, "/name") + "/" + string_at(selector, "/key");
}
}  // namespace

ObjectStorage object_storage_from(const Document& document) {
  ObjectStorage storage;
  const Json& spec = at_pointer(document.body, "/spec");
  storage.name = document.name();
  storage.type = string_at(spec, "/type");
  storage.filesystem_path = string_at(spec, "/filesystem/path");
  for (const char* type : {"s3", "s3Compatible", "gcs", "azureBlob"}) {
    const std::string pointer = std::string("/") + type;
    const Json& section = at_pointer(spec, pointer.c_str());
    if (!section.is_object() || storage.type != type) continue;
    storage.bucket = string_at(section, "/bucket");
    storage.region = string_at(section, "/region");
    storage.endpoint = string_at(section, "/endpoint");
    if (const Json& style = at_pointer(section, "/enablePathStyleAddressing"); style.is_boolean())
      storage.path_style = style.get<bool>();
    storage.storage_class = string_at(section, "/storageClass");
    storage.access_key_ref = secret_ref(at_pointer(section, "/awsCredentials/secretKeySelectors/accessKeyId"));
    storage.secret_key_ref = secret_ref(at_pointer(section, "/awsCredentials/secretKeySelectors/secretAccessKey"));
    if (const Json& metadata = at_pointer(section, "/gcpCredentials/fetchCredentialsFromMetadataService");
        metadata.is_boolean())
      storage.metadata_service_credentials = metadata.get<bool>();
    storage.service_account_json_ref =
        secret_ref(at_pointer(section, "/gcpCredentials/secretKeySelectors/serviceAccountJSON"));
    storage.storage_account_ref =
        secret_ref(at_pointer(section, "/azureCredentials/secretKeySelectors/storageAccount"));
    storage.account_key_ref = secret_ref(at_pointer(section, "/azureCredentials/secretKeySelectors/accessKey"));
    storage.ca_certificate_ref = secret_ref(at_pointer(section, "/caCertificate"));
    // StackGres' place for an S3-compatible store's CA certificate.
    if (storage.ca_certificate_ref.empty())
      storage.ca_certificate_ref = secret_ref(at_pointer(section, "/awsCredentials/secretKeySelectors/caCertificate"));
    if (const Json& iam = at_pointer(section, "/awsCredentials/useIAMRole");
        iam.is_boolean() && type == std::string("s3"))
      storage.use_iam_role = iam.get<bool>();
  }
  storage.encryption_method = string_at(spec, "/encryption/method");
  if (storage.encryption_method == "sodium" || storage.encryption_method == "openpgp") {
    const std::string method = "/encryption/" + storage.encryption_method;
    storage.encryption_key_ref = secret_ref(at_pointer(spec, (method + "/key").c_str()));
    if (storage.encryption_method == "openpgp")
      storage.encryption_passphrase_ref = secret_ref(at_pointer(spec, "/encryption/openpgp/keyPassphrase"));
  }
  return storage;
}

Backup backup_from(const Document& document) {
  Backup backup;
  const Json& spec = at_pointer(document.body, "/spec");
  backup.name = document.name();
  backup.namespace_name = document.namespace_name();
  backup.cluster = string_at(spec, "/sgCluster");
  backup.type = string_at(spec, "/type");
  if (const Json& managed = at_pointer(spec, "/managedLifecycle"); managed.is_boolean())
    backup.managed_lifecycle = managed.get<bool>();
  return backup;
}

std::string backup_name_at(std::string_view cluster, std::chrono::system_clock::time_point time) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(time);
  const auto day = std::chrono::floor<std::chrono::days>(seconds);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss clock{seconds - day};
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%04d%02u%02u%02ld%02ld%02ld", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<long>(clock.hours().count()), static_cast<long>(clock.minutes().count()),
                static_cast<long>(clock.seconds().count()));
  return std::string(cluster) + "-" + stamp;
}

}  // namespace pgstack::model
