// The REST API as a client reaches it (ApiHandler on a real HttpServer over loopback, a real etcd
// behind it) with hostile requests: each gets its RFC 7807 problem naming what was wrong.
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "auth/authenticator.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "controller/access_gate.h"
#include "controller/api_server.h"
#include "model/document.h"
#include "support/etcd_server.h"

namespace pgstack::controller {
namespace {

using model::Json;

class ApiHostileInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = testing::EtcdServer::start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    etcd_ = std::move(started).value().release();
    client_ = new store::EtcdClient({etcd_->endpoint()});
    api_ = new ApiHandler(store::ResourceStore(*client_, "/pgstack"), "/pgstack", {}, nullptr);
    server_ = new HttpServer("127.0.0.1", 0, [](const HttpRequest& request) { return api_->handle(request); });
    ASSERT_TRUE(server_->start().ok());
    // The controller's front door as pgstack-controller serves it: authentication first.
    authenticator_ = new auth::Authenticator(auth::AuthStore(*client_, "/pgstack"), auth::AuthSettings{});
    gate_ = new AccessGate(*api_, *authenticator_);
    gated_ = new HttpServer("127.0.0.1", 0, [](const HttpRequest& request) { return gate_->handle(request); });
    ASSERT_TRUE(gated_->start().ok());
  }
  static void TearDownTestSuite() {
    delete gated_;
    delete gate_;
    delete authenticator_;
    delete server_;
    delete api_;
    delete client_;
    delete etcd_;
  }

  struct Reply {
    int status = 0;
    Json body;
    std::string text;
  };
  static Reply call(std::string_view method, const std::string& target, const std::string& body = "",
                    const HttpHeaders& headers = {}, HttpServer* server = nullptr) {
    if (server == nullptr) server = server_;
    auto response = http_request(method, "http://127.0.0.1:" + std::to_string(server->port()) + target, body, headers);
    EXPECT_TRUE(response.ok()) << response.error().message;
    if (!response.ok()) return {};
    return {response->status, Json::parse(response->body, nullptr, false), response->body};
  }
  // The problem's status, and that its detail and first error name `where`.
  static void expect_problem(const Reply& reply, int status, const std::string& where, const std::string& expected) {
    EXPECT_EQ(reply.status, status) << reply.text;
    ASSERT_TRUE(reply.body.is_object()) << reply.text;
    EXPECT_EQ(reply.body.value("status", 0), status);
    EXPECT_EQ(reply.body.value("type", ""), "about:blank");
    const std::string detail = reply.body.value("detail", "");
    EXPECT_NE(detail.find(where), std::string::npos) << reply.text;
    EXPECT_NE(detail.find(expected), std::string::npos) << reply.text;
  }

  static inline testing::EtcdServer* etcd_ = nullptr;
  static inline store::EtcdClient* client_ = nullptr;
  static inline ApiHandler* api_ = nullptr;
  static inline HttpServer* server_ = nullptr;
  static inline auth::Authenticator* authenticator_ = nullptr;
  static inline AccessGate* gate_ = nullptr;
  static inline HttpServer* gated_ = nullptr;
};

const std::string kClusters = "/apis/stackgres.io/v1/namespaces/default/sgclusters";
const std::string kSecrets = "/api/v1/namespaces/default/secrets";

TEST_F(ApiHostileInput, PathSegmentsAreDecodedOneByOneAndChecked) {
  // %2F no longer makes a new segment: "demo%2Fstatus" is one name, and not a DNS-1123 label.
  expect_problem(call("GET", kClusters + "/demo%2Fstatus"), 400, "path segment 7 (name)", "expected a DNS-1123 label");
  expect_problem(call("GET", "/apis/stackgres.io/v1/namespaces/%2E%2E/sgclusters"), 400, "path segment 5",
                 "relative segment");
  expect_problem(call("GET", "/apis/stackgres.io/v1/namespaces/Default/sgclusters"), 400, "path segment 5 (namespace)",
                 "expected a DNS-1123 label");
  expect_problem(call("GET", kClusters + "/" + std::string(64, 'a')), 400, "path segment 7 (name)", "63 characters");
  expect_problem(call("DELETE", "/api/v1/namespaces/default/secrets/a_b"), 400, "path segment 6 (name)", "DNS-1123");
  expect_problem(call("GET", kClusters + "/demo%zz"), 400, "path segment 7", "percent-encoding is %XX");
  expect_problem(call("GET", kClusters + "/%FF%FE"), 400, "path segment 7", "not UTF-8");
  EXPECT_EQ(call("GET", kClusters + "/absent").status, 404);
  EXPECT_EQ(call("GET", "/apis/stackgres.io/v1/namespaces/_all/sgclusters").status, 200);
}

// Behind authentication: a target that is not a path is refused before it is classified (nothing in it
// could be authorized or audited); a well-formed one gets 401 without credentials, whatever it names.
TEST_F(ApiHostileInput, TheAccessGateRefusesMalformedTargetsFirst) {
  expect_problem(call("GET", kClusters + "/%FF", "", {}, gated_), 400, "path segment 7", "not UTF-8");
  expect_problem(call("DELETE", "/api/v1/namespaces/%2e%2e/secrets", "", {}, gated_), 400, "path segment 4",
                 "relative segment");
  EXPECT_EQ(call("GET", kClusters + "/demo%2Fstatus", "", {}, gated_).status, 401);
  EXPECT_EQ(call("GET", kSecrets + "/s3?reveal=maybe", "", {}, gated_).status, 401);
  // A user name cut for the audit trail inside a UTF-8 character is still recorded, not a 500.
  const std::string name = std::string(63, 'a') + "\xC3\xA9";
  const auto login = call("POST", "/auth/login", Json{{"username", name}, {"password", "wrong"}}.dump(),
                          {{"Content-Type", "application/json"}}, gated_);
  EXPECT_EQ(login.status, 401) << login.text;
}

TEST_F(ApiHostileInput, QueryValuesAreChecked) {
  expect_problem(call("GET", kSecrets + "/s3?reveal=maybe"), 400, "query parameter reveal",
                 "expected one of: true, false, 1, 0");
  expect_problem(call("GET", kSecrets + "/s3?reveal=%G0"), 400, "query parameter", "percent-encoding");
  expect_problem(call("GET", kSecrets + "/s3?reveal=false&reveal=true"), 400, "query parameter reveal",
                 "more than once");
}

TEST_F(ApiHostileInput, BodiesAreJsonOrYamlWithoutDuplicatesOrDeepNesting) {
  const std::string secret = R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"ct"},"stringData":{"k":"v"}})";
  expect_problem(call("POST", kSecrets, secret, {{"Content-Type", "application/x-www-form-urlencoded"}}), 415,
                 "header Content-Type", "expected application/json, application/yaml");
  EXPECT_EQ(call("POST", kSecrets, "apiVersion: v1\nkind: Secret\nmetadata: {name: yaml-ct}\nstringData: {k: v}\n",
                 {{"Content-Type", "application/yaml; charset=utf-8"}})
                .status,
            201);
  EXPECT_EQ(call("POST", kSecrets, secret, {{"Content-Type", "application/json"}}).status, 201);

  const auto duplicate =
      call("POST", kClusters, "{\"apiVersion\":\"stackgres.io/v1\",\n\"kind\":\"SGCluster\",\n\"kind\":\"SGCluster\"}");
  expect_problem(duplicate, 422, "", "the body is not a valid YAML or JSON document");
  EXPECT_NE(duplicate.text.find("line 3: duplicate key \\\"kind\\\""), std::string::npos) << duplicate.text;

  const auto deep = call("POST", kClusters, std::string(200000, '[') + std::string(200000, ']'));
  EXPECT_EQ(deep.status, 422) << deep.text;
  EXPECT_NE(deep.text.find("nested deeper than 64 levels"), std::string::npos) << deep.text;

  const auto secret_duplicate =
      call("POST", kSecrets, "apiVersion: v1\nkind: Secret\nmetadata: {name: dup}\nstringData:\n  k: a\n  k: b\n");
  expect_problem(secret_duplicate, 422, "line 6: duplicate key \"k\"", "expected one Secret document");

  EXPECT_EQ(call("POST", kClusters, std::string(kMaxRequestBodyBytes + 1, ' ')).status, 413);

  const auto switchover = call("POST", kClusters + "/absent/switchover", R"({"candidate": 5})");
  EXPECT_EQ(switchover.status, 404) << switchover.text;  // the cluster is looked up first
}

TEST_F(ApiHostileInput, SecretValuesAreCheckedWithoutQuotingThem) {
  const auto base64 = call("POST", kSecrets,
                           R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"b64"},"data":{"k":"hunter2!"}})");
  expect_problem(base64, 422, "Secret data.k", "expected base64");
  EXPECT_EQ(base64.text.find("hunter2"), std::string::npos);
  const auto number =
      call("POST", kSecrets, "apiVersion: v1\nkind: Secret\nmetadata: {name: num}\nstringData: {port: 5432}\n");
  expect_problem(number, 422, "Secret stringData.port", "expected a string value");
  const Json huge = {{"apiVersion", "v1"},
                     {"kind", "Secret"},
                     {"metadata", {{"name", "huge"}}},
                     {"stringData", {{"a", std::string(600000, 'x')}, {"b", std::string(600000, 'y')}}}};
  expect_problem(call("POST", kSecrets, huge.dump()), 422, "Secret data", "at most 1048576");
  EXPECT_EQ(call("GET", kSecrets + "/huge").status, 404);
}

TEST_F(ApiHostileInput, HostileCronSchedulesAreRefused) {
  for (const std::string schedule : {"*/0 * * * *", "99999999999 * * * *", "59/2147483647 * * * * * * * *"}) {
    const Json cluster = {
        {"apiVersion", "stackgres.io/v1"},
        {"kind", "SGCluster"},
        {"metadata", {{"name", "cron"}}},
        {"spec",
         {{"instances", 1},
          {"postgres", {{"version", "16"}}},
          {"configurations",
           {{"backups", Json::array({{{"sgObjectStorage", "store"}, {"cronSchedule", schedule}}})}}}}}};
    const auto reply = call("POST", kClusters, cluster.dump());
    EXPECT_EQ(reply.status, 422) << reply.text;
    bool named = false;
    for (const auto& error : reply.body.value("errors", Json::array())) {
      if (error.value("path", "").find("cronSchedule") != std::string::npos &&
          error.value("message", "").find("expected a 5-field cron schedule") != std::string::npos)
        named = true;
    }
    EXPECT_TRUE(named) << reply.text;
  }
}

}  // namespace
}  // namespace pgstack::controller
