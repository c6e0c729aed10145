// What every reconcile step shares: its outcome, what the pass read once for all clusters, and what
// the steps of one cluster learn and hand on. A step is a pure decision (a struct in, a decision out,
// unit-tested) and a thin shell that reads and writes etcd; the shell returns a StepOutcome.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "controller/cluster_status.h"
#include "controller/patroni_client.h"
#include "controller/scheduler.h"
#include "model/assignment.h"
#include "model/resources.h"
#include "model/validator.h"
#include "store/resource_store.h"

namespace pgstack::controller {

class ControllerMetrics;

struct ReconcilerSettings {
  std::string etcd_prefix = "/pgstack";
  PortBases port_bases;
  std::chrono::milliseconds interval{1000};
  std::vector<model::InstalledPostgres> installed_postgres;
  ControllerMetrics* metrics = nullptr;  // reconcile durations and errors; none: not measured
  // Prometheus file_sd files written here after each pass (empty: none), with these controller
  // /metrics addresses as the controller's own targets.
  std::filesystem::path prometheus_targets_dir;
  std::vector<std::string> controller_metrics_addresses;
  std::string alertmanager_url;  // where the status reads firing alerts; "": monitoring is not configured
  std::string prometheus_url;    // where the status reads TPS, connections and lag; "": not configured
  // A host lost this long (members placed, no registration) counts as drained; 0: never.
  std::chrono::seconds replace_lost_members_after{600};
};

// Go on, or stop this cluster's reconcile: its desired state is not written, and the reason becomes
// the cluster's Scheduling condition (status is still published).
struct StepOutcome {
  bool stop = false;
  std::string reason;   // CamelCase, the condition's reason
  std::string message;  // for people: what is wrong and what would fix it

  static StepOutcome proceed() { return {}; }
  static StepOutcome stopped(std::string reason, std::string message) {
    return {true, std::move(reason), std::move(message)};
  }
};

// The store and the settings, for the steps' shells.
struct StepEnvironment {
  const store::ResourceStore& store;
  const ReconcilerSettings& settings;
};

// One SGBackup with the cluster it belongs to and its status.
struct ObservedBackup {
  std::string cluster;
  BackupObservation observation;
};

// What a pass read once for every cluster.
struct PassSnapshot {
  std::map<std::string, std::string> hosts;           // registered host -> address
  std::vector<model::Json> host_registrations;        // the same, as stored
  std::set<std::string> draining_hosts;               // pgstack host drain, and hosts lost past the grace period
  std::vector<Placement> placements;                  // every cluster's members, from the assignments
  std::map<std::string, model::Json> assignments;     // etcd key -> the assignment as stored
  std::vector<model::Assignment> parsed_assignments;  // the same, read
  std::map<std::string, ProxyPorts> proxy_ports;      // by "<ns>/<cluster>"; a cluster's new ports join it
  std::map<std::string, ObservedBackup> backups;      // by "<ns>/<name>"
  // Members that running operations add to a cluster's instances (a ReducedImpact restart), by "<ns>/<cluster>".
  std::map<std::string, int> additional_instances;
  // Alertmanager's alerts (read at most every few seconds); nothing without an Alertmanager.
  std::optional<AlertsObservation> alerts;
  // status.metrics by "<ns>/<cluster>" (read at most every few seconds); `figures_problem` for the
  // clusters without any: why (monitoring is not configured, Prometheus unreachable, no series yet).
  std::map<std::string, model::Json> figures;
  std::string figures_problem;
};

// The documents an SGCluster refers to, as stored (null: none), and the Postgres it runs.
struct ResolvedInputs {
  model::InstalledPostgres postgres;
  model::Json profile = nullptr;
  model::Json postgres_config = nullptr;
  model::Json pooling_config = nullptr;
  model::Json object_storage = nullptr;  // the backup storage, when the cluster has backups
};

// Where a restored cluster's members take their data from.
struct RestorePlan {
  std::optional<model::RestoreAssignment> restore;  // what new assignments carry
  bool keep_assigned = false;                       // members run already: each keeps the restore its assignment has
};

// What the steps of one cluster learn, in order, and hand on.
struct ClusterState {
  const model::Document& document;
  model::Cluster cluster;
  std::string key;                          // "<ns>/<cluster>"
  std::optional<ClusterTopology> topology;  // Patroni's keys; nothing when etcd did not answer
  ResolvedInputs inputs;
  RestorePlan restore;
  int additional_instances = 0;            // added for an operation's duration (PassSnapshot)
  std::vector<Placement> members;          // this cluster's placements: as found, then as placed
  std::vector<BackupObservation> backups;  // the cluster's SGBackups, with those created this pass
  model::Json previous_status = nullptr;   // the status the last pass published (null: none)
  std::optional<StepOutcome> stopped;      // the step that stopped the reconcile, if one did
  // Sections other parts of the controller own (managed SQL's progress), added before it is published.
  std::function<void(model::Json& status)> amend_status;

  // The members wanted now: the spec's instances and those an operation added.
  int wanted_instances() const { return cluster.instances + additional_instances; }

  ClusterState(const model::Document& document_in, model::Cluster cluster_in)
      : document(document_in), cluster(std::move(cluster_in)), key(cluster.namespace_name + "/" + cluster.name) {}
};

}  // namespace pgstack::controller
