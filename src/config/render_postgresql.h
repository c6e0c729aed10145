// postgresql.conf of one instance, and the layout of an instance on its host (ports, directories)
// that every renderer reads. Pure, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/tuning.h"
#include "model/resources.h"

namespace pgstack::config {

// Where one instance lives on its host. default_instance_layout fills it for an offline
// `pgstack render`; the agent replaces addresses, ports and paths with what the host assigned.
struct InstanceLayout {
  int member_index = 0;
  std::string member_name;                 // <cluster>-<index>: Patroni's member name
  std::string host_address = "127.0.0.1";  // where other members, proxies and clients reach this host
  int postgres_port = 5432;
  int patroni_port = 8008;  // Patroni REST API
  int pgbouncer_port = 6432;
  int exporter_port = 0;   // postgres_exporter's /metrics, on host_address like Patroni's REST API; 0: none
  std::string data_dir;    // PGDATA
  std::string bin_dir;     // Postgres binaries (pg_ctl, initdb, ...)
  std::string socket_dir;  // Unix sockets of Postgres and PgBouncer; mode 0700, owned by os_user
  std::string config_dir;  // postgresql.conf, patroni.yaml, pgbouncer.ini, pgpass, TLS files
  std::string log_dir;     // Postgres csvlog and PgBouncer's log, outside PGDATA so base backups skip them
  std::vector<std::string> etcd_endpoints = {"127.0.0.1:2379"};
  std::string etcd_prefix = "/pgstack";  // all of pgstack's keys; Patroni's live under <prefix>/patroni/
  // etcd over https: Patroni verifies it with config_dir/tls/ca.crt and presents the member's certificate.
  bool etcd_tls = false;
  std::string os_user = "postgres";           // runs Postgres, Patroni and PgBouncer
  std::string archive_command = "/bin/true";  // replaced by the WAL-push command when backups are set
  // Patroni's bootstrap.post_bootstrap: run once on the first primary after initdb (the agent's script
  // that creates the authenticator, the application user and pgstack.user_lookup). Empty: none.
  std::string post_bootstrap_script;
  // Patroni's bootstrap from a backup instead of initdb: the command that fills the data directory
  // and writes its recovery settings (pgBackRest restore). Empty: initdb.
  std::string restore_bootstrap_command;
};

// /var/lib/pgstack/<ns>/<cluster>/<member>/{data,config,log}, /run/pgstack/<ns>/<member> for sockets
// (a socket path must stay under 108 bytes), /usr/lib/postgresql/<major>/bin (Debian's layout;
// postgres_major 0: kNewestPostgresMajor).
InstanceLayout default_instance_layout(const model::Cluster& cluster, int member_index, int postgres_major);

// The parameters pgstack sets through Patroni's postgresql.parameters (never through this file):
// unix_socket_directories, archiving, logging files, lc_messages, dynamic_library_path, ssl. Patroni
// itself sets listen_addresses, port, cluster_name, hot_standby, wal_log_hints and
// synchronous_standby_names.
std::vector<TunedParameter> owned_postgres_parameters(const model::Cluster& cluster, const InstanceLayout& layout);

// 'value' as postgresql.conf reads it: single quotes, ' doubled, backslash and control characters escaped.
std::string quote_postgres_value(std::string_view value);

// The instance's postgresql.conf: a header saying whose it is and what is set elsewhere, then one
// `name = 'value'  # source` line per tuned parameter. Patroni includes it as postgresql.custom_conf.
std::string render_postgresql_conf(const model::Cluster& cluster, const model::InstanceProfile& profile,
                                   const InstanceLayout& layout, const std::vector<TunedParameter>& parameters);

}  // namespace pgstack::config
