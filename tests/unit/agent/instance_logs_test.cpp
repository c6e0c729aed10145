#include "agent/instance_logs.h"

#include <fstream>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

namespace pgstack::agent {
namespace {

using std::chrono::hours;
using SystemClock = std::chrono::system_clock;
using logs::LogType;

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
  for (const char* other :
       {"patroni.log", "patroni.log.1", "pgbouncer.log", "pgbouncer.log.1", "exporter.log", "postgresql-x.csv.tmp"})
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

TEST(PgbouncerRotation, RenamesOnlyOnceTheLogReachedItsSizeTheOldestFirst) {
  const std::vector<LogDirectoryFile> small = {file("pgbouncer.log", 999, hours(0))};
  EXPECT_TRUE(plan_renamed_rotation(LogType::kPgbouncer, small, 1000).empty());
  EXPECT_TRUE(plan_renamed_rotation(LogType::kPgbouncer, {}, 1000).empty());
  EXPECT_EQ(plan_renamed_rotation(LogType::kPgbouncer, {file("pgbouncer.log", 1000, hours(0))}, 1000),
            (std::vector<LogRename>{{"pgbouncer.log", "pgbouncer.log.1"}}));
  // A gap (a file removed) is kept; a higher number is never overwritten; other files are not touched.
  const std::vector<LogDirectoryFile> files = {
      file("pgbouncer.log.1", 1000, hours(1)), file("pgbouncer.log", 5000, hours(0)),
      file("pgbouncer.log.3", 1000, hours(3)), file("pgbouncer.stderr.log", 10, hours(0)),
      file("patroni.log.1", 1000, hours(0)),
  };
  EXPECT_EQ(plan_renamed_rotation(LogType::kPgbouncer, files, 1000),
            (std::vector<LogRename>{{"pgbouncer.log.3", "pgbouncer.log.4"},
                                    {"pgbouncer.log.1", "pgbouncer.log.2"},
                                    {"pgbouncer.log", "pgbouncer.log.1"}}));
}

TEST(ProxyRotation, TheProxysLogRotatesAsPgbouncersDoesAndLeavesTheRestOfItsDirectory) {
  const std::vector<LogDirectoryFile> files = {
      file("proxy.log", 2000, hours(0)), file("proxy.log.1", 1000, hours(1)),   file("proxy.yaml", 5000, hours(0)),
      file("proxy.pid", 10, hours(0)),   file("pgbouncer.log", 9000, hours(0)),
  };
  EXPECT_EQ(plan_renamed_rotation(LogType::kProxy, files, 1000),
            (std::vector<LogRename>{{"proxy.log.1", "proxy.log.2"}, {"proxy.log", "proxy.log.1"}}));
  EXPECT_TRUE(plan_renamed_rotation(LogType::kProxy, files, 2001).empty());
}

TEST(LogRemoval, RotatedProxyFilesAreKeptAndCountedPerLog) {
  // The proxy's directory: its rotated files beyond the newest 4 go once shipped; the configuration, the pid
  // file and proxy.log never.
  std::vector<LogDirectoryFile> files = {file("proxy.log", 100, hours(0)), file("proxy.yaml", 100000, hours(900)),
                                         file("proxy.pid", 10, hours(900))};
  for (int n = 1; n <= 6; ++n) files.push_back(file("proxy.log." + std::to_string(n), 100, hours(n)));
  EXPECT_EQ(names(plan_log_removal(files, std::nullopt, kNow, {})),
            (std::vector<std::string>{"proxy.log.6", "proxy.log.5"}));
  const std::map<std::string, std::uint64_t> shipped = {{"proxy.log.6", 100}};
  EXPECT_EQ(names(plan_log_removal(files, shipped, kNow, {})), (std::vector<std::string>{"proxy.log.6"}));
  // Each log keeps its own newest few: two rotated PgBouncer files beside six proxy ones are all kept.
  files.push_back(file("pgbouncer.log.1", 100, hours(7)));
  files.push_back(file("pgbouncer.log.2", 100, hours(8)));
  EXPECT_EQ(names(plan_log_removal(files, std::nullopt, kNow, {})),
            (std::vector<std::string>{"proxy.log.6", "proxy.log.5"}));
}

TEST(LogRemoval, RotatedPgbouncerFilesBeyondTheNewestFewGoOnceShipped) {
  const std::vector<LogDirectoryFile> files = {
      file("pgbouncer.log", 100, hours(0)),   file("pgbouncer.log.1", 100, hours(1)),
      file("pgbouncer.log.2", 100, hours(2)), file("pgbouncer.log.3", 100, hours(3)),
      file("pgbouncer.log.4", 100, hours(4)), file("pgbouncer.log.5", 100, hours(5)),
      file("pgbouncer.log.6", 100, hours(6)),
  };
  // Without a store, like a rotation that keeps 4 files.
  EXPECT_EQ(names(plan_log_removal(files, std::nullopt, kNow, {})),
            (std::vector<std::string>{"pgbouncer.log.6", "pgbouncer.log.5"}));
  // With one, only what it has all of: .6 is shipped, .5 not yet (and so stays).
  const std::map<std::string, std::uint64_t> shipped = {{"pgbouncer.log.6", 100}, {"pgbouncer.log.5", 40}};
  const auto removals = plan_log_removal(files, shipped, kNow, {});
  EXPECT_EQ(names(removals), (std::vector<std::string>{"pgbouncer.log.6"}));
  // Over the disk limit they go like Postgres's files, oldest first and shipped or not; pgbouncer.log never.
  LogRemovalPolicy policy;
  policy.max_directory_bytes = 250;  // 600 rotated
  policy.rotated_keep_files = 10;
  const auto over = plan_log_removal(files, shipped, kNow, policy);
  ASSERT_EQ(over.size(), 4u);
  EXPECT_EQ(over[0].name, "pgbouncer.log.6");
  EXPECT_EQ(over[1].name, "pgbouncer.log.5");
  EXPECT_EQ(over[1].unshipped_bytes, 60u);
  EXPECT_TRUE(over[1].over_limit);
  EXPECT_EQ(over[3].name, "pgbouncer.log.3");
  EXPECT_EQ(over[3].unshipped_bytes, 100u);
}

// A store that cannot be reached (etcd refuses): the loops count errors and report the files as behind,
// and over the disk limit the oldest csvlog goes anyway, said in the report.
TEST(InstanceLogs, OverTheLimitWithTheStoreDownRemovesTheOldestAndReportsIt) {
  namespace fs = std::filesystem;
  const fs::path directory = fs::temp_directory_path() / ("pgstack-instance-logs-" + std::to_string(::getpid()));
  fs::remove_all(directory);
  fs::create_directories(directory);
  const auto write = [&](const std::string& name, std::size_t bytes, hours age) {
    std::ofstream(directory / name) << std::string(bytes, 'x');
    fs::last_write_time(directory / name, fs::file_time_type::clock::now() - age);
  };
  write("postgresql-2026-12-01_000000.csv", 600, hours(3));
  write("postgresql-2026-12-02_000000.csv", 600, hours(2));
  write("postgresql-2026-12-03_000000.csv", 600, hours(0));

  InstanceLogsSettings settings;
  settings.namespace_name = "default";
  settings.cluster = "demo";
  settings.member = "demo-0";
  settings.log_dir = directory;
  settings.store = logs::LogStoreRef{"default", "logstore"};
  settings.etcd_endpoints = {"http://127.0.0.1:1"};
  settings.etcd_prefix = "/pgstack";
  settings.removal.max_directory_bytes = 1000;
  std::map<std::string, model::ReportedLogShipping> report;
  {
    InstanceLogs logs(settings);
    logs.set_role("primary");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      report = logs.report();
      // bytes_behind is counted at each failed attempt: one before the removal still counts the removed files.
      if (report["postgres"].files_removed_unshipped == 2 && report["postgres"].errors_total > 0 &&
          report["postgres"].bytes_behind == 600 && report["patroni"].errors_total > 0)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  const model::ReportedLogShipping& postgres_log = report["postgres"];
  EXPECT_EQ(postgres_log.files_removed_unshipped, 2);
  EXPECT_NE(postgres_log.last_removal.find("postgresql-2026-12-02_000000.csv with 600 bytes not shipped"),
            std::string::npos)
      << postgres_log.last_removal;
  EXPECT_FALSE(postgres_log.last_error.empty());
  EXPECT_TRUE(postgres_log.last_success.empty());
  EXPECT_EQ(postgres_log.bytes_behind, 600);  // never shipped: what is left on disk
  EXPECT_FALSE(fs::exists(directory / "postgresql-2026-12-01_000000.csv"));
  EXPECT_FALSE(fs::exists(directory / "postgresql-2026-12-02_000000.csv"));
  EXPECT_TRUE(fs::exists(directory / "postgresql-2026-12-03_000000.csv"));  // the collector's current file
  EXPECT_GT(report["patroni"].errors_total, 0);
  fs::remove_all(directory);
}

}  // namespace
}  // namespace pgstack::agent
