#include "controller/request_access.h"

#include <gtest/gtest.h>

#include "auth/access_policy.h"
#include "controller/api_input.h"

namespace pgstack::controller {
namespace {

using Level = RequiredAccess::Level;

// Split as AccessGate and the router split a request's target.
RequiredAccess access(const std::string& method, const std::string& path,
                      const std::map<std::string, std::string>& query = {}) {
  std::vector<std::string> segments;
  EXPECT_FALSE(split_path(path, segments)) << path;
  return required_access(method, segments, query);
}

void expect_permission(const RequiredAccess& got, const std::string& verb, const std::string& resource,
                       const std::string& ns) {
  EXPECT_EQ(got.level, Level::kPermission);
  EXPECT_EQ(got.permission.verb, verb);
  EXPECT_EQ(got.permission.resource, resource);
  EXPECT_EQ(got.permission.namespace_name, ns);
}

TEST(RequestAccess, OnlyHealthLoginAndTheConsoleArePublic) {
  EXPECT_EQ(access("GET", "/healthz").level, Level::kPublic);
  EXPECT_EQ(access("POST", "/auth/login").level, Level::kPublic);
  EXPECT_EQ(access("GET", "/auth/whoami").level, Level::kAuthenticated);
  // The console's static files (served by AccessGate before any check) and the redirect to them.
  EXPECT_EQ(access("GET", "/").level, Level::kPublic);
  EXPECT_EQ(access("GET", "/ui/namespaces/default/sgclusters/demo").level, Level::kPublic);
  EXPECT_EQ(access("GET", "/uix").level, Level::kAuthenticated);
  EXPECT_EQ(access("GET", "/healthz/x").level, Level::kAuthenticated);
}

TEST(RequestAccess, ResourcesMapToKubernetesVerbs) {
  const std::string base = "/apis/stackgres.io/v1/namespaces/default/";
  expect_permission(access("GET", base + "sgclusters"), "list", "sgclusters", "default");
  expect_permission(access("POST", base + "sgclusters"), "create", "sgclusters", "default");
  expect_permission(access("GET", base + "sgclusters/demo"), "get", "sgclusters", "default");
  expect_permission(access("PUT", base + "sgclusters/demo"), "update", "sgclusters", "default");
  expect_permission(access("DELETE", base + "sgclusters/demo"), "delete", "sgclusters", "default");
  // Kinds as the router accepts them (singular, short names) are the same resource.
  expect_permission(access("GET", base + "SGCluster/demo"), "get", "sgclusters", "default");
  expect_permission(access("GET", "/apis/stackgres.io/v1/namespaces/_all/sgbackups"), "list", "sgbackups", "*");
}

TEST(RequestAccess, ActionsAndRevealsAreTheirOwnResources) {
  const std::string cluster = "/apis/stackgres.io/v1/namespaces/prod/sgclusters/demo/";
  expect_permission(access("GET", cluster + "status"), "get", "sgclusters/status", "prod");
  expect_permission(access("GET", cluster + "credentials"), "get", "sgclusters/credentials", "prod");
  expect_permission(access("POST", cluster + "switchover"), "create", "sgclusters/switchover", "prod");
  expect_permission(access("POST", cluster + "restart"), "create", "sgclusters/restart", "prod");
  expect_permission(access("GET", cluster + "recoverywindow"), "get", "sgclusters/recoverywindow", "prod");
  EXPECT_TRUE(access("GET", cluster + "credentials").audited);
  EXPECT_FALSE(access("GET", cluster + "status").audited);
  const std::string secret = "/api/v1/namespaces/prod/secrets/s3";
  expect_permission(access("GET", secret), "get", "secrets", "prod");
  expect_permission(access("GET", secret, {{"reveal", "true"}}), "get", "secrets/values", "prod");
  // Anything but an explicit "no" counts as a reveal: the check errs on the side of refusing.
  expect_permission(access("GET", secret, {{"reveal", "yes"}}), "get", "secrets/values", "prod");
  EXPECT_TRUE(access("GET", secret, {{"reveal", "1"}}).audited);
}

TEST(RequestAccess, EmptySegmentsDoNotChangeWhatIsChecked) {
  expect_permission(access("GET", "//apis//stackgres.io/v1/namespaces/default/sgclusters//demo/credentials/"), "get",
                    "sgclusters/credentials", "default");
  // An encoded slash stays inside its segment: a name the router refuses, never another resource.
  expect_permission(access("GET", "/apis/stackgres.io/v1/namespaces/default/sgclusters/demo%2Fcredentials"), "get",
                    "sgclusters", "default");
}

TEST(RequestAccess, UsersAuditAndTokens) {
  expect_permission(access("GET", "/apis/pgstack.io/v1/users"), "list", "users", "");
  expect_permission(access("POST", "/apis/pgstack.io/v1/users"), "create", "users", "");
  expect_permission(access("DELETE", "/apis/pgstack.io/v1/users/alice"), "delete", "users", "");
  expect_permission(access("PUT", "/apis/pgstack.io/v1/users/alice/roles"), "update", "users", "");
  expect_permission(access("GET", "/apis/pgstack.io/v1/audit"), "list", "audit", "");
  // One's own password and tokens: the handler checks who is asking.
  EXPECT_EQ(access("PUT", "/apis/pgstack.io/v1/users/alice/password").level, Level::kAuthenticated);
  EXPECT_EQ(access("POST", "/apis/pgstack.io/v1/tokens").level, Level::kAuthenticated);
}

TEST(RequestAccess, HostsNeedEveryNamespace) {
  expect_permission(access("GET", "/apis/pgstack.io/v1/hosts"), "list", "hosts", "");
  expect_permission(access("GET", "/apis/pgstack.io/v1/hosts/host-a"), "get", "hosts", "");
  // Unnamespaced: only a role bound to every namespace covers it; a team's admin does not see the machines.
  EXPECT_TRUE(auth::allows({{auth::Role::kViewer, "*"}}, {"list", "hosts", ""}));
  EXPECT_FALSE(auth::allows({{auth::Role::kAdmin, "team"}}, {"list", "hosts", ""}));
}

TEST(RequestAccess, DrainingAndRemovingAHostAreForAdminsOfEveryNamespace) {
  const RequiredAccess drain = access("POST", "/apis/pgstack.io/v1/hosts/host-a/drain");
  expect_permission(drain, "update", "hosts", "");
  EXPECT_TRUE(drain.audited);
  expect_permission(access("DELETE", "/apis/pgstack.io/v1/hosts/host-a/drain"), "update", "hosts", "");
  const RequiredAccess remove = access("DELETE", "/apis/pgstack.io/v1/hosts/host-a");
  expect_permission(remove, "delete", "hosts", "");
  EXPECT_TRUE(remove.audited);
  EXPECT_TRUE(auth::allows({{auth::Role::kAdmin, "*"}}, {"update", "hosts", ""}));
  EXPECT_TRUE(auth::allows({{auth::Role::kAdmin, "*"}}, {"delete", "hosts", ""}));
  EXPECT_FALSE(auth::allows({{auth::Role::kOperator, "*"}}, {"update", "hosts", ""}));
  EXPECT_FALSE(auth::allows({{auth::Role::kOperator, "*"}}, {"delete", "hosts", ""}));
  EXPECT_FALSE(auth::allows({{auth::Role::kAdmin, "team"}}, {"update", "hosts", ""}));
}

TEST(RequestAccess, AJoinTokenIsForAdminsAndTheJoinItselfIsPublic) {
  const RequiredAccess token = access("POST", "/apis/pgstack.io/v1/jointokens");
  expect_permission(token, "create", "hosts", "");
  EXPECT_TRUE(token.audited);
  EXPECT_TRUE(auth::allows({{auth::Role::kAdmin, "*"}}, {"create", "hosts", ""}));
  EXPECT_FALSE(auth::allows({{auth::Role::kOperator, "*"}}, {"create", "hosts", ""}));
  EXPECT_FALSE(auth::allows({{auth::Role::kAdmin, "team"}}, {"create", "hosts", ""}));
  // The new host has no API credentials: its join token is checked by the handler, and audited.
  EXPECT_EQ(access("POST", "/apis/pgstack.io/v1/join").level, Level::kPublic);
  EXPECT_TRUE(access("POST", "/apis/pgstack.io/v1/join").audited);
  EXPECT_EQ(access("GET", "/apis/pgstack.io/v1/join/ca").level, Level::kPublic);
  EXPECT_EQ(access("GET", "/apis/pgstack.io/v1/join/other").level, Level::kAuthenticated);
}

TEST(RequestAccess, MutationsAreAudited) {
  EXPECT_TRUE(access("POST", "/apis/stackgres.io/v1/namespaces/default/sgclusters").audited);
  EXPECT_TRUE(access("DELETE", "/apis/pgstack.io/v1/tokens/abc").audited);
  EXPECT_FALSE(access("GET", "/apis/stackgres.io/v1/namespaces/default/sgclusters").audited);
}

}  // namespace
}  // namespace pgstack::controller

namespace pgstack::controller {
namespace {

TEST(RequestAccess, AlertsAreReadLikeTheirClusters) {
  expect_permission(access("GET", "/apis/pgstack.io/v1/namespaces/team/sgclusters/demo/alerts"), "get", "sgclusters",
                    "team");
  expect_permission(access("GET", "/apis/pgstack.io/v1/namespaces/team/alerts"), "list", "sgclusters", "team");
  expect_permission(access("GET", "/apis/pgstack.io/v1/namespaces/_all/alerts"), "list", "sgclusters", "*");
  // Every cluster's: any known caller; the handler keeps the namespaces it may read.
  EXPECT_EQ(access("GET", "/apis/pgstack.io/v1/alerts").level, Level::kAuthenticated);
  EXPECT_FALSE(access("GET", "/apis/pgstack.io/v1/alerts").audited);
}

TEST(RequestAccess, AClustersLogsAreReadLikeIt) {
  expect_permission(access("GET", "/apis/pgstack.io/v1/namespaces/team/sgclusters/demo/logs", {{"records", "10"}}),
                    "get", "sgclusters", "team");
  EXPECT_FALSE(access("GET", "/apis/pgstack.io/v1/namespaces/team/sgclusters/demo/logs").audited);
}

TEST(RequestAccess, AClustersMetricsAreReadLikeItButRawPromQLNeedsEveryNamespace) {
  expect_permission(access("GET", "/apis/pgstack.io/v1/namespaces/team/sgclusters/demo/metrics/summary"), "get",
                    "sgclusters", "team");
  const RequiredAccess raw = access("GET", "/apis/pgstack.io/v1/query", {{"query", "pg_up"}});
  expect_permission(raw, "get", "sgclusters", "*");
  // The 403 says why a viewer of one namespace may not: PromQL reads every cluster's series.
  EXPECT_NE(raw.why.find("every cluster"), std::string::npos) << raw.why;
  EXPECT_FALSE(raw.audited);
}

}  // namespace
}  // namespace pgstack::controller
