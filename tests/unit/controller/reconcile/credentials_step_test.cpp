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

TEST(CredentialsStep, ALogStoreGetsItsWriterAndReaderAndAnOlderStoreLacksThem) {
  const model::Cluster cluster;
  auto store = generate_cluster_credentials(cluster, /*log_store=*/true);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(store.value()["logWriter"]["username"], "pgstack_log_writer");
  EXPECT_EQ(store.value()["logReader"]["username"], "pgstack_log_reader");
  EXPECT_EQ(store.value()["logWriter"]["password"].get<std::string>().size(), 32u);
  EXPECT_NE(store.value()["logWriter"]["password"], store.value()["logReader"]["password"]);

  auto ordinary = generate_cluster_credentials(cluster);
  ASSERT_TRUE(ordinary.ok());
  EXPECT_FALSE(ordinary.value().contains("logWriter"));
  EXPECT_FALSE(lacks_credentials(ordinary.value(), cluster));
  // A cluster annotated as a store after its credentials were made gets the two entries added.
  EXPECT_TRUE(lacks_credentials(ordinary.value(), cluster, /*log_store=*/true));
  EXPECT_FALSE(lacks_credentials(store.value(), cluster, /*log_store=*/true));
}

}  // namespace
}  // namespace pgstack::controller
