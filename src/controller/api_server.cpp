#include "controller/api_server.h"

#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/strings.h"
#include "common/time.h"
#include "config/render_pgbackrest.h"
#include "config/restart_impact.h"
#include "controller/api_input.h"
#include "controller/api_reply.h"
#include "controller/auth_api.h"
#include "controller/backup_schedule.h"
#include "controller/cluster_history.h"
#include "controller/cluster_status.h"
#include "controller/hosts_api.h"
#include "controller/log_store_maintenance.h"
#include "controller/logs_api.h"
#include "controller/patroni_client.h"
#include "controller/reconcile/log_store_step.h"
#include "controller/restore_source.h"
#include "logs/log_store_maintenance.h"
#include "logs/log_store_target.h"
#include "model/codec.h"
#include "model/document_diff.h"
#include "model/json_read.h"
#include "model/kinds.h"
#include "model/resources.h"
#include "model/user_secret.h"
#include "store/keys.h"
#include "store/user_secret_store.h"

namespace pgstack::controller {
namespace {

using model::Json;

// Kinds whose documents are served with their status.
bool has_status(const std::string& kind) {
  return kind == "SGCluster" || kind == "SGBackup" || kind == "SGDbOps" || kind == "SGDistributedLogs";
}

HttpReply field_problem(const std::string& kind, const std::string& name, const std::string& path,
                        const std::string& message) {
  const model::Diagnostic diagnostic{model::Severity::kError, "request", kind + "/" + name, path, message};
  return problem(422, "Invalid " + kind, "1 error",
                 Json::array({{{"path", path}, {"message", message}, {"text", diagnostic.to_string()}}}));
}

// Kinds a document may reference, loaded from the store so references are checked for real.
const std::vector<std::string> kReferencedKinds = {"SGInstanceProfile", "SGPostgresConfig",  "SGPoolingConfig",
                                                   "SGObjectStorage",   "SGDistributedLogs", "SGScript",
                                                   "SGBackup",          "SGCluster"};

// The stored document of `kind`/`name` among `documents` (the request's own replaces its stored self).
const model::Document* dry_run_find(const std::vector<model::Document>& documents, const std::string& kind,
                                    const std::string& name) {
  for (const auto& document : documents) {
    if (document.kind() == kind && document.name() == name) return &document;
  }
  return nullptr;
}

// A cluster's inputs as the reconciler tunes them, its profile and Postgres config taken from `documents`.
config::ClusterTuningInputs dry_run_tuning_inputs(const model::Cluster& cluster,
                                                  const std::vector<model::Document>& documents,
                                                  const model::ValidationContext& validation) {
  config::ClusterTuningInputs inputs{cluster, model::default_instance_profile(), std::nullopt, 0, ""};
  if (const auto* profile = dry_run_find(documents, "SGInstanceProfile", cluster.instance_profile_name))
    inputs.profile = model::instance_profile_from(*profile);
  if (const auto* postgres_config = dry_run_find(documents, "SGPostgresConfig", cluster.postgres_config_name))
    inputs.postgres_config = model::postgres_config_from(*postgres_config);
  if (auto resolved = model::resolve_postgres_version(cluster.postgres_version, validation.installed_postgres);
      resolved.ok()) {
    inputs.postgres_major = resolved->major;
    inputs.postgres_version = resolved->version;
  }
  return inputs;
}

Json parameter_change_to_json(const config::ParameterChange& change) {
  return {{"name", change.name},
          {"from", change.before},
          {"to", change.after},
          {"context", change.context},
          {"restartRequired", change.needs_restart}};
}

// Only a create (POST on a collection) or a replace (PUT) of a stackgres.io object has a dry run: a
// dryRun anywhere else would otherwise be ignored and the request done for real.
bool is_dry_run_route(const std::string& method, const std::vector<std::string>& parts) {
  if (parts.size() < 6 || parts[0] != "apis" || parts[1] != "stackgres.io") return false;
  return (parts.size() == 6 && method == "POST") || (parts.size() == 7 && method == "PUT");
}

}  // namespace

ApiHandler::ApiHandler(store::ResourceStore store, std::string etcd_prefix, model::ValidationContext validation,
                       const LeaderElection* leadership)
    : store_(std::move(store)),
      etcd_prefix_(std::move(etcd_prefix)),
      validation_(std::move(validation)),
      leadership_(leadership) {
  validation_.references_must_exist = true;
  validation_.postgres_must_be_installed = true;  // a cluster no host can run is refused when applied
}

ApiHandler::~ApiHandler() = default;

HttpReply ApiHandler::handle(const HttpRequest& request, const std::string& caller) {
  if (request.path == "/healthz") {
    auto probe = store_.client().get(store::keys::controller_leader(etcd_prefix_));
    if (!probe.ok()) return problem(503, "Unavailable", "etcd is unreachable: " + probe.error().message);
    return json_reply(200,
                      {{"status", "ok"}, {"leader", leadership_ ? leadership_->is_leader() : true}, {"etcd", "ok"}});
  }
  // Each segment decoded on its own (api_input.h). Where the handler acts (keywords and DNS-1123 names
  // only) these are the segments the access check classified (request_access.h).
  std::vector<std::string> parts;
  if (auto refused = check_request(request, parts)) return problem_reply(*refused);
  if (request.query.count("dryRun") != 0 && !is_dry_run_route(request.method, parts))
    return problem_reply({400, "Invalid query", "query parameter dryRun",
                          "a dry run is a create (POST on a collection) or a replace (PUT) of a stackgres.io "
                          "object; nothing else takes dryRun"});
  if (is_alerts_path(parts)) return handle_alerts(request, parts, [](const std::string&) { return true; });
  if (is_metrics_query_path(parts) || is_metrics_summary_path(parts))
    return MetricsApi(store_, prometheus_url_).handle(request, parts);
  if (is_logs_path(parts)) return LogsApi(store_, etcd_prefix_).handle(request, parts);
  if (is_hosts_path(parts)) return HostsApi(store_.client(), etcd_prefix_).handle(request, parts);
  // Kubernetes' core group: /api/v1/namespaces/{ns}/secrets[/{name}]
  if (parts.size() >= 5 && parts.size() <= 6 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "namespaces" &&
      parts[4] == "secrets") {
    if (auto refused = check_route_names(request.method, parts[3], 4, parts.size() == 6 ? &parts[5] : nullptr, 6))
      return problem_reply(*refused);
    return handle_secrets(request, parts[3], parts.size() == 6 ? &parts[5] : nullptr);
  }
  if (parts.size() == 4 && parts[0] == "apis" && parts[1] == "pgstack.io" && parts[2] == "v1" &&
      parts[3] == "extensions")
    return handle_extensions(request);
  if (parts.size() < 6 || parts[0] != "apis" || parts[1] != "stackgres.io" ||
      (parts[2] != "v1" && parts[2] != "v1beta1") || parts[3] != "namespaces")
    return problem(404, "NotFound", fmt::format("no such path: {} (see docs/api.md)", request.path));
  const std::string& ns = parts[4];
  const model::KindInfo* kind = model::find_kind(parts[5]);
  if (kind == nullptr) return problem(404, "NotFound", fmt::format("unknown resource type \"{}\"", parts[5]));
  if (auto refused = check_route_names(request.method, ns, 5, parts.size() >= 7 ? &parts[6] : nullptr, 7))
    return problem_reply(*refused);
  if (parts.size() == 6) return handle_collection(request, ns, kind->kind);
  if (parts.size() == 7) return handle_object(request, ns, kind->kind, parts[6]);
  if (parts.size() == 8 && kind->kind == "SGCluster")
    return handle_cluster_action(request, ns, parts[6], parts[7], caller);
  if (parts.size() == 8 && kind->kind == "SGBackup") return handle_backup_action(request, ns, parts[6], parts[7]);
  return problem(404, "NotFound", fmt::format("no such path: {}", request.path));
}

HttpReply ApiHandler::handle_alerts(const HttpRequest& request, const std::vector<std::string>& parts,
                                    const NamespaceReadable& may_read) const {
  return AlertsApi(store_, alertmanager_url_).handle(request, parts, may_read);
}

HttpReply ApiHandler::handle_extensions(const HttpRequest& request) {
  if (request.method != "GET") return problem(405, "MethodNotAllowed", "only GET is allowed on extensions");
  const auto available = request.query.find("available");
  const bool with_installable = available != request.query.end() && available->second != "false";
  auto hosts = store_.client().get_prefix(store::keys::host_extensions_prefix(etcd_prefix_));
  if (!hosts.ok()) return problem_from(hosts.error());
  Json list = {{"apiVersion", "v1"}, {"kind", "ExtensionList"}, {"hosts", Json::array()}, {"items", Json::array()}};
  for (const auto& item : hosts->items) {
    const Json inventory = Json::parse(item.value, nullptr, false);
    if (!inventory.is_object()) continue;
    const std::string host = inventory.value("host", "");
    list["hosts"].push_back({{"host", host},
                             {"installsAllowed", inventory.value("installsAllowed", false)},
                             {"postgresMajors", inventory.value("postgresMajors", Json::array())},
                             {"updatedAt", inventory.value("updatedAt", "")}});
    const Json extensions = inventory.value("extensions", Json::array());
    if (!extensions.is_array()) continue;
    for (Json extension : extensions) {
      if (!extension.is_object()) continue;
      const bool installed = extension.value("installed", false);
      if (!installed && !(with_installable && extension.value("installable", false))) continue;
      extension["host"] = host;
      list["items"].push_back(std::move(extension));
    }
  }
  return json_reply(200, list);
}

HttpReply ApiHandler::handle_collection(const HttpRequest& request, const std::string& ns, const std::string& kind) {
  if (request.method == "GET") {
    const std::string_view listed_ns = ns == "_all" ? "" : ns;
    auto items = has_status(kind) ? store_.list_with_status(kind, listed_ns) : store_.list(kind, listed_ns);
    if (!items.ok()) return problem_from(items.error());
    Json list = {{"apiVersion", "v1"}, {"kind", kind + "List"}, {"items", Json::array()}};
    for (auto& document : items.value()) list["items"].push_back(std::move(document.body));
    return json_reply(200, list);
  }
  if (request.method == "POST") return write(request, ns, kind, nullptr);
  return problem(405, "MethodNotAllowed", fmt::format("{} is not allowed on a collection", request.method));
}

HttpReply ApiHandler::handle_object(const HttpRequest& request, const std::string& ns, const std::string& kind,
                                    const std::string& name) {
  if (request.method == "GET") {
    auto document = store_.get(kind, ns, name);
    if (!document.ok()) return problem_from(document.error());
    if (has_status(kind)) {
      auto status = store_.get_status(kind, ns, name);
      if (status.ok() && status->has_value()) document.value().body["status"] = **status;
    }
    return json_reply(200, document->body);
  }
  if (request.method == "PUT") return write(request, ns, kind, &name);
  if (request.method == "DELETE") {
    const auto delete_logs = request.query.find("deleteLogs");
    const bool wanted =
        delete_logs != request.query.end() && (delete_logs->second == "true" || delete_logs->second == "1");
    if (wanted && kind != "SGCluster")
      return problem(422, "Invalid request", "deleteLogs applies to an SGCluster only");
    return remove(ns, kind, name, wanted);
  }
  return problem(405, "MethodNotAllowed", fmt::format("{} is not allowed on an object", request.method));
}

HttpReply ApiHandler::write(const HttpRequest& request, const std::string& ns, const std::string& kind,
                            const std::string* name) {
  auto loaded = model::load_documents(request.body, "request");
  if (loaded.diagnostics.has_errors()) {
    Json errors = Json::array();
    for (const auto& d : loaded.diagnostics.items())
      errors.push_back({{"path", d.path}, {"message", d.message}, {"text", d.to_string()}});
    return problem(422, "Invalid request body", "the body is not a valid YAML or JSON document", errors);
  }
  if (loaded.documents.size() != 1)
    return problem(422, "Invalid request body", fmt::format("expected one document, got {}", loaded.documents.size()));
  model::Document document = loaded.documents[0];
  Json& body = document.body;
  if (body.contains("metadata") && body["metadata"].is_object()) {
    Json& metadata = body["metadata"];
    if (!metadata.contains("namespace")) metadata["namespace"] = ns;
    if (metadata["namespace"] != Json(ns))
      return field_problem(kind, name != nullptr ? *name : "", "metadata.namespace",
                           fmt::format("metadata.namespace is {} but the request is for namespace {}",
                                       metadata["namespace"].dump(), ns));
    if (name != nullptr && metadata.value("name", Json()) != Json(*name))
      return field_problem(
          kind, *name, "metadata.name",
          fmt::format("metadata.name is {} but the request is for {}", metadata.value("name", Json()).dump(), *name));
  }
  if (body.value("kind", Json()) != Json(kind))
    return problem(422, "Invalid " + kind,
                   fmt::format("kind is {} but the request is for {}", body.value("kind", Json()).dump(), kind));

  std::vector<model::Document> input = {document};
  for (const auto& referenced : kReferencedKinds) {
    auto stored = store_.list(referenced, ns);
    if (!stored.ok()) return problem_from(stored.error());
    for (auto& other : stored.value()) {
      if (referenced == kind && other.name() == document.name()) continue;  // the one being replaced
      other.source = "stored";
      input.push_back(std::move(other));
    }
  }
  // A log store in another namespace ("namespace.name") is checked against that namespace.
  if (kind == "SGCluster") {
    const Json::json_pointer pointer("/spec/distributedLogs/sgDistributedLogs");
    if (body.contains(pointer) && body.at(pointer).is_string()) {
      const logs::LogStoreRef store = logs::parse_log_store_reference(body.at(pointer).get<std::string>(), ns);
      if (store.namespace_name != ns && !store.namespace_name.empty() && !store.name.empty()) {
        auto other = store_.get("SGDistributedLogs", store.namespace_name, store.name);
        if (!other.ok() && other.error().code != ErrorCode::kNotFound) return problem_from(other.error());
        if (other.ok()) {
          other.value().source = "stored";
          input.push_back(std::move(other).value());
        }
      }
    }
  }
  const model::ValidationResult validation = model::validate_documents(input, validation_);
  Json errors = Json::array();
  for (const auto& d : validation.diagnostics.items()) {
    if (d.source != "request" || d.severity != model::Severity::kError) continue;
    errors.push_back({{"path", d.path}, {"message", d.message}, {"text", d.to_string()}});
  }
  if (!errors.empty())
    return problem(422, "Invalid " + kind, fmt::format("{} error{}", errors.size(), errors.size() == 1 ? "" : "s"),
                   errors);

  model::Document validated = validation.documents[0];
  if (name == nullptr && kind == "SGCluster") {
    auto backups = store_.list("SGBackup", ns);
    if (!backups.ok()) return problem_from(backups.error());
    if (auto refused = resolve_backup_uid(validated.body, backups.value()))
      return field_problem(kind, validated.name(), refused->path, refused->message);
  }
  if (name == nullptr) {
    if (auto refused = admit_new(validated); refused) return *refused;
  }
  validated.body.erase("status");
  if (const auto dry_run = request.query.find("dryRun"); dry_run != request.query.end())
    return dry_run_reply(validated, input, name != nullptr);
  auto stored = name == nullptr ? store_.create(validated) : store_.replace(validated);
  if (!stored.ok()) return problem_from(stored.error());
  spdlog::info("{} {}/{} {}", kind, ns, validated.name(), name == nullptr ? "created" : "replaced");
  return json_reply(name == nullptr ? 201 : 200, stored->body);
}

HttpReply ApiHandler::dry_run_reply(const model::Document& validated, const std::vector<model::Document>& input,
                                    bool replace) {
  const std::string kind = validated.kind();
  auto preview = replace ? store_.preview_replace(validated) : store_.preview_create(validated);
  if (!preview.ok()) return problem_from(preview.error());
  Json outcome = {{"operation", replace ? "update" : "create"},
                  {"changes", Json::array()},
                  {"restartRequired", false},
                  {"restartReasons", Json::array()},
                  {"parameters", Json::array()}};
  if (replace && preview->current) {
    const model::Document& current = *preview->current;
    for (const auto& change : model::diff_user_fields(current.body, preview->result.body))
      outcome["changes"].push_back(model::field_change_to_json(change));
    // The clusters whose Postgres this change reaches, each before and after.
    std::vector<model::Document> stored_before;
    for (const auto& document : input) {
      if (document.source == "stored") stored_before.push_back(document);
    }
    std::vector<model::Document> stored_after = stored_before;
    stored_before.push_back(current);
    stored_after.push_back(validated);
    std::vector<std::pair<std::string, config::RestartImpact>> impacts;
    const auto assess = [&](const model::Cluster& before, const model::Cluster& after) {
      const auto inputs_before = dry_run_tuning_inputs(before, stored_before, validation_);
      const auto inputs_after = dry_run_tuning_inputs(after, stored_after, validation_);
      const model::ParameterCatalog* catalog =
          validation_.parameter_catalog ? validation_.parameter_catalog(inputs_after.postgres_major) : nullptr;
      impacts.emplace_back(after.name, config::assess_restart(inputs_before, inputs_after, catalog));
    };
    if (kind == "SGCluster") assess(model::cluster_from(current), model::cluster_from(validated));
    if (kind == "SGInstanceProfile" || kind == "SGPostgresConfig") {
      for (const auto& document : stored_before) {
        if (document.kind() != "SGCluster") continue;
        const model::Cluster cluster = model::cluster_from(document);
        const std::string& uses =
            kind == "SGInstanceProfile" ? cluster.instance_profile_name : cluster.postgres_config_name;
        if (uses == validated.name()) assess(cluster, cluster);
      }
    }
    for (const auto& [cluster, impact] : impacts) {
      const std::string prefix = kind == "SGCluster" ? "" : "SGCluster/" + cluster + ": ";
      for (const auto& reason : impact.reasons) outcome["restartReasons"].push_back(prefix + reason);
      for (const auto& change : impact.parameters) {
        Json entry = parameter_change_to_json(change);
        if (kind != "SGCluster") entry["cluster"] = cluster;
        outcome["parameters"].push_back(std::move(entry));
      }
      if (impact.restart_required) outcome["restartRequired"] = true;
    }
  }
  Json body = preview->result.body;
  body["dryRun"] = std::move(outcome);
  spdlog::info("{} {}/{} {} (dry run: nothing stored)", kind, validated.namespace_name(), validated.name(),
               replace ? "would be replaced" : "would be created");
  return json_reply(replace ? 200 : 201, body);
}

HttpReply ApiHandler::remove_log_store(const std::string& ns, const std::string& name) {
  const std::string kind = "SGDistributedLogs";
  auto clusters = store_.list("SGCluster");  // every namespace: "namespace.name" references reach across
  if (!clusters.ok()) return problem_from(clusters.error());
  std::vector<std::string> users;
  for (const auto& user : logs::clusters_using_store(clusters.value(), {ns, name}))
    users.push_back(fmt::format("SGCluster {}/{}", user.namespace_name, user.cluster));
  if (!users.empty())
    return problem(409, "Conflict",
                   fmt::format("{}/{} is in use by {}: remove their spec.distributedLogs first", kind, name,
                               fmt::join(users, ", ")));
  auto removed = store_.remove(kind, ns, name);
  if (!removed.ok()) return problem_from(removed.error());
  std::string message = fmt::format("{}/{} deleted", kind, name);
  // Its SGCluster, only when pgstack made it for this store (the annotation).
  auto store_cluster = store_.get("SGCluster", ns, name);
  if (store_cluster.ok() && distributed_logs_of(store_cluster->body) == name) {
    if (auto gone = store_.remove("SGCluster", ns, name); gone.ok()) {
      message +=
          fmt::format("; its SGCluster {} is deleted too (instances stop; their data is kept on the hosts)", name);
    } else {
      spdlog::warn("{} {}/{}: its SGCluster is left: {}", kind, ns, name, gone.error().message);
    }
  }
  spdlog::info("{} {}/{} deleted", kind, ns, name);
  return json_reply(
      200,
      {{"status", "Success"}, {"details", {{"kind", kind}, {"name", name}, {"namespace", ns}}}, {"message", message}});
}

HttpReply ApiHandler::remove(const std::string& ns, const std::string& kind, const std::string& name,
                             bool delete_logs) {
  if (kind == "SGDistributedLogs") return remove_log_store(ns, name);
  // A configuration in use would leave its clusters unable to render: refuse, say who uses it.
  const std::map<std::string, std::string> usage = {
      {"SGInstanceProfile", "/spec/sgInstanceProfile"},
      {"SGPostgresConfig", "/spec/configurations/sgPostgresConfig"},
      {"SGPoolingConfig", "/spec/configurations/sgPoolingConfig"},
      {"SGObjectStorage", "/spec/configurations/backups/0/sgObjectStorage"}};
  if (auto field = usage.find(kind); field != usage.end()) {
    auto clusters = store_.list("SGCluster", ns);
    if (!clusters.ok()) return problem_from(clusters.error());
    std::vector<std::string> users;
    for (const auto& cluster : clusters.value()) {
      const Json::json_pointer pointer(field->second);
      if (cluster.body.contains(pointer) && cluster.body.at(pointer) == Json(name))
        users.push_back("SGCluster/" + cluster.name());
    }
    if (!users.empty())
      return problem(409, "Conflict", fmt::format("{}/{} is in use by {}", kind, name, fmt::join(users, ", ")));
  }
  if (kind == "SGCluster") {
    // A store's own SGCluster would only be made again: its SGDistributedLogs is what to delete.
    auto cluster = store_.get(kind, ns, name);
    if (cluster.ok() && distributed_logs_of(cluster->body) == name) {
      auto owner = store_.get("SGDistributedLogs", ns, name);
      if (owner.ok())
        return problem(409, "Conflict",
                       fmt::format("SGCluster {}/{} runs SGDistributedLogs {}/{}: delete the SGDistributedLogs instead",
                                   ns, name, ns, name));
    }
  }
  std::string logs_note;
  if (delete_logs) {
    auto cluster = store_.get(kind, ns, name);
    if (!cluster.ok()) return problem_from(cluster.error());
    const Json::json_pointer pointer("/spec/distributedLogs/sgDistributedLogs");
    if (!cluster->body.contains(pointer) || !cluster->body.at(pointer).is_string())
      return problem(422, "Invalid request",
                     fmt::format("deleteLogs: SGCluster {}/{} has no spec.distributedLogs.sgDistributedLogs, so no "
                                 "log store holds its logs; delete it without deleteLogs",
                                 ns, name));
    const logs::LogStoreRef store = logs::parse_log_store_reference(cluster->body.at(pointer).get<std::string>(), ns);
    // Before the cluster goes: when the store cannot be reached, nothing is deleted and the request says why.
    if (auto deleted = delete_cluster_logs(store_.client(), etcd_prefix_, store, ns, name,
                                           cluster->body.value("/metadata/uid"_json_pointer, std::string()));
        !deleted.ok())
      return problem(503, "Unavailable",
                     fmt::format("deleteLogs: {}; SGCluster {}/{} is not deleted", deleted.error().message, ns, name));
    spdlog::info("SGCluster {}/{}: its logs were deleted from SGDistributedLogs {}/{}", ns, name, store.namespace_name,
                 store.name);
    logs_note = fmt::format("; its logs were deleted from SGDistributedLogs {}/{}", store.namespace_name, store.name);
  }
  auto removed = store_.remove(kind, ns, name);
  if (!removed.ok()) return problem_from(removed.error());
  spdlog::info("{} {}/{} deleted", kind, ns, name);
  return json_reply(200,
                    {{"status", "Success"},
                     {"details", {{"kind", kind}, {"name", name}, {"namespace", ns}}},
                     {"message", kind == "SGCluster" ? "instances are being stopped; their data is kept" + logs_note
                                                     : fmt::format("{}/{} deleted", kind, name)}});
}

std::optional<HttpReply> ApiHandler::admit_new(const model::Document& document) {
  const std::string kind = document.body.value("kind", "");
  const std::string ns = document.namespace_name();
  if (kind == "SGCluster") {
    const model::Cluster cluster = model::cluster_from(document);
    if (!cluster.restore) return std::nullopt;
    auto backup = store_.get("SGBackup", ns, cluster.restore->backup);
    if (!backup.ok() && backup.error().code != ErrorCode::kNotFound) return problem_from(backup.error());
    Json backup_status = nullptr;
    if (backup.ok()) {
      auto status = store_.get_status("SGBackup", ns, cluster.restore->backup);
      if (!status.ok()) return problem_from(status.error());
      backup_status = status->value_or(Json(nullptr));
    }
    const auto refused =
        check_restore_request(*cluster.restore, ns, backup.ok() ? &backup_status : nullptr,
                              std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
    if (refused) return field_problem(kind, cluster.name, refused->path, refused->message);
    // A time the source's archived WAL does not reach (archiving failing, no running primary, a hole in
    // the repository after the backup) is refused here rather than by a restore that would retry for
    // ever: the window the console offers.
    const std::string source = backup.ok() ? backup->body.value("/spec/sgCluster"_json_pointer, std::string()) : "";
    if (cluster.restore->target_time && !source.empty()) {
      bool has_status = false;
      auto window = read_recovery_window(ns, source, has_status);
      if (!window.ok()) return problem_from(window.error());
      const auto beyond = has_status ? restore_target_unreachable(window.value(), cluster.restore->backup,
                                                                  *cluster.restore->target_time)
                                     : std::nullopt;
      if (beyond) return field_problem(kind, cluster.name, beyond->path, beyond->message);
    }
  }
  if (kind == "SGBackup") {
    const model::Backup backup = model::backup_from(document);
    auto cluster = store_.get("SGCluster", ns, backup.cluster);
    if (cluster.ok() && !model::cluster_from(cluster.value()).backup)
      return field_problem(kind, backup.name, "spec.sgCluster",
                           fmt::format("SGCluster/{} has no backup configuration (spec.configurations.backups): "
                                       "nothing says where its backups go",
                                       backup.cluster));
    if (cluster.ok()) {
      // Credentials the storage refers to but that do not exist would only fail later, less clearly.
      const model::Cluster target = model::cluster_from(cluster.value());
      auto storage = store_.get("SGObjectStorage", ns, target.backup->object_storage);
      if (storage.ok()) {
        auto problem = storage_credentials_problem(model::object_storage_from(storage.value()), ns);
        if (!problem.ok()) return problem_from(problem.error());
        if (!problem->empty())
          return field_problem(
              kind, backup.name, "spec.sgCluster",
              fmt::format("the backup storage of SGCluster/{} cannot be used: {}", backup.cluster, *problem));
      }
    }
  }
  return std::nullopt;
}

Result<std::string> ApiHandler::storage_credentials_problem(const model::ObjectStorage& storage,
                                                            const std::string& ns) {
  const store::UserSecretStore secrets(store_.client(), etcd_prefix_);
  config::SecretValues values;
  for (const auto& name : config::referenced_secrets(storage)) {
    auto read = secrets.get(ns, name);
    if (read.ok()) {
      values[name] = std::move(read).value().secret.data;
    } else if (read.error().code != ErrorCode::kNotFound && read.error().code != ErrorCode::kInvalidInput) {
      return read.error();
    }
  }
  auto resolved = config::resolve_storage_credentials(storage, values);
  return resolved.ok() ? std::string() : resolved.error().message;
}

HttpReply ApiHandler::handle_secrets(const HttpRequest& request, const std::string& ns, const std::string* name) {
  const store::UserSecretStore secrets(store_.client(), etcd_prefix_);
  // Values leave only on an explicit request, and are not cached on the way.
  const auto reveal = request.query.find("reveal");
  const bool revealed = reveal != request.query.end() && (reveal->second == "true" || reveal->second == "1");
  if (name == nullptr && request.method == "GET") {
    auto listed = secrets.list(ns == "_all" ? "" : ns);
    if (!listed.ok()) return problem_from(listed.error());
    Json list = {{"apiVersion", "v1"}, {"kind", "SecretList"}, {"items", Json::array()}};
    for (const auto& stored : listed.value())
      list["items"].push_back(model::secret_summary(stored.secret, stored.resource_version));
    return json_reply(200, list);
  }
  if (name != nullptr && request.method == "GET") {
    auto stored = secrets.get(ns, *name);
    if (!stored.ok()) return problem_from(stored.error());
    if (!revealed) return json_reply(200, model::secret_summary(stored->secret, stored->resource_version));
    HttpReply reply = json_reply(200, model::secret_revealed(stored->secret, stored->resource_version));
    reply.headers["Cache-Control"] = "no-store";
    return reply;
  }
  if ((name == nullptr && request.method == "POST") || (name != nullptr && request.method == "PUT")) {
    auto loaded = model::load_documents(request.body, "request");
    // Only the reader's messages ("line N...": syntax, duplicate keys, nesting) are passed on: they say
    // where and never quote a value; the others may.
    if (loaded.diagnostics.has_errors() || loaded.documents.size() != 1) {
      std::string where;
      for (const auto& d : loaded.diagnostics.items()) {
        if (d.message.rfind("line ", 0) == 0) where = ": " + d.message;
      }
      return problem(422, "Invalid Secret", "expected one Secret document in JSON or YAML" + where);
    }
    const Json& body = loaded.documents[0].body;
    auto secret = model::secret_from_manifest(body, ns);
    if (!secret.ok()) return problem(422, "Invalid Secret", secret.error().message);
    if (name != nullptr && secret->name != *name)
      return problem(422, "Invalid Secret",
                     fmt::format("metadata.name is \"{}\" but the request is for {}", secret->name, *name));
    std::optional<std::int64_t> expected_version;
    if (const Json version = body.value("/metadata/resourceVersion"_json_pointer, Json()); !version.is_null()) {
      const std::string text = version.is_string() ? version.get<std::string>() : version.dump();
      try {
        expected_version = std::stoll(text);
      } catch (const std::exception&) {
        return problem(422, "Invalid Secret", "metadata.resourceVersion: expected the value a read returned");
      }
    }
    auto stored = name == nullptr ? secrets.create(*secret) : secrets.replace(*secret, expected_version);
    if (!stored.ok()) return problem_from(stored.error());
    std::vector<std::string> keys;
    for (const auto& [key, value] : stored->secret.data) keys.push_back(key);
    spdlog::info("Secret {}/{} {} (keys: {})", ns, secret->name, name == nullptr ? "created" : "replaced",
                 fmt::join(keys, ", "));
    return json_reply(name == nullptr ? 201 : 200, model::secret_summary(stored->secret, stored->resource_version));
  }
  if (name != nullptr && request.method == "DELETE") {
    // A storage's credentials vanishing would fail its clusters' archiving and backups: refuse, say who.
    auto storages = store_.list("SGObjectStorage", ns);
    if (!storages.ok()) return problem_from(storages.error());
    std::vector<std::string> users;
    for (const auto& document : storages.value()) {
      const auto referenced = config::referenced_secrets(model::object_storage_from(document));
      if (std::find(referenced.begin(), referenced.end(), *name) != referenced.end())
        users.push_back("SGObjectStorage/" + document.name());
    }
    if (!users.empty())
      return problem(409, "Conflict", fmt::format("Secret {} is in use by {}", *name, fmt::join(users, ", ")));
    auto removed = secrets.remove(ns, *name);
    if (!removed.ok()) return problem_from(removed.error());
    spdlog::info("Secret {}/{} deleted", ns, *name);
    return json_reply(200, {{"status", "Success"},
                            {"details", {{"kind", "Secret"}, {"name", *name}, {"namespace", ns}}},
                            {"message", fmt::format("Secret/{} deleted", *name)}});
  }
  return problem(405, "MethodNotAllowed",
                 fmt::format("{} is not allowed on {}", request.method, name == nullptr ? "the Secrets" : "a Secret"));
}

HttpReply ApiHandler::handle_backup_action(const HttpRequest& request, const std::string& ns, const std::string& name,
                                           const std::string& action) {
  if (action != "verify" || request.method != "POST")
    return problem(404, "NotFound", fmt::format("no such action: {} {}", request.method, action));
  auto backup = store_.get("SGBackup", ns, name);
  if (!backup.ok()) return problem_from(backup.error());
  auto stored = store_.get_status("SGBackup", ns, name);
  if (!stored.ok()) return problem_from(stored.error());
  Json status = stored->value_or(Json::object());
  const std::string phase = status.value("phase", "Pending");
  if (phase != "Completed")
    return problem(409, "Conflict",
                   fmt::format("SGBackup/{} is {}: only a Completed backup can be verified", name, phase));
  const Json verification = status.value("verification", Json::object());
  const std::string verifying = verification.is_object() ? verification.value("phase", "") : "";
  if (verifying == "Running")
    return problem(
        409, "Conflict",
        fmt::format("SGBackup/{} is being verified right now (since {})", name, verification.value("startedAt", "?")));
  if (verifying != "Pending") {
    // The agent writes the status too: a verification it records later replaces this request.
    status["verification"] = {{"phase", "Pending"}, {"requestedAt", utc_timestamp_now()}};
    auto written = store_.put_status("SGBackup", ns, name, status);
    if (!written.ok()) return problem_from(written.error());
    spdlog::info("SGBackup {}/{}: verification requested", ns, name);
  }
  return json_reply(202, {{"message", fmt::format("verification of {} requested: the agent on the primary's host "
                                                  "restores it into a scratch instance and checks it",
                                                  name)},
                          {"verification", status["verification"]}});
}

HttpReply ApiHandler::handle_cluster_action(const HttpRequest& request, const std::string& ns, const std::string& name,
                                            const std::string& action, const std::string& caller) {
  auto cluster = store_.get("SGCluster", ns, name);
  if (!cluster.ok()) return problem_from(cluster.error());
  if (action == "status" && request.method == "GET") {
    auto status = store_.get_status("SGCluster", ns, name);
    if (!status.ok()) return problem_from(status.error());
    return json_reply(200, status->value_or(Json::object()));
  }
  if (action == "credentials" && request.method == "GET") {
    auto secrets = store_.client().get(store::keys::cluster_secrets(etcd_prefix_, ns, name));
    if (!secrets.ok()) return problem_from(secrets.error());
    if (!secrets->has_value()) return problem(404, "NotFound", "the credentials are not generated yet");
    return {200, "application/json", (*secrets)->value, {{"Cache-Control", "no-store"}}};
  }
  if (action == "switchover" && request.method == "POST") {
    std::string candidate;
    if (auto refused = parse_switchover_body(request.body, candidate)) return problem_reply(*refused);
    auto topology = read_topology(store_.client(), etcd_prefix_, ns, name);
    const std::string from = topology.ok() && topology->leader ? *topology->leader : "";
    const std::string requested_by =
        caller.empty() ? "an unnamed caller (REST API)" : fmt::format("user {} (REST API)", caller);
    auto to = switchover(store_.client(), etcd_prefix_, ns, name, candidate, requested_by);
    if (!to.ok()) return problem_from(to.error());
    spdlog::info("SGCluster {}/{}: switched over from {} to {}", ns, name, from, to.value());
    return json_reply(200, {{"from", from}, {"to", to.value()}});
  }
  if (action == "restart" && request.method == "POST") return rolling_restart(request, ns, name);
  if (action == "recoverywindow" && request.method == "GET") return recovery_window_of(ns, name);
  if (action == "history" && request.method == "GET") {
    auto status = store_.get_status("SGCluster", ns, name);
    if (!status.ok()) return problem_from(status.error());
    std::vector<std::string> unreachable;
    const Json outages = read_proxy_outages(status->value_or(Json::object()), name, unreachable);
    auto cluster = store_.get("SGCluster", ns, name);
    if (!cluster.ok()) return problem_from(cluster.error());
    const std::string restored_from = model::string_or(
        cluster->body.value("/spec/initialData/restore/fromBackup"_json_pointer, Json::object()), "name");
    auto history = read_cluster_history(store_.client(), etcd_prefix_, ns, name, outages, restored_from);
    if (!history.ok()) return problem_from(history.error());
    Json reply = std::move(history.value());
    if (!unreachable.empty()) reply["proxyErrors"] = unreachable;
    return json_reply(200, reply);
  }
  return problem(404, "NotFound", fmt::format("no such action: {} {}", request.method, action));
}

// What a restore from the cluster's backups can reach (restore_source.h): its SGBackups and its status.
// `has_status` says whether the cluster has a status to judge by (without one, only the backups count).
Result<Json> ApiHandler::read_recovery_window(const std::string& ns, const std::string& name, bool& has_status) {
  auto backups = store_.list_with_status("SGBackup", ns);
  if (!backups.ok()) return backups.error();
  std::vector<model::Document> own;
  for (auto& backup : backups.value()) {
    if (backup.body.value("/spec/sgCluster"_json_pointer, std::string()) == name) own.push_back(std::move(backup));
  }
  auto status = store_.get_status("SGCluster", ns, name);
  if (!status.ok()) return status.error();
  has_status = status->has_value();
  // The agent's last check of the repository's WAL; without one (none yet, or unreadable) only the
  // archiver's own figures count.
  Json continuity;
  if (auto stored = store_.client().get(store::keys::archive_continuity(etcd_prefix_, ns, name));
      stored.ok() && stored->has_value())
    continuity = Json::parse((*stored)->value, nullptr, false);
  if (continuity.is_discarded()) continuity = nullptr;
  Json window = recovery_window(own, status->value_or(Json::object()),
                                std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()), continuity);
  window["cluster"] = name;
  window["namespace"] = ns;
  return window;
}

HttpReply ApiHandler::recovery_window_of(const std::string& ns, const std::string& name) {
  bool has_status = false;
  auto window = read_recovery_window(ns, name, has_status);
  if (!window.ok()) return problem_from(window.error());
  return json_reply(200, window.value());
}

// The rolling restart is an SGDbOps (op restart) like any other: the leading controller's operations
// runner carries it out and keeps its progress durable. This endpoint only names and creates it.
HttpReply ApiHandler::rolling_restart(const HttpRequest& request, const std::string& ns, const std::string& name) {
  model::Json restart = model::Json::object();
  if (!trim(request.body).empty()) {
    auto body = decode_json_object(request.body);
    if (!body.ok()) return problem_from(body.error());
    for (const auto& [field, value] : body->items()) {
      if (field == "method" && value.is_string()) {
        restart["method"] = value;
      } else if (field == "onlyPendingRestart" && value.is_boolean()) {
        restart["onlyPendingRestart"] = value;
      } else {
        return problem(400, "BadRequest",
                       fmt::format("the restart request: {}: expected method (InPlace or ReducedImpact) or "
                                   "onlyPendingRestart (true or false)",
                                   field));
      }
    }
  }
  const auto now = std::chrono::system_clock::now();
  const std::string operation = fmt::format("{}-restart-{}", name, model::backup_name_at("", now).substr(1));
  const model::Json body = {{"apiVersion", "stackgres.io/v1"},
                            {"kind", "SGDbOps"},
                            {"metadata", {{"name", operation}, {"namespace", ns}}},
                            {"spec", {{"sgCluster", name}, {"op", "restart"}, {"restart", restart}}}};
  auto created = store_.create(model::Document{"api", 0, body});
  if (!created.ok()) return problem_from(created.error());
  spdlog::info("SGCluster {}/{}: rolling restart asked for as SGDbOps {}", ns, name, operation);
  return json_reply(202,
                    {{"message", "rolling restart queued: replicas first, then a switchover, then the old primary"},
                     {"sgdbops", operation}});
}

}  // namespace pgstack::controller
