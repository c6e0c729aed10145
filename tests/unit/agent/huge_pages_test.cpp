#include "agent/huge_pages.h"

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <gtest/gtest.h>

namespace pgstack::agent {
namespace {

constexpr std::int64_t kGiB = 1024LL * 1024 * 1024;

TEST(HugePagesPlan, SizesThePoolToTheInstancesAndGivesPagesBackOnlyDownToTheBaseline) {
  const HugePagesState empty{0, 0, 24 * kGiB};
  auto decision = plan_huge_pages({6 * kGiB}, empty, std::nullopt);
  ASSERT_TRUE(decision.set_to.has_value());
  EXPECT_EQ(*decision.set_to, 3072);
  EXPECT_TRUE(decision.problem.empty());
  // A part of a page counts as a page, per instance.
  EXPECT_EQ(*plan_huge_pages({kHugePageBytes + 1, 1}, empty, std::nullopt).set_to, 3);
  // Enough already: left as it is.
  EXPECT_FALSE(plan_huge_pages({6 * kGiB}, {3072, 100, 24 * kGiB}, 0).set_to.has_value());
  // Never raised (no baseline): never lowered either, whatever is asked.
  EXPECT_FALSE(plan_huge_pages({1 * kGiB}, {4000, 4000, 24 * kGiB}, std::nullopt).set_to.has_value());
  EXPECT_FALSE(plan_huge_pages({}, {4000, 4000, 24 * kGiB}, std::nullopt).set_to.has_value());
  // Raised before from a pool of 100: the instances gone, it goes back to 100, not below.
  EXPECT_EQ(*plan_huge_pages({}, {3172, 3172, 24 * kGiB}, 100).set_to, 100);
  EXPECT_EQ(*plan_huge_pages({1 * kGiB}, {3172, 3172, 24 * kGiB}, 100).set_to, 512);
}

TEST(HugePagesPlan, InstancesThatWouldPassThreeQuartersOfTheMemoryAreLeftOutWhole) {
  // Three members of one cluster on a 24Gi host, 6.2GiB each: two fit under 18GiB, the third does not.
  const std::int64_t member = 6 * kGiB + 200 * 1024 * 1024;
  const auto decision = plan_huge_pages({member, member, member}, {0, 0, 24 * kGiB}, std::nullopt);
  ASSERT_TRUE(decision.set_to.has_value());
  EXPECT_EQ(*decision.set_to, 2 * member / kHugePageBytes);
  EXPECT_EQ(decision.instances_left_out, 1);
  EXPECT_NE(decision.problem.find("1 of the 3 instances"), std::string::npos) << decision.problem;
  EXPECT_NE(decision.problem.find("normal pages"), std::string::npos) << decision.problem;
}

TEST(HugePagesFiles, TheKeeperRaisesThePoolRemembersTheBaselineAndPagesGoBackToIt) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("pgstack-huge-pages-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "nr_hugepages") << "16\n";
  std::ofstream(dir / "free_hugepages") << "10\n";
  std::ofstream(dir / "meminfo") << "MemTotal:       24571392 kB\nMemFree:         1000 kB\n";
  auto state = host::read_huge_pages(dir.string(), (dir / "meminfo").string());
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_EQ(state->total, 16);
  EXPECT_EQ(state->free, 10);
  EXPECT_EQ(state->memory_bytes, 24571392LL * 1024);

  HugePagesKeeper keeper({dir.string(), (dir / "meminfo").string(), (dir / "baseline").string()});
  keeper.ensure({256 * kHugePageBytes});
  EXPECT_EQ(host::read_huge_pages(dir.string(), (dir / "meminfo").string())->total, 256);
  std::ifstream baseline(dir / "baseline");
  std::int64_t kept = 0;
  ASSERT_TRUE(baseline >> kept);
  EXPECT_EQ(kept, 16);
  // The instance is gone: back to the 16 pages found, also by a new keeper (an agent that restarted).
  HugePagesKeeper restarted({dir.string(), (dir / "meminfo").string(), (dir / "baseline").string()});
  restarted.ensure({});
  EXPECT_EQ(host::read_huge_pages(dir.string(), (dir / "meminfo").string())->total, 16);

  // `pgstack down`: raised again, then put back to the baseline, whose file goes.
  keeper.ensure({256 * kHugePageBytes});
  const auto restored = host::restore_huge_pages(dir.string(), (dir / "baseline").string());
  ASSERT_TRUE(restored) << restored.error().message;
  ASSERT_TRUE(restored->has_value());
  EXPECT_EQ(**restored, (std::pair<std::int64_t, std::int64_t>{256, 16}));
  EXPECT_FALSE(fs::exists(dir / "baseline"));
  const auto again = host::restore_huge_pages(dir.string(), (dir / "baseline").string());
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->has_value());  // pgstack never changed the pool since: nothing to do

  // Unreadable pool: an error naming the file.
  const auto missing = host::read_huge_pages((dir / "missing").string(), (dir / "meminfo").string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nr_hugepages"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pgstack::agent
