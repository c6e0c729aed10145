// The log store's tables and their daily partitions (pure, no I/O): the DDL of a store, StackGres's
// retention syntax, and which partitions to create ahead and which to drop for retention. The
// controller is to run what these return against the store.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace pgstack::logs {

// The tables, named as StackGres names them. log_postgres has Postgres 15's csvlog columns, so a csvlog
// record is COPY input as it is; cluster, instance and role come from column defaults reading
// `SET LOCAL pgstack.*`, so the shipper never rewrites a line.
inline constexpr std::string_view kPostgresLogTable = "log_postgres";
inline constexpr std::string_view kPatroniLogTable = "log_patroni";
// pgstack's own parts (PgBouncer, pgBackRest, pgstack-proxy), told apart by log_type.
inline constexpr std::string_view kPgstackLogTable = "log_pgstack";
std::vector<std::string_view> log_tables();
// What the store refused even as one record, kept as the file's bytes with the reason (not partitioned: rare).
inline constexpr std::string_view kQuarantineTable = "log_quarantine";

// The columns a COPY fills: csvlog's 26 in its order, a Patroni record's three, a pgstack record's four.
inline constexpr std::string_view kCsvlogColumns =
    "log_time, user_name, database_name, process_id, connection_from, session_id, session_line_num, command_tag, "
    "session_start_time, virtual_transaction_id, transaction_id, error_severity, sql_state_code, message, detail, "
    "hint, internal_query, internal_query_pos, context, query, query_pos, location, application_name, backend_type, "
    "leader_pid, query_id";
inline constexpr std::string_view kPatroniColumns = "log_time, error_severity, message";
inline constexpr std::string_view kPgstackColumns = "log_time, log_type, error_severity, message";

// `spec.distributedLogs.retention`: "<n> minute(s)|hour(s)|day(s)|week(s)|month(s)", as the validator
// accepts it (StackGres's pattern, plus weeks and no space); a month is 30 days. Errors name the field and the expected
// form.
Result<std::chrono::seconds> parse_log_retention(std::string_view text);

// Every statement that makes an empty database a log store; idempotent (IF NOT EXISTS throughout).
std::string render_log_store_schema();

// A day's partition: `<table>_YYYYMMDD`, for [day 00:00 UTC, next day 00:00 UTC).
std::string day_partition_name(std::string_view table, std::chrono::sys_days day);
std::string render_create_day_partition(std::string_view table, std::chrono::sys_days day);

struct PartitionPlan {
  std::vector<std::chrono::sys_days> create;  // days without a partition, today and the days just ahead
  std::vector<std::string> drop;              // whole partitions past retention, oldest first
};

// For one table: `existing` are its partitions' names (others, the DEFAULT one included, are ignored).
// Partitions are made for today and `days_ahead` more, so a line never lands in DEFAULT at midnight. A
// partition is dropped once its whole day is older than `retention`: lines are kept at least that long
// and at most a day more. Today's and later partitions are never dropped.
PartitionPlan plan_partitions(std::string_view table, const std::vector<std::string>& existing,
                              std::chrono::system_clock::time_point now, std::chrono::seconds retention,
                              int days_ahead = 2);

}  // namespace pgstack::logs
