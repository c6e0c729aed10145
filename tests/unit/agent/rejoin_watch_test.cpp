#include "agent/rejoin_watch.h"

#include <gtest/gtest.h>

namespace pgstack::agent {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

RejoinObservation diverged() {
  RejoinObservation observed;
  observed.leader_elsewhere = true;
  observed.evidence = "requested starting point 0/4C000000 on timeline 13 is not in this server's history";
  return observed;
}

TEST(RejoinWatch, AStreamingReplicaOrThePrimaryIsLeftAlone) {
  RejoinState state;
  RejoinObservation streaming = diverged();
  streaming.streaming = true;
  EXPECT_EQ(decide_rejoin(streaming, state, Clock::now()).step, RejoinStep::kNone);
  RejoinObservation primary = diverged();
  primary.is_primary = true;
  EXPECT_EQ(decide_rejoin(primary, state, Clock::now()).step, RejoinStep::kNone);
  RejoinObservation quiet = diverged();
  quiet.evidence.reset();
  EXPECT_EQ(decide_rejoin(quiet, state, Clock::now()).step, RejoinStep::kNone);
  EXPECT_FALSE(state.stuck_since.has_value());
}

TEST(RejoinWatch, ADivergedReplicaIsWatchedThroughTheGraceThenRebuilt) {
  RejoinState state;
  const auto start = Clock::now();
  EXPECT_EQ(decide_rejoin(diverged(), state, start).step, RejoinStep::kWatch);
  EXPECT_EQ(decide_rejoin(diverged(), state, start + 19s).step, RejoinStep::kWatch);
  const RejoinDecision decision = decide_rejoin(diverged(), state, start + 20s);
  EXPECT_EQ(decision.step, RejoinStep::kRebuild);
  EXPECT_NE(decision.reason.find("not streaming for 20 s"), std::string::npos) << decision.reason;
}

TEST(RejoinWatch, NothingIsRebuiltWithoutAPrimaryToCopyOrWhileACopyRuns) {
  RejoinState state;
  const auto start = Clock::now();
  RejoinObservation leaderless = diverged();
  leaderless.leader_elsewhere = false;
  EXPECT_EQ(decide_rejoin(leaderless, state, start).step, RejoinStep::kWatch);
  EXPECT_EQ(decide_rejoin(leaderless, state, start + 60s).step, RejoinStep::kWatch);
  RejoinObservation copying = diverged();
  copying.copy_in_progress = true;
  EXPECT_EQ(decide_rejoin(copying, state, start + 61s).step, RejoinStep::kWatch);
  EXPECT_EQ(decide_rejoin(diverged(), state, start + 62s).step, RejoinStep::kRebuild);
}

TEST(RejoinWatch, RebuildsAreSpacedAndBoundedByTheCopiesKeptAside) {
  RejoinState state;
  const auto start = Clock::now();
  state.last_rebuild = start;
  EXPECT_EQ(decide_rejoin(diverged(), state, start + 1s).step, RejoinStep::kWatch);
  EXPECT_EQ(decide_rejoin(diverged(), state, start + 60s).step, RejoinStep::kWatch);  // cooldown
  EXPECT_EQ(decide_rejoin(diverged(), state, start + 301s).step, RejoinStep::kRebuild);
  RejoinObservation full = diverged();
  full.copies_kept = 2;
  const RejoinDecision decision = decide_rejoin(full, state, start + 302s);
  EXPECT_EQ(decision.step, RejoinStep::kNeedsPerson);
  EXPECT_NE(decision.reason.find("kept aside"), std::string::npos) << decision.reason;
}

}  // namespace
}  // namespace pgstack::agent
