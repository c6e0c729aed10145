#include "agent/postgres_log.h"

#include <gtest/gtest.h>

namespace pgstack::agent {
namespace {

// Lines as PostgreSQL 15 writes them (26 columns; the last ones empty here).
constexpr const char* kRestoreLog =
    "2026-11-24 11:10:33.552 GMT,,,4797,,6b0570a9.12bd,3,,2026-11-24 11:10:33 GMT,,0,LOG,00000,\"starting backup "
    "recovery with redo LSN 0/B000028, checkpoint LSN 0/B000060, on timeline ID 3\",,,,,,,,,\"\",\"startup\",,0\n"
    "2026-11-24 11:10:33.600 GMT,\"postgres\",\"postgres\",5441,\"[local]\",6b0570cd.1541,2,\"\",2026-11-24 11:11:09 "
    "GMT,,0,FATAL,57P03,\"the database system is starting up\",,,,,,,,,\"\",\"client backend\",,0\n"
    "2026-11-24 11:10:34.013 GMT,,,4797,,6b0570a9.12bd,10,,2026-11-24 11:10:33 GMT,,0,FATAL,XX000,\"recovery ended "
    "before configured recovery target was reached\",,,,,,,,,\"\",\"startup\",,0\n"
    "2026-11-24 11:10:34.020 GMT,,,4790,,6b0570a9.12b6,6,,2026-11-24 11:10:33 GMT,,0,LOG,00000,\"startup process (PID "
    "4797) exited with exit code 1\",,,,,,,,,\"\",\"postmaster\",,0\n";

TEST(PostgresLog, TheStartupProcessLastFatalIsTheReason) {
  EXPECT_EQ(last_startup_failure(kRestoreLog), "recovery ended before configured recovery target was reached");
}

TEST(PostgresLog, ClientBackendsFatalsAreNotReasons) {
  EXPECT_FALSE(last_startup_failure("2026-11-24 11:10:33.600 GMT,\"postgres\",\"postgres\",5441,\"[local]\","
                                    "6b0570cd.1541,2,\"\",2026-11-24 11:11:09 GMT,,0,FATAL,57P03,\"the database "
                                    "system is starting up\",,,,,,,,,\"\",\"client backend\",,0\n")
                   .has_value());
  EXPECT_FALSE(last_startup_failure("").has_value());
  EXPECT_FALSE(last_startup_failure("not,a,csvlog\n").has_value());
}

TEST(PostgresLog, QuotedCommasQuotesAndLineBreaksAndTheDetail) {
  const std::string line =
      "2026-11-24 11:10:34.013 GMT,,,1,,x,1,,2026-11-24 11:10:33 GMT,,0,PANIC,XX000,\"could not open \"\"a,b\"\"\","
      "\"first line\nsecond line\",,,,,,,,\"\",\"postmaster\",,0\n";
  EXPECT_EQ(last_startup_failure(line), "could not open \"a,b\" (first line\nsecond line)");
}

// What a former primary that came back without pg_rewind wrote, as the issue saw it.
constexpr const char* kDivergedReplicaLog =
    "2026-12-04 09:10:01.100 GMT,,,900,,6b0570a9.1,1,,2026-12-04 09:10:00 GMT,,0,LOG,00000,\"started streaming WAL "
    "from primary at 0/4A000000 on timeline 13\",,,,,,,,,\"\",\"walreceiver\",,0\n"
    "2026-12-04 09:12:00.100 GMT,,,901,,6b0570a9.2,1,,2026-12-04 09:12:00 GMT,,0,FATAL,08P01,\"could not start WAL "
    "streaming: ERROR:  requested starting point 0/4C000000 on timeline 13 is not in this server's history\",\"This "
    "server's history forked from timeline 13 at 0/4B002870.\",,,,,,,,\"\",\"walreceiver\",,0\n";

TEST(PostgresLog, ADivergedHistoryIsFoundAfterTheLastTimeStreamingStarted) {
  const auto evidence = divergence_in_log(kDivergedReplicaLog);
  ASSERT_TRUE(evidence.has_value());
  EXPECT_NE(evidence->find("is not in this server's history"), std::string::npos) << *evidence;
  EXPECT_NE(evidence->find("forked from timeline 13 at 0/4B002870"), std::string::npos) << *evidence;
}

TEST(PostgresLog, StreamingThatStartedAfterTheDivergenceClearsIt) {
  const std::string healed = std::string(kDivergedReplicaLog) +
                             "2026-12-04 09:13:00.100 GMT,,,950,,6b0570a9.3,1,,2026-12-04 09:13:00 GMT,,0,LOG,00000,"
                             "\"started streaming WAL from primary at 0/4D000000 on timeline 14\",,,,,,,,,\"\","
                             "\"walreceiver\",,0\n";
  EXPECT_FALSE(divergence_in_log(healed).has_value());
  EXPECT_FALSE(divergence_in_log(kRestoreLog).has_value());
}

TEST(PostgresLog, AMissingCheckpointIsADataDirectoryThatCannotStart) {
  const auto evidence = divergence_in_log(
      "2026-12-04 09:20:00.000 GMT,,,77,,x,1,,2026-12-04 09:20:00 GMT,,0,PANIC,XX000,\"could not locate a valid "
      "checkpoint record\",,,,,,,,,\"\",\"startup\",,0\n");
  ASSERT_TRUE(evidence.has_value());
  EXPECT_EQ(*evidence, "could not locate a valid checkpoint record");
}

// What a member wrote in bench/multihost/soak's rolling scenario: it had been promoted to timeline 2 for
// three seconds before the old primary (cut off, also promoted to a timeline 2 of its own) took the leader
// key back; the new primary's timeline 2 begins later, so what it asks for never existed there. Each retry
// starts streaming and fails at once, so the failure is always the last word.
TEST(PostgresLog, WalThePrimaryNoLongerHasIsFoundEvenRightAfterStreamingStarted) {
  const auto evidence = divergence_in_log(
      "2026-12-08 00:33:15.204 UTC,,,13862,,6b17504b.3626,1,,2026-12-08 00:33:15 UTC,,0,LOG,00000,\"started "
      "streaming WAL from primary at 0/5000000 on timeline 2\",,,,,,,,,\"\",\"walreceiver\",,0\n"
      "2026-12-08 00:33:15.205 UTC,,,13862,,6b17504b.3626,2,,2026-12-08 00:33:15 UTC,,0,FATAL,08P01,\"could not "
      "receive data from WAL stream: ERROR:  requested WAL segment 000000020000000000000005 has already been "
      "removed\",,,,,,,,,\"\",\"walreceiver\",,0\n");
  ASSERT_TRUE(evidence.has_value());
  EXPECT_NE(evidence->find("000000020000000000000005 has already been removed"), std::string::npos) << *evidence;
}

}  // namespace
}  // namespace pgstack::agent
