#include "controller/auth_api.h"

#include <fmt/format.h>

#include "auth/password.h"
#include "common/time.h"
#include "controller/api_reply.h"
#include "controller/request_access.h"
#include "model/codec.h"

namespace pgstack::controller {
namespace {

using auth::Principal;
using model::Json;

Result<std::string> string_field(const Json& body, const std::string& name, bool required) {
  if (!body.contains(name)) {
    if (required) return make_error(ErrorCode::kInvalidInput, fmt::format("{}: required", name));
    return std::string();
  }
  if (!body[name].is_string()) return make_error(ErrorCode::kInvalidInput, fmt::format("{}: expected a string", name));
  return body[name].get<std::string>();
}

// {"roles": [{"role","namespace"}]} or the short form {"role", "namespace"}.
Result<std::vector<auth::RoleBinding>> roles_field(const Json& body) {
  if (body.contains("roles")) return auth::bindings_from_json(nlohmann::json::parse(body["roles"].dump()));
  if (body.contains("role")) {
    Json one = {{"role", body["role"]}};
    if (body.contains("namespace")) one["namespace"] = body["namespace"];
    return auth::bindings_from_json(nlohmann::json::parse(Json::array({one}).dump()));
  }
  return make_error(ErrorCode::kInvalidInput,
                    "roles: required, e.g. [{\"role\":\"viewer\",\"namespace\":\"default\"}]");
}

Json to_api(const nlohmann::json& json) { return Json::parse(json.dump()); }

bool is_admin_everywhere(const std::vector<auth::RoleBinding>& roles) {
  return auth::allows(roles, {"create", "users", ""});
}

}  // namespace

Result<model::Json> decode_json_object(std::string_view body) {
  // The manifest reader, with its limits (nesting, duplicate keys, UTF-8): nlohmann alone would accept
  // a million nested arrays and then copy them recursively.
  auto loaded = model::load_documents(body, "request");
  if (loaded.diagnostics.has_errors() || loaded.documents.size() != 1 || !loaded.documents[0].body.is_object()) {
    std::string where;
    for (const auto& d : loaded.diagnostics.items()) {
      if (d.message.rfind("line ", 0) == 0) where = ": " + d.message;
    }
    return make_error(ErrorCode::kInvalidInput, "the request body must be one JSON object" + where);
  }
  return std::move(loaded.documents[0].body);
}

std::string session_cookie(const std::string& session_id, std::chrono::seconds lifetime) {
  return fmt::format("{}={}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}", auth::kSessionCookie, session_id,
                     lifetime.count());
}

std::string expired_session_cookie() {
  return fmt::format("{}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0", auth::kSessionCookie);
}

HttpReply AuthApi::login(const HttpRequest& request) {
  if (request.method != "POST") return problem(405, "MethodNotAllowed", "log in with POST /auth/login");
  auto body = decode_json_object(request.body);
  if (!body.ok()) return problem_from(body.error());
  auto user = string_field(body.value(), "username", true);
  if (!user.ok()) return problem_from(user.error());
  auto password = string_field(body.value(), "password", true);
  if (!password.ok()) return problem_from(password.error());
  using Outcome = auth::LoginResult::Outcome;
  const auth::LoginResult result = authenticator_.login(user.value(), password.value(), request.remote_address);
  switch (result.outcome) {
    case Outcome::kLoggedIn: {
      const auto lifetime = authenticator_.settings().session_lifetime;
      HttpReply reply = json_reply(200, {{"user", user.value()}, {"expiresIn", lifetime.count()}});
      reply.headers["Set-Cookie"] = session_cookie(result.session_id, lifetime);
      reply.headers["Cache-Control"] = "no-store";
      return reply;
    }
    case Outcome::kRejected: return problem(401, "Unauthorized", result.message);
    case Outcome::kThrottled:
    case Outcome::kBusy: {
      HttpReply reply =
          problem(result.outcome == Outcome::kThrottled ? 429 : 503,
                  result.outcome == Outcome::kThrottled ? "TooManyRequests" : "Unavailable", result.message);
      reply.headers["Retry-After"] = std::to_string(result.retry_after.count());
      return reply;
    }
    case Outcome::kUnavailable: return problem(503, "Unavailable", result.message);
  }
  return problem(500, "Internal", "unknown login outcome");
}

HttpReply AuthApi::handle(const HttpRequest& request, const std::vector<std::string>& parts, const Principal& caller) {
  if (parts.size() >= 2 && parts[0] == "auth") {
    if (parts.size() == 2 && parts[1] == "logout" && request.method == "POST") return logout(caller);
    if (parts.size() == 2 && parts[1] == "whoami" && request.method == "GET") {
      Json body = {{"user", caller.user},
                   {"roles", to_api(auth::bindings_to_json(caller.roles))},
                   {"authenticatedBy", caller.token_id.empty() ? "session" : "token"}};
      if (!caller.token_id.empty()) body["tokenId"] = caller.token_id;
      return json_reply(200, body);
    }
    if (parts.size() >= 3 && parts[1] == "rbac" && parts[2] == "can-i" && request.method == "GET")
      return can_i(request, caller, parts);
    return problem(404, "NotFound", fmt::format("no such path: {} {} (see docs/api.md)", request.method, request.path));
  }
  if (parts.size() < 3 || parts[2] != "v1")
    return problem(404, "NotFound", fmt::format("no such path: {} {} (see docs/api.md)", request.method, request.path));
  if (parts.size() >= 4 && parts[3] == "users") return users(request, caller, parts);
  if (parts.size() >= 4 && parts[3] == "tokens") return tokens(request, caller, parts);
  if (parts.size() == 4 && parts[3] == "audit" && request.method == "GET") return audit(request);
  return problem(404, "NotFound", fmt::format("no such path: {} {} (see docs/api.md)", request.method, request.path));
}

HttpReply AuthApi::logout(const Principal& caller) {
  if (caller.session_hash.empty())
    return problem(
        400, "BadRequest",
        "this request carries a token, not a session: revoke a token with DELETE /apis/pgstack.io/v1/tokens/{id}");
  if (auto removed = authenticator_.logout(caller.session_hash); !removed.ok()) return problem_from(removed.error());
  HttpReply reply = json_reply(200, {{"loggedOut", true}});
  reply.headers["Set-Cookie"] = expired_session_cookie();
  return reply;
}

HttpReply AuthApi::can_i(const HttpRequest& request, const Principal& caller, const std::vector<std::string>& parts) {
  if (parts.size() == 3) return json_reply(200, to_api(auth::permission_list(caller.roles)));
  if (parts.size() < 5)
    return problem(404, "NotFound", "expected /auth/rbac/can-i or /auth/rbac/can-i/{verb}/{resource}");
  std::string resource = parts[4];
  for (std::size_t i = 5; i < parts.size(); ++i) resource += "/" + parts[i];
  const auto ns = request.query.find("namespace");
  std::string namespace_name = ns != request.query.end() ? ns->second : "";
  const bool unnamespaced = resource == "users" || resource == "tokens" || resource == "audit";
  if (!unnamespaced && namespace_name.empty()) namespace_name = "default";
  if (unnamespaced) namespace_name.clear();
  const auth::Permission permission{parts[3], resource, namespace_name};
  const bool allowed = auth::allows(caller.roles, permission);
  return json_reply(allowed ? 200 : 403, {{"allowed", allowed}, {"permission", auth::describe(permission)}});
}

std::optional<HttpReply> AuthApi::keeps_an_admin(const std::string& user,
                                                 const std::vector<auth::RoleBinding>& new_roles) {
  if (is_admin_everywhere(new_roles)) return std::nullopt;
  auto users = authenticator_.store().list_users();
  if (!users.ok()) return problem_from(users.error());
  for (const auto& other : users.value()) {
    if (other.name != user && is_admin_everywhere(other.roles)) return std::nullopt;
  }
  return problem(409, "Conflict",
                 fmt::format("\"{}\" is the last admin of every namespace: make another admin first", user));
}

HttpReply AuthApi::users(const HttpRequest& request, const Principal& caller, const std::vector<std::string>& parts) {
  const auth::AuthStore& store = authenticator_.store();
  if (parts.size() == 4 && request.method == "GET") {
    auto users = store.list_users();
    if (!users.ok()) return problem_from(users.error());
    Json items = Json::array();
    for (const auto& user : users.value()) items.push_back(to_api(auth::user_summary(user)));
    return json_reply(200, {{"kind", "UserList"}, {"items", items}});
  }
  if (parts.size() == 4 && request.method == "POST") {
    auto body = decode_json_object(request.body);
    if (!body.ok()) return problem_from(body.error());
    auto name = string_field(body.value(), "name", true);
    if (!name.ok()) return problem_from(name.error());
    if (auto problem_text = auth::user_name_problem(name.value()); !problem_text.empty())
      return problem(422, "Invalid user", "name: " + problem_text);
    auto roles = roles_field(body.value());
    if (!roles.ok()) return problem(422, "Invalid user", roles.error().message);
    auto password = string_field(body.value(), "password", false);
    if (!password.ok()) return problem(422, "Invalid user", password.error().message);
    auth::User user;
    user.name = name.value();
    user.roles = roles.value();
    user.created = utc_timestamp(std::chrono::system_clock::now());
    if (!password->empty()) {
      auto hash = auth::hash_password(password.value());
      if (!hash.ok()) return problem(422, "Invalid user", "password: " + hash.error().message);
      user.password_hash = hash.value();
    }
    if (auto created = store.create_user(user); !created.ok()) return problem_from(created.error());
    return json_reply(201, to_api(auth::user_summary(user)));
  }
  if (parts.size() < 5)
    return problem(405, "MethodNotAllowed", fmt::format("{} is not allowed on users", request.method));
  const std::string& name = parts[4];
  if (auto problem_text = auth::user_name_problem(name); !problem_text.empty())
    return problem(400, "Invalid path", "path segment 5 (user name): " + problem_text);
  auto stored = store.get_user(name);
  if (!stored.ok()) return problem_from(stored.error());
  if (!stored->has_value()) return problem(404, "NotFound", fmt::format("user \"{}\" does not exist", name));
  auth::User user = **stored;
  if (parts.size() == 5 && request.method == "GET") return json_reply(200, to_api(auth::user_summary(user)));
  if (parts.size() == 5 && request.method == "DELETE") {
    if (auto last = keeps_an_admin(name, {})) return *last;
    if (auto removed = store.delete_user(name); !removed.ok()) return problem_from(removed.error());
    return json_reply(200, {{"deleted", name}});
  }
  if (parts.size() == 6 && parts[5] == "roles" && request.method == "PUT") {
    auto body = decode_json_object(request.body);
    if (!body.ok()) return problem_from(body.error());
    auto roles = roles_field(body.value());
    if (!roles.ok()) return problem(422, "Invalid roles", roles.error().message);
    if (auto last = keeps_an_admin(name, roles.value())) return *last;
    user.roles = roles.value();
    if (auto written = store.update_user(user); !written.ok()) return problem_from(written.error());
    // Sessions end with a role change; tokens keep working and carry the new roles at once.
    if (auto ended = store.delete_sessions_of(name); !ended.ok()) return problem_from(ended.error());
    return json_reply(200, to_api(auth::user_summary(user)));
  }
  if (parts.size() == 6 && parts[5] == "password" && request.method == "PUT") {
    if (caller.user != name && !auth::allows(caller.roles, {"update", "users", ""}))
      return problem(403, "Forbidden", fmt::format("user \"{}\" may only change their own password", caller.user));
    auto body = decode_json_object(request.body);
    if (!body.ok()) return problem_from(body.error());
    auto password = string_field(body.value(), "password", true);
    if (!password.ok()) return problem(422, "Invalid password", password.error().message);
    auto hash = auth::hash_password(password.value());
    if (!hash.ok()) return problem(422, "Invalid password", "password: " + hash.error().message);
    user.password_hash = hash.value();
    if (auto written = store.update_user(user); !written.ok()) return problem_from(written.error());
    if (auto ended = store.delete_sessions_of(name); !ended.ok()) return problem_from(ended.error());
    return json_reply(200, to_api(auth::user_summary(user)));
  }
  return problem(404, "NotFound", fmt::format("no such path: {} {} (see docs/api.md)", request.method, request.path));
}

HttpReply AuthApi::tokens(const HttpRequest& request, const Principal& caller, const std::vector<std::string>& parts) {
  const auth::AuthStore& store = authenticator_.store();
  const auto may = [&](const std::string& verb) { return auth::allows(caller.roles, {verb, "tokens", ""}); };
  if (parts.size() == 4 && request.method == "GET") {
    const auto user = request.query.find("user");
    const bool everyone = request.query.contains("all");
    const std::string wanted = user != request.query.end() ? user->second : caller.user;
    if ((everyone || wanted != caller.user) && !may("list"))
      return problem(403, "Forbidden", fmt::format("user \"{}\" may list only their own tokens", caller.user));
    auto tokens = store.list_tokens();
    if (!tokens.ok()) return problem_from(tokens.error());
    Json items = Json::array();
    for (const auto& token : tokens.value()) {
      if (everyone || token.user == wanted) items.push_back(to_api(auth::token_summary(token)));
    }
    return json_reply(200, {{"kind", "TokenList"}, {"items", items}});
  }
  if (parts.size() == 4 && request.method == "POST") {
    auto body = decode_json_object(request.body);
    if (!body.ok()) return problem_from(body.error());
    auto user = string_field(body.value(), "user", false);
    auto description = string_field(body.value(), "description", false);
    auto expires = string_field(body.value(), "expires", false);
    for (const auto* field : {&user, &description, &expires}) {
      if (!field->ok()) return problem(422, "Invalid token", field->error().message);
    }
    const std::string owner = user->empty() ? caller.user : user.value();
    if (owner != caller.user) {
      if (!may("create"))
        return problem(403, "Forbidden", fmt::format("user \"{}\" may create tokens only for themselves", caller.user));
      auto exists = store.get_user(owner);
      if (!exists.ok()) return problem_from(exists.error());
      if (!exists->has_value()) return problem(404, "NotFound", fmt::format("user \"{}\" does not exist", owner));
    }
    auto created = authenticator_.create_token(owner, description.value(), expires.value());
    if (!created.ok())
      return problem(created.error().code == ErrorCode::kInvalidInput ? 422 : 503, "Invalid token",
                     created.error().message);
    Json reply = to_api(auth::token_summary(created->record));
    reply["token"] = created->text;
    HttpReply out = json_reply(201, reply);
    out.headers["Cache-Control"] = "no-store";
    return out;
  }
  if (parts.size() == 5 && request.method == "DELETE") {
    if (parts[4].size() != 16 || parts[4].find_first_not_of("0123456789abcdef") != std::string::npos)
      return problem(400, "Invalid path",
                     "path segment 5 (token id): expected the 16 hex digits `pgstack token list` shows");
    auto token = store.get_token(parts[4]);
    if (!token.ok()) return problem_from(token.error());
    if (!token->has_value()) return problem(404, "NotFound", fmt::format("token \"{}\" does not exist", parts[4]));
    if ((*token)->user != caller.user && !may("delete"))
      return problem(403, "Forbidden", fmt::format("user \"{}\" may revoke only their own tokens", caller.user));
    if (auto removed = store.delete_token(parts[4]); !removed.ok()) return problem_from(removed.error());
    return json_reply(200, {{"revoked", parts[4]}});
  }
  return problem(404, "NotFound", fmt::format("no such path: {} {} (see docs/api.md)", request.method, request.path));
}

HttpReply AuthApi::audit(const HttpRequest& request) {
  std::int64_t since = 0;
  if (const auto given = request.query.find("since"); given != request.query.end() && !given->second.empty()) {
    const auto when = parse_utc_timestamp(given->second);
    if (!when)
      return problem(400, "BadRequest", fmt::format("since: expected an RFC 3339 time, got \"{}\"", given->second));
    since = when->time_since_epoch().count();
  }
  auto entries = authenticator_.store().list_audit(since);
  if (!entries.ok()) return problem_from(entries.error());
  Json items = Json::array();
  for (const auto& entry : entries.value()) items.push_back(to_api(entry));
  return json_reply(200, {{"kind", "AuditList"}, {"items", items}});
}

}  // namespace pgstack::controller
