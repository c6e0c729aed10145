// The write checker on hand-made histories: one test per verdict, and the workload's pure decisions.
#include "support/write_history.h"

#include <gtest/gtest.h>

#include "support/write_workload.h"

namespace pgstack::testing {
namespace {

using std::chrono::microseconds;
using Ids = std::vector<std::int64_t>;

WriteRecord acked(std::int64_t id, const std::string& member, std::int64_t timeline, std::int64_t start,
                  std::int64_t end) {
  return WriteRecord{id, WriteOutcome::kAcknowledged, member, timeline, microseconds(start), microseconds(end), ""};
}

WriteRecord with_outcome(std::int64_t id, WriteOutcome outcome, std::int64_t start, std::int64_t end) {
  return WriteRecord{id, outcome, "", 0, microseconds(start), microseconds(end), "connection broke"};
}

// A failover from a to b with every kind of outcome around it, and nothing wrong.
std::vector<WriteRecord> failover_history() {
  return {
      acked(1, "a", 1, 0, 10),
      acked(2, "a", 1, 20, 30),
      with_outcome(3, WriteOutcome::kUnknown, 40, 3000),  // in flight when a died: landed
      with_outcome(4, WriteOutcome::kUnknown, 3010, 6000),
      with_outcome(5, WriteOutcome::kFailed, 6010, 6020),  // no server took writes
      // b's first acknowledgement overlaps a's last write: not proof of anything.
      acked(6, "b", 2, 25, 6100),
      acked(7, "b", 2, 6200, 6210),
  };
}

TEST(WriteHistory, AFailoverWithEveryOutcomeIsClean) {
  const auto verdict = check_write_history(failover_history(), {7, 1, 3, 2, 6});
  EXPECT_TRUE(verdict.clean()) << verdict.summary();
  EXPECT_EQ(verdict.acknowledged, 4);
  EXPECT_EQ(verdict.failed, 1);
  EXPECT_EQ(verdict.unknown, 2);
  EXPECT_EQ(verdict.unknown_landed, Ids{3});
  EXPECT_EQ(verdict.unknown_missing, Ids{4});
  EXPECT_TRUE(verdict.lost.empty());
  EXPECT_TRUE(verdict.split_brain.empty());
  EXPECT_EQ(verdict.summary(),
            "writes: 4 acknowledged, 1 failed, 2 unknown (1 landed, 1 not); acknowledged lost: 0; duplicated: 0; "
            "failed but present: 0; never written: 0; split brain: 0");
}

TEST(WriteHistory, AnAcknowledgedWriteMissingIsLost) {
  const auto verdict = check_write_history(failover_history(), {1, 3, 6});
  EXPECT_FALSE(verdict.clean());
  EXPECT_EQ(verdict.lost, (Ids{2, 7}));
  EXPECT_NE(verdict.summary().find("acknowledged but lost: 2, 7"), std::string::npos) << verdict.summary();
}

TEST(WriteHistory, AnIdReadTwiceIsADuplicate) {
  const auto verdict = check_write_history(failover_history(), {1, 2, 6, 7, 6, 3, 3, 3});
  EXPECT_FALSE(verdict.clean());
  EXPECT_EQ(verdict.duplicated, (Ids{3, 6}));
  EXPECT_TRUE(verdict.lost.empty());
}

TEST(WriteHistory, AFailedWriteThatLandedIsReported) {
  const auto verdict = check_write_history(failover_history(), {1, 2, 5, 6, 7});
  EXPECT_FALSE(verdict.clean());
  EXPECT_EQ(verdict.failed_but_present, Ids{5});
}

TEST(WriteHistory, AnIdNobodyWroteIsReported) {
  const auto verdict = check_write_history(failover_history(), {1, 2, 6, 7, 99});
  EXPECT_FALSE(verdict.clean());
  EXPECT_EQ(verdict.never_written, Ids{99});
}

TEST(WriteHistory, AReusedIdIsReported) {
  auto history = failover_history();
  history.push_back(acked(7, "b", 2, 6300, 6310));
  const auto verdict = check_write_history(history, {1, 2, 6, 7});
  EXPECT_FALSE(verdict.clean());
  EXPECT_EQ(verdict.reused_ids, Ids{7});
}

TEST(WriteHistory, TheOldTimelineAcknowledgingAfterTheNewOneIsSplitBrain) {
  auto history = failover_history();
  // a, still on timeline 1, takes a write sent after b (timeline 2) acknowledged id 7 at 6210.
  history.push_back(acked(8, "a", 1, 6300, 6310));
  const auto verdict = check_write_history(history, {1, 2, 6, 7, 8});
  EXPECT_FALSE(verdict.clean());
  ASSERT_EQ(verdict.split_brain.size(), 1U);
  EXPECT_EQ(verdict.split_brain[0].earlier.id, 8);
  EXPECT_EQ(verdict.split_brain[0].later.id, 6);  // b's first acknowledgement, at 6100
  EXPECT_EQ(
      verdict.split_brain[0].reason,
      "a (timeline 1) acknowledged id 8 (sent at 6300 us) after b (timeline 2) had acknowledged id 6 (at 6100 us)");
}

TEST(WriteHistory, OverlappingIntervalsAtTheLeaderChangeAreNotSplitBrain) {
  // a's last write was sent before b's first acknowledgement came back: either order is possible.
  const std::vector<WriteRecord> history = {acked(1, "a", 1, 0, 5000), acked(2, "b", 2, 100, 200),
                                            acked(3, "a", 1, 150, 5100)};
  const auto verdict = check_write_history(history, {1, 2, 3});
  EXPECT_TRUE(verdict.clean()) << verdict.summary();
}

TEST(WriteHistory, TwoMembersOnOneTimelineAreSplitBrain) {
  const std::vector<WriteRecord> history = {acked(1, "a", 3, 0, 10), acked(2, "b", 3, 500, 510)};
  const auto verdict = check_write_history(history, {1, 2});
  ASSERT_EQ(verdict.split_brain.size(), 1U);
  EXPECT_EQ(verdict.split_brain[0].earlier.id, 1);
  EXPECT_EQ(verdict.split_brain[0].later.id, 2);
  EXPECT_NE(verdict.split_brain[0].reason.find("both acknowledged writes on timeline 3"), std::string::npos);
}

TEST(WriteHistory, AFailbackOnANewTimelineIsNotSplitBrain) {
  const std::vector<WriteRecord> history = {acked(1, "a", 1, 0, 10), acked(2, "b", 2, 100, 110),
                                            acked(3, "a", 3, 200, 210), acked(4, "a", 3, 300, 310)};
  const auto verdict = check_write_history(history, {1, 2, 3, 4});
  EXPECT_TRUE(verdict.clean()) << verdict.summary();
}

TEST(WriteHistory, WithoutTimelinesAMemberWritingAroundAnotherIsSplitBrain) {
  std::vector<WriteRecord> history = {acked(1, "a", 0, 0, 10), acked(2, "b", 0, 100, 110)};
  EXPECT_TRUE(check_write_history(history, {1, 2}).clean());
  history.push_back(acked(3, "a", 0, 200, 210));
  const auto verdict = check_write_history(history, {1, 2, 3});
  ASSERT_EQ(verdict.split_brain.size(), 1U);
  EXPECT_EQ(verdict.split_brain[0].later.id, 2);
  EXPECT_EQ(verdict.split_brain[0].reason,
            "a (timeline unknown) acknowledged id 1 before and id 3 after b (timeline unknown) acknowledged id 2");
}

TEST(WriteHistory, UnacknowledgedWritesNeverMakeASplitBrain) {
  std::vector<WriteRecord> history = {acked(1, "a", 1, 0, 10), acked(2, "b", 2, 100, 110)};
  history.push_back(with_outcome(3, WriteOutcome::kUnknown, 200, 210));
  history.push_back(with_outcome(4, WriteOutcome::kFailed, 300, 310));
  EXPECT_TRUE(check_write_history(history, {1, 2, 3}).split_brain.empty());
}

TEST(WriteWorkloadDecisions, FailuresThatMayHaveCommittedAreUnknown) {
  EXPECT_EQ(classify_write_failure(""), WriteOutcome::kUnknown);       // the connection broke
  EXPECT_EQ(classify_write_failure("57P01"), WriteOutcome::kUnknown);  // admin shutdown
  EXPECT_EQ(classify_write_failure("08006"), WriteOutcome::kUnknown);  // connection failure
  EXPECT_EQ(classify_write_failure("XX000"), WriteOutcome::kUnknown);  // internal error
  EXPECT_EQ(classify_write_failure("58030"), WriteOutcome::kUnknown);  // I/O error
  EXPECT_EQ(classify_write_failure("25006"), WriteOutcome::kFailed);   // read-only transaction (a replica)
  EXPECT_EQ(classify_write_failure("23514"), WriteOutcome::kFailed);   // check violation
  EXPECT_EQ(classify_write_failure("42P01"), WriteOutcome::kFailed);   // no such table
}

TEST(WriteWorkloadDecisions, TimelineFromAWalFileName) {
  EXPECT_EQ(timeline_of_wal_file("000000010000000000000003"), 1);
  EXPECT_EQ(timeline_of_wal_file("0000001A0000000000000003"), 26);
  EXPECT_EQ(timeline_of_wal_file("00000001"), 0);
  EXPECT_EQ(timeline_of_wal_file("zzzzzzzz0000000000000003"), 0);
}

}  // namespace
}  // namespace pgstack::testing
