#include "controller/operations/operation_plan.h"

#include <gtest/gtest.h>

#include "common/time.h"

namespace pgstack::controller::operations {
namespace {

using Clock = std::chrono::system_clock;

QueuedOperation queued(const std::string& name, const std::string& created, Json status = nullptr,
                       const std::string& run_at = "") {
  QueuedOperation operation;
  operation.spec.name = name;
  operation.spec.created = created;
  operation.spec.run_at = run_at;
  operation.status = std::move(status);
  return operation;
}

Json finished(const std::string& type) {
  return {{"opStarted", "2026-12-01T00:00:00Z"},
          {"conditions", conditions_for(type == "Completed" ? Phase::kCompleted : Phase::kFailed, "r", "m",
                                        "2026-12-01T00:00:00Z", nullptr)}};
}

const auto kNow = *parse_utc_timestamp("2026-12-04T12:00:00Z");

TEST(OperationQueue, OldestRunsFirstAndTheRestWaitInOrder) {
  const auto decision = decide_queue(
      {queued("b", "2026-12-04T10:00:01Z"), queued("a", "2026-12-04T10:00:00Z"), queued("c", "2026-12-04T10:00:01Z")},
      kNow);
  ASSERT_TRUE(decision.run);
  EXPECT_EQ(*decision.run, "a");
  EXPECT_EQ(decision.waiting.size(), 2u);
  EXPECT_NE(decision.waiting.at("b").find("waiting for SGDbOps a"), std::string::npos);
}

TEST(OperationQueue, WithinOneSecondTheRevisionOrders) {
  auto later = queued("a-later", "2026-12-04T10:00:00Z");
  later.spec.revision = 20;
  auto earlier = queued("z-earlier", "2026-12-04T10:00:00Z");
  earlier.spec.revision = 10;
  EXPECT_EQ(decide_queue({later, earlier}, kNow).run.value_or(""), "z-earlier");
}

TEST(OperationQueue, AStartedOperationGoesOnEvenIfAnOlderOneIsPending) {
  const auto decision = decide_queue(
      {queued("old", "2026-12-04T09:00:00Z"), queued("running", "2026-12-04T10:00:00Z", {{"opStarted", "x"}})}, kNow);
  EXPECT_EQ(decision.run.value_or(""), "running");
  EXPECT_TRUE(decision.waiting.count("old"));
}

TEST(OperationQueue, FinishedOperationsAreSkippedAndRunAtIsHonoured) {
  const auto decision = decide_queue(
      {queued("done", "2026-12-04T08:00:00Z", finished("Completed")),
       queued("failed", "2026-12-04T08:30:00Z", finished("Failed")),
       queued("later", "2026-12-04T09:00:00Z", nullptr, "2026-12-04T13:00:00Z"), queued("now", "2026-12-04T10:00:00Z")},
      kNow);
  EXPECT_EQ(decision.run.value_or(""), "now");
  EXPECT_NE(decision.waiting.at("later").find("runAt"), std::string::npos);
  EXPECT_FALSE(decision.waiting.count("done"));
  EXPECT_FALSE(decision.waiting.count("failed"));
  // Once its time has come it runs.
  const auto later = decide_queue({queued("later", "2026-12-04T09:00:00Z", nullptr, "2026-12-04T11:00:00Z")}, kNow);
  EXPECT_EQ(later.run.value_or(""), "later");
}

TEST(OperationQueue, NothingToRun) {
  EXPECT_FALSE(decide_queue({}, kNow).run);
  EXPECT_FALSE(decide_queue({queued("a", "x", nullptr, "2030-01-01T00:00:00Z")}, kNow).run);
}

TEST(OperationTimeout, CountsFromOpStarted) {
  model::DbOps spec;
  spec.timeout = std::chrono::minutes(10);
  EXPECT_FALSE(timed_out(spec, {{"opStarted", "2026-12-04T11:55:00Z"}}, kNow));
  EXPECT_TRUE(timed_out(spec, {{"opStarted", "2026-12-04T11:50:00Z"}}, kNow));
  EXPECT_FALSE(timed_out(spec, Json::object(), kNow));  // not started
  spec.timeout.reset();
  EXPECT_FALSE(timed_out(spec, {{"opStarted", "2020-01-01T00:00:00Z"}}, kNow));
}

TEST(OperationConditions, ExactlyOneIsTrueAndTransitionTimesStay) {
  const Json running = conditions_for(Phase::kRunning, "OperationRunning", "go", "t1", nullptr);
  ASSERT_EQ(running.size(), 3u);
  EXPECT_EQ(running[0]["type"], "Running");
  EXPECT_EQ(running[0]["status"], "True");
  EXPECT_EQ(running[1]["status"], "False");
  EXPECT_EQ(running[2]["status"], "False");
  EXPECT_EQ(phase_of({{"opStarted", "t1"}, {"conditions", running}}), Phase::kRunning);
  const Json again = conditions_for(Phase::kRunning, "OperationRunning", "still", "t2", running);
  EXPECT_EQ(again[0]["lastTransitionTime"], "t1");
  const Json done = conditions_for(Phase::kCompleted, "OperationCompleted", "ok", "t3", again);
  EXPECT_EQ(done[0]["lastTransitionTime"], "t3");
  EXPECT_EQ(done[1]["reason"], "OperationCompleted");
  EXPECT_EQ(phase_of({{"conditions", done}}), Phase::kCompleted);
  EXPECT_EQ(phase_of(Json()), Phase::kPending);
}

std::map<std::string, MemberState> cluster(const std::string& primary) {
  std::map<std::string, MemberState> members;
  for (const char* name : {"m0", "m1", "m2"})
    members[name] = {name == primary ? "primary" : "replica", "running", false, std::string("start-") + name, 150010};
  return members;
}

TEST(RollingRestart, ReplicasFirstThenSwitchoverThenTheOldPrimary) {
  RestartProgress progress;
  progress.pending = {"m0", "m1", "m2"};
  auto members = cluster("m0");
  auto step = next_restart_step(progress, members, std::string("m0"));
  EXPECT_EQ(step.action, RestartAction::kRestart);
  EXPECT_EQ(step.member, "m1");
  progress.restarting = "m1";
  EXPECT_EQ(next_restart_step(progress, members, std::string("m0")).action, RestartAction::kConfirmRestart);
  progress.restarting.clear();
  progress.restarted = {"m1"};
  EXPECT_EQ(next_restart_step(progress, members, std::string("m0")).member, "m2");
  progress.restarted = {"m1", "m2"};
  step = next_restart_step(progress, members, std::string("m0"));
  EXPECT_EQ(step.action, RestartAction::kSwitchover);
  EXPECT_EQ(step.member, "m0");
  // The runner marks the old primary as restarting when it switches over (its demotion restarts it).
  progress.restarting = "m0";
  EXPECT_EQ(next_restart_step(progress, cluster("m1"), std::string("m1")).action, RestartAction::kConfirmRestart);
  progress.restarting.clear();
  // Had the demotion not restarted it, m0 is a replica now and is restarted like one.
  members = cluster("m1");
  step = next_restart_step(progress, members, std::string("m1"));
  EXPECT_EQ(step.action, RestartAction::kRestart);
  EXPECT_EQ(step.member, "m0");
  progress.restarted = {"m1", "m2", "m0"};
  EXPECT_EQ(next_restart_step(progress, members, std::string("m1")).action, RestartAction::kDone);
}

TEST(RollingRestart, OneAtATimeAndNeverWithoutAPrimary) {
  RestartProgress progress;
  progress.pending = {"m1", "m2"};
  auto members = cluster("m0");
  members["m2"].state = "starting";
  EXPECT_EQ(next_restart_step(progress, members, std::string("m0")).action, RestartAction::kWait);
  members = cluster("m0");
  EXPECT_EQ(next_restart_step(progress, members, std::nullopt).action, RestartAction::kWait);
  members.erase("m2");
  EXPECT_EQ(next_restart_step(progress, members, std::string("m0")).action, RestartAction::kFail);
}

TEST(RollingRestart, AOneMemberClusterRestartsInPlace) {
  RestartProgress progress;
  progress.pending = {"m0"};
  std::map<std::string, MemberState> members = {{"m0", {"primary", "running", false, "s", 150010}}};
  const auto step = next_restart_step(progress, members, std::string("m0"));
  EXPECT_EQ(step.action, RestartAction::kRestart);
  EXPECT_EQ(step.member, "m0");
}

TEST(RollingRestart, ReducedImpactAddsAMemberFirstAndRemovesItLast) {
  RestartProgress progress;
  progress.initial_instances = {"m0", "m1", "m2"};
  progress.pending = {"m0", "m1", "m2"};
  auto members = cluster("m0");
  EXPECT_EQ(next_restart_step(progress, members, std::string("m0"), true).action, RestartAction::kAddInstance);
  progress.additional_requested = true;
  // Nothing restarts before the additional member runs.
  auto step = next_restart_step(progress, members, std::string("m0"), true);
  EXPECT_EQ(step.action, RestartAction::kWait);
  members["m3"] = {"replica", "starting", false, "start-m3", 150010};
  EXPECT_EQ(additional_member(progress, members), "m3");
  progress.additional_instance = "m3";
  EXPECT_EQ(next_restart_step(progress, members, std::string("m0"), true).action, RestartAction::kWait);
  members["m3"].state = "running";
  step = next_restart_step(progress, members, std::string("m0"), true);
  EXPECT_EQ(step.action, RestartAction::kRestart);
  EXPECT_EQ(step.member, "m1");
  // The additional member is never restarted, and never chosen to lead while an initial one can.
  progress.restarted = {"m1", "m2"};
  step = next_restart_step(progress, members, std::string("m0"), true);
  EXPECT_EQ(step.action, RestartAction::kSwitchover);
  EXPECT_EQ(step.candidate, "m1");
  progress.restarted = {"m1", "m2", "m0"};
  step = next_restart_step(progress, members, std::string("m1"), true);
  EXPECT_EQ(step.action, RestartAction::kRemoveInstance);
  EXPECT_EQ(step.member, "m3");
  progress.additional_released = true;
  EXPECT_EQ(next_restart_step(progress, members, std::string("m1"), true).action, RestartAction::kWait);
  members.erase("m3");
  EXPECT_EQ(next_restart_step(progress, members, std::string("m1"), true).action, RestartAction::kDone);
}

TEST(RollingRestart, ReducedImpactOnOneMemberHandsThePrimaryBackBeforeRemovingTheAdditionalMember) {
  RestartProgress progress;
  progress.initial_instances = {"m0"};
  progress.pending = {"m0"};
  progress.additional_requested = true;
  progress.additional_instance = "m1";
  std::map<std::string, MemberState> members = {{"m0", {"primary", "running", false, "s0", 150010}},
                                                {"m1", {"replica", "running", false, "s1", 150010}}};
  // The only initial member leads: the additional one takes over while it restarts.
  auto step = next_restart_step(progress, members, std::string("m0"), true);
  EXPECT_EQ(step.action, RestartAction::kSwitchover);
  EXPECT_EQ(step.candidate, "");
  progress.restarted = {"m0"};
  members["m0"].role = "replica";
  members["m1"].role = "primary";
  step = next_restart_step(progress, members, std::string("m1"), true);
  EXPECT_EQ(step.action, RestartAction::kSwitchBack);
  EXPECT_EQ(step.candidate, "m0");
  step = next_restart_step(progress, members, std::string("m0"), true);
  EXPECT_EQ(step.action, RestartAction::kRemoveInstance);
}

TEST(RollingRestart, ReducedImpactProgressRoundTrips) {
  RestartProgress progress;
  progress.additional_requested = true;
  EXPECT_TRUE(to_json(progress)["additionalInstance"].is_null());
  progress.additional_instance = "m3";
  progress.additional_released = true;
  const RestartProgress back = restart_progress_from(to_json(progress));
  EXPECT_TRUE(back.additional_requested);
  EXPECT_EQ(back.additional_instance, "m3");
  EXPECT_TRUE(back.additional_released);
  EXPECT_FALSE(restart_progress_from(to_json(RestartProgress{})).additional_requested);
}

TEST(RollingRestart, WhoIsRestarted) {
  auto members = cluster("m0");
  members["m1"].pending_restart = true;
  members["m2"].server_version = 150012;
  model::DbOps restart;
  restart.op = "restart";
  EXPECT_EQ(members_to_restart(restart, members, 150012).size(), 3u);
  restart.only_pending_restart = true;
  EXPECT_EQ(members_to_restart(restart, members, 150012), std::vector<std::string>{"m1"});
  model::DbOps upgrade;
  upgrade.op = "securityUpgrade";
  EXPECT_EQ(members_to_restart(upgrade, members, 150012), (std::vector<std::string>{"m0", "m1"}));
  EXPECT_TRUE(members_to_restart(upgrade, members, 150010).empty());
}

TEST(RollingRestart, ProgressRoundTripsThroughTheStatus) {
  RestartProgress progress;
  progress.primary_instance = "m0";
  progress.initial_instances = {"m0", "m1"};
  progress.pending = {"m0", "m1"};
  progress.restarted = {"m1"};
  progress.switchover_initiated = "t";
  progress.restarting = "m0";
  progress.restarting_started_before = "s0";
  const Json json = to_json(progress);
  EXPECT_EQ(json["pendingToRestartInstances"], Json::array({"m0", "m1"}));
  const RestartProgress back = restart_progress_from(json);
  EXPECT_EQ(back.restarted, progress.restarted);
  EXPECT_EQ(back.restarting, "m0");
  EXPECT_EQ(back.restarting_started_before, "s0");
  EXPECT_EQ(back.switchover_initiated, "t");
}

TEST(VersionNumbers, AsPostgresWritesThem) {
  EXPECT_EQ(version_num("15.10"), 150010);
  EXPECT_EQ(version_num("16.1"), 160001);
  EXPECT_EQ(version_num("15"), 150000);
  EXPECT_EQ(version_num("x"), 0);
}

}  // namespace
}  // namespace pgstack::controller::operations
