// The instance report (docs/api.md): what an agent observed of one instance, written under
// <prefix>/instances/<ns>/<cluster>/<member> and read by the controller's status. One definition for
// both sides: the agent writes instance_report_to_json(), the controller reads instance_report_from_json().
// Pure, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "model/assignment.h"
#include "model/document.h"

namespace pgstack::model {

// The member as its Patroni REST API describes it, in pgstack's words ("primary", not "master").
struct ReportedPatroni {
  std::string role;   // primary, replica, sync_standby, standby_leader, ...
  std::string state;  // Patroni's state; "streaming" for a running replica the leader streams to
  std::optional<std::int64_t> timeline;
  bool pending_restart = false;
  std::optional<std::string> lsn, received_lsn, replayed_lsn;  // "0/3000060"
  std::optional<std::int64_t> lag_bytes;
  bool operator==(const ReportedPatroni&) const = default;
};

// pg_stat_archiver of a primary that archives WAL. failing: the last attempt failed.
struct ReportedArchiving {
  std::int64_t archived_count = 0;
  std::int64_t failed_count = 0;
  std::string last_archived_wal, last_archived_time;
  std::string last_failed_wal, last_failed_time, last_failure_message;
  Json repository_disk = nullptr;  // {"freeBytes", ...} of a filesystem repository, when known
  bool failing = false;
  bool operator==(const ReportedArchiving&) const = default;
};

struct InstanceReport {
  std::string member;
  std::string host;
  std::string state;   // starting, running, stopped, failed
  std::string reason;  // why it is not running (empty: nothing to say)
  std::optional<ReportedPatroni> patroni;
  std::optional<ReportedArchiving> archiving;
  std::string backup_problem;  // why pgBackRest cannot be used for this instance (empty: it can)
  Json rejoin = nullptr;       // a replica that cannot follow the primary: {"state", "reason", "since", ...}
  // postgres.extensions on this host: {"items": [{"name", "package", "preload", "version"?}],
  // "missingPackages": [...], "installing", "problem"}; null when the cluster asks for none.
  Json extensions = nullptr;
  std::vector<Json> events;  // what the agent did or found on its own: {"at", "type", "reason", "message"}
  std::string pgbouncer;     // running, stopped, failed, disabled
  AssignedPorts ports;
  std::string updated_at;  // RFC 3339, UTC
  bool operator==(const InstanceReport&) const = default;
};

Json instance_report_to_json(const InstanceReport& report);
// The report's "archiving" section, which the cluster's status shows as it is.
Json reported_archiving_to_json(const ReportedArchiving& archiving);
Result<ReportedArchiving> reported_archiving_from_json(const Json& json);
// Errors name the field that is wrong. Sections written by older agents may be absent.
Result<InstanceReport> instance_report_from_json(const Json& json);

}  // namespace pgstack::model
