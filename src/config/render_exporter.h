// postgres_exporter (Debian's 0.11.1) for one instance: the queries file pgstack owns (its
// --extend.query-path), the connection it makes and the flags it runs with. Pure, no I/O.
//
// The exporter's built-in metrics (pg_stat_database_*, pg_stat_bgwriter_*, pg_stat_activity_*,
// pg_locks_count, pg_stat_archiver_*, pg_database_size_bytes, pg_settings_*, pg_stat_replication_*,
// pg_replication_slots_*) stay on; the queries add what they lack (replication lag, wraparound, long
// transactions, blocked queries, top statements, vacuum state of the largest tables), named as in
// StackGres's queries.yaml where it has them. Every metric family is listed in docs/monitoring.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/render_postgresql.h"

namespace pgstack::config {

// The low-privilege role the exporter logs in as: a member of pg_monitor only (reads statistics, not
// table data). Created at bootstrap with the password of the cluster secrets' "monitor" entry.
inline constexpr std::string_view kMonitorUserName = "pgstack_monitor";
// Every query of the exporter is cut off after this long: a stuck catalog must not pile up scrapes.
inline constexpr int kExporterStatementTimeoutMs = 5000;

struct ExporterQueryOptions {
  int top_statements = 20;  // pg_statements_*: the statements with the most execution time
  int largest_tables = 20;  // pg_stat_user_tables_*: the largest tables of the exporter's database
};

struct ExporterMetric {
  std::string column;
  std::string usage;  // LABEL, GAUGE or COUNTER, as postgres_exporter reads it
  std::string description;
};

// One group of the queries file: the exporter names each metric <group>_<column>.
struct ExporterQuery {
  std::string group;
  std::string query;
  int cache_seconds = 0;  // 0: run at every scrape
  std::vector<ExporterMetric> metrics;
};

std::vector<ExporterQuery> exporter_queries(const ExporterQueryOptions& options = {});

// The queries file (YAML) of postgres_exporter 0.11.1.
std::string render_exporter_queries(const ExporterQueryOptions& options = {});

// Every metric family the queries add (<group>_<column> for each non-label column).
std::vector<std::string> exporter_query_families(const ExporterQueryOptions& options = {});

// The lib/pq key=value connection string: over the instance's Unix socket, as `user`, to `database`,
// with the statement timeout; the password comes from a passfile (PGPASSFILE), never from here.
std::string exporter_data_source(const InstanceLayout& layout, std::string_view user, std::string_view database);

// A passfile line that matches any host, port and database for `user`.
std::string exporter_passfile(std::string_view user, std::string_view password);

// "host:port" of the exporter's /metrics: the instance's exporter port on the address Patroni's REST API
// listens on (the host's address).
std::string exporter_listen_address(const InstanceLayout& layout);

// The exporter's command line (without the program).
std::vector<std::string> exporter_arguments(const InstanceLayout& layout, const std::string& queries_path);

}  // namespace pgstack::config
