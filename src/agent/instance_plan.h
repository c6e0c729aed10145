// Everything one instance runs with, decided from its assignment, the cluster's secrets and the
// agent's settings: directories and ports (the InstanceLayout), the files to write with their modes,
// and the environments of Patroni and PgBouncer. Pure, no I/O: the same inputs give the same bytes, so
// an agent that restarts finds nothing changed and leaves Postgres alone.
//
// Directories of an instance:
//   <state-dir>/instances/<ns>/<cluster>/<member>/{data,config,log}
//   sockets: <state-dir>/run/<ns>.<member> while "<dir>/.s.PGSQL.<port>" fits the 107 bytes a Unix
//   socket path may have, else /tmp/pgstack-<uid>/<hash of the instance directory> (16 hex digits).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <sys/types.h>

#include "agent/assignment.h"
#include "common/pki.h"
#include "config/render_pgbackrest.h"
#include "config/render_postgresql.h"
#include "config/render_proxy.h"
#include "model/host_labels.h"
#include "monitoring/metrics_auth.h"

namespace pgstack::agent {

struct AgentSettings {
  std::string host_name;
  std::string address = "127.0.0.1";  // where other members and clients reach this host
  model::Labels labels;               // --label: what an SGCluster's pods.scheduling.nodeSelector matches
  std::filesystem::path state_dir = "/var/lib/pgstack";
  std::vector<std::string> etcd_endpoints = {"http://127.0.0.1:2379"};  // URLs, as the agent's client takes them
  std::string etcd_prefix = "/pgstack";
  std::string os_user = "postgres";  // runs Patroni, Postgres and PgBouncer
  std::string os_user_home = "/var/lib/postgresql";
  uid_t socket_owner_uid = 0;  // names the /tmp fallback socket directory
  std::string patroni_program = "/usr/bin/patroni";
  std::string pgbouncer_program = "/usr/sbin/pgbouncer";
  std::string exporter_program = "/usr/bin/prometheus-postgres-exporter";  // empty: no exporter on this host
  std::string node_exporter_program = "/usr/bin/prometheus-node-exporter";
  std::string node_exporter_listen;  // "host:port" of the host's node_exporter; empty: none
  std::string metrics_listen;        // "host:port" of the agent's own /metrics; empty: none
  // Which metrics listeners ask for the scrape credential (--metrics-auth), and the credential, read from
  // etcd at start when one of them does (monitoring/metrics_auth.h).
  monitoring::MetricsAuthMode metrics_auth = monitoring::MetricsAuthMode::kNonLoopback;
  std::optional<monitoring::ScrapeCredential> scrape_credential;
  std::string proxy_program;     // pgstack-proxy; empty: clusters get no proxy on this host
  std::string wal_push_program;  // pgstack-wal-push (archive_command); empty: pgBackRest directly
  // The installation's CA (ca.crt, ca.key; common/pki.h), read at each check so a rotated CA is used.
  std::filesystem::path ca_dir;
  std::chrono::seconds certificate_lifetime = pki::kLeafLifetime;  // of the certificates the agent issues
  // How often the primary's agent lists its backup repository's WAL for holes (and after each backup).
  std::chrono::seconds archive_check_interval{300};
  // postgres.extensions: install missing packages with apt (false: report them missing instead).
  bool extension_installs = true;
  // Postgres's log files in an instance's log directory may take this much before the oldest are
  // removed, even unshipped (--log-dir-limit; agent/instance_logs.h).
  std::uint64_t log_directory_limit_bytes = 1ULL << 30;
  // Told on each pass which clusters ("<ns>/<cluster>") have an instance here: the ClusterLogSink's
  // set_host_clusters (host-wide lines go to their agent.log). Empty: nobody is told.
  std::function<void(std::set<std::string>)> on_host_clusters;
};

struct RenderedFile {
  std::filesystem::path path;
  std::string content;
  std::filesystem::perms permissions = std::filesystem::perms(0644);
};

enum class InstanceFile {
  kPostgresqlConf,
  kPatroniYaml,
  kPostBootstrap,
  kPgbouncerIni,
  kPgbouncerAuth,
  kPgbackrestConf,         // 0600: an object store's keys are in it
  kPgbackrestCa,           // the object store's CA certificate (caCertificate), next to it
  kPgbackrestGcsKey,       // a GCS service account key (serviceAccountJSON), next to it
  kPgbackrestRestoreConf,  // the restore source's repository, when it is restored from a backup
  kPgbackrestRestoreCa,
  kPgbackrestRestoreGcsKey,
  kExporterQueries,    // postgres_exporter's queries file
  kExporterPassfile,   // 0600: the monitor role's password, as lib/pq reads a passfile
  kExporterWebConfig,  // 0600: the scrape credential's hash, when the exporter's address asks for it
};

// pgBackRest as this instance runs it: set when the cluster has backups or restores from one.
struct BackupPlan {
  config::BackupRepository repository;  // the cluster's own repository (or the restore source's)
  config::PgbackrestInstance instance;
  bool archiving = false;                       // the cluster's own backups: WAL is pushed to the repository
  std::filesystem::path filesystem_repository;  // posix repositories: the directory to create
};

// The disk under a posix repository (its nearest existing directory): {"path", "freeBytes",
// "totalBytes"}, so that a filling repository shows before it is full. Nothing for object stores.
std::optional<model::Json> repository_disk(const BackupPlan& plan);

struct InstancePlan {
  config::InstanceLayout layout;
  model::Cluster cluster;  // credentials' usernames taken from the secrets
  bool pooling = true;     // false: pods.disableConnectionPooling, no PgBouncer
  std::map<InstanceFile, RenderedFile> files;
  std::map<std::string, std::string> patroni_environment;
  std::string patroni_api_authorization;  // Authorization header for Patroni's unsafe endpoints (reload, restart)
  std::map<std::string, std::string> pgbouncer_environment;
  // postgres_exporter: runs unless the cluster disables metrics, the assignment has no exporter port
  // or the secrets no monitor role (clusters from before it existed).
  bool metrics = false;
  std::vector<std::string> exporter_argv;
  std::map<std::string, std::string> exporter_environment;
  std::filesystem::path instance_dir;  // parent of data, config and log
  std::filesystem::path tls_dir;       // config_dir/tls: server.crt, server.key and ca.crt, from the CA
  std::optional<BackupPlan> backup;
  // Why the backup configuration cannot be used, or its storage's credentials not resolved (which
  // Secret, which key); never a value.
  std::string backup_problem;
};

// "127.0.0.1:2379" from "http://127.0.0.1:2379/": Patroni's etcd3 wants host:port.
std::string etcd_host_port(std::string_view url);

// The etcd members of `host_ports` on `host_address` (this host's own member) first, the others after in
// their order. Patroni (with use_proxies) talks to the first that answers and watches through it: a
// Patroni that started on a member that is later cut off keeps a stale view of the cluster until TCP gives
// up on its watch (about 27 s), so a host on the majority side of a partition must not be watching
// through the minority's member. Its own member is on its own side of any partition.
std::vector<std::string> own_etcd_member_first(std::vector<std::string> host_ports, std::string_view host_address);

// See the header comment: short enough for a Unix socket path with any port.
std::filesystem::path socket_dir_for(const std::filesystem::path& state_dir, const Assignment& assignment,
                                     uid_t socket_owner_uid);

config::InstanceLayout instance_layout_for(const Assignment& assignment, const AgentSettings& settings);

// pgstack-proxy's layout for the assignment's cluster on this host (assignment.proxy must be set). The
// TLS files are the instance's own certificate; the caller drops them while they do not exist yet.
config::ProxyLayout proxy_layout_for(const Assignment& assignment, const AgentSettings& settings);

// The names a member's server certificate must carry: its member name, localhost, 127.0.0.1 and the
// address it advertises (Postgres, Patroni's REST API and PgBouncer share it).
pki::LeafRequest server_certificate_request(const config::InstanceLayout& layout, std::chrono::seconds lifetime);

InstancePlan plan_instance(const Assignment& assignment, const ClusterSecrets& secrets, const AgentSettings& settings);

// The PgBouncer auth_file: `"user" "password"` with '"' doubled, as PgBouncer reads it.
std::string pgbouncer_auth_file(const Credential& authenticator);

}  // namespace pgstack::agent
