// Backups of the clusters whose primary runs on this host, with pgBackRest: the stanza, SGBackups
// waiting to run (taken from a streaming replica on this host when there is one, to spare the
// primary), retention, expiring the backups of deleted SGBackups, and restore verification.
//
// One job at a time on a worker thread, so the agent loop never waits for pgBackRest; reconcile()
// only looks at etcd and starts the next job. Everything a job learns goes to the SGBackup's status
// (docs/api.md); a job interrupted by an agent restart is reported Failed, never Completed.
//
// A new cluster restoring from one of these backups needs the WAL up to its target in the
// repository, but the newest WAL is still only in the primary's unfilled segment (archive_timeout
// bounds that to a minute), and a time target also needs a commit after it: recovery otherwise
// ends before the target and Postgres refuses to start. So the primary's agent "seals" the WAL once
// per restoring cluster: an empty transaction's commit, then a segment switch, archived at once.
#pragma once

#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/instance_plan.h"
#include "common/process.h"
#include "store/resource_store.h"

namespace pgstack::agent {

// A cluster with backups whose primary runs on this host.
struct BackupTarget {
  std::string namespace_name;
  std::string cluster;
  std::string object_storage;  // SGObjectStorage name, recorded in each backup's status
  BackupPlan primary;          // the primary's pgBackRest (its pgbackrest.conf is used for everything)
  std::optional<config::PgbackrestInstance> standby;  // a streaming replica on this host
  // A replica on this host that is not streaming yet (a new cluster's, or a former primary rejoining):
  // a new backup waits for it a while rather than load the primary.
  bool standby_starting = false;
  std::string bin_dir;  // Postgres binaries, for verification
  std::string superuser;
  // Why backups cannot run (storage unknown or unsupported, a credential missing): Pending SGBackups
  // fail with it instead of waiting for ever; nothing else is done for the cluster.
  std::string problem;
};

// Whether stanza-create failed only because the primary's Postgres took no connections yet (starting or
// restarting): pgBackRest's DbConnectError or "unable to find primary cluster" ([056]). Pending backups
// then wait for the next attempt, for up to two minutes, instead of failing at once. Pure.
bool stanza_failure_is_transient(std::string_view failure);

// Restores one backup into a scratch instance on a free port, replays to consistency, runs
// pg_amcheck (heap and btree indexes) and a query on every database, then removes it.
struct VerificationRequest {
  std::string config_path;  // pgbackrest.conf
  std::string stanza;
  std::string label;
  std::vector<std::string> repository_overrides;  // --repo1-...=... (a copy of the repository, in tests)
  std::filesystem::path scratch_dir;              // created and removed
  std::string bin_dir;
  std::string superuser;
  std::optional<std::string> os_user;  // run as (when root)
  int process_max = 1;
};
struct VerificationResult {
  bool passed = false;
  std::string message;
  double duration_seconds = 0;
  double time_to_usable_seconds = 0;  // restore start -> the database answers queries, out of recovery
};
VerificationResult verify_backup(const VerificationRequest& request);

class BackupRunner {
 public:
  BackupRunner(AgentSettings settings, store::ResourceStore store);
  ~BackupRunner();  // waits for the running job
  BackupRunner(const BackupRunner&) = delete;
  BackupRunner& operator=(const BackupRunner&) = delete;

  void reconcile(const std::vector<BackupTarget>& targets);

 private:
  void run_job(const BackupTarget& target, const std::string& kind, const std::string& backup_name);
  void create_stanza(const BackupTarget& target);
  // The cluster's SGBackups with their status (an empty object before one was written).
  std::vector<std::pair<std::string, model::Json>> backups_of(const BackupTarget& target) const;
  void mark_failed(const BackupTarget& target, const std::string& name, model::Json status, const std::string& message);
  void fail_pending_backups(const BackupTarget& target, const std::string& reason);
  void take_backup(const BackupTarget& target, const std::string& name);
  void verify(const BackupTarget& target, const std::string& name);
  void expire_deleted(const BackupTarget& target);
  // Lists the repository's WAL and stores its holes for the recovery window (agent/archive_continuity.h).
  void check_archive(const BackupTarget& target);
  // New clusters restoring from this cluster's backups whose WAL has not been sealed for them yet.
  std::vector<std::string> restores_to_seal(const BackupTarget& target);
  // `restoring_key` is "<ns>/<cluster>/<uid>", as restores_to_seal lists them.
  void seal_wal(const BackupTarget& target, const std::string& restoring_key);
  CommandOptions command_options() const;

  const AgentSettings settings_;
  store::ResourceStore store_;
  std::future<void> job_;
  std::set<std::string> stanzas_ready_;  // "<ns>/<cluster>" (worker thread writes, after the job; read when idle)
  std::map<std::string, std::chrono::steady_clock::time_point> retry_stanza_at_;
  bool interrupted_checked_ = false;
  std::map<std::string, std::string> stanza_errors_;  // "<ns>/<cluster>": why stanza-create failed last
  // "<ns>/<cluster>": since when stanza-create has failed only transiently (stanza_failure_is_transient).
  std::map<std::string, std::chrono::steady_clock::time_point> stanza_transient_since_;
  std::mutex stanza_errors_mutex_;  // for both maps: the worker thread writes, the agent loop reads
  // "<ns>/<cluster>/<uid>" of restoring clusters sealed for, or found restored (the worker thread
  // and the agent loop write it, never at the same time: the loop waits for the job to end).
  std::set<std::string> sealed_restores_;
  // "<ns>/<cluster>": when its repository's WAL is checked next (reconcile() and take_backup(), which
  // runs as the job the loop waits for), and how many holes the last check found (said once).
  std::map<std::string, std::chrono::steady_clock::time_point> next_archive_check_;
  std::map<std::string, std::size_t> reported_holes_;
};

}  // namespace pgstack::agent
