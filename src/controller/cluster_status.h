// The observed status of a cluster, aggregated from Patroni's keys in etcd, the primary's Patroni REST
// view of its standbys and the agents' reports. Pure: the reconciler gathers the inputs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "controller/scheduler.h"
#include "model/cluster_status.h"
#include "model/document.h"
#include "model/instance_report.h"
#include "monitoring/alertmanager.h"
#include "patroni/member.h"

namespace pgstack::controller {

// One member as Patroni publishes it (patroni/member.h), with what the controller needs to call it.
struct PatroniMember : patroni::Member {
  std::string api_authorization;  // for Patroni's unsafe endpoints, from the cluster's secrets; never shown
};

struct StandbyReplication {
  std::string state;       // streaming, catchup, ...
  std::string sync_state;  // async, sync, potential, quorum
};

// One SGBackup of the cluster as the agent reports it.
struct BackupObservation {
  std::string name;
  std::string created;  // metadata.creationTimestamp
  model::Json status;   // the SGBackup status (docs/api.md), null while Pending
};

// What Alertmanager said: its alerts (all of them, or those about one cluster), or why it could not be read.
struct AlertsObservation {
  std::vector<monitoring::Alert> alerts;
  std::string problem;  // "" when it was read
};

struct StatusInputs {
  int instances = 0;             // wanted now, additional ones included
  int additional_instances = 0;  // added by a running operation (a ReducedImpact restart)
  std::string postgres_version;
  std::vector<Placement> placements;                   // where each member is assigned
  std::map<std::string, std::string> host_addresses;   // host -> address
  std::optional<std::string> leader;                   // Patroni's leader key
  std::map<std::string, PatroniMember> members;        // by member name
  std::map<std::string, StandbyReplication> standbys;  // the primary's pg_stat_replication by member
  // The agents' reports of members that Patroni does not list or not as running: why (a failed restore).
  std::map<std::string, model::InstanceReport> member_reports;  // by member name
  bool pooling_enabled = true;
  std::optional<ProxyPorts> proxy_ports;  // pgstack-proxy's, on every host that runs a member
  // Why this pass did not write the cluster's desired state (the step that stopped it): the
  // Scheduling condition. Empty message: nothing stopped it.
  std::string scheduling_reason = "CannotPlaceMembers";
  std::string scheduling_problem;
  std::vector<BackupObservation> backups;  // every SGBackup whose spec.sgCluster is this cluster
  // The primary's WAL archiving (the "archiving" section of its agent's report), when it archives.
  std::optional<model::ReportedArchiving> archiving;
  bool backups_configured = false;  // spec.configurations.backups has an entry
  // From the primary's report: why its backups cannot run (empty: they can; nothing: no report yet).
  std::optional<std::string> backup_problem;
  model::Json previous_conditions = model::Json::array();
  // What the agents did or found on their own (their reports' "events"), by member; merged into the
  // events of the previous status, so that an event outlives the agent that reported it.
  std::map<std::string, std::vector<model::Json>> member_events;
  model::Json previous_events = model::Json::array();
  // Members whose agent reports that they cannot follow the primary ("rejoin" of their reports).
  std::map<std::string, model::Json> rejoins;
  // The "extensions" section of each member's report (postgres.extensions on its host), by member.
  std::map<std::string, model::Json> member_extensions;
  // The cluster's alerts (monitoring::alert_concerns_cluster), for the AlertsFiring condition and
  // status.alerts; nothing when the controller has no --alertmanager.
  std::optional<AlertsObservation> alerts;
  // spec.distributedLogs names a store: the members' logShipping report sections (by member), for
  // status.logShipping and the LogsBehind condition.
  bool log_store = false;
  std::map<std::string, std::map<std::string, model::ReportedLogShipping>> member_log_shipping;
  // status.metrics as the pass read it from Prometheus (null: not computed).
  model::Json metrics = nullptr;
  std::string now;  // ISO-8601 UTC
};

model::ClusterStatus build_cluster_status(const StatusInputs& inputs);

// status.extensions: per requested extension its package, preload library and, per member, the
// version installed on its host or "missing" ([{"name","package","preload","members":{m: v}}]).
model::Json extensions_summary(const std::map<std::string, model::Json>& member_extensions);

// status.backups: the newest Completed backup, its finishedAt, and how many there are.
model::BackupsSummary backups_summary(const std::vector<BackupObservation>& backups);
// The BackupsVerified condition from the newest backup whose verification finished (Passed or
// Failed); nothing when none has been verified.
std::optional<model::Condition> backups_verified_condition(const std::vector<BackupObservation>& backups,
                                                           const model::Json& previous_conditions,
                                                           const std::string& now);

// The MembersOnDistinctHosts condition of a cluster of two or more members: False naming the members
// that share a host (losing that host loses them all; placement puts them apart when hosts allow).
// Nothing for a single member.
std::optional<model::Condition> distinct_hosts_condition(const std::vector<Placement>& placements,
                                                         const model::Json& previous_conditions,
                                                         const std::string& now);

// status.archiving from the primary's report, and the WalArchiving condition: False while the last
// attempt failed (pg_stat_archiver's last failure is newer than its last success).
model::Condition archiving_condition(const model::ReportedArchiving& archiving, const model::Json& previous_conditions,
                                     const std::string& now);

// The AlertsFiring condition: True naming the firing alerts (critical first), False when none fires,
// Unknown when Alertmanager could not be read. Silenced and inhibited alerts do not count.
model::Condition alerts_firing_condition(const AlertsObservation& alerts, const model::Json& previous_conditions,
                                         const std::string& now);
// status.alerts: the firing ones, as the condition counts them.
std::vector<model::StatusAlert> status_alerts(const std::vector<monitoring::Alert>& alerts);

// The LogsBehind condition: True naming the members (and logs) more than kLogsBehindBytes behind, or
// with bytes waiting and no successful batch for kLogsStalledSeconds; False otherwise.
inline constexpr std::int64_t kLogsBehindBytes = 64LL << 20;
inline constexpr int kLogsStalledSeconds = 60;
model::Condition logs_behind_condition(
    const std::map<std::string, std::map<std::string, model::ReportedLogShipping>>& member_log_shipping,
    const model::Json& previous_conditions, const std::string& now);

// status.events: the previous ones and the members' new ones ({"at", "member", "type", "reason",
// "message"}), oldest first, the newest kStatusEventsKept of them, each once.
model::Json merge_events(const model::Json& previous, const std::map<std::string, std::vector<model::Json>>& by_member);
constexpr std::size_t kStatusEventsKept = 30;

// A member key's value; one that is not a JSON object gives a member with only its name.
PatroniMember parse_patroni_member(const std::string& name, const std::string& json_text);

}  // namespace pgstack::controller
