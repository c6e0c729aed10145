#include "controller/reconcile/restore_step.h"

#include <gtest/gtest.h>

namespace pgstack::controller {
namespace {

using model::Json;

const Json kCompleted = Json::parse(R"({"phase": "Completed", "label": "20261124-010000F",
  "finishedAt": "2026-11-24T01:02:00Z",
  "repository": {"objectStorage": "backups", "path": "/srv/backups/shop/old", "stanza": "shop-old"}})");

RestoreObservation observation(const model::RestoreSource& source) {
  RestoreObservation observed;
  observed.source = &source;
  observed.namespace_name = "shop";
  return observed;
}

TEST(RestoreStep, NothingToDoForAClusterThatIsNotRestored) {
  const RestoreDecision decision = decide_restore({});
  EXPECT_FALSE(decision.outcome.stop);
  EXPECT_FALSE(decision.plan.restore.has_value());
  EXPECT_FALSE(decision.plan.keep_assigned);
}

TEST(RestoreStep, AssignsTheBackupOnceItCanBeRestored) {
  const model::RestoreSource source{.backup = "old-1"};
  RestoreObservation observed = observation(source);
  observed.backup_status = &kCompleted;
  observed.storage = Json{{"kind", "SGObjectStorage"}, {"metadata", {{"name", "backups"}}}};
  const RestoreDecision decision = decide_restore(observed);
  EXPECT_FALSE(decision.outcome.stop);
  ASSERT_TRUE(decision.plan.restore.has_value());
  EXPECT_EQ(decision.plan.restore->label, "20261124-010000F");
  EXPECT_EQ(decision.plan.restore->stanza, "shop-old");
}

TEST(RestoreStep, StopsBeforeTheFirstMemberUntilTheBackupExists) {
  const model::RestoreSource source{.backup = "old-1"};
  const RestoreDecision decision = decide_restore(observation(source));
  ASSERT_TRUE(decision.outcome.stop);
  EXPECT_EQ(decision.outcome.reason, "RestoreNotPossible");
  EXPECT_NE(decision.outcome.message.find("SGBackup/old-1"), std::string::npos) << decision.outcome.message;
}

TEST(RestoreStep, RunningMembersKeepTheirRestoreWhateverBecameOfTheBackup) {
  const model::RestoreSource source{.backup = "old-1"};
  RestoreObservation observed = observation(source);
  observed.members_placed = true;  // the backup was deleted after the restore
  const RestoreDecision decision = decide_restore(observed);
  EXPECT_FALSE(decision.outcome.stop);
  EXPECT_TRUE(decision.plan.keep_assigned);
}

}  // namespace
}  // namespace pgstack::controller
