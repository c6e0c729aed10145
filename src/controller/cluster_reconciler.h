// The controller's loop: for every SGCluster, make sure its credentials exist, place its members on
// hosts (assignments the agents act on), push Patroni's dynamic configuration, create its scheduled
// SGBackups, and publish the observed status. Runs only on the leading controller.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "controller/cluster_status.h"
#include "controller/leader_election.h"
#include "controller/scheduler.h"
#include "model/resources.h"
#include "model/validator.h"
#include "store/resource_store.h"

namespace pgstack::controller {

struct ReconcilerSettings {
  std::string etcd_prefix = "/pgstack";
  PortBases port_bases;
  std::chrono::milliseconds interval{1000};
  std::vector<model::InstalledPostgres> installed_postgres;
};

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
  // Every SGBackup (by "<ns>/<name>") with the cluster it belongs to and its status.
  struct ObservedBackup {
    std::string cluster;
    BackupObservation observation;
  };
  using ObservedBackups = std::map<std::string, ObservedBackup>;

  void reconcile_cluster(const model::Document& document, const std::vector<Placement>& placements,
                         const std::map<std::string, std::string>& hosts,
                         std::map<std::string, ProxyPorts>& proxy_ports, const ObservedBackups& backups);
  // Creates the cluster's first backup and those its cronSchedule asks for; adds them to `backups`.
  void schedule_backups(const model::Cluster& cluster, const std::string& cluster_uid, bool ready,
                        std::vector<BackupObservation>& backups);

  store::ResourceStore store_;
  const LeaderElection& leadership_;
  ReconcilerSettings settings_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

// <prefix>/assignments/<host>/<ns>/<cluster>/<member>
std::string assignment_key(const std::string& etcd_prefix, const Placement& placement);
// <prefix>/backup-schedule/<ns>/<cluster>: the last minute a scheduled backup was created for.
std::string backup_schedule_key(const std::string& etcd_prefix, const std::string& namespace_name,
                                const std::string& cluster);

}  // namespace pgstack::controller
