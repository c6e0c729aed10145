// Who may call the controller's API, tested against a real controller and etcd (the agent runs but
// no cluster is made): every route refuses a caller without credentials; viewers read and nothing
// else; operators change resources and see credentials but not users or the audit trail; a revoked
// or expired token fails on its next request; sessions end on logout and on expiry; failed logins are
// throttled and recover; mutations and reveals are in the audit trail.
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/network.h"
#include "common/time.h"
#include "model/kinds.h"
#include "support/pgstack_runtime.h"

namespace pgstack::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

PgstackRuntime* runtime = nullptr;

constexpr int kLockoutSeconds = 2;
constexpr int kSessionLifetimeSeconds = 4;

int status_of(const Result<HttpResponse>& response) { return response.ok() ? response->status : -1; }

json body_of(const Result<HttpResponse>& response) {
  if (!response.ok()) return json::object();
  return json::parse(response->body, nullptr, false);
}

// A user with a password and one role, and a token of theirs made by the admin.
std::string make_user(const std::string& name, const std::string& role, const std::string& ns) {
  const json user = {
      {"name", name}, {"password", name + "-password-1"}, {"roles", {{{"role", role}, {"namespace", ns}}}}};
  auto created = runtime->api("POST", "/apis/pgstack.io/v1/users", user.dump());
  EXPECT_EQ(status_of(created), 201) << (created.ok() ? created->body : created.error().message);
  auto token = runtime->api("POST", "/apis/pgstack.io/v1/tokens", json{{"user", name}, {"description", "test"}}.dump());
  EXPECT_EQ(status_of(token), 201) << (token.ok() ? token->body : token.error().message);
  return body_of(token).value("token", "");
}

HttpHeaders session_headers(const std::string& cookie, bool csrf) {
  HttpHeaders headers = {{"Cookie", cookie}, {"Content-Type", "application/json"}};
  if (csrf) headers.emplace_back("X-Pgstack-Csrf", "1");
  return headers;
}

Result<HttpResponse> login(const std::string& user, const std::string& password) {
  return http_request("POST", runtime->api_url() + "/auth/login",
                      json{{"username", user}, {"password", password}}.dump(), {{"Content-Type", "application/json"}},
                      10s);
}

std::string cookie_of(const Result<HttpResponse>& response) {
  if (!response.ok()) return "";
  const auto header = response->headers.find("set-cookie");
  if (header == response->headers.end()) return "";
  return header->second.substr(0, header->second.find(';'));
}

const std::string kSgClusters = "/apis/stackgres.io/v1/namespaces/default/sgclusters";
const std::string kProfile = R"({"apiVersion":"stackgres.io/v1","kind":"SGInstanceProfile",
  "metadata":{"name":"small","namespace":"default"},"spec":{"cpu":"1","memory":"2Gi"}})";

TEST(Auth, EveryRouteButHealthNeedsCredentials) {
  EXPECT_EQ(status_of(runtime->api_as("", "GET", "/healthz")), 200);
  std::vector<std::pair<std::string, std::string>> routes = {
      {"GET", kSgClusters},
      {"POST", kSgClusters},
      {"GET", kSgClusters + "/demo"},
      {"PUT", kSgClusters + "/demo"},
      {"DELETE", kSgClusters + "/demo"},
      {"GET", kSgClusters + "/demo/status"},
      {"GET", kSgClusters + "/demo/credentials"},
      {"POST", kSgClusters + "/demo/switchover"},
      {"POST", kSgClusters + "/demo/restart"},
      {"POST", "/apis/stackgres.io/v1/namespaces/default/sgbackups/b/verify"},
      {"GET", "/apis/stackgres.io/v1/namespaces/_all/sginstanceprofiles"},
      {"GET", "/api/v1/namespaces/default/secrets"},
      {"GET", "/api/v1/namespaces/default/secrets/s?reveal=true"},
      {"POST", "/api/v1/namespaces/default/secrets"},
      {"GET", "/apis/pgstack.io/v1/users"},
      {"POST", "/apis/pgstack.io/v1/users"},
      {"GET", "/apis/pgstack.io/v1/tokens"},
      {"GET", "/apis/pgstack.io/v1/audit"},
      {"GET", "/auth/whoami"},
      {"GET", "/auth/rbac/can-i"},
      {"POST", "/auth/logout"},
      {"GET", "/no/such/path"},
  };
  // And every kind's collection and object routes.
  for (const auto& kind : model::all_kinds()) {
    const std::string collection = "/apis/stackgres.io/v1/namespaces/default/" + kind.plural;
    for (const auto& method : {"GET", "POST"}) routes.emplace_back(method, collection);
    for (const auto& method : {"GET", "PUT", "DELETE"}) routes.emplace_back(method, collection + "/x");
  }
  for (const auto& [method, path] : routes) {
    auto response = runtime->api_as("", method, path, "{}");
    EXPECT_EQ(status_of(response), 401) << method << " " << path;
    EXPECT_EQ(body_of(response).value("title", ""), "Unauthorized") << method << " " << path;
    auto forged = runtime->api_as("pgs_0123456789abcdef_" + std::string(43, 'A'), method, path, "{}");
    EXPECT_EQ(status_of(forged), 401) << "forged token: " << method << " " << path;
  }
}

TEST(Auth, ViewerReadsAndIsRefusedEverythingElse) {
  const std::string viewer = make_user("vera", "viewer", "default");
  ASSERT_FALSE(viewer.empty());
  ASSERT_EQ(status_of(runtime->api("POST", "sginstanceprofiles", kProfile)), 201);
  EXPECT_EQ(status_of(runtime->api_as(viewer, "GET", kSgClusters)), 200);
  EXPECT_EQ(status_of(runtime->api_as(viewer, "GET", "sginstanceprofiles/small")), 200);
  EXPECT_EQ(status_of(runtime->api_as(viewer, "GET", "/api/v1/namespaces/default/secrets")), 200);
  std::vector<std::tuple<std::string, std::string, std::string>> refused = {
      {"POST", "sginstanceprofiles", "create sginstanceprofiles"},
      {"PUT", "sginstanceprofiles/small", "update sginstanceprofiles"},
      {"DELETE", "sginstanceprofiles/small", "delete sginstanceprofiles"},
      {"GET", "sgclusters/demo/credentials", "get sgclusters/credentials"},
      {"POST", "sgclusters/demo/switchover", "create sgclusters/switchover"},
      {"POST", "sgclusters/demo/restart", "create sgclusters/restart"},
      {"POST", "sgbackups/b/verify", "create sgbackups/verify"},
      {"GET", "/api/v1/namespaces/default/secrets/s?reveal=true", "get secrets/values"},
      {"POST", "/api/v1/namespaces/default/secrets", "create secrets"},
      {"GET", "/apis/pgstack.io/v1/users", "list users"},
      {"GET", "/apis/pgstack.io/v1/audit", "list audit"},
      {"GET", "/apis/stackgres.io/v1/namespaces/other/sgclusters", "list sgclusters in namespace \"other\""},
      {"GET", "/apis/stackgres.io/v1/namespaces/_all/sgclusters", "list sgclusters in all namespaces"},
  };
  for (const auto& kind : model::all_kinds()) {
    EXPECT_EQ(status_of(runtime->api_as(viewer, "GET", kind.plural)), 200) << kind.plural;
    for (const auto& [method, verb] : {std::pair{"POST", "create"}, {"PUT", "update"}, {"DELETE", "delete"}}) {
      const std::string path = std::string(method) == "POST" ? kind.plural : kind.plural + "/x";
      refused.emplace_back(method, path, std::string(verb) + " " + kind.plural);
    }
  }
  for (const auto& [method, path, permission] : refused) {
    auto response = runtime->api_as(viewer, method, path, kProfile);
    EXPECT_EQ(status_of(response), 403) << method << " " << path;
    EXPECT_NE(body_of(response).value("detail", "").find(permission), std::string::npos)
        << method << " " << path << ": " << (response.ok() ? response->body : "");
  }
  // Listing other users' tokens, or making one for someone else, is for admins.
  EXPECT_EQ(status_of(runtime->api_as(viewer, "GET", "/apis/pgstack.io/v1/tokens?all=true")), 403);
  EXPECT_EQ(status_of(runtime->api_as(viewer, "POST", "/apis/pgstack.io/v1/tokens", R"({"user":"e2e-admin"})")), 403);
  auto whoami = body_of(runtime->api_as(viewer, "GET", "/auth/whoami"));
  EXPECT_EQ(whoami.value("user", ""), "vera");
  auto can_i = body_of(runtime->api_as(viewer, "GET", "/auth/rbac/can-i"));
  ASSERT_TRUE(can_i.contains("namespaced")) << can_i.dump();
  EXPECT_EQ(can_i["namespaced"][0]["namespace"], "default");
  EXPECT_EQ(can_i["namespaced"][0]["resources"]["sgclusters"], json::array({"get", "list"}));
  EXPECT_FALSE(can_i["namespaced"][0]["resources"].contains("sgclusters/credentials"));
  EXPECT_EQ(status_of(runtime->api_as(viewer, "GET", "/auth/rbac/can-i/list/sgclusters?namespace=default")), 200);
  EXPECT_EQ(status_of(runtime->api_as(viewer, "GET", "/auth/rbac/can-i/delete/sgclusters?namespace=default")), 403);
  // The CLI says the same.
  auto cli = run_command({PGSTACK_CLI_BINARY, "auth", "can-i", "create", "sgcluster"},
                         {.extra_environment = {{"PGSTACK_API", runtime->api_url()},
                                                {"PGSTACK_STATE_DIR", runtime->directory().string()},
                                                {"PGSTACK_TOKEN", viewer}}});
  ASSERT_TRUE(cli.ok());
  EXPECT_EQ(cli->exit_code, 1);
  EXPECT_EQ(cli->standard_output, "no\n");
}

TEST(Auth, OperatorChangesResourcesAndSeesSecretsButNotUsers) {
  const std::string operator_token = make_user("otto", "operator", "*");
  ASSERT_FALSE(operator_token.empty());
  const std::string secret =
      R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s3"},"stringData":{"key":"value-1"}})";
  EXPECT_EQ(status_of(runtime->api_as(operator_token, "POST", "/api/v1/namespaces/default/secrets", secret)), 201);
  auto revealed = runtime->api_as(operator_token, "GET", "/api/v1/namespaces/default/secrets/s3?reveal=true");
  EXPECT_EQ(status_of(revealed), 200);
  EXPECT_EQ(body_of(revealed)["data"].value("key", ""), "dmFsdWUtMQ==");
  EXPECT_EQ(status_of(runtime->api_as(operator_token, "DELETE", "sginstanceprofiles/small")), 200);
  // Allowed, so the handler answers: there is no such cluster.
  EXPECT_EQ(status_of(runtime->api_as(operator_token, "GET", "sgclusters/demo/credentials")), 404);
  EXPECT_EQ(status_of(runtime->api_as(operator_token, "GET", "/apis/pgstack.io/v1/users")), 403);
  EXPECT_EQ(status_of(runtime->api_as(operator_token, "GET", "/apis/pgstack.io/v1/audit")), 403);
  EXPECT_EQ(status_of(runtime->api_as(operator_token, "DELETE", "/apis/pgstack.io/v1/users/vera")), 403);
}

TEST(Auth, RoleChangesTakeEffectOnTheNextRequest) {
  auto token = make_user("rita", "viewer", "default");
  EXPECT_EQ(status_of(runtime->api_as(token, "POST", "sginstanceprofiles", kProfile)), 403);
  ASSERT_EQ(status_of(runtime->api("PUT", "/apis/pgstack.io/v1/users/rita/roles",
                                   R"({"roles":[{"role":"operator","namespace":"default"}]})")),
            200);
  EXPECT_EQ(status_of(runtime->api_as(token, "POST", "sginstanceprofiles", kProfile)), 201);
  EXPECT_EQ(status_of(runtime->api("DELETE", "sginstanceprofiles/small")), 200);
}

TEST(Auth, RevokedAndExpiredTokensFailOnTheirNextRequest) {
  auto created = body_of(runtime->api("POST", "/apis/pgstack.io/v1/tokens", R"({"description":"short-lived"})"));
  const std::string token = created.value("token", "");
  ASSERT_EQ(status_of(runtime->api_as(token, "GET", kSgClusters)), 200);
  ASSERT_EQ(status_of(runtime->api("DELETE", "/apis/pgstack.io/v1/tokens/" + created.value("id", ""))), 200);
  EXPECT_EQ(status_of(runtime->api_as(token, "GET", kSgClusters)), 401);

  const auto in_two_seconds = std::chrono::system_clock::now() + 2s;
  auto expiring = body_of(
      runtime->api("POST", "/apis/pgstack.io/v1/tokens", json{{"expires", utc_timestamp(in_two_seconds)}}.dump()));
  const std::string expiring_token = expiring.value("token", "");
  ASSERT_FALSE(expiring_token.empty()) << expiring.dump();
  EXPECT_EQ(status_of(runtime->api_as(expiring_token, "GET", kSgClusters)), 200);
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(status_of(runtime->api_as(expiring_token, "GET", kSgClusters)), 401);
  // Only the digest is stored: etcd holds no token in clear.
  auto stored = runtime->api("GET", "/apis/pgstack.io/v1/tokens?all=true");
  EXPECT_EQ(stored->body.find(expiring_token.substr(21)), std::string::npos);
}

TEST(Auth, SessionsEndOnLogoutAndExpiry) {
  auto logged_in = login("vera", "vera-password-1");
  ASSERT_EQ(status_of(logged_in), 200) << (logged_in.ok() ? logged_in->body : "");
  const std::string set_cookie = logged_in->headers.at("set-cookie");
  EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(set_cookie.find("Secure"), std::string::npos);
  EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos);
  const std::string cookie = cookie_of(logged_in);
  const std::string url = runtime->api_url();
  EXPECT_EQ(status_of(http_request("GET", url + "/auth/whoami", "", session_headers(cookie, false), 5s)), 200);
  // A mutation through a cookie needs the CSRF header as well.
  EXPECT_EQ(status_of(http_request("POST", url + "/auth/logout", "{}", session_headers(cookie, false), 5s)), 403);
  EXPECT_EQ(status_of(http_request("POST", url + "/auth/logout", "{}", session_headers(cookie, true), 5s)), 200);
  EXPECT_EQ(status_of(http_request("GET", url + "/auth/whoami", "", session_headers(cookie, false), 5s)), 401);

  auto again = login("vera", "vera-password-1");
  const std::string second = cookie_of(again);
  EXPECT_EQ(status_of(http_request("GET", url + "/auth/whoami", "", session_headers(second, false), 5s)), 200);
  std::this_thread::sleep_for(std::chrono::seconds(kSessionLifetimeSeconds + 1));
  EXPECT_EQ(status_of(http_request("GET", url + "/auth/whoami", "", session_headers(second, false), 5s)), 401);
}

TEST(Auth, FailedLoginsAreThrottledAndRecover) {
  auto unknown = login("nobody-here", "whatever-password");
  auto wrong = login("otto", "not-the-password");
  EXPECT_EQ(status_of(unknown), 401);
  EXPECT_EQ(status_of(wrong), 401);
  // The same answer whether or not the user exists.
  EXPECT_EQ(body_of(unknown).value("detail", "?"), body_of(wrong).value("detail", "!"));
  (void)login("otto", "not-the-password");
  (void)login("otto", "not-the-password");
  auto locked = login("otto", "otto-password-1");
  EXPECT_EQ(status_of(locked), 429) << (locked.ok() ? locked->body : "");
  EXPECT_TRUE(locked.ok() && locked->headers.contains("retry-after"));
  std::this_thread::sleep_for(std::chrono::seconds(kLockoutSeconds + 1));
  EXPECT_EQ(status_of(login("otto", "otto-password-1")), 200);
}

// The public endpoint reads its body with the manifest reader's limits: a value nested a million deep
// is refused (it once crashed the controller by a recursive copy), and the controller goes on.
TEST(Auth, HostileLoginBodiesAreRefusedAndChangeNothing) {
  const std::string deep =
      R"({"username":)" + std::string(1000000, '[') + std::string(1000000, ']') + R"(,"password":"x"})";
  for (const std::string& body : {deep, std::string("{\"username\":\"a\",\"username\":\"b\",\"password\":\"x\"}"),
                                  std::string("not json"), std::string("[1,2]")}) {
    auto refused =
        http_request("POST", runtime->api_url() + "/auth/login", body, {{"Content-Type", "application/json"}}, 30s);
    ASSERT_TRUE(refused.ok()) << refused.error().message;
    EXPECT_EQ(refused->status, 422) << refused->body;
  }
  EXPECT_EQ(status_of(runtime->api_as("", "GET", "/healthz")), 200);
  // Names in the auth API's paths are checked like the resource API's.
  EXPECT_EQ(status_of(runtime->api("DELETE", "/apis/pgstack.io/v1/users/a%2Fb")), 400);
  EXPECT_EQ(status_of(runtime->api("GET", "/apis/pgstack.io/v1/users/%20")), 400);
  EXPECT_EQ(status_of(runtime->api("DELETE", "/apis/pgstack.io/v1/tokens/not-an-id")), 400);
}

TEST(Auth, TheLastAdminStays) {
  auto refused = runtime->api("DELETE", "/apis/pgstack.io/v1/users/e2e-admin");
  EXPECT_EQ(status_of(refused), 409);
  EXPECT_EQ(status_of(runtime->api("PUT", "/apis/pgstack.io/v1/users/e2e-admin/roles",
                                   R"({"roles":[{"role":"viewer","namespace":"*"}]})")),
            409);
}

TEST(Auth, JoinTokensAreForAdminsAndNeedAnEtcdOtherHostsReach) {
  const std::string operator_token = make_user("olga", "operator", "*");
  ASSERT_FALSE(operator_token.empty());
  auto refused = runtime->api_as(operator_token, "POST", "/apis/pgstack.io/v1/jointokens", "{}");
  EXPECT_EQ(status_of(refused), 403);
  EXPECT_NE(body_of(refused).value("detail", "").find("may not create hosts"), std::string::npos)
      << body_of(refused).dump();
  // This controller's etcd is on loopback: no token, and the reason.
  auto loopback = runtime->api("POST", "/apis/pgstack.io/v1/jointokens", "{}");
  EXPECT_EQ(status_of(loopback), 409);
  EXPECT_NE(body_of(loopback).value("detail", "").find("which another host cannot reach"), std::string::npos)
      << body_of(loopback).dump();
  // The CA certificate is public; a join without a token's shape is refused, and so is this one's.
  auto ca = runtime->api_as("", "GET", "/apis/pgstack.io/v1/join/ca");
  EXPECT_EQ(status_of(ca), 200);
  EXPECT_TRUE(ca.ok() && ca->body.starts_with("-----BEGIN CERTIFICATE-----"));
  EXPECT_EQ(status_of(runtime->api_as("", "POST", "/apis/pgstack.io/v1/join", R"({"token": "x", "hostName": "h"})")),
            400);
  EXPECT_EQ(status_of(runtime->api_as("", "POST", "/apis/pgstack.io/v1/join", "[]")), 400);
  const std::string shaped = "pgsjoin.0123456789abcdef." + std::string(43, 'A') + "." + std::string(64, 'a');
  EXPECT_EQ(status_of(runtime->api_as("", "POST", "/apis/pgstack.io/v1/join",
                                      json{{"token", shaped}, {"hostName", "h"}}.dump())),
            409);
  EXPECT_EQ(status_of(runtime->api_as("", "DELETE", "/apis/pgstack.io/v1/join/ca")), 405);
}

TEST(Auth, MutationsDenialsAndRevealsAreAudited) {
  auto trail = body_of(runtime->api("GET", "/apis/pgstack.io/v1/audit"));
  ASSERT_TRUE(trail.contains("items")) << trail.dump();
  const auto has = [&](const std::string& user, const std::string& method, const std::string& path_part, int status) {
    for (const auto& entry : trail["items"]) {
      if (entry.value("user", "") == user && entry.value("method", "") == method &&
          entry.value("path", "").find(path_part) != std::string::npos && entry.value("status", 0) == status &&
          !entry.value("time", "").empty())
        return true;
    }
    return false;
  };
  EXPECT_TRUE(has("vera", "POST", "/sginstanceprofiles", 403)) << trail.dump(1);
  EXPECT_TRUE(has("otto", "GET", "/secrets/s3", 200));
  EXPECT_TRUE(has("otto", "GET", "/sgclusters/demo/credentials", 404));
  EXPECT_TRUE(has("e2e-admin", "POST", "/apis/pgstack.io/v1/users", 201));
  EXPECT_TRUE(has("otto", "POST", "/auth/login", 429));
  EXPECT_TRUE(has("olga", "POST", "/apis/pgstack.io/v1/jointokens", 403));
  EXPECT_TRUE(has("join-token:0123456789abcdef", "POST", "/apis/pgstack.io/v1/join", 409));
  // Plain reads are not audited.
  for (const auto& entry : trail["items"])
    EXPECT_FALSE(entry.value("path", "") == kSgClusters && entry["method"] == "GET");
  auto since = runtime->api("GET", "/apis/pgstack.io/v1/audit?since=2999-01-01T00:00:00Z");
  EXPECT_EQ(body_of(since)["items"].size(), 0u);
}

}  // namespace
}  // namespace pgstack::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  pgstack::testing::RuntimeBinaries binaries{PGSTACK_CONTROLLER_BINARY, PGSTACK_AGENT_BINARY, PGSTACK_CLI_BINARY};
  binaries.controller_flags = {"--login-max-failures", "3",
                               "--login-lockout",      std::to_string(pgstack::testing::kLockoutSeconds),
                               "--session-lifetime",   std::to_string(pgstack::testing::kSessionLifetimeSeconds)};
  ::testing::AddGlobalTestEnvironment(new pgstack::testing::RuntimeEnvironment(&pgstack::testing::runtime, binaries));
  return RUN_ALL_TESTS();
}
