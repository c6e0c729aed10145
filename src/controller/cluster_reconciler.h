// The controller's loop: every second, first the log stores (each SGDistributedLogs as an SGCluster,
// reconcile/log_store_step.h), then for every SGCluster the named steps of reconcile/ in order:
// credentials, inputs, restore admission, placement (assignments the agents act on), Patroni's
// dynamic configuration, scheduled SGBackups, managed SQL (SGScripts), the observed status; then the
// day-2 operations (SGDbOps) of every cluster. Runs only on the leading controller.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "controller/leader_election.h"
#include "controller/log_store_maintenance.h"
#include "controller/managed_sql/runner.h"
#include "controller/operations/operations_runner.h"
#include "controller/reconcile/placement_step.h"
#include "controller/reconcile/step.h"
#include "model/document.h"
#include "store/resource_store.h"

namespace pgstack::controller {

class ClusterReconciler {
 public:
  ClusterReconciler(store::ResourceStore store, const LeaderElection& leadership, ReconcilerSettings settings);
  ~ClusterReconciler();
  ClusterReconciler(const ClusterReconciler&) = delete;
  ClusterReconciler& operator=(const ClusterReconciler&) = delete;

  void start();
  void stop();
  // Runs one pass now (also what the loop does); errors are logged and retried on the next pass.
  void reconcile_all();

 private:
  void run();
  // What a pass reads once for every cluster; nothing when etcd did not answer.
  std::optional<PassSnapshot> read_pass() const;
  // The named steps of reconcile/, in order; a step that stops skips those that write desired state.
  void reconcile_cluster(const model::Document& document, PassSnapshot& pass);
  // Prometheus's file_sd files from the pass's hosts and assignments (settings_.prometheus_targets_dir).
  void publish_scrape_targets(const PassSnapshot& pass) const;
  // Assignments and backup schedules of clusters that no longer exist.
  void forget_deleted_clusters(const PassSnapshot& pass, const std::set<std::string>& live_clusters);
  // Alertmanager's alerts for this pass: read again when the last read is older than kAlertsRefresh,
  // so that a slow Alertmanager does not slow every pass. Nothing without --alertmanager.
  std::optional<AlertsObservation> current_alerts();
  // The status figures of every cluster from Prometheus (status.metrics), read again when older than
  // a few seconds, with a short timeout; a failure is a reason in the figures, never a failed pass.
  void current_figures(PassSnapshot& pass);

  store::ResourceStore store_;
  const LeaderElection& leadership_;
  ReconcilerSettings settings_;
  operations::OperationsRunner operations_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
  managed_sql::ManagedSqlRunner managed_sql_{store_, leadership_, {settings_.etcd_prefix}};
  LogStoreMaintenance log_stores_{store_, leadership_, {settings_.etcd_prefix}};
  // Hosts with members but no registration, since when this controller has seen them so.
  void track_lost_hosts(PassSnapshot& pass);

  DrainSwitchovers drain_switchovers_;    // the pass thread's own
  LostHosts lost_since_;                  // the pass thread's own
  std::set<std::string> replacing_lost_;  // lost past the grace: logged once
  std::optional<AlertsObservation> alerts_;
  std::chrono::steady_clock::time_point alerts_read_at_;
  std::map<std::string, model::Json> figures_;
  std::string figures_problem_;
  std::chrono::steady_clock::time_point figures_read_at_;
};

}  // namespace pgstack::controller
