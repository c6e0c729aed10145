#include "controller/request_access.h"

#include "controller/hosts_api.h"
#include "controller/join_api.h"
#include "controller/logs_api.h"
#include "controller/metrics_api.h"
#include "model/kinds.h"

namespace pgstack::controller {
namespace {

using Level = RequiredAccess::Level;

std::string verb_for(const std::string& method, bool collection) {
  if (method == "GET" || method == "HEAD") return collection ? "list" : "get";
  if (method == "POST") return "create";
  if (method == "PUT" || method == "PATCH") return "update";
  if (method == "DELETE") return "delete";
  return "unknown";  // the handler answers 405; the check still needs someone allowed to mutate
}

bool is_mutation(const std::string& method) { return method != "GET" && method != "HEAD" && method != "OPTIONS"; }

RequiredAccess permission(const std::string& method, std::string verb, std::string resource, std::string ns) {
  if (ns == "_all") ns = std::string(auth::kAllNamespaces);
  const bool reveals = resource.ends_with("/credentials") || resource == "secrets/values";
  return {Level::kPermission, {std::move(verb), std::move(resource), std::move(ns)}, is_mutation(method) || reveals};
}

// Reveal flags as the secrets handler reads them.
bool reveal_requested(const std::map<std::string, std::string>& query) {
  const auto reveal = query.find("reveal");
  return reveal != query.end() && reveal->second != "false" && reveal->second != "0";
}

}  // namespace

RequiredAccess required_access(const std::string& method, const std::vector<std::string>& parts,
                               const std::map<std::string, std::string>& query) {
  const auto n = parts.size();
  if (n == 1 && parts[0] == "healthz") return {Level::kPublic, {}, false};
  // The console's static files (AccessGate serves them before this check; said here for completeness).
  if (n == 0 || parts[0] == "ui") return {Level::kPublic, {}, false};
  if (n == 2 && parts[0] == "auth" && parts[1] == "login") return {Level::kPublic, {}, true};
  // The caller's own identity, permissions, session and tokens; the handlers check more where needed.
  if (n >= 1 && parts[0] == "auth") return {Level::kAuthenticated, {}, is_mutation(method)};
  if (n >= 3 && parts[0] == "apis" && parts[1] == "pgstack.io" && parts[2] == "v1") {
    // Alerts are read like the clusters they are about; the list over every namespace is filtered
    // by the handler to the namespaces the caller may read.
    if (n == 6 && parts[3] == "namespaces" && parts[5] == "alerts")
      return permission(method, verb_for(method, true), "sgclusters", parts[4]);
    if (n == 8 && parts[3] == "namespaces" && parts[5] == "sgclusters" && parts[7] == "alerts")
      return permission(method, verb_for(method, false), "sgclusters", parts[4]);
    // One cluster's figures are read like the cluster; raw PromQL can read any cluster's series.
    if (is_metrics_summary_path(parts)) return permission(method, verb_for(method, false), "sgclusters", parts[4]);
    // A cluster's logs are read like the cluster.
    if (is_logs_path(parts)) return permission(method, verb_for(method, false), "sgclusters", parts[4]);
    if (is_metrics_query_path(parts)) {
      RequiredAccess access =
          permission(method, verb_for(method, false), "sgclusters", std::string(auth::kAllNamespaces));
      access.why = kRawQueryNeedsEveryNamespace;
      return access;
    }
    // A new host presents its join token itself (JoinApi); making one is adding a host.
    if (is_join_path(parts)) return {Level::kPublic, {}, is_mutation(method)};
    if (is_join_tokens_path(parts)) return permission(method, verb_for(method, true), "hosts", "");
    // The machines and what runs on them: for callers who may read every namespace.
    // Draining a host (POST or DELETE .../drain) changes it; for admins, as adding one is.
    if (is_hosts_path(parts) && n == 6) return permission(method, "update", "hosts", "");
    if (is_hosts_path(parts)) return permission(method, verb_for(method, n == 4), "hosts", "");
    if (n >= 4 && parts[3] == "tokens") return {Level::kAuthenticated, {}, is_mutation(method)};
    if (n == 4 && parts[3] == "audit") return permission(method, verb_for(method, true), "audit", "");
    if (n >= 4 && parts[3] == "users") {
      // Changing one's own password needs only to be that user (checked by the handler).
      if (n == 6 && parts[5] == "password") return {Level::kAuthenticated, {}, true};
      return permission(method, n == 4 ? verb_for(method, true) : (method == "GET" ? "get" : verb_for(method, false)),
                        "users", "");
    }
    return {Level::kAuthenticated, {}, is_mutation(method)};
  }
  // Kubernetes' core group: /api/v1/namespaces/{ns}/secrets[/{name}]
  if (n >= 5 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "namespaces" && parts[4] == "secrets") {
    if (n == 6 && (method == "GET" || method == "HEAD") && reveal_requested(query))
      return permission(method, "get", "secrets/values", parts[3]);
    return permission(method, verb_for(method, n == 5), "secrets", parts[3]);
  }
  if (n >= 6 && parts[0] == "apis" && parts[1] == "stackgres.io" && parts[3] == "namespaces") {
    const model::KindInfo* kind = model::find_kind(parts[5]);
    const std::string plural = kind != nullptr ? kind->plural : parts[5];
    if (n <= 7) return permission(method, verb_for(method, n == 6), plural, parts[4]);
    // Actions: status and credentials are read, the others are requests to do something.
    const std::string& action = parts[7];
    const std::string verb =
        (action == "status" || action == "credentials") && method == "GET" ? "get" : verb_for(method, false);
    return permission(method, verb, plural + "/" + action, parts[4]);
  }
  // Anything else is a 404 for a known caller, and a 401 for an unknown one: no probing of paths.
  return {Level::kAuthenticated, {}, false};
}

}  // namespace pgstack::controller
