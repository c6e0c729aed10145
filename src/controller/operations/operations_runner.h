// Runs SGDbOps on the leading controller: every reconcile pass reads the operations, decides per
// cluster which one runs (operation_plan.h) and starts a worker thread for it. The worker keeps the
// operation's progress in its status in etcd after every step, so a controller restart or a new
// leader resumes it where it was; it stops at once when this controller loses the leadership.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "controller/leader_election.h"
#include "controller/primary_target.h"
#include "model/dbops.h"
#include "model/validator.h"
#include "postgres/postgres_session.h"
#include "store/resource_store.h"

namespace pgstack::controller::operations {

struct OperationsSettings {
  std::string etcd_prefix = "/pgstack";
  std::vector<model::InstalledPostgres> installed_postgres;
  std::chrono::milliseconds poll_interval{1000};  // how often a worker looks at the cluster while it waits
};

class OperationsRunner {
 public:
  OperationsRunner(store::ResourceStore store, const LeaderElection& leadership, OperationsSettings settings);
  ~OperationsRunner();
  OperationsRunner(const OperationsRunner&) = delete;
  OperationsRunner& operator=(const OperationsRunner&) = delete;

  // One pass: queue decisions, waiting operations' status, a worker for each runnable one.
  void reconcile();
  // Stops the workers (their operations stay Running in etcd, for whoever leads next) and joins them.
  void stop();

 private:
  struct Worker {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  class Execution;

  void run_worker(model::DbOps spec);
  // Sessions running a statement now, cancelled by stop() so that a long VACUUM does not hold it up.
  void track(postgres::PostgresSession* session);
  void untrack(postgres::PostgresSession* session);
  bool should_stop() const { return stopping_.load() || !leadership_.is_leader(); }

  store::ResourceStore store_;
  const LeaderElection& leadership_;
  OperationsSettings settings_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Worker>> workers_;  // by "<ns>/<cluster>"
  std::mutex sessions_mutex_;
  std::set<postgres::PostgresSession*> sessions_;
};

}  // namespace pgstack::controller::operations
