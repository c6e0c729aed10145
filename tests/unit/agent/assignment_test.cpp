#include "agent/assignment.h"

#include <gtest/gtest.h>

namespace pgstack::agent {
namespace {

using model::Json;

TEST(ClusterSecrets, ParsesEveryCredential) {
  auto parsed = parse_cluster_secrets(R"({"superuser": {"username": "postgres", "password": "s"},
    "replication": {"username": "replicator", "password": "r"}, "rewind": {"username": "rewinder", "password": "w"},
    "authenticator": {"username": "authenticator", "password": "a"},
    "application": {"username": "app", "password": "p", "database": "shop"}})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->superuser.password, "s");
  EXPECT_EQ(parsed->replication.username, "replicator");
  EXPECT_EQ(parsed->rewind.password, "w");
  EXPECT_EQ(parsed->authenticator.username, "authenticator");
  EXPECT_EQ(parsed->application.username, "app");
  EXPECT_EQ(parsed->application_database, "shop");
}

TEST(ClusterSecrets, ApplicationIsOptionalAndItsDatabaseDefaultsToItsName) {
  const std::string base = R"("superuser": {"username": "postgres", "password": "s"},
    "replication": {"username": "replicator", "password": "r"}, "rewind": {"username": "rewinder", "password": "w"},
    "authenticator": {"username": "authenticator", "password": "a"})";
  auto without = parse_cluster_secrets("{" + base + "}");
  ASSERT_TRUE(without.ok()) << without.error().message;
  EXPECT_TRUE(without->application.username.empty());
  auto defaulted = parse_cluster_secrets("{" + base + R"(, "application": {"username": "app", "password": "p"}})");
  ASSERT_TRUE(defaulted.ok()) << defaulted.error().message;
  EXPECT_EQ(defaulted->application_database, "app");
}

TEST(ClusterSecrets, RejectsMissingPasswords) {
  auto parsed = parse_cluster_secrets(R"({"superuser": {"username": "postgres", "password": "s"},
    "replication": {"username": "replicator"}, "rewind": {"username": "rewinder", "password": "w"},
    "authenticator": {"username": "authenticator", "password": "a"}})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("replication.password: missing"), std::string::npos) << parsed.error().message;
  EXPECT_FALSE(parse_cluster_secrets(R"({"superuser": {"username": "postgres", "password": ""}})").ok());
}

}  // namespace
}  // namespace pgstack::agent
