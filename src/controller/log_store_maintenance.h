// Keeps every log store's database (SGDistributedLogs, run as an SGCluster): creates pgstack_logs,
// its tables (logs::render_log_store_schema), the logWriter and logReader roles with their grants, the
// daily partitions ahead, and applies retention (whole partitions for the longest retention, batched
// deletes for clusters that keep less). SQL can block, so it runs on a worker thread of its own, never
// on the reconcile thread: a store is maintained as soon as it is tracked (and again a few seconds
// after a failure, so a store that becomes reachable is served at once), then every minute. Runs only
// while this controller leads; what the last pass of each store found is read by the reconciler into
// the SGDistributedLogs status.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "controller/leader_election.h"
#include "logs/log_store_target.h"
#include "postgres/postgres_session.h"
#include "store/resource_store.h"

namespace pgstack::controller {

// What the last maintenance pass of a store found.
struct LogStoreMaintenanceReport {
  std::string last_run;      // RFC 3339, when the last pass ended
  std::string last_success;  // when a pass last succeeded ("": never on this controller)
  std::string error;         // why the last pass failed ("": it succeeded)
  std::map<std::string, std::vector<std::string>> partitions;  // table -> its day partitions, as last seen
  std::string retention;  // whole partitions older than this are dropped ("7 days")
  bool operator==(const LogStoreMaintenanceReport&) const = default;
};

struct LogStoreMaintenanceSettings {
  std::string etcd_prefix = "/pgstack";
  std::chrono::seconds interval{60};  // between two passes of a store that succeeded
  std::chrono::seconds retry{5};      // after a failed pass (the store not reachable yet)
  std::chrono::seconds statement_timeout{60};
  int delete_batch = 5000;       // rows per DELETE when a cluster keeps less than the store
  int max_delete_batches = 100;  // per cluster and table in one pass; the next pass goes on
};

class LogStoreMaintenance {
 public:
  LogStoreMaintenance(const store::ResourceStore& store, const LeaderElection& leadership,
                      LogStoreMaintenanceSettings settings);
  ~LogStoreMaintenance();
  LogStoreMaintenance(const LogStoreMaintenance&) = delete;
  LogStoreMaintenance& operator=(const LogStoreMaintenance&) = delete;

  // The stores that exist now (every reconcile pass): new ones are maintained at once, gone ones forgotten.
  void track(const std::vector<logs::LogStoreRef>& stores);
  std::optional<LogStoreMaintenanceReport> report(const logs::LogStoreRef& store) const;
  // Cancels the statement that runs, if one does, and joins the worker.
  void stop();

 private:
  struct Tracked {
    LogStoreMaintenanceReport report;
    bool ran = false;
    bool failed = false;
    std::chrono::steady_clock::time_point last_attempt;
  };
  void run();
  // One pass over one store: what it found, or why it failed.
  Result<LogStoreMaintenanceReport> maintain(const logs::LogStoreRef& store);
  // The session a pass uses, so that stop() can cancel what runs (nullptr: none).
  class RunningSession;
  void set_running(postgres::PostgresSession* session);

  store::ResourceStore store_;
  const LeaderElection& leadership_;
  LogStoreMaintenanceSettings settings_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  postgres::PostgresSession* running_ = nullptr;
  std::map<std::string, std::pair<logs::LogStoreRef, Tracked>> stores_;  // by "<ns>/<name>"
  std::thread thread_;
};

// The rows of <ns>/<cluster> in its log store (the lines of every log table and log_ingest_state), deleted
// in one transaction as the store's superuser, which also marks the cluster's uid so that its shippers add
// nothing later. An error (kUnavailable when the store has no reachable primary) means nothing was deleted;
// true otherwise.
Result<bool> delete_cluster_logs(const store::EtcdClient& etcd, const std::string& etcd_prefix,
                                 const logs::LogStoreRef& store, const std::string& ns, const std::string& cluster,
                                 const std::string& uid);

}  // namespace pgstack::controller
