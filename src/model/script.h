// Typed views of managed SQL: an SGScript's entries and an SGCluster's spec.managedSql, read from
// validated documents (defaults filled in). The SQL of an entry from a Secret is not here: whoever
// runs the entry reads it, so a Script never holds a secret.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/document.h"

namespace pgstack::model {

enum class ScriptIsolation { kNone, kReadCommitted, kRepeatableRead, kSerializable };
// "READ COMMITTED", ...; empty for kNone.
std::string isolation_sql(ScriptIsolation isolation);

struct KeyReference {
  std::string name;
  std::string key;
};

// One entry of an SGScript's spec.scripts[].
struct ScriptEntry {
  // spec.scripts[].id; entries without one get the next ids after the highest given, in order (as
  // StackGres assigns them; pgstack does not write them back into the spec).
  int id = 0;
  std::string name;
  std::optional<std::int64_t> version;  // as the user wrote it
  std::string database = "postgres";
  std::string user;  // empty: the cluster's superuser
  ScriptIsolation isolation = ScriptIsolation::kNone;
  bool store_status_in_database = false;
  bool retry_on_error = false;
  std::optional<std::string> script;  // inline SQL
  std::optional<KeyReference> secret_key_ref;
  std::optional<KeyReference> config_map_key_ref;  // accepted by the schema, refused by the validator
};

struct Script {
  std::string name;
  std::string namespace_name = "default";
  bool managed_versions = true;
  bool continue_on_error = false;
  std::vector<ScriptEntry> entries;  // in spec order
};
Script script_from(const Document& document);

// An SGCluster's spec.managedSql.scripts[]: ids as for entries (next after the highest given).
struct ManagedScriptReference {
  int id = 0;
  std::string sg_script;
};
struct ManagedSql {
  bool continue_on_sgscript_error = false;
  std::vector<ManagedScriptReference> scripts;
};
ManagedSql managed_sql_from(const Document& cluster);

}  // namespace pgstack::model
