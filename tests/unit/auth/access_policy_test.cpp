#include "auth/access_policy.h"

#include <gtest/gtest.h>

namespace pgstack::auth {
namespace {

const std::vector<RoleBinding> kViewerInDefault = {{Role::kViewer, "default"}};
const std::vector<RoleBinding> kOperatorEverywhere = {{Role::kOperator, "*"}};
const std::vector<RoleBinding> kAdminEverywhere = {{Role::kAdmin, "*"}};

TEST(AccessPolicy, ViewersReadResourcesButNeverSecretsOrCredentials) {
  EXPECT_TRUE(allows(kViewerInDefault, {"get", "sgclusters", "default"}));
  EXPECT_TRUE(allows(kViewerInDefault, {"list", "sgbackups", "default"}));
  EXPECT_TRUE(allows(kViewerInDefault, {"get", "sgclusters/status", "default"}));
  EXPECT_TRUE(allows(kViewerInDefault, {"get", "sgclusters/recoverywindow", "default"}));
  EXPECT_TRUE(allows(kViewerInDefault, {"list", "secrets", "default"}));  // names of keys only
  EXPECT_FALSE(allows(kViewerInDefault, {"get", "sgclusters/credentials", "default"}));
  EXPECT_FALSE(allows(kViewerInDefault, {"get", "secrets/values", "default"}));
  EXPECT_FALSE(allows(kViewerInDefault, {"create", "sgclusters", "default"}));
  EXPECT_FALSE(allows(kViewerInDefault, {"create", "sgclusters/switchover", "default"}));
  EXPECT_FALSE(allows(kViewerInDefault, {"delete", "sgclusters", "default"}));
  EXPECT_FALSE(allows(kViewerInDefault, {"list", "users", ""}));
  EXPECT_FALSE(allows(kViewerInDefault, {"list", "audit", ""}));
}

TEST(AccessPolicy, ANamespaceBindingCoversOnlyThatNamespace) {
  EXPECT_FALSE(allows(kViewerInDefault, {"get", "sgclusters", "other"}));
  EXPECT_FALSE(allows(kViewerInDefault, {"list", "sgclusters", "*"}));  // all namespaces
  EXPECT_TRUE(allows({{Role::kViewer, "*"}}, {"list", "sgclusters", "*"}));
  EXPECT_TRUE(allows({{Role::kViewer, "*"}}, {"get", "sgclusters", "any"}));
}

TEST(AccessPolicy, OperatorsChangeResourcesAndReadCredentialsButNotUsers) {
  EXPECT_TRUE(allows(kOperatorEverywhere, {"create", "sgclusters", "default"}));
  EXPECT_TRUE(allows(kOperatorEverywhere, {"delete", "sgbackups", "x"}));
  EXPECT_TRUE(allows(kOperatorEverywhere, {"create", "sgclusters/restart", "default"}));
  EXPECT_TRUE(allows(kOperatorEverywhere, {"get", "sgclusters/credentials", "default"}));
  EXPECT_TRUE(allows(kOperatorEverywhere, {"get", "secrets/values", "default"}));
  EXPECT_FALSE(allows(kOperatorEverywhere, {"create", "users", ""}));
  EXPECT_FALSE(allows(kOperatorEverywhere, {"list", "tokens", ""}));
  EXPECT_FALSE(allows(kOperatorEverywhere, {"list", "audit", ""}));
}

TEST(AccessPolicy, AdminsMayDoEverythingButOnlyWhenBoundEverywhere) {
  EXPECT_TRUE(allows(kAdminEverywhere, {"delete", "users", ""}));
  EXPECT_TRUE(allows(kAdminEverywhere, {"list", "audit", ""}));
  // An admin of one namespace administers that namespace, not the users of the installation.
  EXPECT_TRUE(allows({{Role::kAdmin, "team"}}, {"get", "secrets/values", "team"}));
  EXPECT_FALSE(allows({{Role::kAdmin, "team"}}, {"create", "users", ""}));
  EXPECT_FALSE(allows({}, {"get", "sgclusters", "default"}));
}

TEST(AccessPolicy, PermissionListHasOnlyWhatIsGranted) {
  const auto list = permission_list(kViewerInDefault);
  EXPECT_TRUE(list["unnamespaced"].empty());
  ASSERT_EQ(list["namespaced"].size(), 1u);
  EXPECT_EQ(list["namespaced"][0]["namespace"], "default");
  EXPECT_EQ(list["namespaced"][0]["resources"]["sgclusters"], nlohmann::json::array({"get", "list"}));
  EXPECT_FALSE(list["namespaced"][0]["resources"].contains("secrets/values"));
  const auto admin = permission_list(kAdminEverywhere);
  EXPECT_EQ(admin["unnamespaced"]["users"].size(), 5u);
}

TEST(AccessPolicy, BindingsRoundTripAndBadOnesAreExplained) {
  const std::vector<RoleBinding> bindings = {{Role::kOperator, "default"}, {Role::kViewer, "*"}};
  auto parsed = bindings_from_json(bindings_to_json(bindings));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].role, Role::kOperator);
  EXPECT_EQ((*parsed)[0].namespace_name, "default");
  auto unknown = bindings_from_json(nlohmann::json::parse(R"([{"role":"root"}])"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("expected admin, operator or viewer"), std::string::npos);
  EXPECT_FALSE(bindings_from_json(nlohmann::json::parse(R"({"role":"viewer"})")).ok());
  EXPECT_FALSE(bindings_from_json(nlohmann::json::parse(R"([{"role":"viewer","namespace":""}])")).ok());
}

TEST(AccessPolicy, DescribeNamesVerbResourceAndNamespace) {
  EXPECT_EQ(describe({"create", "sgclusters", "default"}), "create sgclusters in namespace \"default\"");
  EXPECT_EQ(describe({"list", "sgclusters", "*"}), "list sgclusters in all namespaces");
  EXPECT_EQ(describe({"list", "users", ""}), "list users");
}

}  // namespace
}  // namespace pgstack::auth
