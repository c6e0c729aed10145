// The status of an SGCluster (docs/api.md): what the controller observed of its members, endpoints
// and health, published under <prefix>/status/sgclusters/<ns>/<cluster>. One definition for both
// sides: the controller builds a ClusterStatus and writes cluster_status_to_json(); the CLI and other
// readers use cluster_status_from_json(). Pure, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "model/document.h"
#include "model/instance_report.h"

namespace pgstack::model {

// A Kubernetes-style condition: exactly one per type.
struct Condition {
  std::string type;
  std::string status;  // "True", "False", "Unknown"
  std::string reason;  // CamelCase
  std::string message;
  std::string last_transition_time;  // RFC 3339, UTC: when status last changed
  bool operator==(const Condition&) const = default;
};

struct MemberEndpoints {
  std::string postgres;                  // host:port
  std::optional<std::string> pgbouncer;  // host:port; none when pooling is disabled
  std::string patroni;                   // https://host:port
  bool operator==(const MemberEndpoints&) const = default;
};

struct MemberStatus {
  std::string name;
  std::string host;
  std::string role;   // primary, replica, sync_standby, unknown
  std::string state;  // running, streaming, starting, pending, ... (Patroni's, or the agent's)
  std::optional<std::int64_t> timeline;
  std::optional<std::uint64_t> lag_bytes;  // behind the primary; 0 for the primary; none when unknown
  bool pending_restart = false;
  MemberEndpoints endpoints;
  bool operator==(const MemberStatus&) const = default;
};

// Where clients connect: lists for libpq's multi-host connection strings.
struct ClusterEndpoints {
  std::vector<std::string> read_write, read_only;                // through PgBouncer when pooling is on
  std::vector<std::string> read_write_direct, read_only_direct;  // Postgres itself
  // pgstack-proxy on every host with a member (none before the proxy's ports are assigned).
  std::optional<std::vector<std::string>> proxy_read_write, proxy_read_only, proxy_admin;
  bool operator==(const ClusterEndpoints&) const = default;
};

// A thing an agent did or found on its own (a rebuilt replica, a stalled archiver), kept in the status.
struct StatusEvent {
  std::string at;  // RFC 3339, UTC
  std::string member;
  std::string type;  // Normal, Warning
  std::string reason;
  std::string message;
  bool operator==(const StatusEvent&) const = default;
};

struct BackupsSummary {
  std::optional<std::string> last;               // the newest Completed SGBackup
  std::optional<std::string> last_completed_at;  // its finishedAt
  std::int64_t count = 0;                        // every SGBackup of the cluster
  bool operator==(const BackupsSummary&) const = default;
};

// A firing alert about the cluster (Alertmanager's, from pgstack's rules: docs/monitoring.md).
struct StatusAlert {
  std::string name;      // the alert's name (PostgresDown, ...)
  std::string severity;  // critical, warning, info
  std::string subject;   // the member, host or target it is about; "" for the whole cluster
  std::string since;     // RFC 3339, UTC: when it started firing
  bool operator==(const StatusAlert&) const = default;
};

struct ClusterStatus {
  std::string postgres_version;
  std::string observed_at;       // when the controller built it: a reader can tell a stale one
  int instances = 0;             // spec.instances
  int additional_instances = 0;  // added while an operation runs (a ReducedImpact restart)
  std::optional<std::string> primary;
  std::vector<MemberStatus> members;
  ClusterEndpoints endpoints;
  std::vector<Condition> conditions;
  std::optional<ReportedArchiving> archiving;  // the primary's pg_stat_archiver, when it archives
  std::vector<StatusEvent> events;             // oldest first
  BackupsSummary backups;
  std::vector<StatusAlert> alerts;  // firing now, critical first; empty without any (or without monitoring)
  // postgres.extensions: [{"name","package","preload","members":{member: version|"missing"}}]; null: none asked for.
  Json extensions = nullptr;
  // The figures read from Prometheus by the leading controller ({"tps", "connections", "maxConnections",
  // "lagSeconds": {replica: s}, "observedAt"}), or {"reason"} why there are none; null: not computed.
  Json metrics = nullptr;
  // spec.distributedLogs: per member, how its logs are shipped to the store ({member: {"postgres": {...},
  // "patroni": {...}}}, the reports' logShipping sections); null: the cluster has no store.
  Json log_shipping = nullptr;
  // Sections that other writers own (managed SQL's progress, ...), kept as they are.
  Json other_sections = Json::object();
  bool operator==(const ClusterStatus&) const = default;
};

Json condition_to_json(const Condition& condition);
Result<Condition> condition_from_json(const Json& json);
Json status_event_to_json(const StatusEvent& event);

Json cluster_status_to_json(const ClusterStatus& status);
// Errors name the field that is wrong; sections an older controller did not write are left empty.
Result<ClusterStatus> cluster_status_from_json(const Json& json);

// The condition of `type`, or null.
const Condition* find_condition(const std::vector<Condition>& conditions, std::string_view type);

}  // namespace pgstack::model
