#include "controller/reconcile/backups_step.h"

#include <gtest/gtest.h>

namespace pgstack::controller {
namespace {

using model::Json;

TEST(BackupsStep, TheClustersBackupsOnly) {
  PassSnapshot pass;
  pass.backups["shop/demo-1"] = {"demo", {"demo-1", "2026-11-24T01:00:00Z", nullptr}};
  pass.backups["shop/other-1"] = {"other", {"other-1", "2026-11-24T01:00:00Z", nullptr}};
  pass.backups["lab/demo-1"] = {"demo", {"demo-1", "2026-11-24T01:00:00Z", nullptr}};
  const auto backups = backups_of(pass, "shop", "demo");
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_EQ(backups[0].name, "demo-1");
}

TEST(BackupsStep, CreatesManagedBackupsOfTheCluster) {
  const Json document = scheduled_backup_document("shop", "demo", "demo-20261124013000");
  EXPECT_EQ(document["kind"], "SGBackup");
  EXPECT_EQ(document["metadata"], Json({{"name", "demo-20261124013000"}, {"namespace", "shop"}}));
  EXPECT_EQ(document["spec"], Json({{"sgCluster", "demo"}, {"managedLifecycle", true}}));
}

TEST(BackupsStep, ReadyIsReadFromThePreviousStatus) {
  EXPECT_FALSE(condition_true(nullptr, "Ready"));
  const Json status = Json::parse(R"({"conditions": [{"type": "Scheduling", "status": "True"},
    {"type": "Ready", "status": "True"}]})");
  EXPECT_TRUE(condition_true(status, "Ready"));
  EXPECT_FALSE(condition_true(Json::parse(R"({"conditions": [{"type": "Ready", "status": "False"}]})"), "Ready"));
}

}  // namespace
}  // namespace pgstack::controller
