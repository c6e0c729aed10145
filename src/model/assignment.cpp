#include "model/assignment.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace pgstack::model {
namespace {

Error invalid(std::string_view what, std::string message) {
  return make_error(ErrorCode::kInvalidInput, fmt::format("{}: {}", what, std::move(message)));
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
Result<Json> optional_document(const Json& object, const char* field, std::string_view what) {
  if (!object.contains(field) || object[field].is_null()) return Json(nullptr);
  if (!object[field].is_object()) return invalid(what, fmt::format("{}: expected a document or null", field));
  return object[field];
}

void drop_resource_version(Json& document) {
  if (document.is_object() && document.contains("metadata") && document["metadata"].is_object())
    document["metadata"].erase("resourceVersion");
}

Json proxy_to_json(const std::optional<AssignedProxyPorts>& proxy) {
  if (!proxy) return nullptr;
  return {{"readWrite", proxy->read_write}, {"readOnly", proxy->read_only}, {"admin", proxy->admin}};
}

Json restore_to_json(const std::optional<RestoreAssignment>& restore) {
  if (!restore) return nullptr;
  Json json = {{"backup", restore->backup},
               {"label", restore->label},
               {"repository",
                {{"objectStorage", restore->storage_document}, {"path", restore->path}, {"stanza", restore->stanza}}}};
  if (!restore->target_json.is_null()) json["target"] = restore->target_json;
  return json;
}

Result<RestoreAssignment> restore_from_json(const Json& restore, const std::string& what) {
  RestoreAssignment out;
  out.backup = restore.value("backup", "");
  out.label = restore.value("label", "");
  const Json repository = restore.value("repository", Json::object());
  if (out.label.empty() || !repository.is_object() || !repository.contains("objectStorage") ||
      !repository["objectStorage"].is_object())
    return invalid(what, "restore: expected the backup's label and repository {objectStorage, path, stanza}");
  out.storage_document = repository["objectStorage"];
  out.storage = object_storage_from(Document{what, 0, out.storage_document});
  out.path = repository.value("path", "");
  out.stanza = repository.value("stanza", "");
  if (restore.contains("target") && restore["target"].is_object()) out.target_json = restore["target"];
  return out;
}

}  // namespace

std::string Assignment::instance_key() const { return fmt::format("{}/{}/{}", namespace_name, cluster_name, member); }

bool is_safe_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 253) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

Json assignment_to_json(const Assignment& assignment) {
  Json ports = {{"postgres", assignment.ports.postgres},
                {"pgbouncer", assignment.ports.pgbouncer},
                {"patroni", assignment.ports.patroni}};
  if (assignment.ports.exporter != 0) ports["exporter"] = assignment.ports.exporter;
  return {{"namespace", assignment.namespace_name},
          {"clusterName", assignment.cluster_name},
          {"member", assignment.member},
          {"index", assignment.index},
          {"host", assignment.host},
          {"postgresMajor", assignment.postgres_major == 0 ? Json(nullptr) : Json(assignment.postgres_major)},
          {"ports", ports},
          {"proxy", proxy_to_json(assignment.proxy)},
          {"cluster", assignment.cluster_document},
          {"profile", assignment.profile_document},
          {"postgresConfig", assignment.postgres_config_document},
          {"poolingConfig", assignment.pooling_config_document},
          {"objectStorage", assignment.object_storage_document},
          {"restore", restore_to_json(assignment.restore)},
          {"restartGeneration", assignment.restart_generation}};
}

Result<Assignment> assignment_from_text(std::string_view text) {
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return invalid("assignment", "not valid JSON");
  return assignment_from_json(parsed);
}

Result<Assignment> assignment_from_json(const Json& json) {
  constexpr std::string_view kWhat = "assignment";
  if (!json.is_object()) return invalid(kWhat, fmt::format("expected a JSON object, got {}", json.type_name()));

  Assignment assignment;
  ASSIGN_OR_RETURN(assignment.namespace_name, required_name(json, "namespace", kWhat));
  ASSIGN_OR_RETURN(assignment.cluster_name, required_name(json, "clusterName", kWhat));
  ASSIGN_OR_RETURN(assignment.member, required_name(json, "member", kWhat));
  const std::string what = fmt::format("assignment {}", assignment.instance_key());

  ASSIGN_OR_RETURN(assignment.index, integer_in(json, "index", 0, 10000, what));
  if (json.contains("host") && json["host"].is_string()) assignment.host = json["host"].get<std::string>();
  if (json.contains("postgresMajor") && !json["postgresMajor"].is_null()) {
    ASSIGN_OR_RETURN(assignment.postgres_major, integer_in(json, "postgresMajor", 9, 99, what));
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
  // Optional: assignments written before the exporter was part of the runtime have none.
  if (ports.contains("exporter") && !ports["exporter"].is_null()) {
    auto port = integer_in(ports, "exporter", 1, 65535, what + " ports");
    if (!port) return port.error();
    assignment.ports.exporter = port.value();
  }
  // Optional: assignments written before pgstack-proxy was part of the runtime have none.
  if (json.contains("proxy") && !json["proxy"].is_null()) {
    if (!json["proxy"].is_object()) return invalid(what, "proxy: expected an object or null");
    AssignedProxyPorts proxy;
    for (auto [field, target] : {std::pair{"readWrite", &proxy.read_write}, std::pair{"readOnly", &proxy.read_only},
                                 std::pair{"admin", &proxy.admin}}) {
      ASSIGN_OR_RETURN(*target, integer_in(json["proxy"], field, 1, 65535, what + " proxy"));
    }
    assignment.proxy = proxy;
  }

  if (json.contains("objectStorage") && json["objectStorage"].is_object()) {
    assignment.object_storage_document = json["objectStorage"];
    assignment.object_storage = object_storage_from(Document{what, 0, assignment.object_storage_document});
  }
  if (json.contains("restore") && json["restore"].is_object()) {
    ASSIGN_OR_RETURN(assignment.restore, restore_from_json(json["restore"], what));
  }
  if (!json.contains("cluster") || !json["cluster"].is_object())
    return invalid(what, "cluster: expected the SGCluster document");
  assignment.cluster_document = json["cluster"];
  assignment.cluster = cluster_from(Document{what, 0, assignment.cluster_document});
  if (assignment.cluster.name != assignment.cluster_name ||
      assignment.cluster.namespace_name != assignment.namespace_name) {
    return invalid(
        what, fmt::format("cluster: the document is SGCluster {}/{}, expected {}/{}", assignment.cluster.namespace_name,
                          assignment.cluster.name, assignment.namespace_name, assignment.cluster_name));
  }

  auto profile = optional_document(json, "profile", what);
  if (!profile) return profile.error();
  assignment.profile_document = profile.value();
  assignment.profile = assignment.profile_document.is_object()
                           ? instance_profile_from(Document{what, 0, assignment.profile_document})
                           : default_instance_profile();
  auto postgres_config = optional_document(json, "postgresConfig", what);
  if (!postgres_config) return postgres_config.error();
  assignment.postgres_config_document = postgres_config.value();
  if (assignment.postgres_config_document.is_object())
    assignment.postgres_config = postgres_config_from(Document{what, 0, assignment.postgres_config_document});
  auto pooling_config = optional_document(json, "poolingConfig", what);
  if (!pooling_config) return pooling_config.error();
  assignment.pooling_config_document = pooling_config.value();
  if (assignment.pooling_config_document.is_object())
    assignment.pooling_config = pooling_config_from(Document{what, 0, assignment.pooling_config_document});

  if (json.contains("restartGeneration") && !json["restartGeneration"].is_null()) {
    if (!json["restartGeneration"].is_number_integer()) return invalid(what, "restartGeneration: expected an integer");
    assignment.restart_generation = json["restartGeneration"].get<std::int64_t>();
  }
  if (assignment.restore && assignment.cluster.restore) assignment.restore->target = *assignment.cluster.restore;
  return assignment;
}

Json comparable_assignment(Json assignment) {
  if (!assignment.is_object()) return assignment;
  for (const char* field : {"cluster", "profile", "postgresConfig", "poolingConfig", "objectStorage"}) {
    if (assignment.contains(field)) drop_resource_version(assignment[field]);
  }
  if (assignment.contains("restore") && assignment["restore"].is_object() &&
      assignment["restore"].contains("repository") && assignment["restore"]["repository"].is_object() &&
      assignment["restore"]["repository"].contains("objectStorage"))
    drop_resource_version(assignment["restore"]["repository"]["objectStorage"]);
  return assignment;
}

}  // namespace pgstack::model
