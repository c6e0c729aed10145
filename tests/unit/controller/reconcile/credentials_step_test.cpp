#include "controller/reconcile/credentials_step.h"

#include <gtest/gtest.h>

#include "controller/credentials.h"

namespace pgstack::controller {
namespace {

TEST(CredentialsStep, CreatesOnlyWhatIsMissing) {
  EXPECT_TRUE(decide_credentials({.read = true, .exists = false}).create);
  EXPECT_FALSE(decide_credentials({.read = true, .exists = true}).create);
  // An unanswered read is not an absent key: writing then could replace live passwords.
  const CredentialsDecision unread = decide_credentials({.read = false, .exists = false});
  EXPECT_FALSE(unread.create);
  EXPECT_NE(unread.why.find("etcd did not answer"), std::string::npos);
}

TEST(CredentialsStep, AClusterFromBeforeARoleGetsOnlyThatRolesCredential) {
  using model::Json;
  const Json stored = {{"superuser", {{"username", "postgres"}, {"password", "kept"}}},
                       {"application", {{"username", "app"}, {"password", "also-kept"}, {"database", "app"}}}};
  const Json generated = {{"superuser", {{"username", "postgres"}, {"password", "new"}}},
                          {"application", {{"username", "app"}, {"password", "new"}, {"database", "app"}}},
                          {"monitor", {{"username", "pgstack_monitor"}, {"password", "fresh"}}}};
  const auto merged = with_missing_credentials(stored, generated);
  ASSERT_TRUE(merged.has_value());
  EXPECT_EQ((*merged)["superuser"]["password"], "kept");  // live passwords never change
  EXPECT_EQ((*merged)["application"]["password"], "also-kept");
  EXPECT_EQ((*merged)["monitor"]["password"], "fresh");

  EXPECT_FALSE(with_missing_credentials(*merged, generated).has_value());  // nothing missing: no write
  EXPECT_FALSE(with_missing_credentials(Json("not an object"), generated).has_value());
}

TEST(CredentialsStep, ACompleteSetLacksNothingAndNeedsNoNewPasswords) {
  const model::Cluster cluster;
  auto complete = generate_cluster_credentials(cluster);
  ASSERT_TRUE(complete.ok());
  EXPECT_FALSE(lacks_credentials(complete.value(), cluster));
  model::Json old = complete.value();
  old.erase("monitor");  // a cluster made before the monitoring role
  EXPECT_TRUE(lacks_credentials(old, cluster));
  EXPECT_FALSE(lacks_credentials(model::Json("not an object"), cluster));
}

}  // namespace
}  // namespace pgstack::controller
