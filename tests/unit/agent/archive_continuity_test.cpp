#include "agent/archive_continuity.h"

#include <gtest/gtest.h>

namespace pgstack::agent {
namespace {

using model::Json;

// A file entry of `pgbackrest repo-ls --recurse --output=json`.
Json file_at(std::int64_t time) { return {{"type", "file"}, {"size", 1234}, {"time", time}}; }

TEST(ArchivedSegments, TheNewestArchiveIdsSegmentsOnly) {
  const Json listing = {
      {".", {{"type", "path"}}},
      {"archive.info", file_at(1)},
      {"15-1", {{"type", "path"}}},
      {"15-1/0000000100000000", {{"type", "path"}}},
      {"15-1/0000000100000000/000000010000000000000001-7d1c9bd0d4aa2a3b35c1c2c5e2d5b7d1a3c6e8f0.gz", file_at(100)},
      {"15-2", {{"type", "path"}}},
      {"15-2/00000002.history", file_at(200)},
      {"15-2/0000000200000001", {{"type", "path"}}},
      {"15-2/0000000200000001/0000000200000001000000FF-7d1c9bd0d4aa2a3b35c1c2c5e2d5b7d1a3c6e8f0.gz", file_at(300)},
      {"15-2/0000000200000001/000000020000000100000003.00000028.backup", file_at(301)},
      {"15-2/0000000200000001/000000020000000100000004.partial-7d1c9bd0d4aa2a3b35c1c2c5e2d5b7d1a3c6e8f0", file_at(302)},
      {"15-2/0000000200000001/000000020000000100000002-7d1c9bd0d4aa2a3b35c1c2c5e2d5b7d1a3c6e8f0.zst", file_at(303)},
  };
  auto segments = archived_segments(listing, kWalSegmentSize);
  ASSERT_TRUE(segments.ok()) << segments.error().message;
  ASSERT_EQ(segments->size(), 2U);
  std::vector<std::uint64_t> numbers;
  for (const auto& segment : *segments) {
    EXPECT_EQ(segment.segment.timeline, 2U);
    numbers.push_back(segment.segment.number);
  }
  std::sort(numbers.begin(), numbers.end());
  EXPECT_EQ(numbers, (std::vector<std::uint64_t>{256 + 2, 256 + 255}));
  EXPECT_FALSE(archived_segments(Json::array(), kWalSegmentSize).ok());
  auto empty = archived_segments(Json{{".", {{"type", "path"}}}}, kWalSegmentSize);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

std::vector<ArchivedSegment> present(std::initializer_list<std::pair<std::uint32_t, std::uint64_t>> segments) {
  std::vector<ArchivedSegment> out;
  for (const auto& [timeline, number] : segments)
    out.push_back({{timeline, number}, std::chrono::sys_seconds(std::chrono::seconds(1000 + number * 10 + timeline))});
  return out;
}

TEST(ArchiveHoles, ANumberNoTimelineHasIsAHole) {
  // Timeline 2 continues timeline 1's numbers from 5 (both have the switch segment); 8 and 9 are gone.
  const auto segments = present({{1, 3}, {1, 4}, {1, 5}, {2, 5}, {2, 6}, {2, 7}, {2, 10}, {2, 11}});
  const auto holes = archive_holes(segments, 3);
  ASSERT_EQ(holes.size(), 1U);
  EXPECT_EQ(holes[0].first_missing, 8U);
  EXPECT_EQ(holes[0].last_missing, 9U);
  ASSERT_TRUE(holes[0].before);
  EXPECT_EQ(holes[0].before->segment.number, 7U);
  EXPECT_EQ(holes[0].after.segment.number, 10U);
  // Before the oldest backup's first segment nothing counts; after the newest archived, nothing is missing yet.
  EXPECT_TRUE(archive_holes(present({{1, 1}, {1, 5}, {1, 6}}), 5).empty());
  // The first segment itself is gone: no segment before the hole.
  const auto from_start = archive_holes(present({{1, 7}}), 5);
  ASSERT_EQ(from_start.size(), 1U);
  EXPECT_EQ(from_start[0].first_missing, 5U);
  EXPECT_EQ(from_start[0].last_missing, 6U);
  EXPECT_FALSE(from_start[0].before);
}

TEST(ArchiveContinuity, NamesTheHolesAndWhenTheirNeighboursWereArchived) {
  const Json checked =
      archive_continuity_json(present({{1, 3}, {1, 4}, {1, 6}}), 3,
                              std::chrono::sys_seconds(std::chrono::seconds(1796674948)), kWalSegmentSize);
  EXPECT_EQ(checked["checkedAt"], "2026-12-07T20:22:28Z");
  EXPECT_EQ(checked["fromSegment"], "0000000000000003");
  EXPECT_EQ(checked["newestSegment"], "000000010000000000000006");
  EXPECT_EQ(checked["segments"], 3);
  ASSERT_EQ(checked["holes"].size(), 1U);
  EXPECT_EQ(checked["holes"][0]["missingFrom"], "0000000000000005");
  EXPECT_EQ(checked["holes"][0]["missingTo"], "0000000000000005");
  EXPECT_EQ(checked["holes"][0]["before"]["segment"], "000000010000000000000004");
  EXPECT_EQ(checked["holes"][0]["before"]["archivedAt"], "1970-01-01T00:17:21Z");
  EXPECT_EQ(checked["holes"][0]["after"]["segment"], "000000010000000000000006");
}

}  // namespace
}  // namespace pgstack::agent
