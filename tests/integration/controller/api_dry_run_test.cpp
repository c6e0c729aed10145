// ?dryRun=All on the REST API (ApiHandler on a real HttpServer over loopback, a real etcd behind it,
// this host's Postgres and its parameter catalogue): checked as a real write, stored nowhere, answered
// with the object as it would be stored and, for a replace, what changes and whether Postgres restarts.
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/files.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/process.h"
#include "controller/api_server.h"
#include "host/host_context.h"
#include "model/document.h"
#include "support/etcd_server.h"

namespace pgstack::controller {
namespace {

using model::Json;

class ApiDryRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = testing::EtcdServer::start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    etcd_ = std::move(started).value().release();
    client_ = new store::EtcdClient({etcd_->endpoint()});
    host_ = new host::HostValidationContext();
    api_ = new ApiHandler(store::ResourceStore(*client_, "/pgstack"), "/pgstack", host_->context(), nullptr);
    server_ = new HttpServer("127.0.0.1", 0, [](const HttpRequest& request) { return api_->handle(request); });
    ASSERT_TRUE(server_->start().ok());
  }
  static void TearDownTestSuite() {
    delete server_;
    delete api_;
    delete host_;
    delete client_;
    delete etcd_;
  }

  struct Reply {
    int status = 0;
    Json body;
    std::string text;
  };
  static Reply call(std::string_view method, const std::string& target, const std::string& body = "",
                    const std::string& content_type = "application/json") {
    HttpHeaders headers;
    if (!body.empty()) headers.emplace_back("Content-Type", content_type);
    auto response = http_request(method, "http://127.0.0.1:" + std::to_string(server_->port()) + target, body, headers);
    EXPECT_TRUE(response.ok()) << response.error().message;
    if (!response.ok()) return {};
    return {response->status, Json::parse(response->body, nullptr, false), response->body};
  }

  // ctest runs each test in a process of its own (a fresh etcd): what a test needs, it creates.
  static void ensure_profile(const std::string& name, const std::string& memory) {
    const auto reply = call("POST", "/apis/stackgres.io/v1/namespaces/default/sginstanceprofiles",
                            Json{{"apiVersion", "stackgres.io/v1"},
                                 {"kind", "SGInstanceProfile"},
                                 {"metadata", {{"name", name}}},
                                 {"spec", {{"cpu", "1"}, {"memory", memory}}}}
                                .dump());
    EXPECT_TRUE(reply.status == 201 || reply.status == 409) << reply.text;
  }

  static inline testing::EtcdServer* etcd_ = nullptr;
  static inline store::EtcdClient* client_ = nullptr;
  static inline host::HostValidationContext* host_ = nullptr;
  static inline ApiHandler* api_ = nullptr;
  static inline HttpServer* server_ = nullptr;
};

const std::string kBase = "/apis/stackgres.io/v1/namespaces/default/";

Json profile(const std::string& name, const std::string& memory) {
  return {{"apiVersion", "stackgres.io/v1"},
          {"kind", "SGInstanceProfile"},
          {"metadata", {{"name", name}}},
          {"spec", {{"cpu", "1"}, {"memory", memory}}}};
}

Json cluster(const Json& instances, const std::string& profile_name) {
  return {{"apiVersion", "stackgres.io/v1"},
          {"kind", "SGCluster"},
          {"metadata", {{"name", "dry"}}},
          {"spec",
           {{"instances", instances},
            {"postgres", {{"version", "15"}}},
            {"sgInstanceProfile", profile_name},
            {"pods", {{"persistentVolume", {{"size", "1Gi"}}}}}}}};
}

bool has_reason(const Json& reply, const std::string& part) {
  for (const auto& reason : reply["dryRun"].value("restartReasons", Json::array())) {
    if (reason.get<std::string>().find(part) != std::string::npos) return true;
  }
  return false;
}

TEST_F(ApiDryRun, ACreateIsCheckedAndAnsweredButNotStored) {
  ensure_profile("small", "2Gi");

  // A bad value: the problem names the field; nothing is stored.
  const auto bad = call("POST", kBase + "sgclusters?dryRun=All", cluster("three", "small").dump());
  ASSERT_EQ(bad.status, 422) << bad.text;
  ASSERT_FALSE(bad.body.value("errors", Json::array()).empty()) << bad.text;
  EXPECT_EQ(bad.body["errors"][0].value("path", ""), "spec.instances") << bad.text;
  // A reference to nothing is refused as the real write refuses it.
  const auto dangling = call("POST", kBase + "sgclusters?dryRun=All", cluster(1, "absent").dump());
  EXPECT_EQ(dangling.status, 422) << dangling.text;
  EXPECT_NE(dangling.text.find("spec.sgInstanceProfile"), std::string::npos) << dangling.text;

  // YAML as the console's editor sends it: 201 with the defaults applied, still nothing stored.
  const std::string yaml =
      "apiVersion: stackgres.io/v1\nkind: SGCluster\nmetadata:\n  name: dry\nspec:\n  instances: 1\n"
      "  postgres:\n    version: '15'\n  sgInstanceProfile: small\n  pods:\n    persistentVolume:\n      size: 1Gi\n";
  const auto created = call("POST", kBase + "sgclusters?dryRun=All", yaml, "application/yaml");
  ASSERT_EQ(created.status, 201) << created.text;
  EXPECT_EQ(created.body["metadata"].value("namespace", ""), "default");
  EXPECT_TRUE(created.body["metadata"].contains("creationTimestamp"));
  EXPECT_FALSE(created.body["metadata"].contains("resourceVersion"));
  EXPECT_EQ(created.body["dryRun"].value("operation", ""), "create");
  EXPECT_EQ(created.body["spec"]["postgres"].value("flavor", ""), "vanilla") << "defaults applied: " << created.text;
  EXPECT_EQ(call("GET", kBase + "sgclusters/dry").status, 404);
  EXPECT_TRUE(call("GET", kBase + "sgclusters").body["items"].empty());
}

TEST_F(ApiDryRun, AReplaceSaysWhatChangesAndWhetherPostgresRestarts) {
  ensure_profile("small", "2Gi");
  ensure_profile("big", "4Gi");
  const auto stored = call("POST", kBase + "sgclusters", cluster(1, "small").dump());
  ASSERT_EQ(stored.status, 201) << stored.text;
  const std::string version = stored.body["metadata"].value("resourceVersion", "");

  // Scaling: one change, no restart; the stored object is untouched.
  Json scaled = cluster(2, "small");
  scaled["metadata"]["resourceVersion"] = version;
  const auto scale = call("PUT", kBase + "sgclusters/dry?dryRun=All", scaled.dump());
  ASSERT_EQ(scale.status, 200) << scale.text;
  EXPECT_EQ(scale.body["dryRun"].value("operation", ""), "update");
  EXPECT_EQ(scale.body["dryRun"]["changes"],
            Json::parse(R"([{"path":"spec.instances","op":"replace","from":1,"to":2}])"))
      << scale.text;
  EXPECT_EQ(scale.body["dryRun"].value("restartRequired", true), false) << scale.text;
  EXPECT_EQ(scale.body["metadata"].value("resourceVersion", ""), version);
  EXPECT_EQ(scale.body["spec"].value("instances", 0), 2);
  const auto after = call("GET", kBase + "sgclusters/dry");
  EXPECT_EQ(after.body["spec"].value("instances", 0), 1);
  EXPECT_EQ(after.body["metadata"].value("resourceVersion", ""), version);

  // Another profile: twice the memory, so shared_buffers (postmaster) changes: a restart.
  const auto bigger = call("PUT", kBase + "sgclusters/dry?dryRun=All", cluster(1, "big").dump());
  ASSERT_EQ(bigger.status, 200) << bigger.text;
  EXPECT_TRUE(bigger.body["dryRun"].value("restartRequired", false)) << bigger.text;
  EXPECT_TRUE(has_reason(bigger.body, "shared_buffers changes from 512MB to 1GB (context postmaster")) << bigger.text;

  // The profile itself changed: each cluster using it is assessed.
  const auto profile_change =
      call("PUT", kBase + "sginstanceprofiles/small?dryRun=All", profile("small", "4Gi").dump());
  ASSERT_EQ(profile_change.status, 200) << profile_change.text;
  EXPECT_TRUE(profile_change.body["dryRun"].value("restartRequired", false)) << profile_change.text;
  EXPECT_TRUE(has_reason(profile_change.body, "SGCluster/dry: shared_buffers")) << profile_change.text;
  EXPECT_EQ(profile_change.body["dryRun"]["changes"][0].value("path", ""), "spec.memory");

  // Refused as the real write: stale version, absent object, existing name.
  Json stale = scaled;
  stale["metadata"]["resourceVersion"] = "1";
  EXPECT_EQ(call("PUT", kBase + "sgclusters/dry?dryRun=All", stale.dump()).status, 409);
  Json absent = cluster(1, "small");
  absent["metadata"]["name"] = "absent";
  EXPECT_EQ(call("PUT", kBase + "sgclusters/absent?dryRun=All", absent.dump()).status, 404);
  EXPECT_EQ(call("POST", kBase + "sgclusters?dryRun=All", cluster(1, "small").dump()).status, 409);
  const auto renamed = call("PUT", kBase + "sgclusters/other?dryRun=All", cluster(1, "small").dump());
  ASSERT_EQ(renamed.status, 422) << renamed.text;
  EXPECT_EQ(renamed.body["errors"][0].value("path", ""), "metadata.name");
}

// `pgstack apply --dry-run` over the same API: the CLI says what would change and stores nothing.
TEST_F(ApiDryRun, TheCliAppliesWithADryRunAndPrintsTheChanges) {
  if (!std::filesystem::exists(PGSTACK_BINARY)) GTEST_SKIP() << PGSTACK_BINARY << " is not built in this build";
  ensure_profile("small", "2Gi");
  const auto stored = call("POST", kBase + "sgclusters", cluster(1, "small").dump());
  ASSERT_TRUE(stored.status == 201 || stored.status == 409) << stored.text;
  const std::filesystem::path manifest =
      std::filesystem::temp_directory_path() / ("pgstack-dry-run-" + std::to_string(::getpid()) + ".json");
  ASSERT_TRUE(write_file_atomically(manifest, cluster(2, "small").dump(), std::filesystem::perms(0600)).ok());
  auto ran = run_command({PGSTACK_BINARY, "apply", "--dry-run", "-f", manifest.string()},
                         {.extra_environment = {{"PGSTACK_API", "http://127.0.0.1:" + std::to_string(server_->port())},
                                                {"PGSTACK_TOKEN", "not-checked-by-this-server"}}});
  std::filesystem::remove(manifest);
  ASSERT_TRUE(ran.ok()) << ran.error().message;
  EXPECT_EQ(ran->exit_code, 0) << ran->standard_output << ran->standard_error;
  EXPECT_NE(ran->standard_output.find("(server dry run)"), std::string::npos) << ran->standard_output;
  EXPECT_NE(ran->standard_output.find("spec.instances: 1 -> 2"), std::string::npos) << ran->standard_output;
  EXPECT_EQ(call("GET", kBase + "sgclusters/dry").body["spec"].value("instances", 0), 1);
}

TEST_F(ApiDryRun, ADryRunValueOrPlaceThatIsNotOneIsRefusedAndDoesNothing) {
  const auto value = call("POST", kBase + "sgclusters?dryRun=true", cluster(1, "small").dump());
  EXPECT_EQ(value.status, 400) << value.text;
  EXPECT_NE(value.text.find("query parameter dryRun"), std::string::npos) << value.text;
  ASSERT_EQ(call("POST", kBase + "sginstanceprofiles", profile("keep", "1Gi").dump()).status, 201);
  const auto removal = call("DELETE", kBase + "sginstanceprofiles/keep?dryRun=All");
  EXPECT_EQ(removal.status, 400) << removal.text;
  EXPECT_EQ(call("GET", kBase + "sginstanceprofiles/keep").status, 200);
  EXPECT_EQ(call("POST", "/api/v1/namespaces/default/secrets?dryRun=All",
                 R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"stringData":{"k":"v"}})")
                .status,
            400);
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/secrets/s").status, 404);
}

}  // namespace
}  // namespace pgstack::controller
