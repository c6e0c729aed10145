// The controller's loop: for every SGCluster, make sure its credentials exist, place its members on
// hosts (assignments the agents act on), push Patroni's dynamic configuration, and publish the
// observed status. Runs only on the leading controller.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "controller/leader_election.h"
#include "controller/scheduler.h"
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
  void reconcile_cluster(const model::Document& cluster, const std::vector<Placement>& placements,
                         const std::map<std::string, std::string>& hosts,
                         std::map<std::string, ProxyPorts>& proxy_ports);

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

}  // namespace pgstack::controller
