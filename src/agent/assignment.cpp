#include "agent/assignment.h"

#include <algorithm>
#include <cctype>

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

Result<std::string> required_name(const Json& object, const char* field, std::string_view what) {
  if (!object.contains(field) || !object[field].is_string())
    return invalid(what, fmt::format("{}: expected a string", field));
  std::string value = object[field].get<std::string>();
  if (!is_safe_name(value))
    return invalid(what, fmt::format("{}: '{}' is not a valid name (letters, digits, '.', '_', '-')", field, value));
  return value;
}

Result<int> integer_in(const Json& object, const char* field, int low, int high, std::string_view what) {
  if (!object.contains(field) || !object[field].is_number_integer())
    return invalid(what, fmt::format("{}: expected an integer", field));
  const auto value = object[field].get<std::int64_t>();
  if (value < low || value > high)
    return invalid(what, fmt::format("{}: expected {}..{}, got {}", field, low, high, value));
  return static_cast<int>(value);
}

// An optional resource document: absent or null means none.
Result<std::optional<model::Document>> optional_document(const Json& object, const char* field, std::string_view what) {
  if (!object.contains(field) || object[field].is_null()) return std::optional<model::Document>();
  if (!object[field].is_object()) return invalid(what, fmt::format("{}: expected a document or null", field));
  return std::optional<model::Document>(model::Document{std::string(what), 0, object[field]});
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

std::string Assignment::instance_key() const { return fmt::format("{}/{}/{}", namespace_name, cluster_name, member); }

bool is_safe_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 253) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

Result<Assignment> parse_assignment(std::string_view text) {
  constexpr std::string_view kWhat = "assignment";
  auto parsed = parse_object(text, kWhat);
  if (!parsed) return parsed.error();
  const Json& json = parsed.value();

  Assignment assignment;
  auto namespace_name = required_name(json, "namespace", kWhat);
  if (!namespace_name) return namespace_name.error();
  assignment.namespace_name = namespace_name.value();
  auto cluster_name = required_name(json, "clusterName", kWhat);
  if (!cluster_name) return cluster_name.error();
  assignment.cluster_name = cluster_name.value();
  auto member = required_name(json, "member", kWhat);
  if (!member) return member.error();
  assignment.member = member.value();
  const std::string what = fmt::format("assignment {}", assignment.instance_key());

  auto index = integer_in(json, "index", 0, 10000, what);
  if (!index) return index.error();
  assignment.index = index.value();
  if (json.contains("host") && json["host"].is_string()) assignment.host = json["host"].get<std::string>();
  if (json.contains("postgresMajor") && !json["postgresMajor"].is_null()) {
    auto major = integer_in(json, "postgresMajor", 9, 99, what);
    if (!major) return major.error();
    assignment.postgres_major = major.value();
  }

  if (!json.contains("ports") || !json["ports"].is_object()) return invalid(what, "ports: expected an object");
  const Json& ports = json["ports"];
  for (auto [field, target] :
       {std::pair{"postgres", &assignment.ports.postgres}, std::pair{"pgbouncer", &assignment.ports.pgbouncer},
        std::pair{"patroni", &assignment.ports.patroni}}) {
    auto port = integer_in(ports, field, 1, 65535, what + " ports");
    if (!port) return port.error();
    *target = port.value();
  }
  // Optional: assignments written before pgstack-proxy was part of the runtime have none.
  if (json.contains("proxy") && !json["proxy"].is_null()) {
    if (!json["proxy"].is_object()) return invalid(what, "proxy: expected an object or null");
    AssignedProxyPorts proxy;
    for (auto [field, target] : {std::pair{"readWrite", &proxy.read_write}, std::pair{"readOnly", &proxy.read_only},
                                 std::pair{"admin", &proxy.admin}}) {
      auto port = integer_in(json["proxy"], field, 1, 65535, what + " proxy");
      if (!port) return port.error();
      *target = port.value();
    }
    assignment.proxy = proxy;
  }

  if (json.contains("objectStorage") && json["objectStorage"].is_object())
    assignment.object_storage = model::object_storage_from(model::Document{what, 0, json["objectStorage"]});
  if (json.contains("restore") && json["restore"].is_object()) {
    const Json& restore = json["restore"];
    RestoreAssignment out;
    out.backup = restore.value("backup", "");
    out.label = restore.value("label", "");
    const Json repository = restore.value("repository", Json::object());
    if (out.label.empty() || !repository.is_object() || !repository.contains("objectStorage") ||
        !repository["objectStorage"].is_object())
      return invalid(what, "restore: expected the backup's label and repository {objectStorage, path, stanza}");
    out.storage = model::object_storage_from(model::Document{what, 0, repository["objectStorage"]});
    out.path = repository.value("path", "");
    out.stanza = repository.value("stanza", "");
    assignment.restore = out;
  }
  if (!json.contains("cluster") || !json["cluster"].is_object())
    return invalid(what, "cluster: expected the SGCluster document");
  const model::Document cluster_document{what, 0, json["cluster"]};
  assignment.cluster = model::cluster_from(cluster_document);
  if (assignment.cluster.name != assignment.cluster_name ||
      assignment.cluster.namespace_name != assignment.namespace_name) {
    return invalid(
        what, fmt::format("cluster: the document is SGCluster {}/{}, expected {}/{}", assignment.cluster.namespace_name,
                          assignment.cluster.name, assignment.namespace_name, assignment.cluster_name));
  }

  auto profile = optional_document(json, "profile", what);
  if (!profile) return profile.error();
  assignment.profile =
      profile.value() ? model::instance_profile_from(*profile.value()) : model::default_instance_profile();
  auto postgres_config = optional_document(json, "postgresConfig", what);
  if (!postgres_config) return postgres_config.error();
  if (postgres_config.value()) assignment.postgres_config = model::postgres_config_from(*postgres_config.value());
  auto pooling_config = optional_document(json, "poolingConfig", what);
  if (!pooling_config) return pooling_config.error();
  if (pooling_config.value()) assignment.pooling_config = model::pooling_config_from(*pooling_config.value());

  if (json.contains("restartGeneration") && !json["restartGeneration"].is_null()) {
    if (!json["restartGeneration"].is_number_integer()) return invalid(what, "restartGeneration: expected an integer");
    assignment.restart_generation = json["restartGeneration"].get<std::int64_t>();
  }
  if (assignment.restore && assignment.cluster.restore) assignment.restore->target = *assignment.cluster.restore;
  return assignment;
}

Result<ClusterSecrets> parse_cluster_secrets(std::string_view text) {
  auto parsed = parse_object(text, "secrets");
  if (!parsed) return parsed.error();
  const Json& json = parsed.value();
  ClusterSecrets secrets;
  for (auto [field, target, required] :
       {std::tuple{"superuser", &secrets.superuser, true}, std::tuple{"replication", &secrets.replication, true},
        std::tuple{"rewind", &secrets.rewind, true}, std::tuple{"authenticator", &secrets.authenticator, true},
        std::tuple{"application", &secrets.application, false}, std::tuple{"restapi", &secrets.restapi, false}}) {
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

std::string assignments_prefix(std::string_view prefix, std::string_view host) {
  return fmt::format("{}/assignments/{}/", prefix, host);
}

std::string host_key(std::string_view prefix, std::string_view host) {
  return fmt::format("{}/hosts/{}", prefix, host);
}

std::string secrets_key(std::string_view prefix, std::string_view namespace_name, std::string_view cluster) {
  return fmt::format("{}/secrets/{}/{}", prefix, namespace_name, cluster);
}

std::string instance_report_key(std::string_view prefix, std::string_view instance_key) {
  return fmt::format("{}/instances/{}", prefix, instance_key);
}

}  // namespace pgstack::agent
