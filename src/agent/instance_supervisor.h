// One instance on this host: lays out its directories, writes its files, and keeps Patroni (which
// runs Postgres) and PgBouncer running through ProcessSupervisor. A reconcile is a short list of
// steps; a step that cannot go on stops it with a condition the report shows.
//
// Changes reach the running instance without restarting Postgres: rewritten patroni.yaml or
// postgresql.conf -> POST /reload to Patroni; pgbouncer.ini or its auth file -> SIGHUP to PgBouncer.
// Only a new restartGeneration restarts Postgres (POST /restart). The last generation applied is kept
// in config/restart-generation, so an agent that restarts neither repeats a restart nor misses one.
//
// Thread-safety: none; the agent loop calls everything.
#pragma once

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "agent/agent_metrics.h"
#include "agent/assignment.h"
#include "agent/demotion_guard.h"
#include "agent/instance_plan.h"
#include "agent/instance_report.h"
#include "agent/rejoin_watch.h"
#include "common/http_client.h"
#include "process/process_supervisor.h"

namespace pgstack::agent {

// The agent's pid file of an instance's PgBouncer, in its config dir (PgBouncer's own is in the socket dir);
// the log rotation (instance_logs.h) signals the PgBouncer it names.
inline constexpr std::string_view kPgbouncerPidFile = "pgbouncer.pid";

// GET <leader api_url>/patroni answers, shared by the members of a cluster within one report round.
using LeaderStatusCache = std::map<std::string, std::optional<model::Json>>;

// How an instance reaches its cluster's leader key in etcd (the agent owns the etcd client).
struct LeaderKeyAccess {
  std::function<bool()> release_if_mine;     // deletes the leader key if it names this member
  std::function<bool()> held_by_another;     // another member holds it now
  std::function<bool()> promoted_elsewhere;  // and Patroni publishes it as a running primary
};

class InstanceSupervisor {
 public:
  // instance_key: "<ns>/<cluster>/<member>".
  InstanceSupervisor(AgentSettings settings, std::string instance_key);
  // Leaves Patroni and PgBouncer running: the data path must not depend on the agent.
  ~InstanceSupervisor();
  InstanceSupervisor(const InstanceSupervisor&) = delete;
  InstanceSupervisor& operator=(const InstanceSupervisor&) = delete;

  // Brings the instance to what the assignment asks for.
  void reconcile(const Assignment& assignment, const ClusterSecrets& secrets);
  // The assignment or its secrets cannot be used now: report why (with the assigned ports when
  // known), keep whatever runs.
  void hold(InstanceCondition condition, std::optional<AssignedPorts> ports = std::nullopt);
  // etcd cannot be read: keep supervising what runs, as it was last configured.
  void tick();
  // The same, when the agent cannot reach etcd at all: a primary that Patroni has demoted meanwhile is
  // stopped until etcd answers again (hold_demoted_leader).
  void tick_without_etcd();
  // What DemotionGuard watches: the running Patroni (nothing while it is stopped or held).
  std::optional<DemotionGuard::Watched> guard_target() const;
  // DemotionGuard stopped Patroni: it stays stopped until etcd answers (as hold_demoted_leader's).
  void stopped_by_guard();
  // Stops Patroni (and so Postgres), PgBouncer and the exporter, also when only their pid files know them (after an
  // agent restart). Never touches the data directory.
  void stop();
  // No longer assigned here: stop(), and a Postgres that outlived its Patroni gets a fast shutdown.
  void stop_unassigned();

  // Stops and starts PgBouncer (when pooling is on), dropping its server connections and cached state.
  void restart_pooler();

  // The role the last report saw; a crashed primary is handled differently (see hold_crashed_primary).
  void note_role(bool primary) { was_primary_ = primary; }
  void set_leader_key_access(LeaderKeyAccess access) { leader_key_ = std::move(access); }

  // Asks Patroni (and the leader, for replicas) how the instance is doing.
  ReportInput observe(const std::string& host_name, LeaderStatusCache& leaders) const;

  // After each report: a replica that cannot follow the primary (rejoin_watch.h) is rebuilt from it
  // once Patroni had its chance to rewind; its data directory is kept aside as data.diverged-<time>.
  void watch_rejoin(const ReportInput& observed, const model::InstanceReport& report);

  // What the agent found of the cluster's postgres.extensions on this host, for the report.
  void set_extensions(std::optional<model::Json> extensions) { extensions_ = std::move(extensions); }

  const std::string& instance_key() const { return instance_key_; }
  // Its processes, whether it holds on a failed step, and what the archiver last said (agent_metrics.h).
  InstanceMetricsInput metrics_input() const;
  // What the last successful reconcile planned (nothing before one succeeded).
  const std::optional<InstancePlan>& plan() const { return plan_; }

 private:
  Result<bool> prepare_directories(const InstancePlan& plan);
  // Issues the instance's server certificate from the CA when it has none, the CA changed, its names
  // changed or 2/3 of its lifetime passed (pki::renewal_reason). True when it issued one.
  Result<bool> ensure_tls(const InstancePlan& plan);
  void reload_tls(bool patroni_was_running, bool pgbouncer_was_running);
  Result<std::set<InstanceFile>> write_files(const InstancePlan& plan);
  Result<bool> ensure_patroni(const InstancePlan& plan, const std::set<InstanceFile>& changed);
  Result<bool> ensure_pgbouncer(const InstancePlan& plan, const std::set<InstanceFile>& changed);
  // postgres_exporter: started when the plan has metrics, restarted when its queries, passfile or
  // command line changed (it reads them only at start), stopped otherwise.
  Result<bool> ensure_exporter(const InstancePlan& plan, const std::set<InstanceFile>& changed);
  void ensure_restart_generation(std::int64_t generation);
  void report_condition(std::optional<InstanceCondition> condition);
  std::string patroni_url(std::string_view path) const;
  // pg_stat_archiver of this instance when it is a primary that archives; asked at most every
  // kArchiverInterval (a psql round trip), the last answer is reported in between.
  std::optional<model::Json> observe_archiver() const;
  // On the primary, while the exporter runs: the monitoring role exists with the current password. A
  // cluster bootstrapped before the role existed gets it here; once per password, retried until it works.
  void ensure_monitor_role() const;
  // As the `pgbouncer` user over the Unix socket, as PgBouncer's own OS user: PgBouncer lets that one
  // into its admin console without a password, so no credential is needed. "" when it does not answer.
  std::string observe_pgbouncer() const;
  bool postmaster_alive() const;
  // When a primary's Patroni and postmaster both died, restarting Patroni at once would let it take
  // its still-valid leader key back and recover in place. Instead the leader key is released so a
  // healthy replica is promoted now, and Patroni restarts once that happened (it then rejoins as a
  // replica through pg_rewind). Returns true while the restart must wait.
  bool hold_crashed_primary();
  // Patroni 3.0.2 (Debian 12; fixed in 3.0.3 by patroni#2689): a leader cut off from etcd for longer
  // than the TTL demotes itself but keeps its cached belief that it holds the leader key; when etcd is
  // back it writes the key without a condition, taking it from the member elected meanwhile, which then
  // demotes. Seen in the multi-host partition test: the old primary led again and the new one's writes
  // were gone. So while etcd is out of reach, a member that was primary and that Patroni no longer runs
  // as primary is stopped (Postgres with it: it was read-only and out of the cluster); reconcile starts
  // it again, with nothing cached, once etcd answers. True while Patroni is stopped for this.
  bool hold_demoted_leader();
  // With hold_crashed_primary: the crashed primary's PgBouncer is stopped (clients are refused and try
  // the next member) until its postmaster runs again (tick starts it).
  void stop_pooler_while_postgres_is_down();
  // Stops Patroni and Postgres, moves the data directory aside and starts Patroni on an empty one,
  // which it fills from the primary (pg_basebackup). The path it was moved to, or why it could not.
  Result<std::filesystem::path> rebuild_from_primary();
  bool copy_in_progress() const;  // pg_rewind or pg_basebackup on this data directory
  int copies_kept_aside() const;
  void record_event(std::string type, std::string reason, std::string message);
  std::vector<model::Json> wal_set_aside_events() const;

  const AgentSettings settings_;
  const std::string instance_key_;
  const std::filesystem::path instance_dir_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;

  std::optional<InstancePlan> plan_;
  std::string repository_error_;  // the last problem with the backup repository's directory, logged once
  std::unique_ptr<ProcessSupervisor> patroni_;
  std::unique_ptr<ProcessSupervisor> pgbouncer_;
  std::unique_ptr<ProcessSupervisor> exporter_;
  std::string patroni_api_;  // "http://host:port" of the running Patroni: its port may be about to change
  bool reload_pending_ = false;
  bool was_primary_ = false;
  LeaderKeyAccess leader_key_;
  std::optional<std::chrono::steady_clock::time_point> crash_hold_until_;
  bool promotion_wait_extended_ = false;
  bool pooler_stopped_for_crash_ = false;  // PgBouncer waits for the postmaster to run again (tick)
  bool held_for_etcd_ = false;             // hold_demoted_leader stopped Patroni
  // Whether it was primary at the last reconcile, i.e. while etcd still answered (reports during an
  // outage see the demotion and change was_primary_).
  bool led_while_etcd_answered_ = false;
  bool secrets_warned_ = false;
  std::optional<InstanceCondition> condition_;
  std::uint64_t reconcile_errors_ = 0;
  // SHOW POOLS/STATS/LISTS from PgBouncer's admin console, asked at most every few seconds.
  mutable std::string pgbouncer_show_;
  mutable std::chrono::steady_clock::time_point pgbouncer_checked_{};
  AssignedPorts ports_;  // as last assigned
  // The monitoring role's password last made sure of on this primary (ensure_monitor_role).
  mutable std::string monitor_role_password_;
  mutable std::optional<model::Json> archiver_;
  mutable std::chrono::steady_clock::time_point archiver_checked_{};
  mutable std::vector<model::Json> wal_set_aside_;  // records of pgstack-wal-push, read every few seconds
  mutable std::chrono::steady_clock::time_point wal_set_aside_checked_{};

  RejoinState rejoin_;
  std::optional<model::Json> rejoin_status_;  // reported while a divergence is watched or repaired
  std::optional<std::chrono::steady_clock::time_point> rebuilt_at_;  // until it streams again
  std::vector<model::Json> events_;                                  // newest last, a few
  std::optional<model::Json> extensions_;

  // A POST /restart in flight (it returns once Postgres is back, which may take a while).
  std::future<Result<HttpResponse>> restart_request_;
  std::int64_t requested_generation_ = 0;
  std::chrono::steady_clock::time_point next_restart_attempt_{};
};

}  // namespace pgstack::agent
