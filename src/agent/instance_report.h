// The instance report (docs/api.md): what the agent observed of one instance, from Patroni's REST
// API and the supervisors. Only what was observed, never what was hoped. Pure, no I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/assignment.h"
#include "model/document.h"
#include "model/instance_report.h"
#include "process/process_supervisor.h"

namespace pgstack::agent {

// Why an instance is not running, before Patroni could be started.
struct InstanceCondition {
  bool failed = false;  // false: waiting (for secrets, ...); true: needs someone to act
  std::string reason;
};

struct ReportInput {
  std::string member;
  std::string host;
  AssignedPorts ports;
  std::optional<InstanceCondition> condition;
  std::optional<ProcessStatus> patroni_process;  // nothing before Patroni was started
  bool pooling = true;
  std::optional<ProcessStatus> pgbouncer_process;
  std::optional<model::Json> patroni;  // GET /patroni of this member
  std::optional<model::Json> cluster;  // GET /cluster of this member: roles and lag of every member
  std::optional<model::Json> leader;   // GET /patroni of the leader: which replicas stream from it
  std::string backup_problem;          // why pgBackRest cannot be used for this instance (empty: it can)
  // While Patroni restarts a member that bootstraps from a backup: the backup, and why Postgres
  // stopped (its startup process's last FATAL), e.g. recovery ending before the restore target.
  std::string restoring_backup;
  std::optional<std::string> startup_failure;
  std::optional<model::Json> archiver;  // pg_stat_archiver of a primary that archives WAL (row_to_json)
  // A replica that cannot follow the primary (rejoin_watch.h): {"state", "reason", "since", ...}.
  std::optional<model::Json> rejoin;
  // postgres.extensions on this host (model::InstanceReport::extensions), when the cluster asks for any.
  std::optional<model::Json> extensions;
  // What the agent did or found on its own, newest last: {"at", "type", "reason", "message"}.
  std::vector<model::Json> events;
  std::chrono::system_clock::time_point now;
};

// The report the agent writes (model::instance_report_to_json) for what it observed.
model::InstanceReport instance_report(const ReportInput& input);

// The leader's REST API URL from GET /cluster (role leader or standby_leader), if there is one.
std::optional<std::string> leader_api_url(const model::Json& cluster);

}  // namespace pgstack::agent
