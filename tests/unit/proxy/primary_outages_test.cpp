// The read-write outages a proxy records: from the first failed check of the primary to the next primary.
#include "proxy/primary_outages.h"

#include <gtest/gtest.h>

namespace pgstack::proxy {
namespace {

using namespace std::chrono_literals;
const auto t0 = std::chrono::system_clock::time_point{std::chrono::seconds{1796634000}};

TEST(PrimaryOutages, AnOutageRunsFromTheFirstFailedCheckToTheNextPrimary) {
  PrimaryOutages outages;
  outages.observe("demo-0", t0);  // the first primary seen is no recovery
  EXPECT_TRUE(outages.outages().empty());
  outages.check_failed("demo-0", t0 + 10s);
  outages.check_failed("demo-0", t0 + 11s);  // still the same run of failures
  outages.observe(std::nullopt, t0 + 12s);
  outages.observe("demo-1", t0 + 13500ms);
  ASSERT_EQ(outages.outages().size(), 1U);
  EXPECT_EQ(outages.outages()[0].from, "demo-0");
  EXPECT_EQ(outages.outages()[0].to, "demo-1");
  EXPECT_DOUBLE_EQ(outages.outages()[0].seconds(), 3.5);
  const auto json = outages.to_json();
  EXPECT_EQ(json[0]["startedAt"], "2026-12-07T09:00:10.000Z");
  EXPECT_EQ(json[0]["endedAt"], "2026-12-07T09:00:13.500Z");
  EXPECT_EQ(json[0]["seconds"], 3.5);
}

TEST(PrimaryOutages, AFailedCheckThatPassesAgainIsNoOutage) {
  PrimaryOutages outages;
  outages.observe("demo-0", t0);
  outages.check_failed("demo-0", t0 + 1s);
  outages.check_passed("demo-0");
  // Lost later without a failed check (its leader key went): the outage starts then.
  outages.observe(std::nullopt, t0 + 20s);
  outages.observe(std::nullopt, t0 + 21s);
  outages.observe("demo-2", t0 + 22s);
  ASSERT_EQ(outages.outages().size(), 1U);
  EXPECT_DOUBLE_EQ(outages.outages()[0].seconds(), 2.0);
}

TEST(PrimaryOutages, StraightToAnotherPrimaryCountsFromTheFailedCheck) {
  PrimaryOutages outages;
  outages.observe("demo-0", t0);
  outages.observe("demo-1", t0 + 5s);  // no check failed first: never without a primary
  outages.check_failed("demo-1", t0 + 9s);
  outages.observe("demo-2", t0 + 10s);
  ASSERT_EQ(outages.outages().size(), 2U);
  EXPECT_DOUBLE_EQ(outages.outages()[0].seconds(), 0.0);
  EXPECT_DOUBLE_EQ(outages.outages()[1].seconds(), 1.0);
  EXPECT_EQ(outages.outages()[1].from, "demo-1");
}

TEST(PrimaryOutages, UnsavedAreThoseRecordedSinceTheLastSave) {
  PrimaryOutages outages;
  outages.observe("a", t0);
  outages.observe("b", t0 + 1s);
  outages.observe("a", t0 + 2s);
  ASSERT_EQ(outages.unsaved().size(), 2U);
  EXPECT_EQ(outages.unsaved()[0].to, "b");
  // One recorded while the first two are being saved stays unsaved after their save.
  const auto saving = outages.unsaved();
  outages.observe("c", t0 + 3s);
  outages.mark_saved(saving.size());
  ASSERT_EQ(outages.unsaved().size(), 1U);
  EXPECT_EQ(outages.unsaved()[0].to, "c");
  outages.mark_saved(5);  // more than there are: none left, nothing else changes
  EXPECT_TRUE(outages.unsaved().empty());
  EXPECT_EQ(outages.outages().size(), 3U);
  // Never more than are kept, when saving fails for long.
  for (int i = 0; i < 30; ++i) outages.observe(i % 2 == 0 ? "b" : "a", t0 + std::chrono::seconds(10 + i));
  EXPECT_EQ(outages.unsaved().size(), PrimaryOutages::kKeptOutages);
  EXPECT_EQ(outages.unsaved().back().ended, t0 + 39s);
}

TEST(PrimaryOutages, OnlyTheNewestAreKept) {
  PrimaryOutages outages;
  outages.observe("a", t0);
  for (int i = 0; i < 30; ++i) {
    outages.observe(std::nullopt, t0 + std::chrono::seconds(2 * i + 1));
    outages.observe(i % 2 == 0 ? "b" : "a", t0 + std::chrono::seconds(2 * i + 2));
  }
  ASSERT_EQ(outages.outages().size(), PrimaryOutages::kKeptOutages);
  EXPECT_EQ(outages.outages().back().ended, t0 + 60s);
}

}  // namespace
}  // namespace pgstack::proxy
