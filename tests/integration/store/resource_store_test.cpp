// ResourceStore against a real single-member etcd started by each test.
#include "store/resource_store.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <regex>

#include <gtest/gtest.h>

#include "support/etcd_server.h"

namespace pgstack::store {
namespace {

using namespace std::chrono_literals;
using model::Json;

model::Document cluster(const std::string& name, const std::string& ns = "default", int instances = 1) {
  Json body = {{"apiVersion", "stackgres.io/v1"},
               {"kind", "SGCluster"},
               {"metadata", {{"name", name}, {"namespace", ns}}},
               {"spec", {{"instances", instances}, {"postgres", {{"version", "16"}}}}}};
  return model::Document{"test.yaml", 0, std::move(body)};
}

std::string resource_version(const model::Document& document) {
  return document.body["metadata"].value("resourceVersion", "");
}

class ResourceStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = testing::EtcdServer::start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    server_ = std::move(started).value();
    store_ = std::make_unique<ResourceStore>(EtcdClient({server_->endpoint()}));
  }

  std::unique_ptr<testing::EtcdServer> server_;
  std::unique_ptr<ResourceStore> store_;
};

TEST_F(ResourceStoreTest, CreateFillsMetadataAndGetReturnsTheSameObject) {
  auto created = store_->create(cluster("demo"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  const Json& metadata = created->body["metadata"];
  EXPECT_TRUE(std::regex_match(metadata.value("uid", ""),
                               std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << metadata.dump();
  EXPECT_TRUE(
      std::regex_match(metadata.value("creationTimestamp", ""), std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)")))
      << metadata.dump();
  EXPECT_FALSE(resource_version(*created).empty());

  auto fetched = store_->get("SGCluster", "default", "demo");
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ(fetched->body, created->body);
  EXPECT_EQ(fetched->kind(), "SGCluster");
  EXPECT_EQ(fetched->body["spec"]["instances"], 1);

  // The key layout is an interface: agents and tools read it directly.
  auto raw = store_->client().get("/pgstack/resources/sgclusters/default/demo");
  ASSERT_TRUE(raw.ok() && raw->has_value());
  EXPECT_EQ(std::to_string((*raw)->mod_revision), resource_version(*fetched));
  const Json stored = Json::parse((*raw)->value);
  EXPECT_FALSE(stored["metadata"].contains("resourceVersion")) << stored.dump();
}

TEST_F(ResourceStoreTest, KindMayBeGivenByPluralOrShortNameAndNamespaceDefaults) {
  model::Document document = cluster("short");
  document.body["metadata"].erase("namespace");
  ASSERT_TRUE(store_->create(document).ok());
  for (const char* kind : {"SGCluster", "sgclusters", "sgcluster", "sgclu"}) {
    auto fetched = store_->get(kind, "default", "short");
    EXPECT_TRUE(fetched.ok()) << kind;
  }
  auto fetched = store_->get("sgclusters", "", "short");
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ(fetched->namespace_name(), "default");
  EXPECT_EQ(fetched->body["metadata"]["namespace"], "default");
}

TEST_F(ResourceStoreTest, CreatingTwiceIsAlreadyExists) {
  ASSERT_TRUE(store_->create(cluster("demo")).ok());
  auto again = store_->create(cluster("demo"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(again.error().message, R"(SGCluster "demo" in namespace "default" already exists)");
  // Same name in another namespace is another object.
  EXPECT_TRUE(store_->create(cluster("demo", "other")).ok());
}

TEST_F(ResourceStoreTest, MissingObjectsAreNotFoundWithAClearMessage) {
  auto missing = store_->get("sgclusters", "default", "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message, R"(SGCluster "nope" not found in namespace "default")");

  auto replaced = store_->replace(cluster("nope", "prod"));
  ASSERT_FALSE(replaced.ok());
  EXPECT_EQ(replaced.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(replaced.error().message, R"(SGCluster "nope" not found in namespace "prod")");

  auto removed = store_->remove("sgclusters", "default", "nope");
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().code, ErrorCode::kNotFound);

  auto status = store_->put_status("sgclusters", "default", "nope", Json{{"phase", "Running"}});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kNotFound);
}

TEST_F(ResourceStoreTest, ListFiltersByKindAndNamespace) {
  ASSERT_TRUE(store_->create(cluster("b", "ns1")).ok());
  ASSERT_TRUE(store_->create(cluster("a", "ns1")).ok());
  ASSERT_TRUE(store_->create(cluster("c", "ns10")).ok());
  ASSERT_TRUE(store_->create(cluster("d", "default")).ok());
  model::Document profile{"test.yaml", 0,
                          Json{{"apiVersion", "stackgres.io/v1"},
                               {"kind", "SGInstanceProfile"},
                               {"metadata", {{"name", "small"}, {"namespace", "ns1"}}},
                               {"spec", {{"cpu", "1"}, {"memory", "2Gi"}}}}};
  ASSERT_TRUE(store_->create(profile).ok());

  auto in_ns1 = store_->list("sgclusters", "ns1");
  ASSERT_TRUE(in_ns1.ok()) << in_ns1.error().message;
  ASSERT_EQ(in_ns1->size(), 2u);
  EXPECT_EQ((*in_ns1)[0].name(), "a");
  EXPECT_EQ((*in_ns1)[1].name(), "b");
  EXPECT_FALSE(resource_version((*in_ns1)[0]).empty());

  auto all = store_->list("SGCluster");
  ASSERT_TRUE(all.ok()) << all.error().message;
  std::vector<std::string> labels;
  for (const auto& document : *all) labels.push_back(document.namespace_name() + "/" + document.name());
  EXPECT_EQ(labels, (std::vector<std::string>{"default/d", "ns1/a", "ns1/b", "ns10/c"}));

  auto profiles = store_->list("sginstanceprofiles");
  ASSERT_TRUE(profiles.ok());
  ASSERT_EQ(profiles->size(), 1u);
  EXPECT_EQ((*profiles)[0].kind(), "SGInstanceProfile");

  auto empty = store_->list("sgscripts", "ns1");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_F(ResourceStoreTest, ReplaceChecksTheResourceVersionAndKeepsIdentity) {
  auto created = store_->create(cluster("demo"));
  ASSERT_TRUE(created.ok()) << created.error().message;

  model::Document change = *created;
  change.body["spec"]["instances"] = 3;
  auto replaced = store_->replace(change);
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  EXPECT_NE(resource_version(*replaced), resource_version(*created));
  EXPECT_EQ(replaced->body["metadata"]["uid"], created->body["metadata"]["uid"]);

  // `change` still carries the version it was read at: someone else has written since.
  change.body["spec"]["instances"] = 5;
  auto stale = store_->replace(change);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
  EXPECT_NE(stale.error().message.find("the object has been modified; read it again and retry"), std::string::npos)
      << stale.error().message;

  auto fetched = store_->get("sgclusters", "default", "demo");
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(fetched->body["spec"]["instances"], 3);

  // Without a resourceVersion a replace overwrites, but uid and creationTimestamp stay the object's.
  model::Document overwrite = cluster("demo", "default", 7);
  auto overwritten = store_->replace(overwrite);
  ASSERT_TRUE(overwritten.ok()) << overwritten.error().message;
  fetched = store_->get("sgclusters", "default", "demo");
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(fetched->body["spec"]["instances"], 7);
  EXPECT_EQ(fetched->body["metadata"]["uid"], created->body["metadata"]["uid"]);
  EXPECT_EQ(fetched->body["metadata"]["creationTimestamp"], created->body["metadata"]["creationTimestamp"]);
  EXPECT_EQ(resource_version(*fetched), resource_version(*overwritten));

  model::Document garbage = *fetched;
  garbage.body["metadata"]["resourceVersion"] = "abc";
  auto invalid = store_->replace(garbage);
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().code, ErrorCode::kInvalidInput);
}

TEST_F(ResourceStoreTest, StatusIsKeptApartFromTheObject) {
  model::Document with_status = cluster("demo");
  with_status.body["status"] = {{"phase", "made up by the user"}};
  auto created = store_->create(with_status);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_FALSE(created->body.contains("status"));

  auto none = store_->get_status("sgclusters", "default", "demo");
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_FALSE(none->has_value());

  auto reported = store_->put_status("sgclusters", "default", "demo", Json{{"phase", "Running"}});
  ASSERT_TRUE(reported.ok()) << reported.error().message;
  auto status = store_->get_status("SGCluster", "default", "demo");
  ASSERT_TRUE(status.ok() && status->has_value());
  EXPECT_EQ((**status)["phase"], "Running");

  // A user editing the spec read before the status was written does not conflict with it.
  model::Document change = *created;
  change.body["spec"]["instances"] = 2;
  auto replaced = store_->replace(change);
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;

  auto removed = store_->remove("sgclusters", "default", "demo");
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_TRUE(*removed);
  auto raw_status = store_->client().get("/pgstack/status/sgclusters/default/demo");
  ASSERT_TRUE(raw_status.ok());
  EXPECT_FALSE(raw_status->has_value());
  auto gone = store_->get("sgclusters", "default", "demo");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
}

TEST_F(ResourceStoreTest, ListWithStatusAttachesEachObjectsOwnStatus) {
  for (const auto& [name, ns] :
       std::vector<std::pair<std::string, std::string>>{{"a", "ns1"}, {"b", "ns1"}, {"a", "ns10"}, {"c", "default"}}) {
    ASSERT_TRUE(store_->create(cluster(name, ns)).ok());
  }
  ASSERT_TRUE(store_->put_status("SGCluster", "ns1", "a", Json{{"phase", "ns1/a"}}).ok());
  ASSERT_TRUE(store_->put_status("SGCluster", "ns10", "a", Json{{"phase", "ns10/a"}}).ok());
  ASSERT_TRUE(store_->put_status("SGCluster", "default", "c", Json{{"phase", "default/c"}}).ok());
  // Another kind's status under the same names stays out.
  model::Document ops{"test.yaml", 0,
                      Json{{"apiVersion", "stackgres.io/v1"},
                           {"kind", "SGDbOps"},
                           {"metadata", {{"name", "b"}, {"namespace", "ns1"}}},
                           {"spec", {{"sgCluster", "b"}, {"op", "vacuum"}}}}};
  ASSERT_TRUE(store_->create(ops).ok());
  ASSERT_TRUE(store_->put_status("SGDbOps", "ns1", "b", Json{{"phase", "not a cluster's"}}).ok());

  const auto phases = [](const std::vector<model::Document>& documents) {
    std::vector<std::string> out;
    for (const auto& document : documents)
      out.push_back(document.namespace_name() + "/" + document.name() + "=" +
                    (document.body.contains("status") ? document.body["status"].value("phase", "?") : "none"));
    return out;
  };
  auto in_ns1 = store_->list_with_status("sgclusters", "ns1");
  ASSERT_TRUE(in_ns1.ok()) << in_ns1.error().message;
  EXPECT_EQ(phases(*in_ns1), (std::vector<std::string>{"ns1/a=ns1/a", "ns1/b=none"}));
  auto all = store_->list_with_status("SGCluster");
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(phases(*all),
            (std::vector<std::string>{"default/c=default/c", "ns1/a=ns1/a", "ns1/b=none", "ns10/a=ns10/a"}));
  EXPECT_FALSE((*all)[0].body["metadata"].value("resourceVersion", "").empty());

  ASSERT_TRUE(store_->client().put("/pgstack/status/sgclusters/ns1/b", "{not json").ok());
  auto corrupt = store_->list_with_status("SGCluster", "ns1");
  ASSERT_FALSE(corrupt.ok());
  EXPECT_NE(corrupt.error().message.find("/pgstack/status/sgclusters/ns1/b"), std::string::npos)
      << corrupt.error().message;
}

TEST_F(ResourceStoreTest, BadKindsAndNamesAreInvalidInput) {
  auto unknown = store_->get("Deployment", "default", "x");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(unknown.error().message.find("Deployment"), std::string::npos);

  auto slash = store_->create(cluster("a/b"));
  ASSERT_FALSE(slash.ok());
  EXPECT_EQ(slash.error().code, ErrorCode::kInvalidInput);

  auto bad_namespace = store_->list("sgclusters", "../x");
  ASSERT_FALSE(bad_namespace.ok());
  EXPECT_EQ(bad_namespace.error().code, ErrorCode::kInvalidInput);
}

TEST_F(ResourceStoreTest, PrefixSeparatesInstallationsAndWatchesDecode) {
  ResourceStore other(EtcdClient({server_->endpoint()}), "/other/");
  std::mutex mutex;
  std::vector<std::string> seen;
  std::condition_variable changed;
  auto range = store_->client().get_prefix(other.resources_prefix());
  ASSERT_TRUE(range.ok());
  auto watch = other.client().watch_prefix(other.resources_prefix(), range->revision + 1,
                                           [&](const std::vector<WatchEvent>& events) {
                                             std::lock_guard lock(mutex);
                                             for (const auto& event : events) {
                                               auto document = other.decode(event.kv);
                                               seen.push_back(document.ok() ? document->name() : "?");
                                             }
                                             changed.notify_all();
                                           });

  ASSERT_TRUE(other.create(cluster("elsewhere")).ok());
  auto key = other.resource_key("sgclusters", "default", "elsewhere");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*key, "/other/resources/sgclusters/default/elsewhere");
  auto mine = store_->list("sgclusters");
  ASSERT_TRUE(mine.ok());
  EXPECT_TRUE(mine->empty());

  std::unique_lock lock(mutex);
  ASSERT_TRUE(changed.wait_for(lock, 10s, [&] { return !seen.empty(); }));
  EXPECT_EQ(seen.front(), "elsewhere");
}

TEST(ResourceStoreUnreachable, EtcdDownIsUnavailable) {
  ResourceStore store(EtcdClient({"http://127.0.0.1:" + std::to_string(testing::free_tcp_port())}, 2s));
  auto fetched = store.get("sgclusters", "default", "demo");
  ASSERT_FALSE(fetched.ok());
  EXPECT_EQ(fetched.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace pgstack::store
