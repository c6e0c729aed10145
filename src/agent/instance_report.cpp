#include "agent/instance_report.h"

#include <fmt/format.h>

#include "common/time.h"
#include "model/lsn.h"
#include "patroni/roles.h"

namespace pgstack::agent {
namespace {

using model::Json;

std::string string_field(const Json& object, const char* field) {
  return object.is_object() && object.contains(field) && object[field].is_string() ? object[field].get<std::string>()
                                                                                   : std::string();
}

std::optional<std::uint64_t> lsn_field(const Json& object, const char* field) {
  if (!object.is_object() || !object.contains(field) || !object[field].is_number_integer()) return std::nullopt;
  if (object[field].is_number_unsigned()) return object[field].get<std::uint64_t>();
  const auto value = object[field].get<std::int64_t>();
  if (value < 0) return std::nullopt;
  return static_cast<std::uint64_t>(value);
}

const Json* cluster_member(const std::optional<Json>& cluster, const std::string& member) {
  if (!cluster || !cluster->is_object() || !cluster->contains("members") || !(*cluster)["members"].is_array())
    return nullptr;
  for (const auto& entry : (*cluster)["members"]) {
    if (string_field(entry, "name") == member) return &entry;
  }
  return nullptr;
}

// Patroni 3.0 says "master"; docs/api.md says primary.
std::string role_of(const Json& patroni, const Json* member) {
  std::string role = string_field(patroni, "role");
  if (patroni::is_writable_role(role)) return "primary";
  if (role == "replica") {
    const bool sync = (patroni.contains("sync_standby") && patroni["sync_standby"] == true) ||
                      (member != nullptr && string_field(*member, "role") == "sync_standby");
    return sync ? "sync_standby" : "replica";
  }
  return role;
}

// A replica streams when the leader's pg_stat_replication shows it (application_name is the member).
bool streams_from_leader(const std::optional<Json>& leader, const std::string& member) {
  if (!leader || !leader->is_object() || !leader->contains("replication") || !(*leader)["replication"].is_array())
    return false;
  for (const auto& entry : (*leader)["replication"]) {
    if (string_field(entry, "application_name") == member && string_field(entry, "state") == "streaming") return true;
  }
  return false;
}

model::ReportedPatroni patroni_section(const ReportInput& input) {
  const Json& patroni = *input.patroni;
  const Json* member = cluster_member(input.cluster, input.member);
  model::ReportedPatroni section;
  section.role = role_of(patroni, member);
  section.state = string_field(patroni, "state");
  const bool replica = section.role == "replica" || section.role == "sync_standby";
  if (replica && section.state == "running" && streams_from_leader(input.leader, input.member))
    section.state = "streaming";
  if (patroni.contains("timeline") && patroni["timeline"].is_number_integer())
    section.timeline = patroni["timeline"].get<std::int64_t>();
  section.pending_restart = patroni.contains("pending_restart") && patroni["pending_restart"] == true;
  if (patroni.contains("xlog") && patroni["xlog"].is_object()) {
    const Json& xlog = patroni["xlog"];
    if (auto lsn = lsn_field(xlog, "location")) section.lsn = model::format_lsn(*lsn);
    if (auto lsn = lsn_field(xlog, "received_location")) section.received_lsn = model::format_lsn(*lsn);
    if (auto lsn = lsn_field(xlog, "replayed_location")) section.replayed_lsn = model::format_lsn(*lsn);
  }
  if (section.role == "primary") {
    section.lag_bytes = 0;
  } else if (member != nullptr && member->contains("lag") && (*member)["lag"].is_number_integer()) {
    section.lag_bytes = (*member)["lag"].get<std::int64_t>();
  }
  return section;
}

std::string process_word(const std::optional<ProcessStatus>& status) {
  if (!status) return "stopped";
  switch (status->state) {
    case ProcessState::kRunning: return "running";
    case ProcessState::kStopped: return "stopped";
    case ProcessState::kBackoff: return "failed";
  }
  return "stopped";
}

// Patroni states after which it waits for someone to act.
bool is_failed_patroni_state(const std::string& state) {
  return state == "start failed" || state == "crashed" || state == "stopped" || state == "unknown";
}

// pg_stat_archiver as the report's "archiving" section. Failing: the last attempt failed (a failure
// newer than the last success), which is what an operator must act on; the counters tell the history.
model::ReportedArchiving archiving_section(const Json& archiver) {
  model::ReportedArchiving section;
  const auto count = [&](const char* field) -> std::int64_t {
    return archiver.contains(field) && archiver[field].is_number_integer() ? archiver[field].get<std::int64_t>() : 0;
  };
  section.archived_count = count("archived_count");
  section.failed_count = count("failed_count");
  section.last_archived_wal = string_field(archiver, "last_archived_wal");
  section.last_archived_time = string_field(archiver, "last_archived_time");
  section.last_failed_wal = string_field(archiver, "last_failed_wal");
  section.last_failed_time = string_field(archiver, "last_failed_time");
  section.last_failure_message = string_field(archiver, "last_failed_message");
  if (archiver.contains("repository_disk") && archiver["repository_disk"].is_object())
    section.repository_disk = archiver["repository_disk"];
  // The times are UTC in the same format (the query sets TimeZone), so they compare as strings.
  section.failing = !section.last_failed_time.empty() && section.last_failed_time > section.last_archived_time;
  return section;
}

}  // namespace

std::optional<std::string> leader_api_url(const model::Json& cluster) {
  if (!cluster.is_object() || !cluster.contains("members") || !cluster["members"].is_array()) return std::nullopt;
  for (const auto& member : cluster["members"]) {
    const std::string role = string_field(member, "role");
    if (role == "leader" || role == "standby_leader") {
      const std::string url = string_field(member, "api_url");
      if (!url.empty()) return url;
    }
  }
  return std::nullopt;
}

model::InstanceReport instance_report(const ReportInput& input) {
  model::InstanceReport report;
  report.member = input.member;
  report.host = input.host;

  std::string state;
  std::string reason;
  if (input.condition) {
    state = input.condition->failed ? "failed" : "starting";
    reason = input.condition->reason;
  } else if (!input.patroni_process || input.patroni_process->state == ProcessState::kStopped) {
    state = "stopped";
  } else if (input.patroni_process->state == ProcessState::kBackoff) {
    state = "failed";
    reason = fmt::format(
        "Patroni {}; restarting in {} ms (restarts so far: {})",
        input.patroni_process->last_exit_reason.empty() ? "exited" : input.patroni_process->last_exit_reason,
        input.patroni_process->backoff.count(), input.patroni_process->restarts);
    if (!input.restoring_backup.empty()) {
      reason = fmt::format("the restore of SGBackup {} failed: {}; {}", input.restoring_backup,
                           input.startup_failure ? "Postgres stopped: " + *input.startup_failure
                                                 : std::string("see the member's patroni.log"),
                           reason);
    }
  } else if (!input.patroni) {
    state = "starting";
    reason = "Patroni's REST API does not answer yet";
  } else {
    const std::string patroni_state = string_field(*input.patroni, "state");
    if (patroni_state == "running") {
      state = "running";
    } else if (is_failed_patroni_state(patroni_state)) {
      state = "failed";
      reason = fmt::format("Patroni reports Postgres as '{}'", patroni_state);
    } else {
      state = "starting";
      reason = fmt::format("Patroni reports Postgres as '{}'", patroni_state);
    }
  }
  report.state = state;
  report.reason = reason;
  if (input.patroni && input.patroni->is_object() && !input.condition) report.patroni = patroni_section(input);
  if (input.archiver && input.archiver->is_object()) report.archiving = archiving_section(*input.archiver);
  report.backup_problem = input.backup_problem;
  if (input.rejoin) report.rejoin = *input.rejoin;
  if (input.extensions) report.extensions = *input.extensions;
  report.events = input.events;
  report.pgbouncer = input.pooling ? process_word(input.pgbouncer_process) : "disabled";
  report.ports = input.ports;
  report.updated_at = utc_timestamp(input.now);
  return report;
}

}  // namespace pgstack::agent
