// The rules the binaries carry are the checked-in file promtool tests, and `pgstack up` can write them.
#include "monitoring/alert_rules.h"

#include <filesystem>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/files.h"

namespace pgstack::monitoring {
namespace {

TEST(AlertRules, TheBuiltInTextIsTheCheckedInFile) {
  auto file = read_file(std::filesystem::path(PGSTACK_SOURCE_DIR) / "monitoring" / "rules" / "pgstack-alerts.yml");
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(alert_rules_text(), file.value());
  // The headline alerts of docs/monitoring.md are there.
  for (const char* alert : {"PostgresDown",
                            "MetricsTargetDown",
                            "PatroniNoLeader",
                            "PostgresMultiplePrimaries",
                            "PatroniFailoverHappened",
                            "ReplicationLagHigh",
                            "ReplicationLagCritical",
                            "ReplicaNotStreaming",
                            "ReplicationSlotInactive",
                            "ReplicationSlotRetainsTooMuchWAL",
                            "ConnectionsNearMax",
                            "ConnectionsExhausted",
                            "LongRunningTransaction",
                            "IdleInTransactionTooLong",
                            "XidWraparoundRisk",
                            "XidWraparoundImminent",
                            "WalArchivingFailing",
                            "BackupTooOld",
                            "DiskSpaceLow",
                            "DiskSpaceCritical",
                            "PoolerClientsWaiting",
                            "BackupVerificationFailed",
                            "LogShippingBehind",
                            "LogFilesRemovedUnshipped",
                            "LogRecordsSkipped"})
    EXPECT_NE(alert_rules_text().find(std::string("alert: ") + alert + "\n"), std::string_view::npos) << alert;
}

TEST(AlertRules, AreWrittenWherePrometheusLoadsThem) {
  const auto directory = std::filesystem::temp_directory_path() / ("pgstack-rules-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(directory);
  auto written = write_alert_rules(directory / "monitoring" / "rules");
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(written.value(), directory / "monitoring" / "rules" / "pgstack-alerts.yml");
  auto read = read_file(written.value());
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read.value(), alert_rules_text());
  // Again: replaced in place, not appended to.
  ASSERT_TRUE(write_alert_rules(directory / "monitoring" / "rules").ok());
  EXPECT_EQ(read_file(written.value()).value().size(), alert_rules_text().size());
  std::filesystem::remove_all(directory);
}

}  // namespace
}  // namespace pgstack::monitoring
