#include "agent/wal_archive_policy.h"

#include <gtest/gtest.h>

namespace pgstack::agent {
namespace {

constexpr std::uint64_t kSegment = 16 * 1024 * 1024;

WalSegment segment(const char* name) {
  auto parsed = parse_wal_segment_name(name, kSegment);
  EXPECT_TRUE(parsed.has_value()) << name;
  return parsed.value_or(WalSegment{});
}

// Timeline 3 was left at 0/11002870 for timeline 4 (inside segment 0x11), timeline 4 at 0/14000000.
SurvivingHistory history_of_five() {
  auto switches = parse_timeline_history(
      "1\t0/3000000\tno recovery target specified\n\n"
      "2\t0/9000A28\tno recovery target specified\n"
      "3\t0/11002870\tno recovery target specified\n"
      "4\t0/14000000\tno recovery target specified\n");
  EXPECT_TRUE(switches.has_value());
  return {5, switches.value_or(std::vector<TimelineSwitch>{})};
}

TEST(WalSegmentName, ParsesTimelineAndNumberAndFormatsBack) {
  const WalSegment parsed = segment("000000030000000100000011");
  EXPECT_EQ(parsed.timeline, 3u);
  EXPECT_EQ(parsed.number, 256u + 0x11u);
  EXPECT_EQ(wal_segment_name(parsed, kSegment), "000000030000000100000011");
  EXPECT_EQ(timeline_history_name(10), "0000000A.history");
}

TEST(WalSegmentName, RefusesWhatIsNotASegment) {
  EXPECT_FALSE(parse_wal_segment_name("00000003.history", kSegment));
  EXPECT_FALSE(parse_wal_segment_name("000000030000000000000011.partial", kSegment));
  EXPECT_FALSE(parse_wal_segment_name("00000003000000000000001G", kSegment));
  EXPECT_FALSE(parse_wal_segment_name("000000000000000000000011", kSegment));  // timeline 0 does not exist
  EXPECT_FALSE(parse_wal_segment_name("000000030000000000000100", kSegment));  // past the last segment of 0/
}

TEST(TimelineHistory, AMalformedLineIsNotGuessedAt) {
  EXPECT_FALSE(parse_timeline_history("1\tnot-an-lsn\treason\n"));
  EXPECT_FALSE(parse_timeline_history("one\t0/3000000\treason\n"));
  auto empty = parse_timeline_history("# comment only\n");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
}

TEST(DecidePush, TheNewestTimelineAndWholeSegmentsBeforeASwitchArePushed) {
  const SurvivingHistory history = history_of_five();
  EXPECT_EQ(decide_push(segment("000000050000000000000015"), history, kSegment).verdict, PushVerdict::kPush);
  EXPECT_EQ(decide_push(segment("000000030000000000000010"), history, kSegment).verdict, PushVerdict::kPush);
  // Timeline 4 was left exactly at the start of segment 0x14: segment 0x13 is all surviving history.
  EXPECT_EQ(decide_push(segment("000000040000000000000013"), history, kSegment).verdict, PushVerdict::kPush);
  // Newer than anything known here: nothing to judge it by.
  EXPECT_EQ(decide_push(segment("000000070000000000000020"), history, kSegment).verdict, PushVerdict::kPush);
}

TEST(DecidePush, ASegmentReachingPastItsTimelinesSwitchIsSetAside) {
  const SurvivingHistory history = history_of_five();
  // The killed primary's segment that holds the switch point: the surviving history reads timeline 4's.
  const PushDecision holding = decide_push(segment("000000030000000000000011"), history, kSegment);
  EXPECT_EQ(holding.verdict, PushVerdict::kSetAside);
  EXPECT_NE(holding.reason.find("0/11002870"), std::string::npos) << holding.reason;
  // Written on timeline 3 after it was left: abandoned entirely.
  EXPECT_EQ(decide_push(segment("000000030000000000000012"), history, kSegment).verdict, PushVerdict::kSetAside);
  EXPECT_EQ(decide_push(segment("000000040000000000000014"), history, kSegment).verdict, PushVerdict::kSetAside);
}

TEST(DecidePush, ATimelineOutsideTheSurvivingHistoryIsSetAside) {
  // Timeline 6 branched off somewhere else and lost; the newest history is timeline 7's, from 5.
  SurvivingHistory history = history_of_five();
  history.timeline = 7;
  history.switches.push_back({5, 0x16000000});
  const PushDecision decision = decide_push(segment("000000060000000000000016"), history, kSegment);
  EXPECT_EQ(decision.verdict, PushVerdict::kSetAside);
  EXPECT_NE(decision.reason.find("abandoned branch"), std::string::npos) << decision.reason;
}

TEST(DecideDuplicate, TheArchivedCopyWinsWhenBothAgreeOnTheSurvivingBytes) {
  const SurvivingHistory history = history_of_five();
  // Segment 0x11 of timeline 3: the surviving history uses its first 0x2870 bytes.
  const WalSegment holding = segment("000000030000000000000011");
  EXPECT_EQ(decide_duplicate(holding, history, kSegment, 0x2870).verdict, DuplicateVerdict::kArchivedCopyWins);
  EXPECT_EQ(decide_duplicate(holding, history, kSegment, 0x100000).verdict, DuplicateVerdict::kArchivedCopyWins);
  const DuplicateDecision differs = decide_duplicate(holding, history, kSegment, 0x286F);
  EXPECT_EQ(differs.verdict, DuplicateVerdict::kConflict);
  EXPECT_NE(differs.reason.find("0/1100286F"), std::string::npos) << differs.reason;
  // After the switch nothing of it survives.
  EXPECT_EQ(decide_duplicate(segment("000000030000000000000012"), history, kSegment, 0).verdict,
            DuplicateVerdict::kArchivedCopyWins);
}

TEST(DecideDuplicate, CopiesOfTheNewestTimelineThatDifferAreAConflict) {
  const SurvivingHistory history = history_of_five();
  EXPECT_EQ(decide_duplicate(segment("000000050000000000000015"), history, kSegment, kSegment - 1).verdict,
            DuplicateVerdict::kConflict);
  EXPECT_EQ(decide_duplicate(segment("000000030000000000000010"), history, kSegment, 12).verdict,
            DuplicateVerdict::kConflict);
}

}  // namespace
}  // namespace pgstack::agent
