#include "logs/log_store_plan.h"

#include <gtest/gtest.h>

namespace pgstack::logs {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

sys_days utc_day(int y, unsigned m, unsigned d) {
  return sys_days(year_month_day{year(y), month(m), std::chrono::day(d)});
}

TEST(LogRetention, StackGresSyntax) {
  EXPECT_EQ(parse_log_retention("7 days").value(), days(7));
  EXPECT_EQ(parse_log_retention("1 day").value(), days(1));
  EXPECT_EQ(parse_log_retention("12 hours").value(), hours(12));
  EXPECT_EQ(parse_log_retention("30 minutes").value(), minutes(30));
  EXPECT_EQ(parse_log_retention("2 months").value(), days(60));
  EXPECT_EQ(parse_log_retention("2 weeks").value(), days(14));
  EXPECT_EQ(parse_log_retention("7days").value(), days(7));  // the validator's pattern allows no space
  EXPECT_EQ(parse_log_retention("7  days").value(), days(7));
  for (const char* bad : {"", "7", "seven days", "0 days", "-1 days", "7 fortnights", "7 days ", " 7 days", "days"}) {
    const auto parsed = parse_log_retention(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message.find("distributedLogs.retention"), std::string::npos);
    EXPECT_NE(parsed.error().message.find("7 days"), std::string::npos);
  }
}

TEST(LogPartitions, NamesAndBoundsAreUtcDays) {
  EXPECT_EQ(day_partition_name("log_postgres", utc_day(2026, 12, 4)), "log_postgres_20261204");
  EXPECT_EQ(render_create_day_partition("log_patroni", utc_day(2026, 12, 31)),
            "CREATE TABLE IF NOT EXISTS log_patroni_20261231 PARTITION OF log_patroni FOR VALUES FROM ('2026-12-31 "
            "00:00:00+00') TO ('2027-01-01 00:00:00+00');\n");
}

TEST(LogPartitions, TodayAndTwoDaysAheadAreCreatedOnce) {
  const auto now = utc_day(2026, 12, 4) + 13h;
  const auto empty = plan_partitions("log_postgres", {}, now, days(7));
  EXPECT_EQ(empty.create, (std::vector<sys_days>{utc_day(2026, 12, 4), utc_day(2026, 12, 5), utc_day(2026, 12, 6)}));
  EXPECT_TRUE(empty.drop.empty());
  const auto some = plan_partitions("log_postgres", {"log_postgres_20261204", "log_postgres_default"}, now, days(7));
  EXPECT_EQ(some.create, (std::vector<sys_days>{utc_day(2026, 12, 5), utc_day(2026, 12, 6)}));
}

TEST(LogPartitions, DaysWhollyPastRetentionAreDroppedNeverToday) {
  const auto now = utc_day(2026, 12, 10) + 1h;
  const std::vector<std::string> existing = {"log_postgres_20261202", "log_postgres_20261203", "log_postgres_20261209",
                                             "log_postgres_20261210", "log_postgres_default",  "log_patroni_20261201",
                                             "log_postgres_20261399", "log_postgres_2026120"};
  // 7 days: Dec 2 ended Dec 3 00:00, + 7 days = Dec 10 00:00 <= now; Dec 3 ends Dec 11 with retention.
  const auto plan = plan_partitions("log_postgres", existing, now, days(7));
  EXPECT_EQ(plan.drop, (std::vector<std::string>{"log_postgres_20261202"}));
  // A retention shorter than a day drops yesterday once it is over, but never today's partition.
  const auto short_retention = plan_partitions("log_postgres", existing, now, minutes(30));
  EXPECT_EQ(short_retention.drop,
            (std::vector<std::string>{"log_postgres_20261202", "log_postgres_20261203", "log_postgres_20261209"}));
}

TEST(LogStoreSchema, HasBothTablesTheIngestStateAndIsIdempotent) {
  const std::string schema = render_log_store_schema();
  for (const auto table : log_tables())
    EXPECT_NE(schema.find(std::string("CREATE TABLE IF NOT EXISTS ") + std::string(table) + " ("), std::string::npos);
  EXPECT_NE(schema.find("log_ingest_state"), std::string::npos);
  // Every statement may run again on an existing store.
  std::size_t creates = 0;
  for (std::size_t at = schema.find("CREATE "); at != std::string::npos; at = schema.find("CREATE ", at + 1)) {
    ++creates;
    EXPECT_NE(schema.substr(at, 60).find("IF NOT EXISTS"), std::string::npos) << schema.substr(at, 60);
  }
  EXPECT_GT(creates, 5u);
}

}  // namespace
}  // namespace pgstack::logs
