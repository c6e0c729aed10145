// Who may do what: three roles bound per namespace (or to every namespace), and the permissions
// each role grants. Pure: the controller maps a request to a Permission and asks `allows`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace pgstack::auth {

enum class Role { kViewer, kOperator, kAdmin };

std::string_view role_name(Role role);
Result<Role> parse_role(std::string_view text);

// A role in one namespace, or in all of them (namespace "*").
struct RoleBinding {
  Role role = Role::kViewer;
  std::string namespace_name = "*";
};

inline constexpr std::string_view kAllNamespaces = "*";

// Kubernetes-style: a verb on a resource (a plural, or plural/subresource such as
// "sgclusters/credentials") in a namespace ("" for resources outside namespaces: users, tokens, audit;
// "*" for a request over every namespace).
struct Permission {
  std::string verb;
  std::string resource;
  std::string namespace_name;
};

// "create sgclusters in namespace \"default\"", for 403 problems.
std::string describe(const Permission& permission);

// Whether a role grants a verb on a resource (namespaces aside).
bool role_grants(Role role, std::string_view verb, std::string_view resource);

// Whether any binding grants the permission in its namespace: a binding to "*" covers every
// namespace, those outside namespaces and requests over all namespaces; one to a namespace only it.
bool allows(const std::vector<RoleBinding>& bindings, const Permission& permission);

// The resources a role's permissions are listed for (can-i), with their verbs.
struct ResourceVerbs {
  std::string resource;
  std::vector<std::string> verbs;
};
std::vector<ResourceVerbs> namespaced_resources();
std::vector<ResourceVerbs> unnamespaced_resources();

// StackGres' permission list for `GET /auth/rbac/can-i`: {"unnamespaced": {resource: [verbs]},
// "namespaced": [{"namespace", "resources": {resource: [verbs]}}]} with only what the bindings grant.
nlohmann::json permission_list(const std::vector<RoleBinding>& bindings);

nlohmann::json bindings_to_json(const std::vector<RoleBinding>& bindings);
Result<std::vector<RoleBinding>> bindings_from_json(const nlohmann::json& json);

}  // namespace pgstack::auth
