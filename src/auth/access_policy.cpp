#include "auth/access_policy.h"

#include <algorithm>

#include <fmt/format.h>

#include "model/kinds.h"

namespace pgstack::auth {
namespace {

bool is_read(std::string_view verb) { return verb == "get" || verb == "list" || verb == "watch"; }

// What a viewer never sees: passwords, Secret values, other users, their tokens, the audit trail.
bool is_sensitive(std::string_view resource) {
  return resource.ends_with("/credentials") || resource == "secrets/values" || resource == "users" ||
         resource == "tokens" || resource == "audit";
}

bool is_unnamespaced(std::string_view resource) {
  return resource == "users" || resource == "tokens" || resource == "audit";
}

const std::vector<std::string> kObjectVerbs = {"get", "list", "create", "update", "delete"};

}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kViewer: return "viewer";
    case Role::kOperator: return "operator";
    case Role::kAdmin: return "admin";
  }
  return "viewer";
}

Result<Role> parse_role(std::string_view text) {
  if (text == "viewer") return Role::kViewer;
  if (text == "operator") return Role::kOperator;
  if (text == "admin") return Role::kAdmin;
  return make_error(ErrorCode::kInvalidInput,
                    fmt::format("unknown role \"{}\": expected admin, operator or viewer", text));
}

std::string describe(const Permission& permission) {
  if (permission.namespace_name.empty()) return fmt::format("{} {}", permission.verb, permission.resource);
  if (permission.namespace_name == kAllNamespaces)
    return fmt::format("{} {} in all namespaces", permission.verb, permission.resource);
  return fmt::format("{} {} in namespace \"{}\"", permission.verb, permission.resource, permission.namespace_name);
}

bool role_grants(Role role, std::string_view verb, std::string_view resource) {
  switch (role) {
    case Role::kAdmin: return true;
    // Operators see the hosts; adding one (a join token, which hands out the CA key) is for admins.
    case Role::kOperator: return !is_unnamespaced(resource) && (resource != "hosts" || is_read(verb));
    case Role::kViewer: return is_read(verb) && !is_sensitive(resource);
  }
  return false;
}

bool allows(const std::vector<RoleBinding>& bindings, const Permission& permission) {
  return std::any_of(bindings.begin(), bindings.end(), [&](const RoleBinding& binding) {
    const bool covers = binding.namespace_name == kAllNamespaces ||
                        (!permission.namespace_name.empty() && permission.namespace_name != kAllNamespaces &&
                         binding.namespace_name == permission.namespace_name);
    return covers && role_grants(binding.role, permission.verb, permission.resource);
  });
}

std::vector<ResourceVerbs> namespaced_resources() {
  std::vector<ResourceVerbs> out;
  for (const auto& kind : model::all_kinds()) out.push_back({kind.plural, kObjectVerbs});
  out.push_back({"sgclusters/status", {"get"}});
  out.push_back({"sgclusters/recoverywindow", {"get"}});
  out.push_back({"sgclusters/history", {"get"}});
  out.push_back({"sgclusters/credentials", {"get"}});
  out.push_back({"sgclusters/switchover", {"create"}});
  out.push_back({"sgclusters/restart", {"create"}});
  out.push_back({"sgbackups/verify", {"create"}});
  out.push_back({"secrets", kObjectVerbs});
  out.push_back({"secrets/values", {"get"}});
  return out;
}

std::vector<ResourceVerbs> unnamespaced_resources() {
  return {{"users", kObjectVerbs},
          {"tokens", {"get", "list", "create", "delete"}},
          {"audit", {"list"}},
          // create: a join token (another host joins); update: drain; delete: remove a host
          {"hosts", {"get", "list", "create", "update", "delete"}}};
}

nlohmann::json permission_list(const std::vector<RoleBinding>& bindings) {
  const auto granted = [&](const std::vector<ResourceVerbs>& resources, const std::string& namespace_name) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [resource, verbs] : resources) {
      nlohmann::json allowed = nlohmann::json::array();
      for (const auto& verb : verbs) {
        if (allows(bindings, {verb, resource, namespace_name})) allowed.push_back(verb);
      }
      if (!allowed.empty()) out[resource] = allowed;
    }
    return out;
  };
  std::vector<std::string> namespaces;
  for (const auto& binding : bindings) {
    if (std::find(namespaces.begin(), namespaces.end(), binding.namespace_name) == namespaces.end())
      namespaces.push_back(binding.namespace_name);
  }
  std::sort(namespaces.begin(), namespaces.end());
  nlohmann::json namespaced = nlohmann::json::array();
  for (const auto& namespace_name : namespaces)
    namespaced.push_back(
        {{"namespace", namespace_name}, {"resources", granted(namespaced_resources(), namespace_name)}});
  return {{"unnamespaced", granted(unnamespaced_resources(), "")}, {"namespaced", namespaced}};
}

nlohmann::json bindings_to_json(const std::vector<RoleBinding>& bindings) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& binding : bindings)
    out.push_back({{"role", std::string(role_name(binding.role))}, {"namespace", binding.namespace_name}});
  return out;
}

Result<std::vector<RoleBinding>> bindings_from_json(const nlohmann::json& json) {
  if (!json.is_array()) return make_error(ErrorCode::kInvalidInput, "roles: expected a list of {role, namespace}");
  std::vector<RoleBinding> out;
  for (const auto& item : json) {
    if (!item.is_object() || !item.contains("role") || !item["role"].is_string())
      return make_error(ErrorCode::kInvalidInput,
                        "roles[]: expected {\"role\": \"admin|operator|viewer\", \"namespace\": NS}");
    auto role = parse_role(item["role"].get<std::string>());
    RETURN_IF_ERROR(role);
    RoleBinding binding{role.value(), std::string(kAllNamespaces)};
    if (item.contains("namespace")) {
      if (!item["namespace"].is_string() || item["namespace"].get<std::string>().empty())
        return make_error(ErrorCode::kInvalidInput, "roles[].namespace: expected a namespace name or \"*\"");
      binding.namespace_name = item["namespace"].get<std::string>();
    }
    out.push_back(binding);
  }
  return out;
}

}  // namespace pgstack::auth
