#include "agent/assignment.h"

#include <fmt/format.h>

namespace pgstack::agent {
namespace {

using model::Json;

Error invalid(std::string_view what, std::string message) {
  return make_error(ErrorCode::kInvalidInput, fmt::format("{}: {}", what, std::move(message)));
}

Result<Json> parse_object(std::string_view text, std::string_view what) {
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return invalid(what, "not valid JSON");
  if (!parsed.is_object()) return invalid(what, fmt::format("expected a JSON object, got {}", parsed.type_name()));
  return parsed;
}

Result<Credential> credential(const Json& object, const char* field, bool required) {
  Credential result;
  if (!object.contains(field) || object[field].is_null()) {
    if (required) return invalid("secrets", fmt::format("{}: missing", field));
    return result;
  }
  const Json& entry = object[field];
  if (!entry.is_object()) return invalid("secrets", fmt::format("{}: expected an object", field));
  for (const char* part : {"username", "password"}) {
    if (!entry.contains(part)) {
      if (required) return invalid("secrets", fmt::format("{}.{}: missing", field, part));
      continue;
    }
    if (!entry[part].is_string()) return invalid("secrets", fmt::format("{}.{}: expected a string", field, part));
  }
  result.username = entry.value("username", "");
  result.password = entry.value("password", "");
  if (required && (result.username.empty() || result.password.empty()))
    return invalid("secrets", fmt::format("{}: username and password must not be empty", field));
  return result;
}

}  // namespace

Result<ClusterSecrets> parse_cluster_secrets(std::string_view text) {
  ASSIGN_OR_RETURN(const Json& json, parse_object(text, "secrets"));
  ClusterSecrets secrets;
  for (auto [field, target, required] :
       {std::tuple{"superuser", &secrets.superuser, true}, std::tuple{"replication", &secrets.replication, true},
        std::tuple{"rewind", &secrets.rewind, true}, std::tuple{"authenticator", &secrets.authenticator, true},
        std::tuple{"application", &secrets.application, false}, std::tuple{"restapi", &secrets.restapi, false},
        std::tuple{"monitor", &secrets.monitor, false}}) {
    auto value = credential(json, field, required);
    if (!value) return value.error();
    *target = value.value();
  }
  if (json.contains("application") && json["application"].is_object()) {
    const Json& application = json["application"];
    if (application.contains("database") && !application["database"].is_string())
      return invalid("secrets", "application.database: expected a string");
    secrets.application_database = application.value("database", "");
    if (!secrets.application.username.empty() && secrets.application_database.empty())
      secrets.application_database = secrets.application.username;  // Postgres' own default: the user's name
  }
  return secrets;
}

}  // namespace pgstack::agent
