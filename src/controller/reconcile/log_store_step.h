// Log stores: every SGDistributedLogs <name> in namespace N runs as an SGCluster <name> in N that
// pgstack makes and keeps (annotated logs::kDistributedLogsAnnotation: 1 instance, Postgres 15, the
// profile, Postgres configuration and volume size of the SGDistributedLogs, no backups, no log store
// of its own). An SGCluster of that name without the annotation is someone else's: left alone, and the
// SGDistributedLogs says so. Its database is kept by LogStoreMaintenance (off this thread); this step
// tells it which stores exist and publishes each SGDistributedLogs' status.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "controller/log_store_maintenance.h"
#include "controller/reconcile/step.h"
#include "logs/log_store_maintenance.h"

namespace pgstack::controller {

// The SGDistributedLogs an SGCluster runs (its annotation), "" for any other cluster.
std::string distributed_logs_of(const model::Json& cluster_body);
inline bool runs_distributed_logs(const model::Document& cluster) { return !distributed_logs_of(cluster.body).empty(); }

// The SGCluster that runs `distributed_logs`, as a user would write it (validation fills in defaults).
model::Json log_store_cluster_manifest(const model::Document& distributed_logs);

enum class LogStoreClusterAction { kCreate, kUpdate, kKeep, kNameTaken };
// `desired`: the manifest, validated; `existing`: the SGCluster of that name as stored (nullptr: none).
LogStoreClusterAction decide_log_store_cluster(const model::Json& desired, const model::Json* existing);

struct LogStoreObservation {
  std::string store_name;
  std::string namespace_name;
  // Why the store's SGCluster is not as it should be (reason "": it is).
  std::string cluster_reason;
  std::string cluster_message;
  model::Json cluster_status = nullptr;                  // the store SGCluster's status (null: none yet)
  std::vector<logs::ClusterLogRetention> users;          // clusters that ship to it
  std::optional<LogStoreMaintenanceReport> maintenance;  // nothing: no pass yet on this controller
  model::Json previous_status = nullptr;
  std::string now;  // RFC 3339
};
// status: conditions (Ready with a reason), sgCluster, connectedClusters, partitions, retention,
// maintenance {lastRun, lastSuccess, error}.
model::Json log_store_status(const LogStoreObservation& observed);

// Every SGDistributedLogs: its SGCluster made or brought up to date, its status published; the stores
// handed to `maintenance`; an annotated SGCluster whose SGDistributedLogs is gone is deleted.
void reconcile_log_stores(const StepEnvironment& environment, const std::vector<model::Document>& clusters,
                          LogStoreMaintenance& maintenance);

}  // namespace pgstack::controller
