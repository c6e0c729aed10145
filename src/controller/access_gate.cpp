#include "controller/access_gate.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "console/console_server.h"
#include "controller/api_input.h"
#include "controller/api_reply.h"
#include "controller/hosts_api.h"
#include "controller/logs_api.h"
#include "controller/metrics_api.h"
#include "controller/request_access.h"

namespace pgstack::controller {
namespace {

using model::Json;
using Level = RequiredAccess::Level;

bool is_safe(const std::string& method) { return method == "GET" || method == "HEAD" || method == "OPTIONS"; }

HttpReply unauthorized(const std::string& detail) {
  HttpReply reply = problem(401, "Unauthorized", detail);
  reply.headers["WWW-Authenticate"] = "Bearer realm=\"pgstack\"";
  return reply;
}

HttpReply forbidden(const auth::Principal& caller, const auth::Permission& permission, const std::string& why) {
  HttpReply reply = problem(
      403, "Forbidden",
      fmt::format("user \"{}\" may not {}{}", caller.user, auth::describe(permission), why.empty() ? "" : ": " + why));
  Json body = Json::parse(reply.body);
  body["missingPermission"] = {
      {"verb", permission.verb}, {"resource", permission.resource}, {"namespace", permission.namespace_name}};
  reply.body = body.dump(2) + "\n";
  return reply;
}

}  // namespace

HttpReply AccessGate::handle(const HttpRequest& request) {
  // The console's static files and its login page: public, looked up in a table, never a file path.
  if (console::is_console_path(request.path)) return console::serve_console(request);
  // A target that is not a path (bad percent-encoding, "..", bytes that are not UTF-8) is refused before
  // it is classified: nothing in it can be authorized or audited, and its syntax reveals no resource.
  std::vector<std::string> segments;
  if (auto refused = split_path(request.target.empty() ? request.path : request.target, segments))
    return problem_reply(*refused);
  const RequiredAccess access = required_access(request.method, segments, request.query);
  // The hosts' extensions are served with the resources, not by the auth API.
  const bool host_extensions = segments.size() == 4 && segments[0] == "apis" && segments[1] == "pgstack.io" &&
                               segments[2] == "v1" && segments[3] == "extensions";
  // Alerts are read from Alertmanager for the namespaces the caller may read.
  const bool alerts = is_alerts_path(segments);
  // Metrics are read from Prometheus, served with the resources.
  const bool metrics = is_metrics_query_path(segments) || is_metrics_summary_path(segments);
  // Logs are read from the cluster's log store, served with the resources.
  const bool logs = is_logs_path(segments);
  // The hosts are read from etcd, served with the resources.
  const bool hosts = is_hosts_path(segments);
  const bool own_api =
      !segments.empty() && !host_extensions && !alerts && !metrics && !logs && !hosts &&
      (segments[0] == "auth" || (segments[0] == "apis" && segments.size() > 1 && segments[1] == "pgstack.io"));
  if (access.level == Level::kPublic && is_join_path(segments)) {
    if (joins_ == nullptr) return problem(404, "NotFound", "this controller does not serve joins");
    std::string token_id;
    HttpReply reply = joins_->handle_public(request, segments, token_id);
    // Who joined (or tried): the token's id, never its secret.
    if (access.audited)
      audit(request, nullptr, token_id.empty() ? "" : "join-token:" + token_id, nullptr, reply.status);
    return reply;
  }
  if (access.level == Level::kPublic) {
    if (own_api) {
      HttpReply reply = auth_api_.login(request);
      std::string attempted;
      if (auto body = decode_json_object(request.body);
          body.ok() && body->contains("username") && (*body)["username"].is_string())
        attempted = (*body)["username"].get<std::string>().substr(0, 64);
      audit(request, nullptr, attempted, nullptr, reply.status);
      return reply;
    }
    return api_.handle(request);
  }
  const auth::Authentication authentication = authenticator_.authenticate(request.headers);
  if (authentication.unavailable) return problem(503, "Unavailable", authentication.problem);
  if (!authentication.principal) return unauthorized(authentication.problem);
  const auth::Principal& caller = *authentication.principal;
  // A cookie is sent by the browser on its own: a mutation through one must also carry a header
  // that a cross-site form cannot set (SameSite=Strict is the first line, this the second).
  if (!caller.session_hash.empty() && !is_safe(request.method) && !request.headers.contains("x-pgstack-csrf")) {
    audit(request, &caller, "", nullptr, 403);
    return problem(403, "Forbidden", "a request authenticated by a session cookie must send the header X-Pgstack-Csrf");
  }
  if (access.level == Level::kPermission && !auth::allows(caller.roles, access.permission)) {
    if (access.audited) audit(request, &caller, "", &access.permission, 403);
    return forbidden(caller, access.permission, access.why);
  }
  const auto may_list_clusters = [&caller](const std::string& namespace_name) {
    return auth::allows(caller.roles, {"list", "sgclusters",
                                       namespace_name.empty() ? std::string(auth::kAllNamespaces) : namespace_name});
  };
  if (is_join_tokens_path(segments)) {
    HttpReply reply = joins_ != nullptr ? joins_->create_token(request, caller.user)
                                        : problem(404, "NotFound", "this controller does not serve joins");
    audit(request, &caller, "", &access.permission, reply.status);
    return reply;
  }
  HttpReply reply = own_api  ? auth_api_.handle(request, segments, caller)
                    : alerts ? api_.handle_alerts(request, segments, may_list_clusters)
                             : api_.handle(request, caller.user);
  if (access.audited)
    audit(request, &caller, "", access.level == Level::kPermission ? &access.permission : nullptr, reply.status);
  return reply;
}

void AccessGate::audit(const HttpRequest& request, const auth::Principal* caller, const std::string& attempted_user,
                       const auth::Permission* permission, int status) {
  Json entry = {{"user", caller != nullptr ? caller->user : attempted_user},
                {"method", request.method},
                {"path", request.path},
                {"sourceAddress", request.remote_address},
                {"status", status}};
  if (caller != nullptr) {
    entry["authenticatedBy"] = caller->token_id.empty() ? "session" : "token";
    if (!caller->token_id.empty()) entry["tokenId"] = caller->token_id;
  }
  if (permission != nullptr) {
    entry["verb"] = permission->verb;
    entry["resource"] = permission->resource;
    if (!permission->namespace_name.empty()) entry["namespace"] = permission->namespace_name;
  }
  // An audit write that fails is logged, not swallowed; the request it describes has already happened.
  // Replaced, not thrown on: a user name cut at 64 bytes may end inside a UTF-8 character.
  const std::string text = entry.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (auto written = authenticator_.store().append_audit(nlohmann::json::parse(text)); !written.ok())
    spdlog::error("audit: could not record {} {} by {}: {}", request.method, request.path, entry["user"].dump(),
                  written.error().message);
}

}  // namespace pgstack::controller
