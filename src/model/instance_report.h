// The instance report (docs/api.md): what an agent observed of one instance, written under
// <prefix>/instances/<ns>/<cluster>/<member> and read by the controller's status. One definition for
// both sides: the agent writes instance_report_to_json(), the controller reads instance_report_from_json().
// Pure, no I/O.
#pragma once

#include <cstdint>
#include <map>
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

// How one log of the instance ("postgres" csvlog, "patroni") is shipped to the cluster's log store
// (spec.distributedLogs). Absent for clusters without a store.
struct ReportedLogShipping {
  std::int64_t records_total = 0;  // records committed to the store since the agent started
  std::int64_t errors_total = 0;   // failed batches since the agent started
  std::int64_t bytes_behind = 0;   // bytes of the log files not in the store yet
  std::string last_record_time;    // the last committed record's timestamp, as the log wrote it
  std::string last_error;          // empty after a success
  std::string last_success;        // RFC 3339 UTC of the last batch (or check) that worked; empty: none yet
  // Log files the agent removed before they were shipped (the log directory exceeded its disk limit):
  // how many since the agent started, and what the last removal was.
  std::int64_t files_removed_unshipped = 0;
  std::string last_removal;
  // Bytes the store refused even as a single record, skipped to the next record (logs::LogShipper::ship_once),
  // since the agent started, and what the last skip was.
  std::int64_t bytes_skipped = 0;
  std::string last_skip;
  bool operator==(const ReportedLogShipping&) const = default;
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
  std::map<std::string, ReportedLogShipping> log_shipping;  // by log type: "postgres", "patroni"
  std::vector<Json> events;  // what the agent did or found on its own: {"at", "type", "reason", "message"}
  std::string pgbouncer;     // running, stopped, failed, disabled
  AssignedPorts ports;
  std::string updated_at;  // RFC 3339, UTC
  bool operator==(const InstanceReport&) const = default;
};

Json instance_report_to_json(const InstanceReport& report);
// The report's "logShipping" section: {"postgres": {...}, "patroni": {...}}.
Json reported_log_shipping_to_json(const std::map<std::string, ReportedLogShipping>& shipping);
Result<std::map<std::string, ReportedLogShipping>> reported_log_shipping_from_json(const Json& json);
// The report's "archiving" section, which the cluster's status shows as it is.
Json reported_archiving_to_json(const ReportedArchiving& archiving);
Result<ReportedArchiving> reported_archiving_from_json(const Json& json);
// Errors name the field that is wrong. Sections written by older agents may be absent.
Result<InstanceReport> instance_report_from_json(const Json& json);

}  // namespace pgstack::model
