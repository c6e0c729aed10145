#include "logs/log_query.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "common/strings.h"
#include "common/time.h"
#include "logs/log_store_plan.h"
#include "postgres/postgres_session.h"

namespace pgstack::logs {
namespace {

using std::chrono::milliseconds;

Error invalid_parameter(std::string_view parameter, const std::string& message) {
  return make_error(ErrorCode::kInvalidInput, fmt::format("query parameter {}: {}", parameter, message));
}

// What a refusal quotes of the input: short, and only printable ASCII.
std::string excerpt(std::string_view text) {
  std::string shown;
  for (char c : text.substr(0, 40)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
  return text.size() > 40 ? shown + "..." : shown;
}

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t length = lead < 0x80           ? 1
                               : (lead >> 5) == 0x6  ? 2
                               : (lead >> 4) == 0xe  ? 3
                               : (lead >> 3) == 0x1e ? 4
                                                     : 0;
    if (length == 0 || i + length > text.size()) return false;
    std::uint32_t code = length == 1 ? lead : lead & (0x7f >> length);
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8 (Postgres refuses them).
    static constexpr std::array<std::uint32_t, 5> kSmallest = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kSmallest[length] || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return false;
    i += length;
  }
  return true;
}

// A free-text value: UTF-8 without control characters (a NUL would end the statement libpq sends).
Result<std::string> text_value(std::string_view parameter, std::string_view value, std::size_t max_length) {
  if (value.size() > max_length) return invalid_parameter(parameter, fmt::format("longer than {} bytes", max_length));
  if (!is_valid_utf8(value)) return invalid_parameter(parameter, "is not UTF-8");
  if (std::any_of(value.begin(), value.end(), [](char c) { return (c >= 0 && c < 0x20) || c == 0x7f; }))
    return invalid_parameter(parameter, "contains a control character");
  return std::string(value);
}

std::string format_log_time(LogTime time) {
  const auto day = std::chrono::floor<std::chrono::days>(time);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss<milliseconds> clock{time - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), clock.hours().count(),
                     clock.minutes().count(), clock.seconds().count(), clock.subseconds().count());
}

// RFC 3339 with up to millisecond precision (further digits are cut).
std::optional<LogTime> parse_log_time(std::string_view text) {
  std::string whole(text);
  long long fraction_ms = 0;
  if (whole.size() > 20 && whole[19] == '.') {
    std::size_t end = 20;
    while (end < whole.size() && whole[end] >= '0' && whole[end] <= '9') ++end;
    if (end == 20) return std::nullopt;
    std::string digits = whole.substr(20, std::min<std::size_t>(3, end - 20));
    while (digits.size() < 3) digits += '0';
    fraction_ms = std::stoll(digits);
    whole.erase(19, end - 19);
  }
  const auto seconds = parse_utc_timestamp(whole);
  if (!seconds) return std::nullopt;
  return LogTime(std::chrono::time_point_cast<milliseconds>(*seconds) + milliseconds(fraction_ms));
}

// "90s", "10m", "2h", "7d", "1w": how far back `since` starts.
std::optional<milliseconds> parse_since(std::string_view text) {
  const std::size_t digits = text.find_first_not_of("0123456789");
  if (digits == 0 || digits == std::string_view::npos || digits > 9) return std::nullopt;
  const auto count = parse_unsigned(text.substr(0, digits));
  if (!count) return std::nullopt;
  const std::string_view unit = text.substr(digits);
  const auto n = static_cast<std::int64_t>(*count);
  if (unit == "s") return std::chrono::seconds(n);
  if (unit == "m") return std::chrono::minutes(n);
  if (unit == "h") return std::chrono::hours(n);
  if (unit == "d") return std::chrono::days(n);
  if (unit == "w") return std::chrono::weeks(n);
  return std::nullopt;
}

std::string base64url_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 0x3f];
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int value = -1;
    if (c >= 'A' && c <= 'Z') value = c - 'A';
    if (c >= 'a' && c <= 'z') value = c - 'a' + 26;
    if (c >= '0' && c <= '9') value = c - '0' + 52;
    if (c == '-') value = 62;
    if (c == '_') value = 63;
    if (value < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

std::optional<LogType> parse_log_type(std::string_view text) {
  const std::string lower = to_lower(text);
  if (lower == "postgresql" || lower == "pg") return LogType::kPostgres;
  if (lower == "pa") return LogType::kPatroni;
  for (const LogType type : all_log_types()) {
    if (lower == log_type_name(type)) return type;
  }
  return std::nullopt;
}

struct SeverityRank {
  std::string_view severity;
  LogLevel level;
};
// Every severity a log writes (the shipper stores them upper case), with its rank (log_query.h says why
// LOG ranks with INFO).
constexpr SeverityRank kSeverities[] = {
    {"DEBUG5", LogLevel::kDebug},    {"DEBUG4", LogLevel::kDebug},   {"DEBUG3", LogLevel::kDebug},
    {"DEBUG2", LogLevel::kDebug},    {"DEBUG1", LogLevel::kDebug},   {"DEBUG", LogLevel::kDebug},
    {"TRACE", LogLevel::kDebug},     {"DETAIL", LogLevel::kDebug},   {"NOISE", LogLevel::kDebug},
    {"INFO", LogLevel::kInfo},       {"LOG", LogLevel::kInfo},       {"NOTICE", LogLevel::kNotice},
    {"WARNING", LogLevel::kWarning}, {"WARN", LogLevel::kWarning},   {"ERROR", LogLevel::kError},
    {"FATAL", LogLevel::kFatal},     {"CRITICAL", LogLevel::kFatal}, {"PANIC", LogLevel::kPanic},
};

// `error_severity IN (...)` of the severities at `level` or above, from the table above only.
std::string severity_condition(LogLevel level) {
  std::vector<std::string> names;
  for (const auto& rank : kSeverities) {
    if (rank.level >= level) names.push_back("'" + std::string(rank.severity) + "'");
  }
  return fmt::format("error_severity IN ({})", fmt::join(names, ", "));
}

// LIKE's wildcards and its escape character taken literally.
std::string like_escape(std::string_view text) {
  std::string escaped;
  for (char c : text) {
    if (c == '\\' || c == '%' || c == '_') escaped += '\\';
    escaped += c;
  }
  return escaped;
}

std::string literal(const std::string& value) { return postgres::quote_literal(value); }
std::string time_literal(LogTime time) { return literal(format_log_time(time)) + "::timestamptz"; }

// The WHERE of one table's branch.
std::string branch_conditions(const LogQuery& query, LogType type) {
  std::vector<std::string> conditions = {
      "namespace = " + literal(query.namespace_name),
      "cluster = " + literal(query.cluster),
      "log_time >= " + time_literal(query.from),
      "log_time < " + time_literal(query.to),
  };
  if (!query.member.empty()) conditions.push_back("instance = " + literal(query.member));
  if (!query.role.empty()) conditions.push_back("role = " + literal(query.role));
  if (query.min_level) conditions.push_back(severity_condition(*query.min_level));
  if (log_table_for(type) == kPgstackLogTable)
    conditions.push_back("log_type = " + literal(std::string(log_type_name(type))));
  if (type == LogType::kPostgres) {
    if (!query.user_name.empty()) conditions.push_back("user_name = " + literal(query.user_name));
    if (!query.database_name.empty()) conditions.push_back("database_name = " + literal(query.database_name));
    if (!query.sql_state.empty()) conditions.push_back("sql_state_code = " + literal(query.sql_state));
    if (!query.session_id.empty()) conditions.push_back("session_id = " + literal(query.session_id));
  }
  if (!query.text.empty()) {
    const std::string pattern = literal("%" + like_escape(query.text) + "%");
    const auto matches = [&](std::string_view column) {
      return fmt::format("{} ILIKE {} ESCAPE '\\'", column, pattern);
    };
    if (type == LogType::kPostgres)
      conditions.push_back(fmt::format("({} OR {} OR {} OR {})", matches("message"), matches("detail"), matches("hint"),
                                       matches("query")));
    else
      conditions.push_back(matches("message"));
  }
  if (query.after) {
    // Keyset: (log_time, type, id) beyond the cursor; the type is this branch's constant.
    const bool descending = query.sort == LogSort::kDescending;
    const std::string_view beyond = descending ? "<" : ">";
    const auto order = log_type_name(type).compare(log_type_name(query.after->type));
    const std::string at = time_literal(query.after->log_time);
    if (order == 0)
      conditions.push_back(fmt::format("(log_time, id) {} ({}, {})", beyond, at, query.after->id));
    else if ((order < 0) == descending)  // this type sorts beyond the cursor's at the same time
      conditions.push_back(fmt::format("log_time {}= {}", beyond, at));
    else
      conditions.push_back(fmt::format("log_time {} {}", beyond, at));
  }
  return fmt::format("{}", fmt::join(conditions, "\n    AND "));
}

constexpr std::string_view kPostgresSelect =
    "log_time, 'postgres'::text AS log_type, id, instance, role, error_severity, message, sql_state_code AS "
    "sql_state, user_name, database_name, process_id, session_id, session_line_num, command_tag, "
    "application_name, detail, hint, context, query, backend_type, transaction_id";
// Patroni's and pgstack's own records: the same columns, those they lack NULL.
std::string text_log_select(LogType type) {
  return fmt::format(
      "log_time, '{}'::text AS log_type, id, instance, role, error_severity, message, NULL::text AS sql_state, "
      "NULL::text AS user_name, NULL::text AS database_name, NULL::integer AS process_id, NULL::text AS session_id, "
      "NULL::bigint AS session_line_num, NULL::text AS command_tag, NULL::text AS application_name, NULL::text AS "
      "detail, NULL::text AS hint, NULL::text AS context, NULL::text AS query, NULL::text AS backend_type, "
      "NULL::bigint AS transaction_id",
      log_type_name(type));
}

const std::vector<std::string>& known_parameters() {
  static const std::vector<std::string> names = {
      "records", "from", "to",         "since",    "sort",         "text",     "logType",   "podName",
      "member",  "role", "errorLevel", "userName", "databaseName", "sqlState", "sessionId", "after"};
  return names;
}

}  // namespace

std::vector<LogType> all_log_types() {
  return {LogType::kAgent,     LogType::kPatroni,  LogType::kPgbackrest,
          LogType::kPgbouncer, LogType::kPostgres, LogType::kProxy};
}

std::optional<LogLevel> parse_log_level(std::string_view text) {
  const std::string lower = to_lower(text);
  if (lower == "debug" || (lower.size() == 6 && lower.starts_with("debug") && lower[5] >= '1' && lower[5] <= '5'))
    return LogLevel::kDebug;
  if (lower == "info" || lower == "log") return LogLevel::kInfo;
  if (lower == "notice") return LogLevel::kNotice;
  if (lower == "warning" || lower == "warn") return LogLevel::kWarning;
  if (lower == "error") return LogLevel::kError;
  if (lower == "fatal" || lower == "critical") return LogLevel::kFatal;
  if (lower == "panic") return LogLevel::kPanic;
  return std::nullopt;
}

std::optional<LogLevel> rank_of_severity(std::string_view severity) {
  for (const auto& rank : kSeverities) {
    if (rank.severity == severity) return rank.level;
  }
  return std::nullopt;
}

std::string encode_log_cursor(const LogCursor& cursor) {
  return base64url_encode(
      fmt::format("{}|{}|{}", format_log_time(cursor.log_time), log_type_name(cursor.type), cursor.id));
}

Result<LogCursor> decode_log_cursor(std::string_view text) {
  const auto invalid = [] {
    return invalid_parameter("after", "not a cursor this API returned (use the `next` of a previous answer)");
  };
  if (text.size() > 200) return invalid();
  const auto decoded = base64url_decode(text);
  if (!decoded) return invalid();
  const auto fields = split(*decoded, '|');
  if (fields.size() != 3) return invalid();
  const auto time = parse_log_time(fields[0]);
  const auto type = parse_log_type(fields[1]);
  const auto id = parse_unsigned(fields[2]);
  if (!time || !type || !id || fields[2].size() > 18) return invalid();
  return LogCursor{*time, *type, static_cast<std::int64_t>(*id)};
}

Result<LogQuery> parse_log_query(std::string namespace_name, std::string cluster,
                                 const std::map<std::string, std::string>& parameters,
                                 std::chrono::system_clock::time_point now) {
  LogQuery query;
  query.namespace_name = std::move(namespace_name);
  query.cluster = std::move(cluster);
  for (const auto& [name, value] : parameters) {
    if (std::find(known_parameters().begin(), known_parameters().end(), name) != known_parameters().end()) continue;
    const auto closest = closest_match(name, known_parameters());
    return invalid_parameter(excerpt(name),
                             closest ? fmt::format("unknown; did you mean {}?", *closest)
                                     : fmt::format("unknown; expected one of {}", fmt::join(known_parameters(), ", ")));
  }
  const auto given = [&](const std::string& name) -> std::optional<std::string> {
    const auto found = parameters.find(name);
    if (found == parameters.end() || found->second.empty()) return std::nullopt;
    return found->second;
  };

  if (auto records = given("records")) {
    const auto count = records->size() <= 9 ? parse_unsigned(*records) : std::nullopt;
    if (!count || *count < 1 || *count > static_cast<std::uint64_t>(kMaxLogRecords))
      return invalid_parameter(
          "records", fmt::format("\"{}\": expected a whole number from 1 to {}", excerpt(*records), kMaxLogRecords));
    query.records = static_cast<int>(*count);
  }
  if (auto sort = given("sort")) {
    if (*sort == "asc")
      query.sort = LogSort::kAscending;
    else if (*sort == "desc")
      query.sort = LogSort::kDescending;
    else
      return invalid_parameter(
          "sort", fmt::format("\"{}\": expected asc (oldest first) or desc (newest first)", excerpt(*sort)));
  }

  const auto now_ms = std::chrono::time_point_cast<milliseconds>(now);
  query.to = now_ms + milliseconds(1);  // a record written this millisecond is in
  if (auto to = given("to")) {
    const auto parsed = parse_log_time(*to);
    if (!parsed)
      return invalid_parameter("to", fmt::format("\"{}\": expected an RFC 3339 time such as "
                                                 "2026-12-05T06:00:00Z",
                                                 excerpt(*to)));
    query.to = *parsed;
  }
  const auto from = given("from");
  const auto since = given("since");
  if (from && since) return invalid_parameter("since", "goes without from (since counts back from now)");
  query.from = query.to - kDefaultLogWindow;
  if (from) {
    const auto parsed = parse_log_time(*from);
    if (!parsed)
      return invalid_parameter("from", fmt::format("\"{}\": expected an RFC 3339 time such as "
                                                   "2026-12-05T05:00:00Z",
                                                   excerpt(*from)));
    query.from = *parsed;
  }
  if (since) {
    const auto back = parse_since(*since);
    if (!back)
      return invalid_parameter("since", fmt::format("\"{}\": expected a duration such as 90s, 10m, 2h, 7d "
                                                    "or 1w",
                                                    excerpt(*since)));
    query.from = now_ms - *back;
  }
  if (query.from >= query.to)
    return invalid_parameter(from ? "from" : "since", "the window is empty: it must begin before `to`");

  if (auto types = given("logType")) {
    query.types.clear();
    for (const auto& name : split(*types, ',')) {
      const auto type = parse_log_type(trim(name));
      if (!type)
        return invalid_parameter("logType", fmt::format("\"{}\": expected postgres, patroni, pgbouncer, pgbackrest, "
                                                        "proxy or agent, or several (postgres,patroni)",
                                                        excerpt(name)));
      if (std::find(query.types.begin(), query.types.end(), *type) == query.types.end()) query.types.push_back(*type);
    }
  }
  if (auto level = given("errorLevel")) {
    query.min_level = parse_log_level(*level);
    if (!query.min_level)
      return invalid_parameter("errorLevel", fmt::format("\"{}\": expected one of debug, info, log, notice, warning, "
                                                         "error, fatal, critical, panic",
                                                         excerpt(*level)));
  }
  const auto text_parameter = [&](const std::string& name, std::string& field, std::size_t max_length) -> Result<bool> {
    if (auto value = given(name)) {
      ASSIGN_OR_RETURN(field, text_value(name, *value, max_length));
    }
    return true;
  };
  RETURN_IF_ERROR(text_parameter("text", query.text, 1000));
  if (given("podName") && given("member") && *given("podName") != *given("member"))
    return invalid_parameter("member", "differs from podName (member is another name for it)");
  RETURN_IF_ERROR(text_parameter("podName", query.member, 253));
  RETURN_IF_ERROR(text_parameter("member", query.member, 253));
  RETURN_IF_ERROR(text_parameter("role", query.role, 63));
  RETURN_IF_ERROR(text_parameter("userName", query.user_name, 253));
  RETURN_IF_ERROR(text_parameter("databaseName", query.database_name, 253));
  RETURN_IF_ERROR(text_parameter("sessionId", query.session_id, 64));
  if (auto state = given("sqlState")) {
    const bool sqlstate = state->size() == 5 && std::all_of(state->begin(), state->end(), [](char c) {
                            return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
                          });
    if (!sqlstate)
      return invalid_parameter("sqlState",
                               fmt::format("\"{}\": expected five digits or capital letters (23505)", excerpt(*state)));
    query.sql_state = *state;
  }
  if (!query.user_name.empty() || !query.database_name.empty() || !query.sql_state.empty() ||
      !query.session_id.empty()) {
    // Only Postgres's records have these fields.
    if (std::find(query.types.begin(), query.types.end(), LogType::kPostgres) == query.types.end())
      return invalid_parameter("logType", "only postgres records have userName, databaseName, sqlState or sessionId");
    query.types = {LogType::kPostgres};
  }
  if (auto after = given("after")) {
    ASSIGN_OR_RETURN(query.after, decode_log_cursor(*after));
  }
  return query;
}

std::string render_log_query(const LogQuery& query) {
  const bool descending = query.sort == LogSort::kDescending;
  const std::string_view direction = descending ? "DESC" : "ASC";
  const int limit = query.records + 1;
  std::vector<std::string> branches;
  const auto branch = [&](LogType type) {
    // Each branch sorted and limited on its own: an index gives its order and only `limit` rows leave it.
    branches.push_back(fmt::format("(SELECT {}\n  FROM {}\n  WHERE {}\n  ORDER BY log_time {}, id {}\n  LIMIT {})",
                                   type == LogType::kPostgres ? std::string(kPostgresSelect) : text_log_select(type),
                                   log_table_for(type), branch_conditions(query, type), direction, direction, limit));
  };
  for (const LogType type : all_log_types()) {
    if (std::find(query.types.begin(), query.types.end(), type) != query.types.end()) branch(type);
  }
  if (branches.empty()) branch(LogType::kPostgres);  // parse_log_query never asks for none
  return fmt::format(
      "SELECT to_char(log_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), log_type, id, instance, role, "
      "error_severity, message, sql_state, user_name, database_name, process_id, session_id, session_line_num, "
      "command_tag, application_name, detail, hint, context, query, backend_type, transaction_id\n"
      "FROM (\n{}\n) AS records\nORDER BY log_time {}, log_type COLLATE \"C\" {}, id {}\nLIMIT {}",
      fmt::join(branches, "\nUNION ALL\n"), direction, direction, direction, limit);
}

Result<nlohmann::json> log_rows_to_json(const std::vector<std::vector<std::string>>& rows, const LogQuery& query) {
  using nlohmann::json;
  json items = json::array();
  json next = nullptr;
  const auto text_or_null = [](const std::string& value) { return value.empty() ? json(nullptr) : json(value); };
  const auto number_or_null = [](const std::string& value) -> json {
    if (value.empty()) return nullptr;
    try {
      return std::stoll(value);
    } catch (const std::exception&) {
      return value;
    }
  };
  std::optional<LogCursor> last;
  for (std::size_t index = 0; index < rows.size(); ++index) {
    const auto& row = rows[index];
    if (row.size() != kLogQueryColumnCount)
      return make_error(ErrorCode::kInternal,
                        fmt::format("the log query returned {} columns, not {}", row.size(), kLogQueryColumnCount));
    const auto time = parse_log_time(row[0]);
    const auto type = parse_log_type(row[1]);
    const auto id = parse_unsigned(row[2]);
    if (!time || !type || !id)
      return make_error(ErrorCode::kInternal, fmt::format("the log store returned a row without a time, type or id "
                                                          "(\"{}\", \"{}\", \"{}\")",
                                                          excerpt(row[0]), row[1], row[2]));
    const LogCursor cursor{*time, *type, static_cast<std::int64_t>(*id)};
    if (static_cast<int>(index) == query.records) {
      // The extra row: there is a next page, which starts after the last item.
      next = encode_log_cursor(*last);
      break;
    }
    json item = {{"logTime", row[0]},
                 {"logType", row[1]},
                 {"podName", row[3]},
                 {"role", text_or_null(row[4])},
                 {"errorLevel", text_or_null(row[5])},
                 {"message", row[6]}};
    if (*type == LogType::kPostgres) {
      item["sqlState"] = text_or_null(row[7]);
      item["userName"] = text_or_null(row[8]);
      item["databaseName"] = text_or_null(row[9]);
      item["processId"] = number_or_null(row[10]);
      item["sessionId"] = text_or_null(row[11]);
      item["sessionLineNum"] = number_or_null(row[12]);
      item["commandTag"] = text_or_null(row[13]);
      item["applicationName"] = text_or_null(row[14]);
      item["detail"] = text_or_null(row[15]);
      item["hint"] = text_or_null(row[16]);
      item["context"] = text_or_null(row[17]);
      item["query"] = text_or_null(row[18]);
      item["backendType"] = text_or_null(row[19]);
      item["transactionId"] = number_or_null(row[20]);
    }
    item["cursor"] = encode_log_cursor(cursor);
    items.push_back(std::move(item));
    last = cursor;
  }
  return json{{"items", std::move(items)}, {"next", std::move(next)}};
}

}  // namespace pgstack::logs
