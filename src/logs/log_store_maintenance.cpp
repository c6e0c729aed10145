#include "logs/log_store_maintenance.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "logs/log_store_plan.h"
#include "logs/log_store_target.h"
#include "postgres/postgres_session.h"

namespace pgstack::logs {
namespace {

using postgres::quote_identifier;
using postgres::quote_literal;

std::string create_or_alter_role(std::string_view user, const std::string& password) {
  // CREATE ROLE has no IF NOT EXISTS; a DO block keeps the whole text idempotent.
  const std::string name(user);  // pgstack's own names: nothing to quote
  return fmt::format(
      "DO $pgstack$ BEGIN\n"
      "  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {literal}) THEN CREATE ROLE {name}; END IF;\n"
      "END $pgstack$;\n"
      "ALTER ROLE {name} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS "
      "PASSWORD {password};\n",
      fmt::arg("literal", quote_literal(std::string(user))), fmt::arg("name", name),
      fmt::arg("password", quote_literal(password)));
}

}  // namespace

std::string render_log_store_roles(const std::string& writer_password, const std::string& reader_password) {
  // pgstack's own names (constants): nothing to quote.
  const std::string writer(kLogWriterUser);
  const std::string reader(kLogReaderUser);
  const std::string database(kLogStoreDatabase);
  std::vector<std::string> tables;
  std::vector<std::string> sequences;
  for (const std::string_view table : log_tables()) {
    tables.emplace_back(table);
    sequences.push_back(std::string(table) + "_id_seq");
  }
  std::string sql = create_or_alter_role(kLogWriterUser, writer_password);
  sql += create_or_alter_role(kLogReaderUser, reader_password);
  // Start from nothing, so that a grant someone added by hand does not outlive a maintenance pass.
  sql += fmt::format(
      "REVOKE ALL ON DATABASE {db} FROM PUBLIC, {w}, {r};\n"
      "GRANT CONNECT ON DATABASE {db} TO {w}, {r}, pg_monitor;\n"
      "REVOKE ALL ON SCHEMA public FROM PUBLIC, {w}, {r};\n"
      "GRANT USAGE ON SCHEMA public TO {w}, {r};\n"
      "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, {w}, {r};\n"
      "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, {w}, {r};\n"
      "GRANT INSERT ON {tables} TO {w};\n"
      "GRANT SELECT, INSERT, UPDATE, DELETE ON log_ingest_state TO {w};\n"
      "GRANT SELECT ON log_deleted_clusters TO {w};\n"
      "GRANT INSERT ON log_quarantine TO {w};\n"
      "GRANT USAGE ON SEQUENCE {sequences} TO {w};\n"
      "GRANT SELECT ON {tables}, log_quarantine TO {r};\n",
      fmt::arg("db", database), fmt::arg("w", writer), fmt::arg("r", reader),
      fmt::arg("tables", fmt::format("{}", fmt::join(tables, ", "))),
      fmt::arg("sequences", fmt::format("{}", fmt::join(sequences, ", "))));
  return sql;
}

std::string render_create_day_partition_from_default(std::string_view table, std::chrono::sys_days day) {
  const auto iso = [](std::chrono::sys_days when) {
    const std::chrono::year_month_day date{when};
    return fmt::format("{:04}-{:02}-{:02} 00:00:00+00", static_cast<int>(date.year()),
                       static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  };
  const std::string partition = day_partition_name(table, day);
  const std::string from = iso(day);
  const std::string to = iso(day + std::chrono::days(1));
  return fmt::format(
      "BEGIN;\n"
      "LOCK TABLE {table}_default IN SHARE ROW EXCLUSIVE MODE;\n"
      "CREATE TABLE IF NOT EXISTS {partition} (LIKE {table} INCLUDING DEFAULTS);\n"
      "WITH moved AS (DELETE FROM {table}_default WHERE log_time >= '{from}' AND log_time < '{to}' RETURNING *)\n"
      "  INSERT INTO {partition} SELECT * FROM moved;\n"
      "ALTER TABLE {table} ATTACH PARTITION {partition} FOR VALUES FROM ('{from}') TO ('{to}');\n"
      "COMMIT;\n",
      fmt::arg("table", table), fmt::arg("partition", partition), fmt::arg("from", from), fmt::arg("to", to));
}

std::string render_list_partitions(std::string_view table) {
  return fmt::format(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
      "WHERE i.inhparent = to_regclass({}) ORDER BY 1",
      quote_literal(std::string(table)));
}

std::string render_drop_partition(const std::string& partition) {
  return "DROP TABLE IF EXISTS " + quote_identifier(partition);
}

RetentionPlan plan_log_retention(const std::vector<ClusterLogRetention>& users) {
  const std::chrono::seconds fallback = parse_log_retention(kDefaultLogRetention).value();
  RetentionPlan plan;
  plan.partitions = fallback;
  if (!users.empty()) {
    plan.partitions = std::chrono::seconds::zero();
    for (const auto& user : users) plan.partitions = std::max(plan.partitions, user.retention.value_or(fallback));
  }
  for (const auto& user : users) {
    const std::chrono::seconds wanted = user.retention.value_or(fallback);
    if (wanted < plan.partitions) plan.trims.push_back({user.namespace_name, user.cluster, wanted});
  }
  return plan;
}

std::vector<ClusterLogRetention> clusters_using_store(const std::vector<model::Document>& clusters,
                                                      const LogStoreRef& store) {
  std::vector<ClusterLogRetention> users;
  for (const auto& cluster : clusters) {
    const model::Json& logs = cluster.body.value("spec", model::Json::object()).value("distributedLogs", model::Json());
    if (!logs.is_object() || !logs.contains("sgDistributedLogs") || !logs["sgDistributedLogs"].is_string()) continue;
    if (parse_log_store_reference(logs["sgDistributedLogs"].get<std::string>(), cluster.namespace_name()) != store)
      continue;
    ClusterLogRetention user{cluster.namespace_name(), cluster.name(), std::nullopt};
    if (logs.contains("retention") && logs["retention"].is_string()) {
      if (auto retention = parse_log_retention(logs["retention"].get<std::string>()); retention.ok())
        user.retention = retention.value();
    }
    users.push_back(std::move(user));
  }
  return users;
}

std::string format_log_retention(std::chrono::seconds retention) {
  const auto count = retention.count();
  const auto in = [&](std::int64_t unit, const char* name) {
    return fmt::format("{} {}{}", count / unit, name, count / unit == 1 ? "" : "s");
  };
  if (count > 0 && count % 86400 == 0) return in(86400, "day");
  if (count > 0 && count % 3600 == 0) return in(3600, "hour");
  if (count > 0 && count % 60 == 0) return in(60, "minute");
  return in(1, "second");
}

std::string render_trim_cluster_logs(std::string_view table, const std::string& namespace_name,
                                     const std::string& cluster, std::chrono::seconds after, int batch) {
  // id is unique (one sequence per table); the subquery bounds what one statement deletes.
  return fmt::format(
      "WITH deleted AS (DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE namespace = {ns} AND "
      "cluster = {cluster} AND log_time < now() - interval '{seconds} seconds' LIMIT {batch}) RETURNING 1) "
      "SELECT count(*) FROM deleted",
      fmt::arg("table", table), fmt::arg("ns", quote_literal(namespace_name)),
      fmt::arg("cluster", quote_literal(cluster)), fmt::arg("seconds", after.count()), fmt::arg("batch", batch));
}

std::string render_trim_quarantine(const RetentionPlan& plan) {
  std::string sql = fmt::format("DELETE FROM {} WHERE quarantined_at < now() - interval '{} seconds'", kQuarantineTable,
                                plan.partitions.count());
  for (const auto& trim : plan.trims)
    sql += fmt::format(" OR (namespace = {} AND cluster = {} AND quarantined_at < now() - interval '{} seconds')",
                       quote_literal(trim.namespace_name), quote_literal(trim.cluster), trim.after.count());
  return sql;
}

std::string render_delete_cluster_logs(const std::string& namespace_name, const std::string& cluster,
                                       const std::string& uid) {
  const std::string where =
      fmt::format("WHERE namespace = {} AND cluster = {}", quote_literal(namespace_name), quote_literal(cluster));
  // The lock waits for every shipper's open batch (they hold ACCESS SHARE from their first statement) and holds
  // back the next ones until the mark is committed: no batch of this cluster lands after the deletion.
  std::string sql = fmt::format(
      "BEGIN; SET LOCAL lock_timeout = '20s'; LOCK TABLE log_deleted_clusters IN ACCESS EXCLUSIVE MODE; "
      "INSERT INTO log_deleted_clusters (namespace, cluster, uid) VALUES ({}, {}, {}) ON CONFLICT DO NOTHING;",
      quote_literal(namespace_name), quote_literal(cluster), quote_literal(uid));
  for (const std::string_view table : log_tables()) sql += fmt::format(" DELETE FROM {} {};", table, where);
  sql += fmt::format(" DELETE FROM {} {};", kQuarantineTable, where);
  return sql + fmt::format(" DELETE FROM log_ingest_state {}; COMMIT", where);
}

}  // namespace pgstack::logs
