#include "store/keys.h"

#include <gtest/gtest.h>

namespace pgstack::store {
namespace {

// docs/api.md documents these keys; agents and controllers of one installation must agree on them.
TEST(Keys, FollowTheDocumentedLayout) {
  EXPECT_EQ(keys::hosts_prefix("/pgstack"), "/pgstack/hosts/");
  EXPECT_EQ(keys::host("/pgstack", "node-a"), "/pgstack/hosts/node-a");
  EXPECT_EQ(keys::assignments_prefix("/pgstack"), "/pgstack/assignments/");
  EXPECT_EQ(keys::host_assignments_prefix("/pgstack", "node-a"), "/pgstack/assignments/node-a/");
  EXPECT_EQ(keys::assignment("/pgstack", "node-a", "shop/demo", "demo-1"),
            "/pgstack/assignments/node-a/shop/demo/demo-1");
  EXPECT_EQ(keys::instance_report("/pgstack", "shop/demo/demo-1"), "/pgstack/instances/shop/demo/demo-1");
  EXPECT_EQ(keys::instance_report("/pgstack", "shop", "demo", "demo-1"), "/pgstack/instances/shop/demo/demo-1");
  EXPECT_EQ(keys::cluster_secrets("/x", "shop", "demo"), "/x/secrets/shop/demo");
  EXPECT_EQ(keys::backup_schedules_prefix("/pgstack"), "/pgstack/backup-schedule/");
  EXPECT_EQ(keys::backup_schedule("/pgstack", "shop", "demo"), "/pgstack/backup-schedule/shop/demo");
  EXPECT_EQ(keys::backup_records_prefix("/pgstack", "shop", "demo"), "/pgstack/backup-records/shop/demo/");
  EXPECT_EQ(keys::controller_leader("/pgstack"), "/pgstack/controller/leader");
  EXPECT_EQ(keys::user_secrets_prefix("/pgstack"), "/pgstack/user-secrets/");
  EXPECT_EQ(keys::user_secret("/pgstack", "shop", "s3-keys"), "/pgstack/user-secrets/shop/s3-keys");
}

}  // namespace
}  // namespace pgstack::store
