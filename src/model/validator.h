// Validation of manifest documents: schema (types, ranges, unknown fields, defaults), semantic checks
// (Postgres version installed, parameter values, replication settings) and references between documents.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/diagnostics.h"
#include "model/document.h"
#include "model/postgres_parameters.h"
#include "model/schema.h"

namespace pgstack::model {

struct InstalledPostgres {
  int major = 0;
  std::string version;  // "15.18"
};

struct ValidationContext {
  // What this host has; empty means no Postgres is installed.
  std::vector<InstalledPostgres> installed_postgres;
  // The API refuses a cluster no host can run; an offline `validate` only warns that this host lacks
  // the major and checks the rest against the nearest installed one.
  bool postgres_must_be_installed = false;
  // The parameter catalogue of a major; nullptr defers value checks (said in a note).
  std::function<const ParameterCatalog*(int major)> parameter_catalog;
  // `pgbouncer --version` of this host ("1.18.0"); empty when unknown: newer settings are not refused.
  std::string pgbouncer_version;
  // The input holds every resource that exists (the API server adds the stored ones): a reference to
  // something not in it is an error, not a deferred check.
  bool references_must_exist = false;
};

struct ValidationResult {
  std::vector<Document> documents;  // with defaults filled in (only meaningful when valid)
  Diagnostics diagnostics;
  bool valid() const { return !diagnostics.has_errors(); }
};

// Validates every document (all errors, not only the first) and the references between them.
ValidationResult validate_documents(const std::vector<Document>& documents, const ValidationContext& context);

// One value against a schema, walked as validate_documents walks a manifest's spec: the value with
// defaults filled in, and every finding (unknown fields, types, ranges, checks) with its field path.
// For YAML files that are not manifests, such as pgstack-proxy's configuration.
Json check_against_schema(const Field& schema, const Json& value, const std::string& source, Diagnostics& diagnostics);

// "latest", "15" or "15.4" -> the installed major that runs it; the error lists what is installed.
Result<InstalledPostgres> resolve_postgres_version(const std::string& requested,
                                                   const std::vector<InstalledPostgres>& installed);

// The major a version names ("15.4" -> 15), or nullopt for "latest" or a malformed one.
std::optional<int> requested_major(const std::string& requested);

// The installed major closest to `major` (the higher on a tie); nullopt when none is installed.
std::optional<InstalledPostgres> nearest_installed(int major, const std::vector<InstalledPostgres>& installed);

// The PgBouncer release that introduced a setting pgstack knows of, when later than 1.18 ("1.21" for
// max_prepared_statements); nullopt for settings every supported PgBouncer has.
std::optional<std::string> pgbouncer_setting_since(std::string_view name);

// "1.18.0" < "1.21": compares dotted numeric versions.
bool version_less(std::string_view a, std::string_view b);

}  // namespace pgstack::model
