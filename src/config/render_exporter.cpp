#include "config/render_exporter.h"

#include <fmt/format.h>

namespace pgstack::config {
namespace {

ExporterMetric label(std::string column, std::string description) {
  return {std::move(column), "LABEL", std::move(description)};
}
ExporterMetric gauge(std::string column, std::string description) {
  return {std::move(column), "GAUGE", std::move(description)};
}
ExporterMetric counter(std::string column, std::string description) {
  return {std::move(column), "COUNTER", std::move(description)};
}

// A description as one YAML double-quoted scalar.
std::string yaml_quoted(std::string_view text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

// The WAL position an instance has: written on a primary, received on a replica.
constexpr std::string_view kLocalLsn =
    "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END";

}  // namespace

std::vector<ExporterQuery> exporter_queries(const ExporterQueryOptions& options) {
  std::vector<ExporterQuery> queries;
  // StackGres' pg_replication, with is_replica; a replica that replayed all it received has no lag
  // even when the primary is idle (now() - last replay time grows then).
  queries.push_back(
      {"pg_replication",
       "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0\n"
       "            WHEN pg_last_wal_receive_lsn() IS NOT NULL AND pg_last_wal_receive_lsn() = "
       "pg_last_wal_replay_lsn() "
       "THEN 0\n"
       "            ELSE GREATEST(0, COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)) END "
       "AS lag,\n"
       "       CASE WHEN pg_is_in_recovery() THEN 1 ELSE 0 END AS is_replica,\n"
       "       CASE WHEN pg_is_in_recovery() THEN COALESCE(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), "
       "pg_last_wal_replay_lsn()), 0) ELSE 0 END AS replay_pending_bytes",
       0,
       {gauge("lag",
              "Seconds this replica's replay is behind (0 on a primary or a replica that replayed all it "
              "received)"),
        gauge("is_replica", "1 when the instance is in recovery (a replica), 0 on a primary"),
        gauge("replay_pending_bytes", "WAL bytes received but not yet replayed (0 on a primary)")}});
  queries.push_back({"pg_postmaster",
                     "SELECT EXTRACT(EPOCH FROM pg_postmaster_start_time()) AS start_time_seconds",
                     0,
                     {gauge("start_time_seconds", "When Postgres started, in seconds since the epoch")}});
  // Per standby, as the primary sees it (pg_stat_replication has rows only there).
  queries.push_back(
      {"pg_replication_status",
       "SELECT application_name, COALESCE(host(client_addr), 'local') AS client_addr, state, sync_state,\n"
       "       COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0) AS lag_bytes,\n"
       "       COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn), 0) AS flush_lag_bytes,\n"
       "       COALESCE(EXTRACT(EPOCH FROM replay_lag), 0) AS lag_seconds,\n"
       "       COALESCE(EXTRACT(EPOCH FROM flush_lag), 0) AS flush_lag_seconds\n"
       "FROM pg_stat_replication WHERE NOT pg_is_in_recovery()",
       0,
       {label("application_name", "The standby's application_name (its member name)"),
        label("client_addr", "The standby's address"), label("state", "streaming, catchup, startup..."),
        label("sync_state", "async, sync, quorum or potential"),
        gauge("lag_bytes", "WAL bytes the standby has not replayed yet"),
        gauge("flush_lag_bytes", "WAL bytes the standby has not flushed yet"),
        gauge("lag_seconds", "Replay lag the primary measured (0 while the standby is idle and caught up)"),
        gauge("flush_lag_seconds", "Flush lag the primary measured")}});
  queries.push_back({"pg_replication_slot",
                     fmt::format("SELECT slot_name, slot_type, COALESCE(database, '') AS database,\n"
                                 "       CASE WHEN active THEN 1 ELSE 0 END AS active,\n"
                                 "       COALESCE(pg_wal_lsn_diff({}, restart_lsn), 0) AS retained_wal_bytes,\n"
                                 "       COALESCE(age(xmin), 0) AS xmin_age\n"
                                 "FROM pg_replication_slots",
                                 kLocalLsn),
                     0,
                     {label("slot_name", "The slot"), label("slot_type", "physical or logical"),
                      label("database", "A logical slot's database (empty for a physical one)"),
                      gauge("active", "1 while a consumer uses the slot"),
                      gauge("retained_wal_bytes", "WAL bytes the slot keeps from being removed"),
                      gauge("xmin_age", "Transactions since the slot's xmin (it holds back vacuum)")}});
  queries.push_back({"pg_wal",
                     fmt::format("SELECT pg_wal_lsn_diff({}, '0/0') AS position_bytes", kLocalLsn),
                     0,
                     {counter("position_bytes",
                              "WAL position in bytes: written on a primary, received on a replica "
                              "(its rate is the WAL rate)")}});
  queries.push_back({"pg_database_datfrozenxid",
                     "SELECT datname, age(datfrozenxid) AS age FROM pg_database WHERE datallowconn",
                     0,
                     {label("datname", "The database"),
                      gauge("age", "Transactions since the database's oldest unfrozen xid (wraparound at 2^31)")}});
  // StackGres' pg_long_running_transactions: older than a minute, VACUUM and autovacuum excluded.
  queries.push_back({"pg_long_running_transactions",
                     "SELECT count(*) AS count, COALESCE(max(EXTRACT(EPOCH FROM now() - xact_start)), 0) AS "
                     "max_age_seconds\n"
                     "FROM pg_stat_activity WHERE xact_start < now() - interval '1 minute' AND backend_type = 'client "
                     "backend'\n"
                     "  AND query NOT ILIKE '%VACUUM%'",
                     0,
                     {gauge("count", "Transactions open for more than a minute"),
                      gauge("max_age_seconds", "Age of the oldest of them")}});
  queries.push_back({"pg_idle_in_transaction",
                     "SELECT count(*) AS count, COALESCE(max(EXTRACT(EPOCH FROM now() - state_change)), 0) AS "
                     "max_idle_seconds\n"
                     "FROM pg_stat_activity WHERE state IN ('idle in transaction', 'idle in transaction (aborted)')",
                     0,
                     {gauge("count", "Sessions idle inside a transaction"),
                      gauge("max_idle_seconds", "The longest time one of them has been idle")}});
  queries.push_back({"pg_connections",
                     "SELECT current_setting('max_connections')::int AS max_connections,\n"
                     "       current_setting('superuser_reserved_connections')::int AS reserved_connections,\n"
                     "       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS used",
                     0,
                     {gauge("max_connections", "max_connections"),
                      gauge("reserved_connections", "superuser_reserved_connections (not open to other users)"),
                      gauge("used", "Client connections open now")}});
  // StackGres' pg_blocked and pg_oldest_blocked.
  queries.push_back(
      {"pg_blocked",
       "SELECT locktype, count(*) AS queries FROM pg_locks WHERE NOT granted GROUP BY locktype",
       0,
       {label("locktype", "The kind of lock waited for"), gauge("queries", "Lock requests waiting now")}});
  queries.push_back({"pg_oldest_blocked",
                     "SELECT COALESCE(max(EXTRACT(EPOCH FROM now() - state_change)), 0) AS age_seconds\n"
                     "FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
                     0,
                     {gauge("age_seconds", "How long the longest lock wait has lasted")}});
  queries.push_back({"pg_cache",
                     "SELECT datname, CASE WHEN blks_hit + blks_read = 0 THEN 1\n"
                     "       ELSE blks_hit::float8 / (blks_hit + blks_read) END AS hit_ratio\n"
                     "FROM pg_stat_database WHERE datname IS NOT NULL",
                     0,
                     {label("datname", "The database"),
                      gauge("hit_ratio", "Share of block reads found in shared buffers since the statistics reset")}});
  // The top statements by execution time (pg_stat_statements is preloaded and created at bootstrap);
  // the query id, not the text: texts may hold literals and are many.
  queries.push_back(
      {"pg_statements",
       fmt::format("SELECT d.datname, r.rolname AS user, s.queryid::text AS queryid, s.calls,\n"
                   "       s.total_exec_time / 1000 AS total_time_seconds, s.mean_exec_time / 1000 AS "
                   "mean_time_seconds, s.rows\n"
                   "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid JOIN pg_roles r ON r.oid = "
                   "s.userid\n"
                   "WHERE s.queryid IS NOT NULL ORDER BY s.total_exec_time DESC LIMIT {}",
                   options.top_statements),
       30,
       {label("datname", "The database"), label("user", "The role that ran it"),
        label("queryid", "pg_stat_statements' query id"), counter("calls", "Times executed"),
        counter("total_time_seconds", "Total execution time"), gauge("mean_time_seconds", "Mean execution time"),
        counter("rows", "Rows retrieved or affected")}});
  // The largest tables of the exporter's database: dead tuples and how long since (auto)vacuum and analyze.
  queries.push_back(
      {"pg_stat_user_tables",
       // A table someone holds or waits for ACCESS EXCLUSIVE on (a long ALTER TABLE) has no size this
       // scrape: measuring it would wait for the lock until statement_timeout and lose every table's series.
       fmt::format("WITH sized AS (\n"
                   "  SELECT t.*, CASE WHEN EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'relation'\n"
                   "      AND l.relation = t.relid AND l.mode = 'AccessExclusiveLock') THEN NULL\n"
                   "    ELSE pg_total_relation_size(t.relid) END AS size_bytes\n"
                   "  FROM pg_stat_user_tables t)\n"
                   "SELECT current_database() AS datname, schemaname, relname,\n"
                   "       size_bytes, n_live_tup, n_dead_tup,\n"
                   "       EXTRACT(EPOCH FROM now() - GREATEST(last_vacuum, last_autovacuum)) AS "
                   "last_vacuum_age_seconds,\n"
                   "       EXTRACT(EPOCH FROM now() - GREATEST(last_analyze, last_autoanalyze)) AS "
                   "last_analyze_age_seconds,\n"
                   "       vacuum_count + autovacuum_count AS vacuum_count, analyze_count + autoanalyze_count AS "
                   "analyze_count\n"
                   "FROM sized ORDER BY size_bytes DESC NULLS LAST LIMIT {}",
                   options.largest_tables),
       60,
       {label("datname", "The database"), label("schemaname", "The table's schema"), label("relname", "The table"),
        gauge("size_bytes", "Size with indexes and TOAST (NaN while an ACCESS EXCLUSIVE lock is held or awaited)"),
        gauge("n_live_tup", "Estimated live rows"), gauge("n_dead_tup", "Estimated dead rows (vacuum removes them)"),
        gauge("last_vacuum_age_seconds", "Seconds since the last vacuum or autovacuum (NaN: never)"),
        gauge("last_analyze_age_seconds", "Seconds since the last analyze or autoanalyze (NaN: never)"),
        counter("vacuum_count", "Vacuums and autovacuums"), counter("analyze_count", "Analyzes and autoanalyzes")}});
  return queries;
}

std::string render_exporter_queries(const ExporterQueryOptions& options) {
  std::string yaml =
      "# Written by pgstack-agent: postgres_exporter's queries for this instance (docs/monitoring.md).\n";
  for (const auto& query : exporter_queries(options)) {
    yaml += fmt::format("{}:\n  query: |\n", query.group);
    std::string_view text = query.query;
    while (!text.empty()) {
      const auto end = text.find('\n');
      yaml += fmt::format("    {}\n", text.substr(0, end));
      if (end == std::string_view::npos) break;
      text.remove_prefix(end + 1);
    }
    yaml += "  master: true\n";
    if (query.cache_seconds > 0) yaml += fmt::format("  cache_seconds: {}\n", query.cache_seconds);
    yaml += "  metrics:\n";
    for (const auto& metric : query.metrics) {
      yaml += fmt::format("    - {}:\n        usage: \"{}\"\n        description: {}\n", metric.column, metric.usage,
                          yaml_quoted(metric.description));
    }
  }
  return yaml;
}

std::vector<std::string> exporter_query_families(const ExporterQueryOptions& options) {
  std::vector<std::string> families;
  for (const auto& query : exporter_queries(options)) {
    for (const auto& metric : query.metrics) {
      if (metric.usage != "LABEL") families.push_back(query.group + "_" + metric.column);
    }
  }
  return families;
}

std::string exporter_data_source(const InstanceLayout& layout, std::string_view user, std::string_view database) {
  // lib/pq passes keys it does not know (statement_timeout, application_name) on as run-time parameters.
  auto quoted = [](std::string_view value) {
    std::string out = "'";
    for (const char c : value) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    return out + "'";
  };
  return fmt::format(
      "host={} port={} user={} dbname={} sslmode=disable application_name=pgstack-exporter "
      "statement_timeout={}",
      quoted(layout.socket_dir), layout.postgres_port, quoted(user), quoted(database), kExporterStatementTimeoutMs);
}

std::string exporter_passfile(std::string_view user, std::string_view password) {
  auto escaped = [](std::string_view text) {
    std::string out;
    for (const char c : text) {
      if (c == ':' || c == '\\') out += '\\';
      out += c;
    }
    return out;
  };
  return fmt::format("*:*:*:{}:{}\n", escaped(user), escaped(password));
}

std::string exporter_listen_address(const InstanceLayout& layout) {
  // IPv6 literals need brackets in host:port.
  if (layout.host_address.find(':') != std::string::npos)
    return fmt::format("[{}]:{}", layout.host_address, layout.exporter_port);
  return fmt::format("{}:{}", layout.host_address, layout.exporter_port);
}

std::vector<std::string> exporter_arguments(const InstanceLayout& layout, const std::string& queries_path) {
  return {"--web.listen-address=" + exporter_listen_address(layout), "--extend.query-path=" + queries_path,
          "--log.level=warn"};
}

}  // namespace pgstack::config
