// pgstack-agent: one per host. Independent loops, each small:
//   - registration (its own thread, HostRegistration): /pgstack/hosts/<host> under a lease;
//   - lifecycle (every second, and at once when the assignment watch fires): each assignment under
//     /pgstack/assignments/<host>/ gets an InstanceSupervisor; instances no longer assigned are stopped
//     (their data stays);
//   - proxies (with the lifecycle): a pgstack-proxy per cluster that has a member on this host;
//   - status (every two seconds): /pgstack/instances/<ns>/<cluster>/<member> under the lease;
//   - logs (threads of their own per instance, InstanceLogs): shipped to the cluster's log store
//     (spec.distributedLogs), old Postgres log files removed;
//   - backups (with the lifecycle, jobs on their own thread, BackupRunner): pgBackRest for the
//     clusters whose primary runs here.
// Patroni, Postgres and PgBouncer outlive the agent: it re-attaches to them when it starts again.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "agent/agent_metrics.h"
#include "agent/backup_runner.h"
#include "agent/demotion_guard.h"
#include "agent/extension_installer.h"
#include "agent/host_registration.h"
#include "agent/huge_pages.h"
#include "agent/instance_logs.h"
#include "agent/instance_plan.h"
#include "agent/instance_supervisor.h"
#include "agent/proxy_supervisor.h"
#include "common/http_server.h"
#include "store/etcd_client.h"
#include "store/user_secret_store.h"

namespace pgstack::agent {

// The agent's own client certificate for etcd (<state_dir>/tls/agent.crt, agent.key 0600), issued from
// the CA when missing or due (pki::renewal_reason); makes this process trust the CA and present it.
// True when it issued one.
Result<bool> ensure_agent_certificate(const AgentSettings& settings);

inline constexpr std::chrono::seconds kReconcileInterval{1};
inline constexpr std::chrono::seconds kReportInterval{2};

class Agent {
 public:
  explicit Agent(AgentSettings settings);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Runs until `stop` becomes true (checked at least every 100 ms). With stop_instances, Patroni and
  // PgBouncer are stopped on the way out and the lease revoked; otherwise they keep running.
  int run(const std::atomic<bool>& stop, bool stop_instances);

 private:
  // Records the host name in <state-dir>/host-name, or refuses a different one.
  Result<bool> claim_state_dir() const;
  void reconcile();
  void report();
  // The host's node_exporter (or stops a leftover one when it is turned off).
  void start_node_exporter();
  void start_metrics_server();
  void update_metrics();
  // Instances from before this agent started whose assignment is gone: their daemons are stopped.
  void stop_unassigned_leftovers(const std::set<std::string>& assigned);
  // One pgstack-proxy per cluster with a member here; the others are stopped (also leftovers from
  // before this agent started).
  void reconcile_proxies(const std::map<std::string, config::ProxyLayout>& wanted);
  // An InstanceLogs per instance with a plan, restarted when its log directory or store changes.
  void reconcile_logs();
  // Clusters with backups whose primary runs here, for the backup runner.
  std::vector<BackupTarget> backup_targets() const;
  // The assignment's postgres.extensions on this host: installs what is missing (in the background),
  // tells the instance what to report, and returns the assignment to reconcile with, or nothing while
  // an instance that has not started yet must wait for its packages.
  std::optional<Assignment> with_available_extensions(const Assignment& assignment, InstanceSupervisor& instance);
  // <prefix>/host-extensions/<host>: what this host has and can install, for GET .../extensions.
  void publish_extension_inventory(std::int64_t lease);
  void wake();
  // Hands the demotion guard what it stopped to the instances, and what to watch now.
  void guard_demotions();

  const AgentSettings settings_;
  store::EtcdClient etcd_;
  HostRegistration registration_;
  std::map<std::string, std::unique_ptr<InstanceSupervisor>> instances_;  // by "<ns>/<cluster>/<member>"
  std::map<std::string, std::unique_ptr<ProxySupervisor>> proxies_;       // by "<ns>/<cluster>"
  std::map<std::string, std::unique_ptr<InstanceLogs>> logs_;             // by "<ns>/<cluster>/<member>"
  bool proxy_leftovers_checked_ = false;
  std::map<std::string, bool> last_primary_;       // the role each instance had at the last report
  std::map<std::string, std::string> last_state_;  // and its state (running, starting, ...)
  std::unique_ptr<BackupRunner> backups_;
  std::unique_ptr<DemotionGuard> demotion_guard_;     // while run() runs
  std::unique_ptr<ProcessSupervisor> node_exporter_;  // the host's, when --node-exporter-listen is set
  // The agent's /metrics: the loop formats the text at each report round, the server's threads read it.
  std::unique_ptr<HttpServer> metrics_server_;
  std::mutex metrics_mutex_;
  std::string metrics_text_;
  // The SGBackups of the clusters whose primary runs here, read at most every kBackupMetricsInterval.
  std::vector<ClusterBackupsInput> backup_metrics_;
  std::chrono::steady_clock::time_point backup_metrics_read_{};
  ExtensionInstaller extensions_;
  std::int64_t inventory_lease_ = 0;
  std::uint64_t inventory_installs_ = 0;  // the installer's count when the inventory was last published
  model::Json last_inventory_ = nullptr;  // as last written, without its updatedAt
  std::chrono::steady_clock::time_point next_inventory_{};
  bool leftovers_checked_ = false;
  std::map<std::string, std::string> storage_problems_;  // by "<ns>/<cluster>": unresolved storage credentials
  std::string last_list_error_;                          // logged once, not every second
  HugePagesKeeper huge_pages_;                           // the 2MiB pages the instances here map
  std::string last_report_error_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool dirty_ = false;  // the assignment watch saw a change
};

}  // namespace pgstack::agent
