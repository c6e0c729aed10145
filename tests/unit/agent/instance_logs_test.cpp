#include "agent/instance_logs.h"

#include <gtest/gtest.h>

namespace pgstack::agent {
namespace {

using std::chrono::hours;
using SystemClock = std::chrono::system_clock;

const SystemClock::time_point kNow = SystemClock::time_point(std::chrono::seconds(1800000000));

LogDirectoryFile file(std::string name, std::uint64_t size, hours age) { return {std::move(name), size, kNow - age}; }

std::vector<std::string> names(const std::vector<LogRemoval>& removals) {
  std::vector<std::string> out;
  for (const auto& removal : removals) out.push_back(removal.name);
  return out;
}

TEST(LogRemoval, OnlyPostgresLogFilesByName) {
  EXPECT_TRUE(is_postgres_log_file_name("postgresql-2026-12-05_060000.csv"));
  EXPECT_TRUE(is_postgres_log_file_name("postgresql-2026-12-05_060000.log"));
  EXPECT_TRUE(is_postgres_log_file_name("postgresql-Mon.csv"));  // the weekday files of before
  for (const char* other : {"patroni.log", "patroni.log.1", "pgbouncer.log", "exporter.log", "postgresql-x.csv.tmp"})
    EXPECT_FALSE(is_postgres_log_file_name(other)) << other;
}

TEST(LogRemoval, WithoutAStoreOldFilesGoButNeverTheNewest) {
  const std::vector<LogDirectoryFile> files = {
      file("postgresql-2026-11-20_000000.csv", 100, hours(24 * 9)),
      file("postgresql-2026-11-20_000000.log", 0, hours(24 * 9)),
      file("postgresql-2026-11-29_000000.csv", 100, hours(24 * 6)),  // younger than 7 days
      file("patroni.log.3", 100, hours(24 * 30)),                    // Patroni's own rotation bounds it
      // The collector's current stderr file, however old (nothing was written to it).
      file("postgresql-2026-11-21_000000.log", 0, hours(24 * 8)),
  };
  const auto removals = plan_log_removal(files, std::nullopt, kNow, {});
  EXPECT_EQ(names(removals),
            (std::vector<std::string>{"postgresql-2026-11-20_000000.csv", "postgresql-2026-11-20_000000.log"}));
  for (const auto& removal : removals) EXPECT_EQ(removal.unshipped_bytes, 0u);
}

TEST(LogRemoval, WithAStoreOldFilesGoOnlyOnceShipped) {
  const std::vector<LogDirectoryFile> files = {
      file("postgresql-2026-11-19_000000.csv", 100, hours(24 * 10)),
      file("postgresql-2026-11-20_000000.csv", 100, hours(24 * 9)),
      file("postgresql-2026-12-05_000000.csv", 100, hours(1)),
  };
  const std::map<std::string, std::uint64_t> shipped = {{"postgresql-2026-11-19_000000.csv", 100},
                                                        {"postgresql-2026-11-20_000000.csv", 60}};
  EXPECT_EQ(names(plan_log_removal(files, shipped, kNow, {})),
            (std::vector<std::string>{"postgresql-2026-11-19_000000.csv"}));
  // A store that has nothing yet (never reached): nothing is removed for its age.
  EXPECT_TRUE(plan_log_removal(files, std::map<std::string, std::uint64_t>{}, kNow, {}).empty());
}

TEST(LogRemoval, OverTheDiskLimitTheOldestGoEvenUnshippedAndSaySo) {
  const std::vector<LogDirectoryFile> files = {
      file("postgresql-2026-12-05_010000.csv", 400, hours(5)), file("postgresql-2026-12-05_020000.csv", 400, hours(4)),
      file("postgresql-2026-12-05_030000.csv", 400, hours(3)), file("patroni.log", 100, hours(0)),
      file("postgresql-2026-12-05_040000.csv", 400, hours(0)),  // current
  };
  LogRemovalPolicy policy;
  policy.max_directory_bytes = 1000;  // 1700 in all
  const std::map<std::string, std::uint64_t> shipped = {{"postgresql-2026-12-05_010000.csv", 400},
                                                        {"postgresql-2026-12-05_020000.csv", 100}};
  const auto removals = plan_log_removal(files, shipped, kNow, policy);
  ASSERT_EQ(removals.size(), 2u);
  EXPECT_EQ(removals[0].name, "postgresql-2026-12-05_010000.csv");
  EXPECT_EQ(removals[0].unshipped_bytes, 0u);
  EXPECT_TRUE(removals[0].over_limit);
  EXPECT_EQ(removals[1].name, "postgresql-2026-12-05_020000.csv");
  EXPECT_EQ(removals[1].unshipped_bytes, 300u);

  // The current file is never removed, even when it alone is over the limit.
  policy.max_directory_bytes = 1;
  EXPECT_EQ(plan_log_removal({files[4]}, shipped, kNow, policy).size(), 0u);
}

}  // namespace
}  // namespace pgstack::agent
