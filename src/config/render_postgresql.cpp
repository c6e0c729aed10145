#include "config/render_postgresql.h"

#include <fmt/format.h>

#include "model/quantity.h"

namespace pgstack::config {

InstanceLayout default_instance_layout(const model::Cluster& cluster, int member_index, int postgres_major) {
  InstanceLayout layout;
  layout.member_index = member_index;
  layout.member_name = fmt::format("{}-{}", cluster.name, member_index);
  const std::string base =
      fmt::format("/var/lib/pgstack/{}/{}/{}", cluster.namespace_name, cluster.name, layout.member_name);
  layout.data_dir = base + "/data";
  layout.config_dir = base + "/config";
  layout.log_dir = base + "/log";
  layout.socket_dir = fmt::format("/run/pgstack/{}/{}", cluster.namespace_name, layout.member_name);
  layout.bin_dir =
      fmt::format("/usr/lib/postgresql/{}/bin", postgres_major > 0 ? postgres_major : kNewestPostgresMajor);
  return layout;
}

std::vector<TunedParameter> owned_postgres_parameters(const model::Cluster& cluster, const InstanceLayout& layout) {
  std::vector<TunedParameter> parameters = {
      {"unix_socket_directories", layout.socket_dir, "pgstack: PgBouncer and Patroni connect over this socket"},
      // Always on, so enabling backups later needs no restart; the command is what changes.
      {"archive_mode", "on", "pgstack: StackGres default"},
      {"archive_command", layout.archive_command, "pgstack: WAL archiving"},
      {"lc_messages", "C", "pgstack: logs are parsed in English"},
      {"logging_collector", "on", "pgstack: csvlog needs the collector"},
      {"log_destination", "csvlog", "pgstack: one parseable record per event, for distributed logs"},
      {"log_directory", layout.log_dir, "pgstack: outside PGDATA, so base backups and pg_rewind skip logs"},
      {"log_filename", "postgresql-%Y-%m-%d_%H%M%S.log",
       "pgstack: never reused, so no file is overwritten before it is shipped; the agent removes old ones"},
      {"log_rotation_age", "1d", "pgstack: a new file each day"},
      {"log_rotation_size", "64MB", "pgstack: and at 64MB, so the agent can remove old logs in steps"},
      {"log_truncate_on_rotation", "off", "pgstack: new names each time; nothing to truncate"},
      {"log_timezone", "UTC", "pgstack: csvlog timestamps unambiguous for the log store"},
      {"dynamic_library_path", "$libdir", "pgstack: Postgres default"},
  };
  if (cluster.ssl_enabled) {
    parameters.push_back({"ssl", "on", "postgres.ssl.enabled"});
    parameters.push_back(
        {"ssl_cert_file", layout.config_dir + "/tls/server.crt", "postgres.ssl: pgstack's certificate"});
    parameters.push_back({"ssl_key_file", layout.config_dir + "/tls/server.key", "postgres.ssl: pgstack's key"});
  }
  return parameters;
}

std::string quote_postgres_value(std::string_view value) {
  std::string quoted = "'";
  for (const char c : value) {
    switch (c) {
      case '\'': quoted += "''"; break;
      case '\\': quoted += "\\\\"; break;
      case '\n': quoted += "\\n"; break;
      case '\r': quoted += "\\r"; break;
      case '\t': quoted += "\\t"; break;
      default: quoted += c;
    }
  }
  quoted += '\'';
  return quoted;
}

namespace {

// A source must stay on its comment line.
std::string one_line(std::string_view text) {
  std::string line(text);
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return line;
}

std::string millicores_text(std::int64_t millicores) {
  if (millicores % 1000 == 0) return fmt::format("{} CPU{}", millicores / 1000, millicores == 1000 ? "" : "s");
  return fmt::format("{}m CPU", millicores);
}

}  // namespace

std::string render_postgresql_conf(const model::Cluster& cluster, const model::InstanceProfile& profile,
                                   const InstanceLayout& layout, const std::vector<TunedParameter>& parameters) {
  std::string text;
  auto line = [&](std::string_view content) {
    text += content;
    text += '\n';
  };
  line(fmt::format("# postgresql.conf of {} (SGCluster {}/{}), rendered by pgstack: do not edit.", layout.member_name,
                   cluster.namespace_name, cluster.name));
  line(fmt::format("# Change SGPostgresConfig{} or the cluster's configurations.postgres instead.",
                   cluster.postgres_config_name.empty() ? "" : "/" + cluster.postgres_config_name));
  line(fmt::format("# Profile {} ({}, {} memory), {} storage, {} volume; replication {} with {} instance{}.",
                   profile.name.empty() ? "default" : profile.name, millicores_text(profile.cpu_millicores),
                   model::format_memory_bytes(profile.memory_bytes),
                   cluster.storage_kind == model::StorageKind::kSsd ? "ssd" : "hdd", cluster.volume_size,
                   model::replication_mode_name(cluster.replication_mode), cluster.instances,
                   cluster.instances == 1 ? "" : "s"));
  line("#");
  line("# Patroni includes this file (postgresql.custom_conf) and then sets, from its own configuration,");
  line("# what pgstack and Patroni own: listen_addresses, port, cluster_name, hot_standby, wal_log_hints,");
  line("# synchronous_standby_names, archive_mode, archive_command, lc_messages, logging_collector,");
  line("# log_destination, log_directory, log_filename, log_rotation_*, log_truncate_on_rotation, log_timezone,");
  line("# dynamic_library_path, unix_socket_directories and ssl. They are not set here.");
  if (cluster.replication_mode != model::ReplicationMode::kAsync) {
    line(fmt::format("# Replication mode {}: Patroni chooses the synchronous standbys (synchronous_standby_names).",
                     model::replication_mode_name(cluster.replication_mode)));
  }
  line("# Patroni reads max_connections, max_worker_processes, max_prepared_transactions,");
  line("# max_locks_per_transaction, wal_level, track_commit_timestamp, max_wal_senders,");
  line("# max_replication_slots and wal_keep_size from its DCS: they must be equal on all members.");
  line("");
  for (const auto& parameter : parameters) {
    line(fmt::format("{} = {}  # {}", parameter.name, quote_postgres_value(parameter.value),
                     one_line(parameter.source)));
  }
  return text;
}

}  // namespace pgstack::config
