#include "model/script.h"

#include <algorithm>

#include "model/json_read.h"

namespace pgstack::model {
namespace {

// Given ids stay; the others get the next ids after the highest given, in order.
std::vector<int> assign_ids(const Json& items) {
  int highest = -1;
  for (const auto& item : items) {
    if (item.is_object() && item.contains("id") && item["id"].is_number_integer())
      highest = std::max(highest, item["id"].get<int>());
  }
  std::vector<int> ids;
  for (const auto& item : items) {
    if (item.is_object() && item.contains("id") && item["id"].is_number_integer()) {
      ids.push_back(item["id"].get<int>());
    } else {
      ids.push_back(++highest);
    }
  }
  return ids;
}

std::optional<KeyReference> key_reference(const Json& entry, const char* kind) {
  if (!entry.contains("scriptFrom") || !entry["scriptFrom"].is_object()) return std::nullopt;
  const Json& from = entry["scriptFrom"];
  if (!from.contains(kind) || !from[kind].is_object()) return std::nullopt;
  return KeyReference{string_or(from[kind], "name"), string_or(from[kind], "key")};
}

}  // namespace

std::string isolation_sql(ScriptIsolation isolation) {
  switch (isolation) {
    case ScriptIsolation::kReadCommitted: return "READ COMMITTED";
    case ScriptIsolation::kRepeatableRead: return "REPEATABLE READ";
    case ScriptIsolation::kSerializable: return "SERIALIZABLE";
    case ScriptIsolation::kNone: break;
  }
  return "";
}

Script script_from(const Document& document) {
  Script script;
  script.name = document.name();
  script.namespace_name = document.namespace_name();
  const Json spec = document.body.is_object() ? document.body.value("spec", Json::object()) : Json();
  if (!spec.is_object()) return script;
  script.managed_versions = bool_or(spec, "managedVersions", true);
  script.continue_on_error = bool_or(spec, "continueOnError", false);
  const Json entries = spec.value("scripts", Json::array());
  if (!entries.is_array()) return script;
  const std::vector<int> ids = assign_ids(entries);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Json& item = entries[i];
    if (!item.is_object()) continue;
    ScriptEntry entry;
    entry.id = ids[i];
    entry.name = string_or(item, "name");
    if (item.contains("version") && item["version"].is_number_integer())
      entry.version = item["version"].get<std::int64_t>();
    entry.database = string_or(item, "database", entry.database);
    entry.user = string_or(item, "user");
    const std::string isolation = string_or(item, "wrapInTransaction");
    if (isolation == "read-committed") entry.isolation = ScriptIsolation::kReadCommitted;
    if (isolation == "repeatable-read") entry.isolation = ScriptIsolation::kRepeatableRead;
    if (isolation == "serializable") entry.isolation = ScriptIsolation::kSerializable;
    entry.store_status_in_database = bool_or(item, "storeStatusInDatabase", false);
    entry.retry_on_error = bool_or(item, "retryOnError", false);
    if (item.contains("script") && item["script"].is_string()) entry.script = item["script"].get<std::string>();
    entry.secret_key_ref = key_reference(item, "secretKeyRef");
    entry.config_map_key_ref = key_reference(item, "configMapKeyRef");
    script.entries.push_back(std::move(entry));
  }
  return script;
}

ManagedSql managed_sql_from(const Document& cluster) {
  ManagedSql managed;
  const Json spec = cluster.body.is_object() ? cluster.body.value("spec", Json::object()) : Json();
  if (!spec.is_object() || !spec.contains("managedSql") || !spec["managedSql"].is_object()) return managed;
  const Json& section = spec["managedSql"];
  managed.continue_on_sgscript_error = bool_or(section, "continueOnSGScriptError", false);
  const Json references = section.value("scripts", Json::array());
  if (!references.is_array()) return managed;
  const std::vector<int> ids = assign_ids(references);
  for (std::size_t i = 0; i < references.size(); ++i) {
    if (!references[i].is_object()) continue;
    managed.scripts.push_back({ids[i], string_or(references[i], "sgScript")});
  }
  return managed;
}

}  // namespace pgstack::model
