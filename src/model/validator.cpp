#include "model/validator.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "common/strings.h"
#include "model/extension_catalogue.h"
#include "model/kinds.h"
#include "model/quantity.h"
#include "model/schema.h"

namespace pgstack::model {
namespace {

// The value at `pointer`, or `fallback`. Json::value(json_pointer) throws when the pointer crosses a
// list with a name ("spec.configurations" given as a list); contains() does not.
Json value_at(const Json& value, const char* pointer, Json fallback) {
  const Json::json_pointer path(pointer);
  if (value.contains(path)) return value.at(path);
  return fallback;
}

// Walks one document, collecting every finding with its field path.
class DocumentChecker {
 public:
  DocumentChecker(const Document& document, Diagnostics& diagnostics)
      : document_(document), diagnostics_(diagnostics) {}

  void error(const std::string& path, std::string message) { report(Severity::kError, path, std::move(message)); }
  void warning(const std::string& path, std::string message) { report(Severity::kWarning, path, std::move(message)); }
  void deferred(const std::string& path, std::string message) { report(Severity::kDeferred, path, std::move(message)); }
  void note(const std::string& path, std::string message) { report(Severity::kNote, path, std::move(message)); }

  void mismatch(const Field& field, const Json& value, const std::string& path) {
    error(path, fmt::format("expected {}, got {}", field.expectation(), describe_value(value)));
  }

  Json walk(const Field& field, const Json& value, const std::string& path) {
    if (!field.refusal().empty()) return error(path, field.refusal()), value;
    // Defaults filled in are not the user's: only what the manifest says gets a note or warning.
    if (defaults_depth_ == 0 && !field.note().empty()) note(path, field.note());
    if (defaults_depth_ == 0 && !field.warning().empty()) warning(path, field.warning());
    switch (field.type()) {
      case FieldType::kObject: return walk_object(field, value, path);
      case FieldType::kMap: {
        if (!value.is_object()) return mismatch(field, value, path), value;
        Json out = Json::object();
        for (const auto& [key, item] : value.items()) out[key] = walk(field.element(), item, join_path(path, key));
        return out;
      }
      case FieldType::kArray: {
        if (!value.is_array()) return mismatch(field, value, path), value;
        Json out = Json::array();
        for (std::size_t i = 0; i < value.size(); ++i)
          out.push_back(walk(field.element(), value[i], index_path(path, i)));
        return out;
      }
      case FieldType::kEither: {
        for (const auto& alternative : field.alternatives()) {
          Diagnostics scratch;
          DocumentChecker trial(document_, scratch);
          Json out = trial.walk(alternative, value, path);
          if (!scratch.has_errors()) return out;
        }
        return mismatch(field, value, path), value;
      }
      case FieldType::kAny: return value;
      default: return walk_scalar(field, value, path);
    }
  }

 private:
  void report(Severity severity, const std::string& path, std::string message) {
    diagnostics_.add({severity, document_.source, document_.label(), path, std::move(message)});
  }

  Json walk_object(const Field& field, const Json& value, const std::string& path) {
    if (!value.is_object()) return mismatch(field, value, path), value;
    Json out = Json::object();
    for (const auto& [key, item] : value.items()) {
      const Field* member = field.member(key);
      if (member == nullptr) {
        unknown_field(field, key, path);
        continue;
      }
      out[key] = walk(*member, item, join_path(path, key));
    }
    for (const auto& [name, member] : field.members()) {
      if (value.contains(name)) continue;
      if (member.is_required()) {
        error(join_path(path, name), fmt::format("required field is missing (expected {})", member.expectation()));
      } else if (member.default_value()) {
        ++defaults_depth_;
        out[name] = walk(member, *member.default_value(), join_path(path, name));
        --defaults_depth_;
      }
    }
    return out;
  }

  void unknown_field(const Field& field, const std::string& key, const std::string& path) {
    const auto names = field.member_names();
    if (auto suggestion = closest_match(key, names)) {
      error(join_path(path, key), fmt::format("unknown field; did you mean \"{}\"?", *suggestion));
    } else {
      error(join_path(path, key), fmt::format("unknown field; expected one of {}", fmt::join(names, ", ")));
    }
  }

  Json walk_scalar(const Field& field, const Json& value, const std::string& path) {
    switch (field.type()) {
      case FieldType::kString:
        if (!value.is_string()) return mismatch(field, value, path), value;
        if (!field.allowed().empty() && std::find(field.allowed().begin(), field.allowed().end(),
                                                  value.get<std::string>()) == field.allowed().end()) {
          std::string message = fmt::format("expected {}, got {}", field.expectation(), describe_value(value));
          if (auto suggestion = closest_match(value.get<std::string>(), field.allowed()))
            message += fmt::format(" (did you mean \"{}\"?)", *suggestion);
          error(path, message);
          return value;
        }
        break;
      case FieldType::kScalarString:
        if (value.is_string()) break;
        if (value.is_number() || value.is_boolean()) return run_check(field, Json(value.dump()), path);
        return mismatch(field, value, path), value;
      case FieldType::kInteger: {
        if (!value.is_number_integer()) return mismatch(field, value, path), value;
        const auto number = value.get<std::int64_t>();
        if ((field.minimum() && number < *field.minimum()) || (field.maximum() && number > *field.maximum()))
          return mismatch(field, value, path), value;
        break;
      }
      case FieldType::kNumber:
        if (!value.is_number()) return mismatch(field, value, path), value;
        break;
      case FieldType::kBoolean:
        if (!value.is_boolean()) return mismatch(field, value, path), value;
        break;
      case FieldType::kCpu:
      case FieldType::kMemory: {
        // Kubernetes accepts plain numbers for quantities; keep them as the canonical string.
        Json text = value.is_number() ? Json(value.dump()) : value;
        if (!text.is_string()) return mismatch(field, value, path), value;
        const auto parsed = field.type() == FieldType::kCpu ? parse_cpu_millicores(text.get<std::string>())
                                                            : parse_memory_bytes(text.get<std::string>());
        if (!parsed.ok()) return error(path, parsed.error().message), value;
        return text;
      }
      default: break;
    }
    return run_check(field, value, path);
  }

  Json run_check(const Field& field, const Json& value, const std::string& path) {
    if (field.check()) {
      if (auto problem = field.check()(value)) {
        if (problem->empty()) {
          mismatch(field, value, path);
        } else {
          error(path, *problem);
        }
      }
    }
    return value;
  }

  const Document& document_;
  Diagnostics& diagnostics_;
  int defaults_depth_ = 0;  // > 0 while walking a default the walker filled in
};

const Field& metadata_schema() {
  static const Field schema = Field::object({
      {"name", Field::string().required()},
      {"namespace", Field::string().defaults_to("default")},
      {"labels", Field::map(Field::scalar_string())},
      {"annotations", Field::map(Field::scalar_string())},
      {"uid", Field::string()},
      {"resourceVersion", Field::scalar_string()},
      {"generation", Field::integer()},
      {"creationTimestamp", Field::any()},
      {"deletionTimestamp", Field::any()},
      {"finalizers", Field::any()},
      {"ownerReferences", Field::any()},
      {"managedFields", Field::any()},
  });
  return schema;
}

std::string blocked_reason(const std::string& name) {
  if (name == "archive_command" || name == "archive_mode") return "pgstack runs WAL archiving itself";
  if (name == "listen_addresses" || name == "port") return "pgstack assigns each instance its addresses and ports";
  if (name == "lc_messages") return "pgstack reads server messages in English (lc_messages=C)";
  if (name == "dynamic_library_path") return "extensions load only from the packaged library directory";
  if (name == "wal_log_hints") return "pg_rewind needs it to rejoin a failed primary as a replica";
  return "pgstack owns the server's log files";
}

// What a manifest's parameters are checked against: the catalogue of the major it asks for, or of the
// nearest installed major when this host lacks it (then a name the catalogue lacks is only a warning).
struct ParameterBasis {
  std::optional<int> major;  // the major the manifest asks for; nullopt: unknown (no version resolved)
  const ParameterCatalog* catalog = nullptr;
  bool substitute = false;  // catalog is another major's
};

ParameterBasis parameter_basis(const std::optional<int>& major, const ValidationContext& context) {
  ParameterBasis basis{major, nullptr, false};
  if (!major || !context.parameter_catalog) return basis;
  basis.catalog = context.parameter_catalog(*major);
  if (basis.catalog != nullptr) return basis;
  if (auto nearest = nearest_installed(*major, context.installed_postgres); nearest && nearest->major != *major) {
    basis.catalog = context.parameter_catalog(nearest->major);
    basis.substitute = basis.catalog != nullptr;
  }
  return basis;
}

void check_postgres_parameters(DocumentChecker& checker, const Json& parameters, const std::string& path,
                               const ParameterBasis& basis) {
  if (!parameters.is_object()) return;
  if (basis.major && basis.catalog == nullptr && !parameters.empty()) {
    checker.deferred(
        path, fmt::format("parameter values not checked: no parameter catalogue for PostgreSQL {}", *basis.major));
  }
  if (basis.substitute && !parameters.empty()) {
    checker.note(path, fmt::format("checked against the parameters of PostgreSQL {}, the nearest installed major "
                                   "(PostgreSQL {} is not installed here)",
                                   basis.catalog->major_version(), *basis.major));
  }
  const auto& blocked = blocked_postgres_parameters();
  for (const auto& [name, value] : parameters.items()) {
    const std::string field_path = join_path(path, name);
    const std::string lowered = to_lower(name);
    if (std::find(blocked.begin(), blocked.end(), lowered) != blocked.end()) {
      checker.error(field_path, fmt::format("cannot be set: {}", blocked_reason(lowered)));
      continue;
    }
    if (basis.catalog == nullptr || !value.is_string()) continue;
    if (const ParameterSpec* spec = basis.catalog->find(lowered)) {
      if (auto problem = check_parameter_value(*spec, value.get<std::string>())) checker.error(field_path, *problem);
      continue;
    }
    // Postgres keeps any dotted name (app.tenant) as a placeholder for a library or the application.
    if (lowered.find('.') != std::string::npos) continue;
    std::string message = fmt::format("unknown parameter for PostgreSQL {}", basis.catalog->major_version());
    if (auto suggestion = closest_match(lowered, basis.catalog->names()))
      message += fmt::format("; did you mean \"{}\"?", *suggestion);
    if (basis.substitute) {
      checker.warning(field_path, message + fmt::format(" (PostgreSQL {} may have it)", *basis.major));
    } else {
      checker.error(field_path, message);
    }
  }
}

// postgres.extensions: each name must be one a Debian package provides for the major (the agent installs it).
void check_extensions(DocumentChecker& checker, const Json& spec, const std::optional<InstalledPostgres>& postgres) {
  const Json extensions = value_at(spec, "/postgres/extensions", Json::array());
  if (!extensions.is_array()) return;
  const int major = postgres ? postgres->major : kCatalogueMajor;
  std::set<std::string> seen;
  for (std::size_t index = 0; index < extensions.size(); ++index) {
    const Json& extension = extensions[index];
    if (!extension.is_object() || !extension.contains("name") || !extension["name"].is_string()) continue;
    const std::string name = extension["name"].get<std::string>();
    const std::string path = fmt::format("spec.postgres.extensions[{}].name", index);
    if (auto resolved = resolve_extension(name, major); !resolved) {
      checker.error(path, resolved.error().message);
    } else if (!seen.insert(name).second) {
      checker.note(path, fmt::format("\"{}\" is listed more than once", name));
    } else if (extension.contains("version") && extension["version"].is_string()) {
      checker.note(fmt::format("spec.postgres.extensions[{}].version", index),
                   fmt::format("{} provides its own version of {}; the status shows which is installed",
                               resolved->package, name));
    }
  }
}

void check_pgbouncer_ini(DocumentChecker& checker, const Json& ini, const std::string& path,
                         const ValidationContext& context) {
  if (!ini.is_object() || !ini.contains("pgbouncer") || !ini["pgbouncer"].is_object()) return;
  const auto& owned = owned_pgbouncer_settings();
  const auto& known = known_pgbouncer_settings();
  const std::string section = join_path(path, "pgbouncer");
  for (const auto& [name, value] : ini["pgbouncer"].items()) {
    const std::string field_path = join_path(section, name);
    if (std::find(owned.begin(), owned.end(), name) != owned.end()) {
      checker.error(field_path, "cannot be set: pgstack owns PgBouncer's listening address, authentication and files");
    } else if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string message = "unknown PgBouncer setting";
      if (auto suggestion = closest_match(name, known)) message += fmt::format("; did you mean \"{}\"?", *suggestion);
      checker.error(field_path, message);
    } else if (auto since = pgbouncer_setting_since(name);
               since && !context.pgbouncer_version.empty() && version_less(context.pgbouncer_version, *since)) {
      // PgBouncer refuses to start on a setting it does not know.
      checker.error(field_path, fmt::format("needs PgBouncer {} or later; the installed PgBouncer is {}", *since,
                                            context.pgbouncer_version));
    } else if (name == "pool_mode" && value.is_string()) {
      const std::string mode = value.get<std::string>();
      if (mode != "session" && mode != "transaction" && mode != "statement")
        checker.error(field_path, fmt::format("expected one of session, transaction, statement, got \"{}\"", mode));
    }
  }
}

struct Reference {
  std::string path;
  std::string kind;
  std::string name;
  // A source cluster may live elsewhere (another input, or defined later): missing from the input is
  // deferred even when the input defines other clusters.
  bool deferred_when_missing = false;
  std::string namespace_name;  // empty: the referring document's
};

struct CheckedDocument {
  Document document;
  std::vector<Reference> references;
  std::optional<InstalledPostgres> postgres;  // SGCluster / SGPostgresConfig: the major it runs
};

// The major a document asks for. Installed: it runs (checked.postgres). Not installed: an error where
// the cluster must run (the API), else a warning, and checked.postgres holds the requested major so
// a cluster and its SGPostgresConfig are still compared.
std::optional<int> check_postgres_version(DocumentChecker& checker, CheckedDocument& checked, const std::string& path,
                                          const std::string& requested, const ValidationContext& context) {
  auto resolved = resolve_postgres_version(requested, context.installed_postgres);
  if (resolved.ok()) {
    checked.postgres = resolved.value();
    return resolved->major;
  }
  if (context.postgres_must_be_installed) {
    checker.error(path, resolved.error().message);
    return std::nullopt;
  }
  checker.warning(path, resolved.error().message + "; the manifest is valid, but applying it needs a host that has it");
  const auto major = requested_major(requested);
  if (major) checked.postgres = InstalledPostgres{*major, requested};
  return major;
}

void check_cluster(DocumentChecker& checker, CheckedDocument& checked, const ValidationContext& context) {
  const Json& spec = checked.document.body["spec"];
  if (!spec.is_object()) return;
  const Json version = value_at(spec, "/postgres/version", Json());
  std::optional<int> major;
  if (version.is_string()) {
    major = check_postgres_version(checker, checked, "spec.postgres.version", version.get<std::string>(), context);
    const std::string& requested = version.get<std::string>();
    if (checked.postgres && requested.find('.') != std::string::npos && requested != checked.postgres->version &&
        checked.postgres->major == major)
      checker.note("spec.postgres.version",
                   fmt::format("{} requested; {} is installed and will run", requested, checked.postgres->version));
  }
  for (const char* user : {"superuser", "replication", "authenticator"}) {
    const std::string pointer = fmt::format("/configurations/credentials/users/{}/username", user);
    if (value_at(spec, pointer.c_str(), Json()).is_object())
      checker.warning(fmt::format("spec.configurations.credentials.users.{}.username", user),
                      "accepted but not yet applied: a username from a Secret is not read; pgstack uses its default "
                      "name for this user (a plain string sets it)");
  }
  const Json parameters = value_at(spec, "/configurations/postgres/postgresql.conf", Json());
  check_postgres_parameters(checker, parameters, "spec.configurations.postgres.\"postgresql.conf\"",
                            parameter_basis(major, context));
  check_extensions(checker, spec, checked.postgres);
  check_pgbouncer_ini(checker, value_at(spec, "/configurations/pooling/pgBouncer/pgbouncer.ini", Json()),
                      "spec.configurations.pooling.pgBouncer.\"pgbouncer.ini\"", context);

  const Json mode_value = value_at(spec, "/replication/mode", Json("async"));
  const Json instances_value = spec.value("instances", Json(1));
  const Json sync_value = value_at(spec, "/replication/syncInstances", Json(1));
  if (!mode_value.is_string() || !instances_value.is_number_integer() || !sync_value.is_number_integer()) return;
  const std::string mode = mode_value.get<std::string>();
  const auto instances = instances_value.get<std::int64_t>();
  const auto sync_instances = sync_value.get<std::int64_t>();
  if (mode != "async" && instances > 1 && sync_instances > instances - 1) {
    checker.error("spec.replication.syncInstances",
                  fmt::format("expected at most {} (instances - 1) with replication mode {}, got {}", instances - 1,
                              mode, sync_instances));
  }

  const Json from_backup = value_at(spec, "/initialData/restore/fromBackup", Json());
  if (from_backup.is_object()) {
    const std::string base = "spec.initialData.restore.fromBackup";
    // uid (deprecated by StackGres) names the backup by its metadata.uid; the API resolves it to a name.
    if (!from_backup.contains("name") && !from_backup.contains("uid"))
      checker.error(base + ".name", "required field is missing (expected the SGBackup to restore, or its uid)");
    if (from_backup.contains("uid") && !from_backup.contains("name") && !context.references_must_exist)
      checker.deferred(base + ".uid", "the SGBackup with this uid is looked up when applied");
    std::vector<std::string> targets;
    if (from_backup.contains("pointInTimeRecovery")) targets.emplace_back("pointInTimeRecovery.restoreToTimestamp");
    for (const char* key : {"targetLsn", "targetXid", "targetName", "target"}) {
      if (from_backup.contains(key)) targets.emplace_back(key);
    }
    if (targets.size() > 1)
      checker.error(base, fmt::format("expected at most one recovery target, got {}", fmt::join(targets, ", ")));
  }

  auto refer = [&](const char* pointer, const std::string& path, const std::string& kind) {
    const Json value = value_at(spec, pointer, Json());
    if (value.is_string()) checked.references.push_back({path, kind, value.get<std::string>()});
  };
  refer("/sgInstanceProfile", "spec.sgInstanceProfile", "SGInstanceProfile");
  refer("/configurations/sgPostgresConfig", "spec.configurations.sgPostgresConfig", "SGPostgresConfig");
  refer("/configurations/sgPoolingConfig", "spec.configurations.sgPoolingConfig", "SGPoolingConfig");
  // StackGres's "namespace.name" names a log store in another namespace.
  if (const Json store = value_at(spec, "/distributedLogs/sgDistributedLogs", Json()); store.is_string()) {
    const std::string text = store.get<std::string>();
    const auto dot = text.find('.');
    Reference reference{"spec.distributedLogs.sgDistributedLogs", "SGDistributedLogs", text};
    if (dot != std::string::npos) {
      reference.namespace_name = text.substr(0, dot);
      reference.name = text.substr(dot + 1);
    }
    if (reference.name.empty() || (dot != std::string::npos && reference.namespace_name.empty()))
      checker.error(reference.path, "expected the SGDistributedLogs' name, or \"namespace.name\"");
    else
      checked.references.push_back(std::move(reference));
  }
  refer("/initialData/restore/fromBackup/name", "spec.initialData.restore.fromBackup.name", "SGBackup");
  refer("/replicateFrom/instance/sgCluster", "spec.replicateFrom.instance.sgCluster", "SGCluster");
  if (!checked.references.empty() && checked.references.back().path == "spec.replicateFrom.instance.sgCluster")
    checked.references.back().deferred_when_missing = true;
  refer("/replicateFrom/storage/sgObjectStorage", "spec.replicateFrom.storage.sgObjectStorage", "SGObjectStorage");
  Json backups = value_at(spec, "/configurations/backups", Json::array());
  if (!backups.is_array()) backups = Json::array();  // the walker reported the wrong type
  if (backups.size() > 1)
    checker.error("spec.configurations.backups", fmt::format("expected at most one entry (pgstack keeps one backup "
                                                             "repository per cluster), got {}",
                                                             backups.size()));
  for (std::size_t i = 0; i < backups.size(); ++i) {
    const std::string base = fmt::format("spec.configurations.backups[{}]", i);
    if (!backups[i].is_object()) continue;
    // The user still gets backups, taken another way: said, not refused.
    if (backups[i].value("useVolumeSnapshot", false))
      checker.warning(base + ".useVolumeSnapshot",
                      "accepted but not applied: volume snapshots need Kubernetes; pgstack backs up with pgBackRest");
    if (backups[i].contains("compression") && backups[i]["compression"].is_string()) {
      const std::string compression = backups[i]["compression"].get<std::string>();
      if (compression == "lzma" || compression == "brotli")
        checker.error(base + ".compression", fmt::format("pgBackRest cannot compress with {}; expected lz4, zstd, gzip "
                                                         "or none",
                                                         compression));
    }
    if (backups[i].is_object() && backups[i].contains("sgObjectStorage") && backups[i]["sgObjectStorage"].is_string())
      checked.references.push_back({fmt::format("spec.configurations.backups[{}].sgObjectStorage", i),
                                    "SGObjectStorage", backups[i]["sgObjectStorage"].get<std::string>()});
  }
  Json scripts = value_at(spec, "/managedSql/scripts", Json::array());
  if (!scripts.is_array()) scripts = Json::array();  // the walker reported the wrong type
  for (std::size_t i = 0; i < scripts.size(); ++i) {
    if (scripts[i].is_object() && scripts[i].contains("sgScript") && scripts[i]["sgScript"].is_string())
      checked.references.push_back({fmt::format("spec.managedSql.scripts[{}].sgScript", i), "SGScript",
                                    scripts[i]["sgScript"].get<std::string>()});
    // -1 is StackGres' "not assigned yet": several entries may have it.
    if (!scripts[i].is_object() || !scripts[i].contains("id") || scripts[i]["id"] == -1) continue;
    for (std::size_t j = 0; j < i; ++j) {
      if (scripts[j].is_object() && scripts[j].contains("id") && scripts[j]["id"] == scripts[i]["id"])
        checker.error(fmt::format("spec.managedSql.scripts[{}].id", i),
                      fmt::format("id {} is already used by spec.managedSql.scripts[{}]; expected a unique id",
                                  scripts[i]["id"].dump(), j));
    }
  }
}

void check_postgres_config(DocumentChecker& checker, CheckedDocument& checked, const ValidationContext& context) {
  const Json& spec = checked.document.body["spec"];
  const Json version = spec.value("postgresVersion", Json());
  if (!version.is_string()) return;
  const auto major =
      check_postgres_version(checker, checked, "spec.postgresVersion", version.get<std::string>(), context);
  check_postgres_parameters(checker, spec.value("postgresql.conf", Json()), "spec.\"postgresql.conf\"",
                            parameter_basis(major, context));
}

void check_object_storage(DocumentChecker& checker, const Json& spec) {
  const Json type_value = spec.value("type", Json());
  if (!type_value.is_string()) return;
  const std::string type = type_value.get<std::string>();
  if (!spec.contains(type)) {
    checker.error(join_path("spec", type), fmt::format("required field is missing (type is {})", type));
  }
  for (const char* other : {"s3", "s3Compatible", "gcs", "azureBlob", "filesystem"}) {
    if (other != type && spec.contains(other))
      checker.error(join_path("spec", other), fmt::format("only allowed when type is {}, and type is {}", other, type));
  }
  const Json encryption = value_at(spec, "/encryption", Json());
  if (encryption.is_object() && encryption.value("method", Json()).is_string()) {
    const std::string method = encryption["method"].get<std::string>();
    if ((method == "sodium" || method == "openpgp") && !encryption.contains(method))
      checker.error(join_path("spec.encryption", method),
                    fmt::format("required field is missing (method is {})", method));
  }
  const Json aws = value_at(spec, "/s3/awsCredentials", Json());
  if (type == "s3" && aws.is_object() && !aws.contains("secretKeySelectors") && aws.value("useIAMRole", false) != true)
    checker.error("spec.s3.awsCredentials.secretKeySelectors",
                  "required field is missing (expected accessKeyId and secretAccessKey, or useIAMRole: true to use "
                  "the credentials of the instance's IAM role)");
  const Json gcp = value_at(spec, "/gcs/gcpCredentials", Json());
  if (type == "gcs" && gcp.is_object()) {
    const Json metadata = gcp.value("fetchCredentialsFromMetadataService", Json());
    const bool from_metadata = metadata.is_boolean() && metadata.get<bool>();
    const bool from_secret = gcp.contains("/secretKeySelectors/serviceAccountJSON"_json_pointer);
    if (from_metadata == from_secret)
      checker.error("spec.gcs.gcpCredentials",
                    fmt::format("{}; expected exactly one of fetchCredentialsFromMetadataService: true or "
                                "secretKeySelectors.serviceAccountJSON",
                                from_metadata ? "both are given" : "neither is given"));
  }
}

void check_scripts(DocumentChecker& checker, const Json& spec) {
  Json scripts = spec.value("scripts", Json::array());
  if (!scripts.is_array()) scripts = Json::array();  // the walker reported the wrong type
  for (std::size_t i = 0; i < scripts.size(); ++i) {
    if (!scripts[i].is_object()) continue;
    const bool inline_script = scripts[i].contains("script");
    const bool from = scripts[i].contains("scriptFrom");
    if (inline_script == from)
      checker.error(index_path("spec.scripts", i), "expected exactly one of script or scriptFrom");
    const std::string base = index_path("spec.scripts", i);
    if (from && scripts[i]["scriptFrom"].is_object()) {
      const Json& script_from = scripts[i]["scriptFrom"];
      if (script_from.contains("configMapKeyRef"))
        checker.error(base + ".scriptFrom.configMapKeyRef",
                      "pgstack has no ConfigMaps; expected the SQL in scriptFrom.secretKeyRef (a Secret: pgstack "
                      "create secret) or inline in script");
      else if (!script_from.contains("secretKeyRef"))
        checker.error(base + ".scriptFrom", "expected secretKeyRef (the Secret's name and key holding the SQL)");
    }
    if (scripts[i].contains("storeStatusInDatabase") && scripts[i]["storeStatusInDatabase"] == true &&
        !scripts[i].contains("wrapInTransaction"))
      checker.error(base + ".storeStatusInDatabase",
                    "needs wrapInTransaction (read-committed, repeatable-read or serializable): the status is "
                    "stored in the script's own transaction");
    for (const char* unique : {"id", "name"}) {
      if (!scripts[i].contains(unique) || (scripts[i][unique] == -1 && std::string_view(unique) == "id")) continue;
      for (std::size_t j = 0; j < i; ++j) {
        if (scripts[j].is_object() && scripts[j].contains(unique) && scripts[j][unique] == scripts[i][unique])
          checker.error(base + "." + unique,
                        fmt::format("already used by spec.scripts[{}]; expected a unique {}", j, unique));
      }
    }
  }
}

CheckedDocument check_document(const Document& input, const ValidationContext& context, Diagnostics& diagnostics) {
  CheckedDocument checked{input, {}, std::nullopt};
  DocumentChecker checker(input, diagnostics);
  const Json& body = input.body;
  if (!body.is_object()) return checked;  // already reported by the loader

  Json out = Json::object();
  const KindInfo* kind = nullptr;
  if (!body.contains("kind") || !body["kind"].is_string()) {
    checker.error("kind", "required field is missing (expected one of the stackgres.io kinds, such as SGCluster)");
  } else {
    const std::string name = body["kind"].get<std::string>();
    for (const auto& info : all_kinds()) {
      if (info.kind == name) kind = &info;
    }
    if (kind == nullptr) {
      std::vector<std::string> names;
      for (const auto& info : all_kinds()) names.push_back(info.kind);
      std::string message = fmt::format("unknown kind \"{}\"", name);
      if (auto suggestion = closest_match(name, names)) message += fmt::format(" (did you mean \"{}\"?)", *suggestion);
      checker.error("kind", message + fmt::format("; expected one of {}", fmt::join(names, ", ")));
    }
  }
  if (!body.contains("apiVersion") || !body["apiVersion"].is_string()) {
    checker.error("apiVersion", fmt::format("required field is missing (expected \"{}\")",
                                            kind ? kind->api_version : "stackgres.io/v1"));
  } else if (kind != nullptr && body["apiVersion"].get<std::string>() != kind->api_version) {
    checker.error("apiVersion", fmt::format("expected \"{}\" for {}, got \"{}\"", kind->api_version, kind->kind,
                                            body["apiVersion"].get<std::string>()));
  }
  if (body.contains("apiVersion")) out["apiVersion"] = body["apiVersion"];
  if (body.contains("kind")) out["kind"] = body["kind"];

  if (!body.contains("metadata")) {
    checker.error("metadata", "required field is missing (expected a mapping with at least a name)");
  } else {
    out["metadata"] = checker.walk(metadata_schema(), body["metadata"], "metadata");
    for (const char* key : {"name", "namespace"}) {
      const Json value = out["metadata"].is_object() ? out["metadata"].value(key, Json()) : Json();
      if (value.is_string() && !is_valid_resource_name(value.get<std::string>()))
        checker.error(std::string("metadata.") + key,
                      fmt::format("expected a lower-case DNS label (a-z, 0-9 and '-', at most 63 characters, "
                                  "starting and ending with a letter or digit), got \"{}\"",
                                  value.get<std::string>()));
    }
  }
  if (kind != nullptr) {
    if (!body.contains("spec")) {
      checker.error("spec", "required field is missing (expected a mapping)");
    } else {
      out["spec"] = checker.walk(kind->spec, body["spec"], "spec");
    }
  }
  for (const auto& [key, value] : body.items()) {
    if (key == "apiVersion" || key == "kind" || key == "metadata" || key == "spec") continue;
    if (key == "status") {
      out["status"] = value;  // observed state: kept as is
      continue;
    }
    static const std::vector<std::string> kTopLevel = {"apiVersion", "kind", "metadata", "spec", "status"};
    std::string message = "unknown field";
    if (auto suggestion = closest_match(key, kTopLevel)) message += fmt::format("; did you mean \"{}\"?", *suggestion);
    checker.error(key, message);
  }
  checked.document.body = std::move(out);

  // A spec that is not a mapping was reported by the walker; the checks below need one.
  if (kind == nullptr || !checked.document.body.contains("spec") || !checked.document.body["spec"].is_object())
    return checked;
  const Json& spec = checked.document.body["spec"];
  if (kind->kind == "SGCluster") check_cluster(checker, checked, context);
  if (kind->kind == "SGPostgresConfig") check_postgres_config(checker, checked, context);
  if (kind->kind == "SGPoolingConfig")
    check_pgbouncer_ini(checker, value_at(spec, "/pgBouncer/pgbouncer.ini", Json()), "spec.pgBouncer.\"pgbouncer.ini\"",
                        context);
  if (kind->kind == "SGObjectStorage") check_object_storage(checker, spec);
  if (kind->kind == "SGScript") check_scripts(checker, spec);
  // pgbench refuses a partition method without partitions.
  if (kind->kind == "SGDbOps" && value_at(spec, "/benchmark/pgbench/partitionMethod", Json()).is_string() &&
      value_at(spec, "/benchmark/pgbench/partitions", Json(0)) == Json(0))
    checker.error("spec.benchmark.pgbench.partitionMethod", "needs partitions (a number above 0)");
  if ((kind->kind == "SGBackup" || kind->kind == "SGDbOps") && spec.contains("sgCluster") &&
      spec["sgCluster"].is_string())
    checked.references.push_back({"spec.sgCluster", "SGCluster", spec["sgCluster"].get<std::string>()});
  if (kind->kind == "SGDistributedLogs") {
    if (spec.contains("sgInstanceProfile") && spec["sgInstanceProfile"].is_string())
      checked.references.push_back(
          {"spec.sgInstanceProfile", "SGInstanceProfile", spec["sgInstanceProfile"].get<std::string>()});
    const Json config = value_at(spec, "/configurations/sgPostgresConfig", Json());
    if (config.is_string())
      checked.references.push_back(
          {"spec.configurations.sgPostgresConfig", "SGPostgresConfig", config.get<std::string>()});
  }
  return checked;
}

}  // namespace

Json check_against_schema(const Field& schema, const Json& value, const std::string& source, Diagnostics& diagnostics) {
  const Document document{source, 0, value};
  DocumentChecker checker(document, diagnostics);
  return checker.walk(schema, value, "");
}

Result<InstalledPostgres> resolve_postgres_version(const std::string& requested,
                                                   const std::vector<InstalledPostgres>& installed) {
  if (installed.empty())
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("PostgreSQL {} is not installed on this host, and no other version is "
                                  "(run scripts/install-deps)",
                                  requested));
  if (requested == "latest") {
    return *std::max_element(installed.begin(), installed.end(),
                             [](const auto& a, const auto& b) { return a.major < b.major; });
  }
  const std::string major_text = requested.substr(0, requested.find('.'));
  int major = 0;
  try {
    major = std::stoi(major_text);
  } catch (...) {
    major = -1;
  }
  for (const auto& candidate : installed) {
    if (candidate.major == major) return candidate;
  }
  std::vector<std::string> names;
  names.reserve(installed.size());
  for (const auto& candidate : installed) names.push_back(fmt::format("{} ({})", candidate.major, candidate.version));
  return make_error(
      ErrorCode::kFailedPrecondition,
      fmt::format("PostgreSQL {} is not installed on this host; installed: {}", requested, fmt::join(names, ", ")));
}

std::optional<int> requested_major(const std::string& requested) {
  const std::string major_text = requested.substr(0, requested.find('.'));
  if (major_text.empty() || major_text.size() > 4 ||
      !std::all_of(major_text.begin(), major_text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoi(major_text);
}

std::optional<InstalledPostgres> nearest_installed(int major, const std::vector<InstalledPostgres>& installed) {
  std::optional<InstalledPostgres> best;
  for (const auto& candidate : installed) {
    const int distance = std::abs(candidate.major - major);
    if (!best || distance < std::abs(best->major - major) ||
        (distance == std::abs(best->major - major) && candidate.major > best->major))
      best = candidate;
  }
  return best;
}

std::optional<std::string> pgbouncer_setting_since(std::string_view name) {
  // From PgBouncer's changelog; settings older than 1.18 are not listed.
  static const std::map<std::string, std::string, std::less<>> kSince = {
      {"auth_dbname", "1.19"},
      {"track_extra_parameters", "1.20"},
      {"max_prepared_statements", "1.21"},
      {"max_db_client_connections", "1.24"},
      {"max_user_client_connections", "1.24"},
  };
  if (auto found = kSince.find(name); found != kSince.end()) return found->second;
  return std::nullopt;
}

bool version_less(std::string_view a, std::string_view b) {
  const auto numbers = [](std::string_view text) {
    std::vector<int> out;
    for (const auto& part : split(text, '.')) {
      int value = 0;
      for (const char c : part) {
        if (c < '0' || c > '9' || value > 100000) break;
        value = value * 10 + (c - '0');
      }
      out.push_back(value);
    }
    return out;
  };
  return numbers(a) < numbers(b);
}

ValidationResult validate_documents(const std::vector<Document>& documents, const ValidationContext& context) {
  ValidationResult result;
  std::vector<CheckedDocument> checked;
  checked.reserve(documents.size());
  for (const auto& document : documents) checked.push_back(check_document(document, context, result.diagnostics));

  // (kind, namespace, name) -> the document that defines it, to resolve references within the input.
  std::map<std::tuple<std::string, std::string, std::string>, const CheckedDocument*> defined;
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> names_by_kind;
  for (const auto& item : checked) {
    const Document& document = item.document;
    if (document.kind().empty() || document.name().empty()) continue;
    const auto key = std::make_tuple(document.kind(), document.namespace_name(), document.name());
    if (const auto found = defined.find(key); found != defined.end()) {
      result.diagnostics.add(
          {Severity::kError, document.source, document.label(), "metadata.name",
           fmt::format("defined twice in namespace {} (also document {} of {})", document.namespace_name(),
                       found->second->document.index + 1, found->second->document.source)});
      continue;
    }
    defined[key] = &item;
    names_by_kind[{document.kind(), document.namespace_name()}].push_back(document.name());
  }

  for (const auto& item : checked) {
    const Document& document = item.document;
    for (const auto& reference : item.references) {
      const std::string ns = reference.namespace_name.empty() ? document.namespace_name() : reference.namespace_name;
      const auto key = std::make_tuple(reference.kind, ns, reference.name);
      const auto found = defined.find(key);
      const auto add = [&](Severity severity, std::string message) {
        result.diagnostics.add({severity, document.source, document.label(), reference.path, std::move(message)});
      };
      if (found != defined.end()) {
        // A cluster and its SGPostgresConfig must be for the same major.
        if (reference.kind == "SGPostgresConfig" && item.postgres && found->second->postgres &&
            item.postgres->major != found->second->postgres->major) {
          add(Severity::kError, fmt::format("SGPostgresConfig/{} is for PostgreSQL {}, but the cluster runs {}",
                                            reference.name, found->second->postgres->major, item.postgres->major));
        }
        continue;
      }
      const auto others = names_by_kind.find({reference.kind, ns});
      if ((others == names_by_kind.end() || reference.deferred_when_missing) && !context.references_must_exist) {
        add(Severity::kDeferred, fmt::format("{}/{} is not in the input; its existence is checked when applied",
                                             reference.kind, reference.name));
        continue;
      }
      std::string message =
          context.references_must_exist
              ? fmt::format("{}/{} does not exist in namespace {}", reference.kind, reference.name, ns)
              : fmt::format("{}/{} is not defined in namespace {}", reference.kind, reference.name, ns);
      if (others != names_by_kind.end()) {
        message += fmt::format("; the {} defines {}", context.references_must_exist ? "namespace" : "input",
                               fmt::join(others->second, ", "));
        if (auto suggestion = closest_match(reference.name, others->second))
          message += fmt::format(" (did you mean \"{}\"?)", *suggestion);
      }
      add(Severity::kError, message);
    }
    result.documents.push_back(item.document);
  }
  return result;
}

}  // namespace pgstack::model
