// An instance's logs on this host: shipping them to the cluster's log store (spec.distributedLogs,
// logs::LogShipper) and removing old Postgres log files (docs/logs.md).
//
// Each log (the csvlog directory, Patroni's patroni.log) is shipped by its own thread, never by the
// agent's reconcile loop, and only by reading files, so neither slows Postgres: ship_once() again at
// once after a batch, after kShipIdle when nothing was new, after a backoff up to kShipMaxBackoff after
// an error. After an error the store's primary is looked up again (a store failover). An agent that
// restarts resumes from the offsets the store committed.
//
// Postgres's files are named once (postgresql-<time>.csv): the agent removes those older than the
// retention that are fully shipped (or, without a store, that are old), and when the directory grows
// past its disk limit the oldest even unshipped, which the report and a metric count.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "logs/log_store_target.h"
#include "model/instance_report.h"

namespace pgstack::agent {

inline constexpr std::chrono::milliseconds kShipIdle{250};
inline constexpr std::chrono::milliseconds kShipFirstBackoff{250};
inline constexpr std::chrono::milliseconds kShipMaxBackoff{5000};
inline constexpr std::chrono::seconds kLogCleanupInterval{60};
// How long a new loop waits for the member's role (Patroni's, from the agent's reports) before it
// ships rows without one: Patroni answers within seconds of a start, and a member that never starts
// still has its logs shipped.
inline constexpr std::chrono::seconds kRoleWait{30};

// A file of the instance's log directory.
struct LogDirectoryFile {
  std::string name;
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point modified;
};

struct LogRemovalPolicy {
  std::chrono::seconds max_age{7 * 24 * 3600};
  std::uint64_t max_directory_bytes = 1ULL << 30;  // of Postgres's files in the log directory
  bool operator==(const LogRemovalPolicy&) const = default;
};

struct LogRemoval {
  std::string name;
  std::uint64_t unshipped_bytes = 0;  // > 0: removed before it was all in the store
  bool over_limit = false;            // removed for the disk limit, not for its age
};

// Which of Postgres's files (postgresql-*.csv and the collector's postgresql-*.log) to remove, oldest
// first: those past max_age, then the oldest while they add up to more than max_directory_bytes. `shipped`: the bytes
// of each csvlog file in the store, when the cluster has one (a file it does not list has none); nothing: no store, age
// alone decides. The newest file of each kind is the collector's current one and stays. Pure.
std::vector<LogRemoval> plan_log_removal(const std::vector<LogDirectoryFile>& files,
                                         const std::optional<std::map<std::string, std::uint64_t>>& shipped,
                                         std::chrono::system_clock::time_point now, const LogRemovalPolicy& policy);

// Whether `name` is one of Postgres's log files in the log directory (csvlog or the collector's stderr).
bool is_postgres_log_file_name(std::string_view name);

struct InstanceLogsSettings {
  std::string namespace_name;
  std::string cluster;
  std::string member;
  std::filesystem::path log_dir;
  std::optional<logs::LogStoreRef> store;  // nothing: no spec.distributedLogs, only the removal runs
  std::vector<std::string> etcd_endpoints;
  std::string etcd_prefix;
  std::string ca_file;  // verifies the store's certificate
  LogRemovalPolicy removal;
  bool operator==(const InstanceLogsSettings&) const = default;
};

class InstanceLogs {
 public:
  explicit InstanceLogs(InstanceLogsSettings settings);
  // Stops the threads; waits for a batch in flight (bounded by the shipper's timeouts).
  ~InstanceLogs();
  InstanceLogs(const InstanceLogs&) = delete;
  InstanceLogs& operator=(const InstanceLogs&) = delete;

  const InstanceLogsSettings& settings() const { return settings_; }
  // The member's role now ("primary", "replica"; "" while unknown), stamped on the rows of each batch.
  void set_role(std::string role);
  // By log type ("postgres", "patroni"): for the instance report and the agent's /metrics. Empty when
  // the cluster has no store and nothing was removed unshipped.
  std::map<std::string, model::ReportedLogShipping> report() const;

 private:
  struct Loop;
  void run(Loop& loop);
  void remove_old_files(Loop& loop);
  std::string role() const;

  const InstanceLogsSettings settings_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::string role_;
  std::vector<std::unique_ptr<Loop>> loops_;
};

}  // namespace pgstack::agent
