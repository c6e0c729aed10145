// An instance's logs on this host: shipping them to the cluster's log store (spec.distributedLogs,
// logs::LogShipper) and removing old Postgres log files (docs/logs.md).
//
// Each log (the csvlog directory, Patroni's patroni.log, PgBouncer's pgbouncer.log, pgBackRest's command
// logs, and for one instance of each cluster on the host the cluster's proxy.log and the agent's agent.log of the
// cluster) is shipped by its own
// thread, never by the
// agent's reconcile loop, and only by reading files, so neither slows Postgres: ship_once() again at
// once after a batch, after kShipIdle when nothing was new, after a backoff up to kShipMaxBackoff after
// an error. After an error the store's primary is looked up again (a store failover). An agent that
// restarts resumes from the offsets the store committed.
//
// Postgres's files are named once (postgresql-<time>.csv): the agent removes those older than the
// retention that are fully shipped (or, without a store, that are old), and when the directory grows
// past its disk limit the oldest even unshipped, which the report and a metric count.
//
// PgBouncer and pgstack-proxy write one pgbouncer.log / proxy.log for ever: the agent rotates each by
// renaming (pgbouncer.log.1, .2, ..., the numbering the shipper follows) and SIGHUP, on which the writer
// reopens its log. The agent's own agent.log of the cluster is rotated the same way, without a signal. The rotated
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
  std::uint64_t max_directory_bytes = 1ULL << 30;  // of Postgres's files and the rotated ones, per directory
  std::uint64_t rotate_bytes = 16ULL << 20;        // pgbouncer.log (proxy.log) becomes pgbouncer.log.1 at this size
  std::size_t rotated_keep_files = 4;              // rotated files of each log kept after they are shipped
  bool operator==(const LogRemovalPolicy&) const = default;
};

struct LogRemoval {
  std::string name;
  std::uint64_t unshipped_bytes = 0;  // > 0: removed before it was all in the store
  bool over_limit = false;            // removed for the disk limit, not for its age
};

// Which of Postgres's files (postgresql-*.csv and the collector's postgresql-*.log) and the rotated files of
// PgBouncer and the proxy (pgbouncer.log.N, proxy.log.N) to remove, oldest first: those past max_age, each log's
// rotated files beyond the newest rotated_keep_files, then the oldest while they add up to more than
// max_directory_bytes. Only the last step removes a file the store lacks bytes of. `shipped`: the bytes of each
// csvlog and rotated file in the store, when the cluster has one (a file it does not list has none); nothing: no
// store, age and count alone decide. The newest Postgres file of each kind is the collector's current one and
// stays, and so do pgbouncer.log and proxy.log. Pure.
std::vector<LogRemoval> plan_log_removal(const std::vector<LogDirectoryFile>& files,
                                         const std::optional<std::map<std::string, std::uint64_t>>& shipped,
                                         std::chrono::system_clock::time_point now, const LogRemovalPolicy& policy);

struct LogRename {
  std::string from;
  std::string to;
  bool operator==(const LogRename&) const = default;
};

// When the current file of a log the agent rotates (`type`: PgBouncer's pgbouncer.log, the proxy's proxy.log) has
// reached `rotate_bytes`: the renames that rotate it, in order: each <name>.N to N+1, the highest first, then
// <name> to <name>.1 (the highest number is the oldest, as the shipper reads them). Empty while it is smaller.
// Pure.
std::vector<LogRename> plan_renamed_rotation(logs::LogType type, const std::vector<LogDirectoryFile>& files,
                                             std::uint64_t rotate_bytes);

// Whether `name` is one of Postgres's log files in the log directory (csvlog or the collector's stderr).
bool is_postgres_log_file_name(std::string_view name);

struct InstanceLogsSettings {
  std::string namespace_name;
  std::string cluster;
  std::string cluster_uid;  // the SGCluster's metadata.uid (its logs deleted on request stop shipping: LogSource)
  std::string member;
  std::filesystem::path log_dir;             // Postgres's csvlog, Patroni's and PgBouncer's logs
  std::filesystem::path pgbackrest_log_dir;  // pgBackRest's command logs; empty: none shipped
  std::optional<logs::LogStoreRef> store;    // nothing: no spec.distributedLogs, only removal and rotation run
  // The agent's pid file of the instance's PgBouncer ("<pid>\n<starttime>\n") and its program: pgbouncer.log
  // is rotated only while that names a running PgBouncer. Empty: no PgBouncer (pooling off).
  std::filesystem::path pgbouncer_pid_file;
  std::string pgbouncer_program;
  // The cluster's pgstack-proxy on this host, when this instance ships its log (the agent picks one instance per
  // cluster and host): its directory (proxy.log, proxy.log.N), its pid file and program (rotated only while that
  // names a running proxy), and the `instance` its rows carry: the host's name, as the proxy is no one member's.
  struct Proxy {
    std::filesystem::path directory;
    std::filesystem::path pid_file;
    std::string program;
    std::string instance;
    bool operator==(const Proxy&) const = default;
  };
  std::optional<Proxy> proxy;
  // The agent's own lines about the cluster on this host (cluster_log_sink.h), shipped by the same instance as the
  // proxy's: their directory (agent.log, agent.log.N) and the `instance` the rows carry (the host's name).
  struct AgentLog {
    std::filesystem::path directory;
    std::string instance;
    bool operator==(const AgentLog&) const = default;
  };
  std::optional<AgentLog> agent_log;
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
  // By log type ("postgres", "patroni", "pgbouncer", "pgbackrest", "proxy", "agent"): for the instance report and the
  // agent's /metrics. Empty when the cluster has no store and nothing was removed unshipped.
  std::map<std::string, model::ReportedLogShipping> report() const;

 private:
  struct Loop;
  void run(Loop& loop);
  void remove_old_files(Loop& loop);
  // The rotated files of the proxy's and the agent's logs, when this instance ships them.
  void remove_old_host_files(Loop& postgres_loop);
  // Removes what plan_log_removal says of `directory`; a file removed unshipped is counted on its log's loop
  // (the rotated ones') or on Postgres's.
  void remove_files(const std::filesystem::path& directory,
                    const std::optional<std::map<std::string, std::uint64_t>>& shipped, Loop& postgres_loop);
  // Renames `type`'s current file in `directory` when it is large enough and signals its writer (SIGHUP), the
  // process `pid_file` names while it runs `program`. Without a pid file the writer is the agent's own
  // ClusterLogSink, which notices the rename.
  void rotate_renamed_log(logs::LogType type, const std::filesystem::path& directory,
                          const std::filesystem::path& pid_file, const std::string& program);
  // The shipped bytes of `type`'s rotated files, as its loop last learnt them after the last rotation; nothing
  // when that is not known (the names moved since). Under mutex_.
  std::map<std::string, std::uint64_t> rotated_shipped(logs::LogType type) const;
  Loop* loop_of(logs::LogType type) const;
  std::string role() const;

  const InstanceLogsSettings settings_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::string role_;
  // When pgbouncer.log / proxy.log was last rotated: a loop's shipped bytes by file name from before then name
  // other files.
  std::map<logs::LogType, std::chrono::steady_clock::time_point> rotated_at_;
  std::vector<std::unique_ptr<Loop>> loops_;
};

}  // namespace pgstack::agent
