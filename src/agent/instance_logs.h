// An instance's logs on this host: shipping them to the cluster's log store (spec.distributedLogs,
// logs::LogShipper) and removing old Postgres log files (docs/logs.md).
//
// Each log (the csvlog directory, Patroni's patroni.log, PgBouncer's pgbouncer.log, pgBackRest's command
// logs) is shipped by its own thread, never by the
// agent's reconcile loop, and only by reading files, so neither slows Postgres: ship_once() again at
// once after a batch, after kShipIdle when nothing was new, after a backoff up to kShipMaxBackoff after
// an error. After an error the store's primary is looked up again (a store failover). An agent that
// restarts resumes from the offsets the store committed.
//
// Postgres's files are named once (postgresql-<time>.csv): the agent removes those older than the
// retention that are fully shipped (or, without a store, that are old), and when the directory grows
// past its disk limit the oldest even unshipped, which the report and a metric count.
//
// PgBouncer writes one pgbouncer.log for ever: the agent rotates it by renaming (pgbouncer.log.1, .2, ...,
// the numbering the shipper follows) and SIGHUP, on which PgBouncer reopens its logfile. The rotated
// files beyond the newest few go once shipped, and count towards the disk limit.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "logs/log_store_target.h"
#include "logs/ship_plan.h"
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
  std::uint64_t max_directory_bytes = 1ULL << 30;      // of Postgres's files and PgBouncer's rotated ones
  std::uint64_t pgbouncer_rotate_bytes = 16ULL << 20;  // pgbouncer.log becomes pgbouncer.log.1 at this size
  std::size_t pgbouncer_keep_files = 4;                // rotated PgBouncer files kept after they are shipped
  bool operator==(const LogRemovalPolicy&) const = default;
};

struct LogRemoval {
  std::string name;
  std::uint64_t unshipped_bytes = 0;  // > 0: removed before it was all in the store
  bool over_limit = false;            // removed for the disk limit, not for its age
};

// Which of Postgres's files (postgresql-*.csv and the collector's postgresql-*.log) and PgBouncer's rotated files
// (pgbouncer.log.N) to remove, oldest first: those past max_age, the rotated PgBouncer files beyond the newest
// pgbouncer_keep_files, then the oldest while they add up to more than max_directory_bytes. Only the last step
// removes a file the store lacks bytes of. `shipped`: the bytes of each csvlog and rotated PgBouncer file in the
// store, when the cluster has one (a file it does not list has none); nothing: no store, age and count alone
// decide. The newest Postgres file of each kind is the collector's current one and stays, and so does
// pgbouncer.log. Pure.
std::vector<LogRemoval> plan_log_removal(const std::vector<LogDirectoryFile>& files,
                                         const std::optional<std::map<std::string, std::uint64_t>>& shipped,
                                         std::chrono::system_clock::time_point now, const LogRemovalPolicy& policy);

struct LogRename {
  std::string from;
  std::string to;
  bool operator==(const LogRename&) const = default;
};

// When pgbouncer.log has reached `rotate_bytes`: the renames that rotate it, in order: each pgbouncer.log.N to
// N+1, the highest first, then pgbouncer.log to pgbouncer.log.1 (the highest number is the oldest, as the shipper
// reads them). Empty while it is smaller. Pure.
std::vector<LogRename> plan_pgbouncer_rotation(const std::vector<LogDirectoryFile>& files, std::uint64_t rotate_bytes);

// Whether `name` is one of Postgres's log files in the log directory (csvlog or the collector's stderr).
bool is_postgres_log_file_name(std::string_view name);

struct InstanceLogsSettings {
  std::string namespace_name;
  std::string cluster;
  std::string member;
  std::filesystem::path log_dir;             // Postgres's csvlog, Patroni's and PgBouncer's logs
  std::filesystem::path pgbackrest_log_dir;  // pgBackRest's command logs; empty: none shipped
  std::optional<logs::LogStoreRef> store;    // nothing: no spec.distributedLogs, only removal and rotation run
  // The agent's pid file of the instance's PgBouncer ("<pid>\n<starttime>\n") and its program: pgbouncer.log
  // is rotated only while that names a running PgBouncer. Empty: no PgBouncer (pooling off).
  std::filesystem::path pgbouncer_pid_file;
  std::string pgbouncer_program;
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
  // By log type ("postgres", "patroni", "pgbouncer", "pgbackrest"): for the instance report and the agent's /metrics.
  // Empty when the cluster has no store and nothing was removed unshipped.
  std::map<std::string, model::ReportedLogShipping> report() const;

 private:
  struct Loop;
  void run(Loop& loop);
  void remove_old_files(Loop& loop);
  void rotate_pgbouncer_log();
  Loop* loop_of(logs::LogType type) const;
  std::string role() const;

  const InstanceLogsSettings settings_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::string role_;
  // When pgbouncer.log was last rotated: a PgBouncer loop's shipped bytes by file name from before then name
  // other files.
  std::optional<std::chrono::steady_clock::time_point> pgbouncer_rotated_;
  std::vector<std::unique_ptr<Loop>> loops_;
};

}  // namespace pgstack::agent
