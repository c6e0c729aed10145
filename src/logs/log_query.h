// Reading a cluster's logs from the store (pure, no I/O): the logs API's query parameters as a
// LogQuery, the one SELECT that answers it over log_postgres, log_patroni and log_pgstack (UNION ALL), and its rows as
// the API's JSON items with a keyset cursor for the next page. Every value the caller sends reaches the SQL either
// quoted (postgres::quote_literal) or as a number, time or name it was checked to be. docs/logs.md
// ("Reading logs") describes the parameters, the severity ranking and the search.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "logs/ship_plan.h"

namespace pgstack::logs {

using LogTime = std::chrono::sys_time<std::chrono::milliseconds>;  // the store keeps milliseconds

inline constexpr int kDefaultLogRecords = 50;
inline constexpr int kMaxLogRecords = 1000;
// Without from or since, the window is this long, ending at `to` (or now): a bounded window keeps
// partition pruning on and a search from reading every day the store keeps.
inline constexpr std::chrono::hours kDefaultLogWindow{24};

// Severities in one ranking for every log, for "this level and more severe". Postgres's LOG (its own
// reports: checkpoints, connections, statements) ranks with INFO, not between ERROR and FATAL as in
// log_min_messages, so that errorLevel=error does not return every logged statement; so does PgBouncer's.
// Patroni's and the proxy's DEBUG, INFO, WARNING, ERROR rank as their names, CRITICAL as FATAL;
// pgBackRest's DETAIL and TRACE, PgBouncer's NOISE rank as DEBUG.
enum class LogLevel { kDebug, kInfo, kNotice, kWarning, kError, kFatal, kPanic };

// "debug", "debug1".."debug5", "info", "log", "notice", "warning", "warn", "error", "fatal", "critical",
// "panic", any case.
std::optional<LogLevel> parse_log_level(std::string_view text);
// A stored error_severity's rank; nothing for a value no log writes.
std::optional<LogLevel> rank_of_severity(std::string_view severity);

enum class LogSort { kAscending, kDescending };

// Where a page ended: records are ordered by (log_time, log type's name, id).
struct LogCursor {
  LogTime log_time;
  LogType type = LogType::kPostgres;
  std::int64_t id = 0;
  bool operator==(const LogCursor&) const = default;
};
// Opaque to clients: base64url (no padding) of "<RFC 3339 time with ms>|<type>|<id>".
std::string encode_log_cursor(const LogCursor& cursor);
Result<LogCursor> decode_log_cursor(std::string_view text);

// Every log type, in their order in a page at the same time.
std::vector<LogType> all_log_types();

struct LogQuery {
  std::string namespace_name;
  std::string cluster;
  std::vector<LogType> types = all_log_types();  // logType: which logs are read
  LogTime from;                                  // inclusive
  LogTime to;                                    // exclusive
  int records = kDefaultLogRecords;
  LogSort sort = LogSort::kDescending;
  // A case-insensitive substring of the message, and for Postgres also of detail, hint or query; LIKE's
  // wildcards are taken literally.
  std::string text;
  std::string member;
  std::string role;
  std::optional<LogLevel> min_level;
  // Postgres-only fields: a query naming any of them reads Postgres's records only.
  std::string user_name;
  std::string database_name;
  std::string sql_state;
  std::string session_id;
  std::optional<LogCursor> after;  // continue after this record, in the sort direction
};

// The API's query parameters (docs/logs.md): records, from, to, since, sort, text, logType,
// podName (or member), role, errorLevel, userName, databaseName, sqlState, sessionId, after. Errors start
// with "query parameter <name>:" and say what is expected; an unknown parameter is refused with the closest
// known one. `now` ends the default window and is where `since` counts back from.
Result<LogQuery> parse_log_query(std::string namespace_name, std::string cluster,
                                 const std::map<std::string, std::string>& parameters,
                                 std::chrono::system_clock::time_point now);

// One SELECT over the tables asked for (UNION ALL), the cluster's records in [from, to) matching every
// filter, ordered by (log_time, log type, id) in the sort direction, at most records + 1 rows (the extra
// one says there is a next page).
std::string render_log_query(const LogQuery& query);

// What render_log_query selects, in order: log_time (RFC 3339 text), log_type, id, instance, role,
// error_severity, message, sql_state, user_name, database_name, process_id, session_id, session_line_num,
// command_tag, application_name, detail, hint, context, query, backend_type, transaction_id.
inline constexpr std::size_t kLogQueryColumnCount = 21;

// The rows of render_log_query(query) (as text, NULL as "") as the API's answer:
// {"items": [...], "next": "<cursor>" | null}; `next` is set when there was an extra row.
Result<nlohmann::json> log_rows_to_json(const std::vector<std::vector<std::string>>& rows, const LogQuery& query);

}  // namespace pgstack::logs
