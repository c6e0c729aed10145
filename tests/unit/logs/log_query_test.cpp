#include "logs/log_query.h"

#include <gtest/gtest.h>

namespace pgstack::logs {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;
using Parameters = std::map<std::string, std::string>;

// 2026-12-05T06:00:00Z
const system_clock::time_point kNow = sys_days(year_month_day{year(2026), month(12), day(5)}) + 6h;

Result<LogQuery> parse(const Parameters& parameters) { return parse_log_query("default", "demo", parameters, kNow); }

std::string error_of(const Parameters& parameters) {
  const auto parsed = parse(parameters);
  return parsed.ok() ? std::string("(accepted)") : parsed.error().message;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(LogQueryParameters, DefaultsAreTheLast50RecordsOfADayNewestFirst) {
  const auto query = parse({});
  ASSERT_TRUE(query.ok()) << query.error().message;
  EXPECT_EQ(query->records, 50);
  EXPECT_EQ(query->sort, LogSort::kDescending);
  EXPECT_EQ(query->types, all_log_types());
  EXPECT_EQ(query->to, time_point_cast<milliseconds>(kNow) + 1ms);
  EXPECT_EQ(query->to - query->from, duration_cast<milliseconds>(kDefaultLogWindow));
  EXPECT_FALSE(query->after);
}

TEST(LogQueryParameters, EveryParameter) {
  const auto query = parse({{"records", "1000"},
                            {"from", "2026-12-05T05:00:00.250Z"},
                            {"to", "2026-12-05T07:00:00+01:00"},
                            {"sort", "asc"},
                            {"text", "it's 100%"},
                            {"logType", "postgres"},
                            {"podName", "demo-0"},
                            {"role", "primary"},
                            {"errorLevel", "WARNING"},
                            {"userName", "app"},
                            {"databaseName", "app"},
                            {"sqlState", "23505"},
                            {"sessionId", "6571b5a0.1f2"}});
  ASSERT_TRUE(query.ok()) << query.error().message;
  EXPECT_EQ(query->records, 1000);
  EXPECT_EQ(query->from, time_point_cast<milliseconds>(kNow) - 1h + 250ms);
  EXPECT_EQ(query->to, time_point_cast<milliseconds>(kNow));
  EXPECT_EQ(query->sort, LogSort::kAscending);
  EXPECT_EQ(query->text, "it's 100%");
  EXPECT_EQ(query->types, std::vector<LogType>{LogType::kPostgres});
  EXPECT_EQ(query->member, "demo-0");
  EXPECT_EQ(query->min_level, LogLevel::kWarning);
  EXPECT_EQ(query->sql_state, "23505");
}

TEST(LogQueryParameters, SinceCountsBackFromNow) {
  const auto query = parse({{"since", "10m"}});
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(query->from, time_point_cast<milliseconds>(kNow) - 10min);
  EXPECT_EQ(parse({{"since", "2h"}})->from, time_point_cast<milliseconds>(kNow) - 2h);
  EXPECT_EQ(parse({{"since", "7d"}})->from, time_point_cast<milliseconds>(kNow) - days(7));
  EXPECT_TRUE(
      contains(error_of({{"since", "10 minutes"}}), "query parameter since: \"10 minutes\": expected a duration"));
  EXPECT_TRUE(contains(error_of({{"since", "10m"}, {"from", "2026-12-05T05:00:00Z"}}), "goes without from"));
}

TEST(LogQueryParameters, RefusalsNameTheParameterAndWhatIsExpected) {
  EXPECT_TRUE(contains(error_of({{"records", "1001"}}),
                       "query parameter records: \"1001\": expected a whole number from 1 to 1000"));
  EXPECT_TRUE(contains(error_of({{"records", "0"}}), "query parameter records"));
  EXPECT_TRUE(contains(error_of({{"records", "-5"}}), "query parameter records"));
  EXPECT_TRUE(contains(error_of({{"records", "99999999999999999999"}}), "query parameter records"));
  EXPECT_TRUE(contains(error_of({{"sort", "newest"}}), "query parameter sort: \"newest\": expected asc"));
  EXPECT_TRUE(contains(error_of({{"from", "yesterday"}}), "query parameter from: \"yesterday\": expected an RFC 3339"));
  EXPECT_TRUE(contains(error_of({{"to", "5"}}), "query parameter to"));
  EXPECT_TRUE(
      contains(error_of({{"from", "2026-12-05T07:00:00Z"}, {"to", "2026-12-05T06:00:00Z"}}), "window is empty"));
  EXPECT_TRUE(contains(error_of({{"logType", "pgpool"}}), "query parameter logType: \"pgpool\""));
  EXPECT_TRUE(
      contains(error_of({{"errorLevel", "severe"}}), "query parameter errorLevel: \"severe\": expected one of"));
  EXPECT_TRUE(contains(error_of({{"sqlState", "2350"}}), "query parameter sqlState"));
  EXPECT_TRUE(contains(error_of({{"sqlState", "'; --"}}), "query parameter sqlState"));
  EXPECT_TRUE(
      contains(error_of({{"errorlevel", "error"}}), "query parameter errorlevel: unknown; did you mean errorLevel?"));
  EXPECT_TRUE(contains(error_of({{"text", std::string(1001, 'x')}}), "query parameter text: longer than 1000 bytes"));
  EXPECT_TRUE(
      contains(error_of({{"text", std::string("a\0b", 3)}}), "query parameter text: contains a control character"));
  EXPECT_TRUE(contains(error_of({{"userName", "\xc3\x28"}}), "query parameter userName: is not UTF-8"));
  EXPECT_TRUE(contains(error_of({{"member", "demo-1"}, {"podName", "demo-0"}}), "query parameter member"));
  EXPECT_TRUE(contains(error_of({{"after", "not a cursor!"}}), "query parameter after: not a cursor"));
  EXPECT_TRUE(contains(error_of({{"after", "bm9wZQ"}}), "query parameter after"));  // "nope"
  EXPECT_TRUE(contains(error_of({{"logType", "patroni"}, {"userName", "app"}}), "only postgres records have userName"));
}

TEST(LogQueryParameters, PostgresOnlyFiltersLeaveOutPatroni) {
  const auto query = parse({{"databaseName", "app"}});
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(query->types, std::vector<LogType>{LogType::kPostgres});
  EXPECT_EQ(render_log_query(*query).find("log_patroni"), std::string::npos);
  EXPECT_EQ(render_log_query(*query).find("log_pgstack"), std::string::npos);
}

TEST(LogQueryParameters, PgstackOwnLogsAreReadFromLogPgstackByType) {
  const auto query = parse({{"logType", "pgbouncer,proxy"}, {"errorLevel", "warning"}});
  ASSERT_TRUE(query.ok()) << query.error().message;
  EXPECT_EQ(query->types, (std::vector<LogType>{LogType::kPgbouncer, LogType::kProxy}));
  const std::string sql = render_log_query(*query);
  EXPECT_TRUE(contains(sql, "log_type = 'pgbouncer'"));
  EXPECT_TRUE(contains(sql, "log_type = 'proxy'"));
  EXPECT_FALSE(contains(sql, "log_type = 'pgbackrest'"));
  EXPECT_FALSE(contains(sql, "FROM log_postgres"));
  EXPECT_TRUE(contains(sql, "'WARN'"));  // pgBackRest's name, stored as WARNING but matched either way
  EXPECT_TRUE(contains(error_of({{"logType", "agents"}}), "pgbouncer, pgbackrest, proxy or agent"));
  const auto agent = parse({{"logType", "agent"}});
  ASSERT_TRUE(agent.ok()) << agent.error().message;
  EXPECT_TRUE(contains(render_log_query(*agent), "log_type = 'agent'"));
}

TEST(LogLevels, LogRanksWithInfoAndCriticalWithFatal) {
  EXPECT_EQ(rank_of_severity("LOG"), LogLevel::kInfo);
  EXPECT_EQ(rank_of_severity("INFO"), LogLevel::kInfo);
  EXPECT_EQ(rank_of_severity("DEBUG3"), LogLevel::kDebug);
  EXPECT_EQ(rank_of_severity("WARNING"), LogLevel::kWarning);
  EXPECT_EQ(rank_of_severity("CRITICAL"), LogLevel::kFatal);
  EXPECT_EQ(rank_of_severity("PANIC"), LogLevel::kPanic);
  EXPECT_FALSE(rank_of_severity("SEVERE"));
  EXPECT_EQ(parse_log_level("Warn"), LogLevel::kWarning);
  EXPECT_EQ(parse_log_level("critical"), LogLevel::kFatal);
  EXPECT_EQ(parse_log_level("debug2"), LogLevel::kDebug);
  EXPECT_FALSE(parse_log_level("debug6"));
}

TEST(LogQuerySql, ErrorLevelListsTheSeveritiesOfEveryLog) {
  const std::string sql = render_log_query(*parse({{"errorLevel", "error"}}));
  EXPECT_TRUE(contains(sql, "error_severity IN ('ERROR', 'FATAL', 'CRITICAL', 'PANIC')")) << sql;
  EXPECT_FALSE(contains(sql, "'LOG'"));
}

TEST(LogQuerySql, ValuesAreQuotedAndWildcardsEscaped) {
  const std::string sql =
      render_log_query(*parse({{"text", "it's 100%_\\"}, {"podName", "x' OR '1'='1"}, {"role", "primary"}}));
  EXPECT_TRUE(contains(sql, "ILIKE '%it''s 100\\%\\_\\\\%' ESCAPE '\\'")) << sql;
  EXPECT_TRUE(contains(sql, "instance = 'x'' OR ''1''=''1'")) << sql;
  EXPECT_TRUE(contains(sql, "namespace = 'default'"));
  EXPECT_TRUE(contains(sql, "log_time >= '2026-12-04T06:00:00.001Z'::timestamptz"));
  EXPECT_TRUE(contains(sql, "log_time < '2026-12-05T06:00:00.001Z'::timestamptz"));
  EXPECT_TRUE(contains(sql, "LIMIT 51"));
  EXPECT_TRUE(contains(sql, "ORDER BY log_time DESC, log_type COLLATE \"C\" DESC, id DESC"));
}

TEST(LogQuerySql, TheCursorContinuesBeyondItInTheSortDirection) {
  LogQuery query = *parse({});
  query.after = LogCursor{time_point_cast<milliseconds>(kNow), LogType::kPostgres, 42};
  std::string sql = render_log_query(query);
  // Newest first: a Patroni record at the cursor's time sorts before it, so it comes after it.
  EXPECT_TRUE(contains(sql, "(log_time, id) < ('2026-12-05T06:00:00.000Z'::timestamptz, 42)")) << sql;
  EXPECT_TRUE(contains(sql, "log_time <= '2026-12-05T06:00:00.000Z'::timestamptz")) << sql;
  query.sort = LogSort::kAscending;
  sql = render_log_query(query);
  EXPECT_TRUE(contains(sql, "(log_time, id) > ('2026-12-05T06:00:00.000Z'::timestamptz, 42)")) << sql;
  EXPECT_TRUE(contains(sql, "log_time > '2026-12-05T06:00:00.000Z'::timestamptz")) << sql;
}

TEST(LogCursors, RoundTripAndAreOpaque) {
  const LogCursor cursor{time_point_cast<milliseconds>(kNow) + 123ms, LogType::kPatroni, 9876543210};
  const std::string text = encode_log_cursor(cursor);
  EXPECT_EQ(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  const auto decoded = decode_log_cursor(text);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, cursor);
  const auto query = parse({{"after", text}});
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(query->after, cursor);
}

TEST(LogRows, ItemsAndTheNextCursor) {
  LogQuery query = *parse({{"records", "2"}});
  const std::vector<std::string> postgres_row = {"2026-12-05T05:59:59.500Z",
                                                 "postgres",
                                                 "7",
                                                 "demo-0",
                                                 "primary",
                                                 "ERROR",
                                                 "duplicate key",
                                                 "23505",
                                                 "app",
                                                 "app",
                                                 "1234",
                                                 "6571b5a0.1f2",
                                                 "3",
                                                 "INSERT",
                                                 "psql",
                                                 "Key (id)=(1) already exists.",
                                                 "",
                                                 "",
                                                 "INSERT ...",
                                                 "client backend",
                                                 "0"};
  const std::vector<std::string> patroni_row = {"2026-12-05T05:59:58.000Z",
                                                "patroni",
                                                "3",
                                                "demo-1",
                                                "replica",
                                                "INFO",
                                                "no action",
                                                "",
                                                "",
                                                "",
                                                "",
                                                "",
                                                "",
                                                "",
                                                "",
                                                "",
                                                "",
                                                "",
                                                "",
                                                "",
                                                ""};
  auto answer = log_rows_to_json({postgres_row, patroni_row}, query);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  ASSERT_EQ((*answer)["items"].size(), 2u);
  const auto& error = (*answer)["items"][0];
  EXPECT_EQ(error["logTime"], "2026-12-05T05:59:59.500Z");
  EXPECT_EQ(error["podName"], "demo-0");
  EXPECT_EQ(error["errorLevel"], "ERROR");
  EXPECT_EQ(error["sqlState"], "23505");
  EXPECT_EQ(error["processId"], 1234);
  EXPECT_EQ(error["transactionId"], 0);
  EXPECT_TRUE(error["hint"].is_null());
  EXPECT_EQ(error["detail"], "Key (id)=(1) already exists.");
  const auto& patroni = (*answer)["items"][1];
  EXPECT_EQ(patroni["logType"], "patroni");
  EXPECT_FALSE(patroni.contains("sqlState"));
  EXPECT_TRUE((*answer)["next"].is_null());

  // One row more than asked for: a next page, starting after the last item shown.
  query.records = 1;
  answer = log_rows_to_json({postgres_row, patroni_row}, query);
  ASSERT_TRUE(answer.ok());
  ASSERT_EQ((*answer)["items"].size(), 1u);
  EXPECT_EQ((*answer)["next"], (*answer)["items"][0]["cursor"]);
  const auto next = decode_log_cursor((*answer)["next"].get<std::string>());
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->id, 7);
  EXPECT_EQ(next->type, LogType::kPostgres);

  EXPECT_FALSE(log_rows_to_json({{"x"}}, query).ok());
}

}  // namespace
}  // namespace pgstack::logs
