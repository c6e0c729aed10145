#include "cli/log_lines.h"

#include <gtest/gtest.h>

namespace pgstack::cli {
namespace {

using model::Json;
using namespace std::chrono_literals;

Json postgres_error() {
  return {{"logTime", "2026-12-05T05:59:59.500Z"},
          {"logType", "postgres"},
          {"podName", "demo-0"},
          {"role", "primary"},
          {"errorLevel", "ERROR"},
          {"sqlState", "23505"},
          {"message", "duplicate key value violates unique constraint \"items_pkey\""},
          {"detail", "Key (id)=(1) already exists."},
          {"hint", nullptr},
          {"query", "INSERT INTO items\nVALUES (1)"},
          {"cursor", "c1"}};
}

TEST(LogLines, OneLinePerRecordWithDetailAndQueryIndented) {
  EXPECT_EQ(format_log_record(postgres_error(), false),
            "2026-12-05T05:59:59.500Z demo-0(primary) postgres ERROR [23505] duplicate key value violates unique "
            "constraint \"items_pkey\"\n"
            "    DETAIL:  Key (id)=(1) already exists.\n"
            "    QUERY:  INSERT INTO items\n"
            "      VALUES (1)\n");
  const Json patroni = {{"logTime", "2026-12-05T05:59:58.000Z"},
                        {"logType", "patroni"},
                        {"podName", "demo-1"},
                        {"role", "replica"},
                        {"errorLevel", "INFO"},
                        {"message", "no action. I am (demo-1), a secondary"}};
  EXPECT_EQ(format_log_record(patroni, false),
            "2026-12-05T05:59:58.000Z demo-1(replica) patroni INFO no action. I am (demo-1), a secondary\n");
  // A LOG record's SQLSTATE (00000) is not shown; a message's further lines are indented.
  const Json log = {{"logTime", "2026-12-05T05:59:57.000Z"},
                    {"logType", "postgres"},
                    {"podName", "demo-0"},
                    {"role", nullptr},
                    {"errorLevel", "LOG"},
                    {"sqlState", "00000"},
                    {"message", "statement: SELECT 1\nFROM t"}};
  EXPECT_EQ(format_log_record(log, false),
            "2026-12-05T05:59:57.000Z demo-0 postgres LOG statement: SELECT 1\n    FROM t\n");
}

TEST(LogLines, ColoursOnlyWhenAskedAndNeverTheLogsOwnEscapes) {
  const std::string plain = format_log_record(postgres_error(), false);
  EXPECT_EQ(plain.find('\033'), std::string::npos);
  const std::string coloured = format_log_record(postgres_error(), true);
  EXPECT_NE(coloured.find("\033[1;31mERROR [23505]\033[0m"), std::string::npos) << coloured;
  Json hostile = postgres_error();
  hostile["message"] = "x\033[2J\033]0;pwned\007y";
  const std::string shown = format_log_record(hostile, false);
  EXPECT_NE(shown.find("x^[[2J^[]0;pwned^Gy"), std::string::npos) << shown;
  EXPECT_EQ(shown.find('\033'), std::string::npos);
  EXPECT_TRUE(use_log_colors(true, nullptr));
  EXPECT_FALSE(use_log_colors(true, ""));  // NO_COLOR set, even empty
  EXPECT_FALSE(use_log_colors(false, nullptr));
}

TEST(LogLines, RequestPathEncodesEveryValue) {
  EXPECT_EQ(
      logs_request_path("default", "demo",
                        {{"records", "50"}, {"text", "it's 100% & more"}, {"podName", ""}, {"errorLevel", "warning"}}),
      "/apis/pgstack.io/v1/namespaces/default/sgclusters/demo/logs?errorLevel=warning&records=50&"
      "text=it%27s%20100%25%20%26%20more");
}

Json record_at(const std::string& time, const std::string& cursor) {
  return {{"logTime", time}, {"cursor", cursor}, {"logType", "postgres"}, {"message", cursor}};
}

TEST(LogFollower, ShowsEachRecordOnceIncludingLateOnesWithinTheLookback) {
  const auto floor = *log_record_time(record_at("2026-12-05T06:00:00.000Z", "a"));
  LogFollower follower(10s, floor);
  EXPECT_EQ(follower.poll_from(), "2026-12-05T06:00:00.000Z");
  // The first page's newest record, and one older than the floor (cut by --records): only the first counts.
  EXPECT_EQ(follower.unseen({record_at("2026-12-05T05:59:00.000Z", "old"), record_at("2026-12-05T06:00:00.000Z", "a")})
                .size(),
            1u);
  auto fresh =
      follower.unseen({record_at("2026-12-05T06:00:00.000Z", "a"), record_at("2026-12-05T06:00:20.250Z", "b")});
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0]["cursor"], "b");
  EXPECT_EQ(follower.poll_from(), "2026-12-05T06:00:10.250Z");
  // A record that reached the store late, older than the newest shown but within the lookback.
  fresh = follower.unseen({record_at("2026-12-05T06:00:15.000Z", "late"), record_at("2026-12-05T06:00:20.250Z", "b")});
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0]["cursor"], "late");
  EXPECT_TRUE(follower.unseen({record_at("2026-12-05T06:00:15.000Z", "late")}).empty());
}

}  // namespace
}  // namespace pgstack::cli
