#include "agent/assignment.h"

#include <gtest/gtest.h>

namespace pgstack::agent {
namespace {

using model::Json;

Json cluster_document() {
  return Json::parse(R"({"apiVersion": "stackgres.io/v1", "kind": "SGCluster",
    "metadata": {"name": "demo", "namespace": "shop"},
    "spec": {"instances": 3, "postgres": {"version": "15"}, "pods": {"persistentVolume": {"size": "10Gi"}}}})");
}

Json assignment_json() {
  Json json = Json::parse(R"({"namespace": "shop", "clusterName": "demo", "member": "demo-1", "index": 1,
    "host": "node-a", "postgresMajor": 15, "ports": {"postgres": 15433, "pgbouncer": 16433, "patroni": 18009},
    "profile": null, "postgresConfig": null, "poolingConfig": null, "restartGeneration": 4})");
  json["cluster"] = cluster_document();
  return json;
}

TEST(Assignment, ParsesTheDocumentedShape) {
  auto parsed = parse_assignment(assignment_json().dump());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const Assignment& assignment = parsed.value();
  EXPECT_EQ(assignment.instance_key(), "shop/demo/demo-1");
  EXPECT_EQ(assignment.index, 1);
  EXPECT_EQ(assignment.host, "node-a");
  EXPECT_EQ(assignment.postgres_major, 15);
  EXPECT_EQ(assignment.ports.postgres, 15433);
  EXPECT_EQ(assignment.ports.pgbouncer, 16433);
  EXPECT_EQ(assignment.ports.patroni, 18009);
  EXPECT_EQ(assignment.restart_generation, 4);
  EXPECT_EQ(assignment.cluster.name, "demo");
  EXPECT_EQ(assignment.cluster.instances, 3);
  EXPECT_EQ(assignment.cluster.volume_size, "10Gi");
  // null profile: StackGres's default, 1 CPU / 2Gi
  EXPECT_EQ(assignment.profile.cpu_millicores, 1000);
  EXPECT_EQ(assignment.profile.memory_bytes, 2LL << 30);
  EXPECT_FALSE(assignment.postgres_config.has_value());
  EXPECT_FALSE(assignment.pooling_config.has_value());
  EXPECT_FALSE(assignment.proxy.has_value());
}

TEST(Assignment, ProxyPortsWhenPresent) {
  Json json = assignment_json();
  json["proxy"] = Json::parse(R"({"readWrite": 14432, "readOnly": 14433, "admin": 17432})");
  auto parsed = parse_assignment(json.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_TRUE(parsed->proxy.has_value());
  EXPECT_EQ(*parsed->proxy, (AssignedProxyPorts{14432, 14433, 17432}));
  json["proxy"]["readOnly"] = 70000;
  auto bad = parse_assignment(json.dump());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("readOnly"), std::string::npos) << bad.error().message;
}

TEST(Assignment, ReadsTheReferencedDocuments) {
  Json json = assignment_json();
  json["profile"] = Json::parse(R"({"kind": "SGInstanceProfile", "metadata": {"name": "big"},
    "spec": {"cpu": "4", "memory": "16Gi"}})");
  json["postgresConfig"] = Json::parse(R"({"kind": "SGPostgresConfig", "metadata": {"name": "pgconf"},
    "spec": {"postgresVersion": "15", "postgresql.conf": {"work_mem": "32MB"}}})");
  json["poolingConfig"] = Json::parse(R"({"kind": "SGPoolingConfig", "metadata": {"name": "pool"},
    "spec": {"pgBouncer": {"pgbouncer.ini": {"pgbouncer": {"pool_mode": "transaction"}}}}})");
  json.erase("restartGeneration");
  auto parsed = parse_assignment(json.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->profile.name, "big");
  EXPECT_EQ(parsed->profile.cpu_millicores, 4000);
  ASSERT_TRUE(parsed->postgres_config.has_value());
  EXPECT_EQ(parsed->postgres_config->parameters, (model::SettingList{{"work_mem", "32MB"}}));
  ASSERT_TRUE(parsed->pooling_config.has_value());
  EXPECT_EQ(parsed->pooling_config->pgbouncer, (model::SettingList{{"pool_mode", "transaction"}}));
  EXPECT_EQ(parsed->restart_generation, 0);
}

TEST(Assignment, RejectsWhatCannotBeRun) {
  struct Case {
    const char* name;
    std::function<void(Json&)> change;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"not an object", [](Json& json) { json = Json::array(); }, "expected a JSON object"},
      {"path in member", [](Json& json) { json["member"] = "../../etc"; }, "member: '../../etc' is not a valid name"},
      {"missing namespace", [](Json& json) { json.erase("namespace"); }, "namespace: expected a string"},
      {"port out of range", [](Json& json) { json["ports"]["patroni"] = 70000; },
       "patroni: expected 1..65535, got 70000"},
      {"port as text", [](Json& json) { json["ports"]["postgres"] = "5432"; }, "postgres: expected an integer"},
      {"no cluster", [](Json& json) { json.erase("cluster"); }, "cluster: expected the SGCluster document"},
      {"other cluster", [](Json& json) { json["cluster"]["metadata"]["name"] = "other"; },
       "the document is SGCluster shop/other, expected shop/demo"},
      {"bad profile", [](Json& json) { json["profile"] = "big"; }, "profile: expected a document or null"},
      {"bad generation", [](Json& json) { json["restartGeneration"] = "1"; }, "restartGeneration: expected an integer"},
  };
  for (const auto& test : cases) {
    SCOPED_TRACE(test.name);
    Json json = assignment_json();
    test.change(json);
    auto parsed = parse_assignment(json.dump());
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidInput);
    EXPECT_NE(parsed.error().message.find(test.message), std::string::npos) << parsed.error().message;
  }
  EXPECT_FALSE(parse_assignment("{not json").ok());
}

TEST(Assignment, SafeNames) {
  for (const char* name : {"demo", "demo-0", "a.b_c", "A1"}) EXPECT_TRUE(is_safe_name(name)) << name;
  for (const char* name : {"", ".", "..", "a/b", "a b", "a\nb"}) EXPECT_FALSE(is_safe_name(name)) << name;
}

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

TEST(Keys, FollowTheDocumentedLayout) {
  EXPECT_EQ(assignments_prefix("/pgstack", "node-a"), "/pgstack/assignments/node-a/");
  EXPECT_EQ(host_key("/pgstack", "node-a"), "/pgstack/hosts/node-a");
  EXPECT_EQ(secrets_key("/x", "shop", "demo"), "/x/secrets/shop/demo");
  EXPECT_EQ(instance_report_key("/pgstack", "shop/demo/demo-1"), "/pgstack/instances/shop/demo/demo-1");
}

}  // namespace
}  // namespace pgstack::agent
