#include "controller/reconcile/backups_step.h"

#include <spdlog/spdlog.h>

#include "model/cron.h"
#include "store/keys.h"

namespace pgstack::controller {

using model::Json;

std::vector<BackupObservation> backups_of(const PassSnapshot& pass, const std::string& namespace_name,
                                          const std::string& cluster) {
  std::vector<BackupObservation> backups;
  for (const auto& [key, backup] : pass.backups) {
    if (key.starts_with(namespace_name + "/") && backup.cluster == cluster) backups.push_back(backup.observation);
  }
  return backups;
}

Json scheduled_backup_document(const std::string& namespace_name, const std::string& cluster,
                               const std::string& backup_name) {
  return {{"apiVersion", "stackgres.io/v1"},
          {"kind", "SGBackup"},
          {"metadata", {{"name", backup_name}, {"namespace", namespace_name}}},
          {"spec", {{"sgCluster", cluster}, {"managedLifecycle", true}}}};
}

bool condition_true(const Json& status, const std::string& type) {
  if (!status.is_object() || !status.contains("conditions") || !status["conditions"].is_array()) return false;
  for (const auto& condition : status["conditions"]) {
    if (condition.is_object() && condition.value("type", "") == type) return condition.value("status", "") == "True";
  }
  return false;
}

StepOutcome schedule_backups(const StepEnvironment& environment, const PassSnapshot& pass, ClusterState& state) {
  const model::Cluster& cluster = state.cluster;
  const std::string& ns = cluster.namespace_name;
  state.backups = backups_of(pass, ns, cluster.name);
  // Backups need their storage.
  if (!cluster.backup || !state.inputs.object_storage.is_object()) return StepOutcome::proceed();

  const auto& etcd = environment.store.client();
  const std::string key = store::keys::backup_schedule(environment.settings.etcd_prefix, ns, cluster.name);
  auto stored = etcd.get(key);
  if (!stored.ok()) {
    spdlog::warn("cluster {}: cannot read the backup schedule: {}", state.key, stored.error().message);
    return StepOutcome::proceed();
  }

  BackupScheduleInput input;
  input.cluster = cluster.name;
  input.cluster_uid = state.document.body.value("metadata", Json::object()).value("uid", "");
  // The first backup waits until the cluster was Ready (the last pass's status).
  input.cluster_ready = condition_true(state.previous_status, "Ready");
  input.cluster_has_backups = !state.backups.empty();
  input.now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  if (stored->has_value()) input.state = backup_schedule_state_from_json((*stored)->value);
  if (!cluster.backup->cron_schedule.empty()) {
    auto schedule = model::parse_cron(cluster.backup->cron_schedule);
    if (schedule.ok()) {
      input.schedule = schedule.value();
    } else {
      spdlog::warn("cluster {}: cronSchedule: {}", state.key, schedule.error().message);
    }
  }
  const BackupScheduleDecision decision = decide_backup(input);

  if (decision.trigger != BackupTrigger::kNone) {
    auto created = environment.store.create(
        model::Document{"controller", 0, scheduled_backup_document(ns, cluster.name, decision.backup_name)});
    // Already there: created before a restart that came before the state write; not a second one.
    if (!created.ok() && created.error().code != ErrorCode::kAlreadyExists) {
      spdlog::warn("cluster {}: cannot create SGBackup {}: {}", state.key, decision.backup_name,
                   created.error().message);
      return StepOutcome::proceed();
    }
    if (created.ok()) {
      spdlog::info("cluster {}: created SGBackup {} ({})", state.key, decision.backup_name,
                   backup_trigger_name(decision.trigger));
      const Json& metadata = created->body.value("metadata", Json::object());
      state.backups.push_back({decision.backup_name, metadata.value("creationTimestamp", ""), nullptr});
    }
  }
  if (decision.state_changed) {
    if (auto written = etcd.put(key, backup_schedule_state_to_json(decision.state).dump()); !written.ok())
      spdlog::warn("cluster {}: cannot record the backup schedule (a backup may be created again): {}", state.key,
                   written.error().message);
  }
  return StepOutcome::proceed();
}

}  // namespace pgstack::controller
