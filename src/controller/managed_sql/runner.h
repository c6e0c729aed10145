// Managed SQL (SGCluster spec.managedSql -> SGScripts) that really runs: one worker thread per cluster
// on the leading controller, so that a long or stuck script never holds up the reconcile of any
// cluster (each statement is bounded by a statement timeout as well). The progress is kept in etcd
// (<prefix>/managed-sql/<ns>/<cluster>) and written with compare-and-swap before and after each
// entry, so a restarted or new leader never runs an applied entry again, and two controllers never
// run the same entry together. The reconciler publishes it as the cluster's status.managedSql.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "controller/leader_election.h"
#include "model/document.h"
#include "store/resource_store.h"

namespace pgstack::controller::managed_sql {

struct RunnerSettings {
  std::string etcd_prefix = "/pgstack";
  std::chrono::milliseconds statement_timeout{std::chrono::minutes(10)};
};

// <prefix>/managed-sql/<ns>/<cluster>
std::string progress_key(const std::string& etcd_prefix, const std::string& ns, const std::string& cluster);

class ManagedSqlRunner {
 public:
  ManagedSqlRunner(const store::ResourceStore& store, const LeaderElection& leadership, RunnerSettings settings);
  ~ManagedSqlRunner();
  ManagedSqlRunner(const ManagedSqlRunner&) = delete;
  ManagedSqlRunner& operator=(const ManagedSqlRunner&) = delete;

  // Once per SGCluster per reconcile pass, on the leading controller: starts or wakes the cluster's
  // worker and sets status["managedSql"] from the stored progress (removes it when there is none).
  void reconcile(const model::Document& cluster, model::Json& status);
  // Cancels what runs (recorded as failed with SQLSTATE 57014) and joins the workers.
  void stop();

 private:
  struct Worker;
  enum class PassResult { kIdle, kAgain, kClusterGone };
  void work(Worker& worker, const std::string& ns, const std::string& cluster);
  PassResult run_pass(Worker& worker, const std::string& ns, const std::string& cluster);

  store::ResourceStore store_;
  const LeaderElection& leadership_;
  RunnerSettings settings_;
  std::mutex mutex_;
  bool stopped_ = false;
  std::map<std::string, std::unique_ptr<Worker>> workers_;  // by "<ns>/<cluster>"
};

}  // namespace pgstack::controller::managed_sql
