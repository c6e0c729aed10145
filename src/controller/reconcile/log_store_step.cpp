#include "controller/reconcile/log_store_step.h"

#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "common/time.h"
#include "logs/log_store_maintenance.h"
#include "logs/log_store_target.h"
#include "model/cluster_status.h"

namespace pgstack::controller {
namespace {

using model::Json;

const Json& at_or_null(const Json& object, const char* pointer) {
  static const Json null_value;
  const Json::json_pointer path(pointer);
  return object.is_object() && object.contains(path) ? object.at(path) : null_value;
}

// Keeps lastTransitionTime while the condition's status stays the same.
Json ready_condition(const Json& previous_status, bool ready, const std::string& reason, const std::string& message,
                     const std::string& now) {
  const std::string status = ready ? "True" : "False";
  std::string since = now;
  for (const auto& old : at_or_null(previous_status, "/conditions")) {
    if (old.is_object() && old.value("type", "") == "Ready" && old.value("status", "") == status)
      since = old.value("lastTransitionTime", now);
  }
  return model::condition_to_json({"Ready", status, reason, message, since});
}

bool cluster_is_ready(const Json& cluster_status) {
  for (const auto& condition : at_or_null(cluster_status, "/conditions")) {
    if (condition.is_object() && condition.value("type", "") == "Ready") return condition.value("status", "") == "True";
  }
  return false;
}

}  // namespace

std::string distributed_logs_of(const Json& cluster_body) {
  const Json& annotations = at_or_null(cluster_body, "/metadata/annotations");
  const std::string key(logs::kDistributedLogsAnnotation);
  if (!annotations.is_object() || !annotations.contains(key) || !annotations[key].is_string()) return "";
  return annotations[key].get<std::string>();
}

Json log_store_cluster_manifest(const model::Document& distributed_logs) {
  const Json& spec = distributed_logs.body.value("spec", Json::object());
  Json cluster_spec = {
      {"instances", 1},
      {"postgres", {{"version", "15"}}},
      {"pods", {{"persistentVolume", {{"size", at_or_null(spec, "/persistentVolume/size")}}}}},
  };
  if (const Json& storage_class = at_or_null(spec, "/persistentVolume/storageClass"); storage_class.is_string())
    cluster_spec["pods"]["persistentVolume"]["storageClass"] = storage_class;
  if (const Json& profile = at_or_null(spec, "/sgInstanceProfile"); profile.is_string())
    cluster_spec["sgInstanceProfile"] = profile;
  if (const Json& config = at_or_null(spec, "/configurations/sgPostgresConfig"); config.is_string())
    cluster_spec["configurations"] = {{"sgPostgresConfig", config}};
  return {
      {"apiVersion", "stackgres.io/v1"},
      {"kind", "SGCluster"},
      {"metadata",
       {{"name", distributed_logs.name()},
        {"namespace", distributed_logs.namespace_name()},
        {"annotations", {{std::string(logs::kDistributedLogsAnnotation), distributed_logs.name()}}}}},
      {"spec", cluster_spec},
  };
}

LogStoreClusterAction decide_log_store_cluster(const Json& desired, const Json* existing) {
  if (existing == nullptr) return LogStoreClusterAction::kCreate;
  if (distributed_logs_of(*existing) != at_or_null(desired, "/metadata/name").get<std::string>())
    return LogStoreClusterAction::kNameTaken;
  if (existing->value("spec", Json()) != desired.value("spec", Json())) return LogStoreClusterAction::kUpdate;
  return LogStoreClusterAction::kKeep;
}

Json log_store_status(const LogStoreObservation& observed) {
  const std::string cluster = fmt::format("SGCluster {}/{}", observed.namespace_name, observed.store_name);
  Json status = Json::object();
  status["sgCluster"] = observed.store_name;
  Json connected = Json::array();
  for (const auto& user : observed.users) {
    Json entry = {{"namespace", user.namespace_name}, {"name", user.cluster}};
    if (user.retention) entry["retention"] = logs::format_log_retention(*user.retention);
    connected.push_back(std::move(entry));
  }
  status["connectedClusters"] = std::move(connected);

  bool ready = false;
  std::string reason;
  std::string message;
  if (!observed.cluster_reason.empty()) {
    reason = observed.cluster_reason;
    message = observed.cluster_message;
  } else if (!cluster_is_ready(observed.cluster_status)) {
    reason = "StoreClusterNotReady";
    message = cluster + " that runs the store is not ready yet";
  } else if (!observed.maintenance) {
    reason = "MaintenancePending";
    message = fmt::format("{} is ready; its database {} is being prepared", cluster, logs::kLogStoreDatabase);
  } else if (!observed.maintenance->error.empty()) {
    reason = "MaintenanceFailed";
    message = observed.maintenance->error;
  } else {
    ready = true;
    reason = "StoreReady";
    message = fmt::format("{} runs the store; database {}, its roles and partitions are in place", cluster,
                          logs::kLogStoreDatabase);
  }
  status["conditions"] = Json::array({ready_condition(observed.previous_status, ready, reason, message, observed.now)});
  if (observed.maintenance) {
    const LogStoreMaintenanceReport& report = *observed.maintenance;
    Json maintenance = {{"lastRun", report.last_run}};
    if (!report.last_success.empty()) maintenance["lastSuccess"] = report.last_success;
    if (!report.error.empty()) maintenance["error"] = report.error;
    status["maintenance"] = std::move(maintenance);
    if (!report.retention.empty()) status["retention"] = report.retention;
    if (!report.partitions.empty()) status["partitions"] = report.partitions;
  }
  return status;
}

void reconcile_log_stores(const StepEnvironment& environment, const std::vector<model::Document>& clusters,
                          LogStoreMaintenance& maintenance) {
  const store::ResourceStore& store = environment.store;
  auto stores = store.list("SGDistributedLogs");
  if (!stores.ok()) {
    spdlog::warn("log stores: cannot list SGDistributedLogs: {}", stores.error().message);
    return;
  }
  std::map<std::string, const model::Document*> clusters_by_key;
  for (const auto& cluster : clusters) clusters_by_key[cluster.namespace_name() + "/" + cluster.name()] = &cluster;
  model::ValidationContext context;
  context.installed_postgres = environment.settings.installed_postgres;

  std::vector<logs::LogStoreRef> tracked;
  std::set<std::string> store_keys;
  for (const auto& distributed_logs : stores.value()) {
    const logs::LogStoreRef ref{distributed_logs.namespace_name(), distributed_logs.name()};
    const std::string key = ref.namespace_name + "/" + ref.name;
    store_keys.insert(key);
    LogStoreObservation observed{ref.name, ref.namespace_name};
    const auto found = clusters_by_key.find(key);
    const Json* existing = found == clusters_by_key.end() ? nullptr : &found->second->body;

    const model::Document manifest{"log store", 0, log_store_cluster_manifest(distributed_logs)};
    const model::ValidationResult validated = model::validate_documents({manifest}, context);
    if (!validated.valid()) {
      std::vector<std::string> problems;
      for (const auto& item : validated.diagnostics.items()) {
        if (item.severity == model::Severity::kError) problems.push_back(item.path + ": " + item.message);
      }
      observed.cluster_reason = "InvalidStoreCluster";
      observed.cluster_message =
          fmt::format("the SGCluster for this store would be invalid: {}", fmt::join(problems, "; "));
    } else {
      const Json& desired = validated.documents.front().body;
      switch (decide_log_store_cluster(desired, existing)) {
        case LogStoreClusterAction::kCreate:
          if (auto created = store.create(validated.documents.front()); !created.ok()) {
            observed.cluster_reason = "StoreClusterNotCreated";
            observed.cluster_message = "cannot create its SGCluster: " + created.error().message;
          } else {
            spdlog::info("log store {}: created SGCluster {}", key, key);
          }
          break;
        case LogStoreClusterAction::kUpdate: {
          model::Document updated = validated.documents.front();
          updated.body["metadata"]["resourceVersion"] = at_or_null(*existing, "/metadata/resourceVersion");
          if (auto replaced = store.replace(updated); !replaced.ok()) {
            if (replaced.error().code != ErrorCode::kConflict)
              spdlog::warn("log store {}: cannot update its SGCluster: {}", key, replaced.error().message);
          } else {
            spdlog::info("log store {}: updated SGCluster {} from the SGDistributedLogs' spec", key, key);
          }
          break;
        }
        case LogStoreClusterAction::kNameTaken:
          observed.cluster_reason = "NameTaken";
          observed.cluster_message = fmt::format(
              "SGCluster {} exists and does not run this store (it lacks the annotation {}: {}); pgstack leaves it "
              "alone: delete or rename that cluster, or give the SGDistributedLogs another name",
              key, logs::kDistributedLogsAnnotation, ref.name);
          break;
        case LogStoreClusterAction::kKeep: break;
      }
    }
    if (observed.cluster_reason != "NameTaken") {
      tracked.push_back(ref);
      if (auto status = store.get_status("SGCluster", ref.namespace_name, ref.name); status.ok() && status->has_value())
        observed.cluster_status = **status;
    }
    observed.users = logs::clusters_using_store(clusters, ref);
    observed.maintenance = maintenance.report(ref);
    auto previous = store.get_status("SGDistributedLogs", ref.namespace_name, ref.name);
    if (!previous.ok()) continue;  // etcd did not answer: the next pass publishes
    if (previous->has_value()) observed.previous_status = **previous;
    observed.now = utc_timestamp_now();
    const Json status = log_store_status(observed);
    if (status != observed.previous_status) {
      if (auto written = store.put_status("SGDistributedLogs", ref.namespace_name, ref.name, status); !written.ok())
        spdlog::warn("log store {}: cannot publish its status: {}", key, written.error().message);
    }
  }
  maintenance.track(tracked);

  // A store's SGCluster outlives its SGDistributedLogs only by a race with its deletion: remove it.
  for (const auto& cluster : clusters) {
    const std::string runs = distributed_logs_of(cluster.body);
    if (runs.empty() || runs != cluster.name()) continue;
    const std::string key = cluster.namespace_name() + "/" + cluster.name();
    if (store_keys.count(key) != 0) continue;
    if (auto removed = store.remove("SGCluster", cluster.namespace_name(), cluster.name()); removed.ok())
      spdlog::info("log store {}: its SGDistributedLogs is gone; deleted its SGCluster", key);
  }
}

}  // namespace pgstack::controller
