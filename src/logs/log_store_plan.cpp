#include "logs/log_store_plan.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "common/strings.h"

namespace pgstack::logs {

std::vector<std::string_view> log_tables() { return {kPostgresLogTable, kPatroniLogTable, kPgstackLogTable}; }

Result<std::chrono::seconds> parse_log_retention(std::string_view text) {
  const auto invalid = [&] {
    return make_error(
        ErrorCode::kInvalidInput,
        fmt::format("distributedLogs.retention: \"{}\" is not \"<number> minutes|hours|days|weeks|months\" "
                    "(for example \"7 days\")",
                    text));
  };
  // The validator's pattern (model/kinds.cpp): digits, optional spaces, a unit.
  const std::size_t digits = text.find_first_not_of("0123456789");
  if (digits == 0 || digits == std::string_view::npos) return invalid();
  const auto count = parse_unsigned(text.substr(0, digits));
  if (!count || *count == 0 || *count > 100000) return invalid();
  std::string_view unit = text.substr(digits);
  while (unit.starts_with(' ')) unit.remove_prefix(1);
  if (unit.size() > 1 && unit.back() == 's') unit.remove_suffix(1);
  std::chrono::seconds each{};
  if (unit == "minute") {
    each = std::chrono::minutes(1);
  } else if (unit == "hour") {
    each = std::chrono::hours(1);
  } else if (unit == "day") {
    each = std::chrono::days(1);
  } else if (unit == "week") {
    each = std::chrono::days(7);
  } else if (unit == "month") {
    each = std::chrono::days(30);
  } else {
    return invalid();
  }
  return each * static_cast<std::int64_t>(*count);
}

std::string render_log_store_schema() {
  // Columns in csvlog's order (Postgres 15, 26 columns) so COPY takes a record unchanged.
  return R"sql(CREATE SEQUENCE IF NOT EXISTS log_postgres_id_seq CACHE 1000;
CREATE SEQUENCE IF NOT EXISTS log_patroni_id_seq CACHE 1000;
CREATE SEQUENCE IF NOT EXISTS log_pgstack_id_seq CACHE 1000;
CREATE TABLE IF NOT EXISTS log_postgres (
  log_time timestamptz(3) NOT NULL,
  user_name text, database_name text, process_id integer, connection_from text, session_id text,
  session_line_num bigint, command_tag text, session_start_time timestamptz, virtual_transaction_id text,
  transaction_id bigint, error_severity text, sql_state_code text, message text, detail text, hint text,
  internal_query text, internal_query_pos integer, context text, query text, query_pos integer,
  location text, application_name text, backend_type text, leader_pid integer, query_id bigint,
  namespace text NOT NULL DEFAULT current_setting('pgstack.namespace'),
  cluster text NOT NULL DEFAULT current_setting('pgstack.cluster'),
  instance text NOT NULL DEFAULT current_setting('pgstack.instance'),
  role text DEFAULT current_setting('pgstack.role', true),
  id bigint NOT NULL DEFAULT nextval('log_postgres_id_seq')
) PARTITION BY RANGE (log_time);
CREATE TABLE IF NOT EXISTS log_patroni (
  log_time timestamptz(3) NOT NULL,
  error_severity text, message text,
  namespace text NOT NULL DEFAULT current_setting('pgstack.namespace'),
  cluster text NOT NULL DEFAULT current_setting('pgstack.cluster'),
  instance text NOT NULL DEFAULT current_setting('pgstack.instance'),
  role text DEFAULT current_setting('pgstack.role', true),
  id bigint NOT NULL DEFAULT nextval('log_patroni_id_seq')
) PARTITION BY RANGE (log_time);
-- PgBouncer's, pgBackRest's and pgstack-proxy's lines: log_type says which.
CREATE TABLE IF NOT EXISTS log_pgstack (
  log_time timestamptz(3) NOT NULL,
  log_type text NOT NULL, error_severity text, message text,
  namespace text NOT NULL DEFAULT current_setting('pgstack.namespace'),
  cluster text NOT NULL DEFAULT current_setting('pgstack.cluster'),
  instance text NOT NULL DEFAULT current_setting('pgstack.instance'),
  role text DEFAULT current_setting('pgstack.role', true),
  id bigint NOT NULL DEFAULT nextval('log_pgstack_id_seq')
) PARTITION BY RANGE (log_time);
-- A safety net for a line outside every day partition; an alert says when it holds rows.
CREATE TABLE IF NOT EXISTS log_postgres_default PARTITION OF log_postgres DEFAULT;
CREATE TABLE IF NOT EXISTS log_patroni_default PARTITION OF log_patroni DEFAULT;
CREATE TABLE IF NOT EXISTS log_pgstack_default PARTITION OF log_pgstack DEFAULT;
-- Newest lines of a cluster (or of one of its members, filtered on the way), keyset paging on (log_time,
-- id), read backwards by the logs API; "what broke" in a time window; one session's lines.
CREATE INDEX IF NOT EXISTS log_postgres_cluster_time ON log_postgres (namespace, cluster, log_time, id);
CREATE INDEX IF NOT EXISTS log_postgres_problems ON log_postgres (namespace, cluster, log_time)
  WHERE error_severity NOT IN ('LOG', 'DEBUG1', 'DEBUG2', 'DEBUG3', 'DEBUG4', 'DEBUG5', 'INFO', 'NOTICE');
CREATE INDEX IF NOT EXISTS log_postgres_session ON log_postgres (session_id, session_line_num);
CREATE INDEX IF NOT EXISTS log_postgres_time ON log_postgres USING brin (log_time);
CREATE INDEX IF NOT EXISTS log_patroni_cluster_time ON log_patroni (namespace, cluster, log_time, id);
CREATE INDEX IF NOT EXISTS log_pgstack_cluster_time ON log_pgstack (namespace, cluster, log_time, id);
-- Where each shipped file stands, written in the transaction of its COPY: exactly once across crashes.
CREATE TABLE IF NOT EXISTS log_ingest_state (
  namespace text NOT NULL, cluster text NOT NULL, instance text NOT NULL, log_type text NOT NULL,
  device bigint NOT NULL, inode bigint NOT NULL, offset_bytes bigint NOT NULL,
  file_name text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),
  -- SHA-256 of the file's first head_bytes bytes: an inode reused by a new file does not resume the old offset.
  head_bytes bigint NOT NULL DEFAULT 0, head_digest text NOT NULL DEFAULT '',
  PRIMARY KEY (namespace, cluster, instance, log_type, device, inode)
);
-- Clusters whose lines were deleted on request (deleteLogs), by their SGCluster's uid: their shippers, which run
-- until the instances stop, check it in each batch's transaction and ship nothing more. A cluster made again
-- under the same name has a new uid and ships.
CREATE TABLE IF NOT EXISTS log_deleted_clusters (
  namespace text NOT NULL, cluster text NOT NULL, uid text NOT NULL,
  deleted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (namespace, cluster, uid)
);
-- What the store refused even as one record (a csvlog record cut inside its quotes), as the file's bytes, written
-- in the transaction that moves the offset past them: skipped, but never thrown away. Kept as long as the lines.
CREATE TABLE IF NOT EXISTS log_quarantine (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  quarantined_at timestamptz NOT NULL DEFAULT now(),
  log_type text NOT NULL, file_name text NOT NULL, offset_bytes bigint NOT NULL, bytes bytea NOT NULL,
  reason text NOT NULL,
  namespace text NOT NULL DEFAULT current_setting('pgstack.namespace'),
  cluster text NOT NULL DEFAULT current_setting('pgstack.cluster'),
  instance text NOT NULL DEFAULT current_setting('pgstack.instance'),
  role text DEFAULT current_setting('pgstack.role', true)
);
CREATE INDEX IF NOT EXISTS log_quarantine_cluster_time ON log_quarantine (namespace, cluster, quarantined_at);
-- Shippers stop within seconds of a deletion; a month later the mark is of no use.
DELETE FROM log_deleted_clusters WHERE deleted_at < now() - interval '30 days';
)sql";
}

std::string day_partition_name(std::string_view table, std::chrono::sys_days day) {
  const std::chrono::year_month_day date{day};
  return fmt::format("{}_{:04}{:02}{:02}", table, static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                     static_cast<unsigned>(date.day()));
}

namespace {

std::string iso_day(std::chrono::sys_days day) {
  const std::chrono::year_month_day date{day};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                     static_cast<unsigned>(date.day()));
}

// The day of a partition name this module made, nothing for any other name.
std::optional<std::chrono::sys_days> partition_day(std::string_view table, std::string_view name) {
  if (name.size() != table.size() + 9 || !name.starts_with(table) || name[table.size()] != '_') return std::nullopt;
  const std::string_view digits = name.substr(table.size() + 1);
  const auto number = parse_unsigned(digits);
  if (!number) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year(static_cast<int>(*number / 10000)),
                                         std::chrono::month(static_cast<unsigned>(*number / 100 % 100)),
                                         std::chrono::day(static_cast<unsigned>(*number % 100))};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days(date);
}

}  // namespace

std::string render_create_day_partition(std::string_view table, std::chrono::sys_days day) {
  return fmt::format(
      "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ('{} 00:00:00+00') TO ('{} "
      "00:00:00+00');\n",
      day_partition_name(table, day), table, iso_day(day), iso_day(day + std::chrono::days(1)));
}

PartitionPlan plan_partitions(std::string_view table, const std::vector<std::string>& existing,
                              std::chrono::system_clock::time_point now, std::chrono::seconds retention,
                              int days_ahead) {
  PartitionPlan plan;
  const auto today = std::chrono::floor<std::chrono::days>(now);
  std::vector<std::pair<std::chrono::sys_days, std::string>> days;
  for (const auto& name : existing) {
    if (auto day = partition_day(table, name)) days.emplace_back(*day, name);
  }
  std::sort(days.begin(), days.end());
  for (int ahead = 0; ahead <= days_ahead; ++ahead) {
    const auto day = today + std::chrono::days(ahead);
    if (std::none_of(days.begin(), days.end(), [&](const auto& known) { return known.first == day; }))
      plan.create.push_back(day);
  }
  for (const auto& [day, name] : days) {
    const auto day_ends = day + std::chrono::days(1);
    if (day < today && day_ends + retention <= now) plan.drop.push_back(name);
  }
  return plan;
}

}  // namespace pgstack::logs
