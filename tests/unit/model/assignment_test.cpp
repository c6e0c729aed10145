#include "model/assignment.h"

#include <functional>

#include <gtest/gtest.h>

namespace pgstack::model {
namespace {

// Field order is not part of the contract.
nlohmann::json unordered(const Json& json) { return nlohmann::json::parse(json.dump()); }

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
  auto parsed = assignment_from_text(assignment_json().dump());
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
  auto parsed = assignment_from_text(json.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_TRUE(parsed->proxy.has_value());
  EXPECT_EQ(*parsed->proxy, (AssignedProxyPorts{14432, 14433, 17432}));
  json["proxy"]["readOnly"] = 70000;
  auto bad = assignment_from_text(json.dump());
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
  auto parsed = assignment_from_text(json.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->profile.name, "big");
  EXPECT_EQ(parsed->profile.cpu_millicores, 4000);
  ASSERT_TRUE(parsed->postgres_config.has_value());
  EXPECT_EQ(parsed->postgres_config->parameters, (SettingList{{"work_mem", "32MB"}}));
  ASSERT_TRUE(parsed->pooling_config.has_value());
  EXPECT_EQ(parsed->pooling_config->pgbouncer, (SettingList{{"pool_mode", "transaction"}}));
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
    auto parsed = assignment_from_text(json.dump());
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidInput);
    EXPECT_NE(parsed.error().message.find(test.message), std::string::npos) << parsed.error().message;
  }
  EXPECT_FALSE(assignment_from_text("{not json").ok());
}

TEST(Assignment, SafeNames) {
  for (const char* name : {"demo", "demo-0", "a.b_c", "A1"}) EXPECT_TRUE(is_safe_name(name)) << name;
  for (const char* name : {"", ".", "..", "a/b", "a b", "a\nb"}) EXPECT_FALSE(is_safe_name(name)) << name;
}

TEST(Assignment, ExporterPortIsOptionalAndWrittenOnlyWhenSet) {
  auto without = assignment_from_json(assignment_json());
  ASSERT_TRUE(without.ok()) << without.error().message;
  EXPECT_EQ(without->ports.exporter, 0);
  EXPECT_FALSE(assignment_to_json(without.value())["ports"].contains("exporter"));
  Json json = assignment_json();
  json["ports"]["exporter"] = 19188;
  auto with = assignment_from_json(json);
  ASSERT_TRUE(with.ok()) << with.error().message;
  EXPECT_EQ(with->ports, (AssignedPorts{15433, 16433, 18009, 19188}));
  EXPECT_EQ(assignment_to_json(with.value())["ports"]["exporter"], 19188);
  json["ports"]["exporter"] = 0;
  EXPECT_FALSE(assignment_from_json(json).ok());
}

TEST(Assignment, RoundTripsThroughJson) {
  Json json = assignment_json();
  json["ports"]["exporter"] = 19188;
  json["proxy"] = Json::parse(R"({"readWrite": 14432, "readOnly": 14433, "admin": 17432})");
  json["cluster"]["spec"]["initialData"] = Json::parse(R"({"restore": {"fromBackup": {"name": "nightly"}}})");
  json["restore"] = Json::parse(R"({"backup": "nightly", "label": "20261124-013000F",
    "repository": {"objectStorage": {"kind": "SGObjectStorage", "metadata": {"name": "objects"},
      "spec": {"type": "s3Compatible", "s3Compatible": {"bucket": "b"}}}, "path": "/shop/demo", "stanza": "demo"},
    "target": {"time": "2026-11-24T01:40:00Z", "inclusive": true}})");
  json["objectStorage"] = json["restore"]["repository"]["objectStorage"];
  auto parsed = assignment_from_json(json);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_TRUE(parsed->restore.has_value());
  EXPECT_EQ(parsed->restore->label, "20261124-013000F");
  EXPECT_EQ(parsed->restore->storage.name, "objects");
  EXPECT_EQ(parsed->restore->target.backup, "nightly");
  ASSERT_TRUE(parsed->object_storage.has_value());
  EXPECT_EQ(parsed->object_storage->bucket, "b");
  // What the controller writes is what the agent reads, field for field.
  EXPECT_EQ(unordered(assignment_to_json(parsed.value())), unordered(json));
  auto again = assignment_from_json(assignment_to_json(parsed.value()));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(assignment_to_json(again.value()), assignment_to_json(parsed.value()));
}

TEST(Assignment, WrittenByTheControllerFromDocuments) {
  Assignment assignment;
  assignment.namespace_name = "shop";
  assignment.cluster_name = "demo";
  assignment.member = "demo-0";
  assignment.host = "node-a";
  assignment.postgres_major = 15;
  assignment.ports = {15432, 16432, 18008};
  assignment.cluster_document = cluster_document();
  const Json json = assignment_to_json(assignment);
  EXPECT_TRUE(json["proxy"].is_null());
  EXPECT_TRUE(json["restore"].is_null());
  EXPECT_TRUE(json["profile"].is_null());
  auto parsed = assignment_from_json(json);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->cluster.instances, 3);
  EXPECT_EQ(parsed->ports, (AssignedPorts{15432, 16432, 18008}));
}

TEST(Assignment, RejectsARestoreWithoutItsRepository) {
  Json json = assignment_json();
  json["restore"] = Json::parse(R"({"backup": "nightly", "label": "x", "repository": {"path": "/p"}})");
  auto parsed = assignment_from_json(json);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("restore: expected the backup's label and repository"), std::string::npos)
      << parsed.error().message;
}

TEST(Assignment, ComparableIgnoresOnlyResourceVersions) {
  Json json = assignment_json();
  Json changed = json;
  changed["cluster"]["metadata"]["resourceVersion"] = "42";
  EXPECT_EQ(comparable_assignment(json), comparable_assignment(changed));
  changed["index"] = 2;
  EXPECT_NE(comparable_assignment(json), comparable_assignment(changed));
}

}  // namespace
}  // namespace pgstack::model
