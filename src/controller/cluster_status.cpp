#include "controller/cluster_status.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <fmt/format.h>

#include "common/time.h"
#include "config/render_pgbackrest.h"
#include "patroni/roles.h"

namespace pgstack::controller {
namespace {

using model::Json;

// Where clients reach a host: its registered address, else its name.
std::string host_address(const StatusInputs& inputs, const std::string& host) {
  const auto found = inputs.host_addresses.find(host);
  return found == inputs.host_addresses.end() ? host : found->second;
}

bool is_primary_role(const std::string& role) { return patroni::is_leader_role(role); }

// Keeps lastTransitionTime when a condition's status did not change.
model::Condition condition_with_status(const Json& previous, const std::string& type, const std::string& value,
                                       const std::string& reason, const std::string& message, const std::string& now) {
  std::string since = now;
  if (previous.is_array()) {
    for (const auto& old : previous) {
      if (old.is_object() && old.value("type", "") == type && old.value("status", "") == value)
        since = old.value("lastTransitionTime", now);
    }
  }
  return {type, value, reason, message, since};
}

model::Condition condition(const Json& previous, const std::string& type, bool status, const std::string& reason,
                           const std::string& message, const std::string& now) {
  return condition_with_status(previous, type, status ? "True" : "False", reason, message, now);
}

// Silenced and inhibited alerts were put aside by someone; new (unprocessed) ones are about to be sent.
bool counts_as_firing(const monitoring::Alert& alert) { return alert.state != monitoring::AlertState::kSuppressed; }

// At most this many alerts are named in the condition's message; status.alerts has them all.
constexpr std::size_t kAlertsNamed = 10;

std::string string_at(const Json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

// When a backup was taken, for ordering: finished, else started, else created (ISO-8601 UTC sorts as text).
std::string backup_time(const BackupObservation& backup) {
  for (const char* key : {"finishedAt", "startedAt"}) {
    if (std::string time = string_at(backup.status, key); !time.empty()) return time;
  }
  return backup.created;
}

bool newer(const BackupObservation& a, const BackupObservation& b) {
  const std::string time_a = backup_time(a), time_b = backup_time(b);
  return time_a != time_b ? time_a > time_b : a.name > b.name;
}

// What a member's agent says is wrong with it ("" when it says nothing).
std::string agent_reason(const StatusInputs& inputs, const std::string& member) {
  const auto report = inputs.member_reports.find(member);
  return report == inputs.member_reports.end() ? std::string() : report->second.reason;
}
}  // namespace

model::BackupsSummary backups_summary(const std::vector<BackupObservation>& backups) {
  const BackupObservation* last = nullptr;
  for (const auto& backup : backups) {
    if (string_at(backup.status, "phase") == "Completed" && (last == nullptr || newer(backup, *last))) last = &backup;
  }
  const std::string completed_at = last ? string_at(last->status, "finishedAt") : std::string();
  model::BackupsSummary summary;
  if (last) summary.last = last->name;
  if (!completed_at.empty()) summary.last_completed_at = completed_at;
  summary.count = static_cast<std::int64_t>(backups.size());
  return summary;
}

std::optional<model::Condition> backups_verified_condition(const std::vector<BackupObservation>& backups,
                                                           const Json& previous_conditions, const std::string& now) {
  const BackupObservation* newest = nullptr;
  for (const auto& backup : backups) {
    if (!backup.status.is_object() || !backup.status.contains("verification")) continue;
    const std::string phase = string_at(backup.status["verification"], "phase");
    if ((phase == "Passed" || phase == "Failed") && (newest == nullptr || newer(backup, *newest))) newest = &backup;
  }
  if (newest == nullptr) return std::nullopt;
  const Json& verification = newest->status.at("verification");
  const bool passed = string_at(verification, "phase") == "Passed";
  const std::string finished = string_at(verification, "finishedAt");
  const std::string when = finished.empty() ? std::string() : fmt::format(" at {}", finished);
  std::string message;
  if (passed) {
    const auto usable = verification.find("timeToUsableSeconds");
    message = usable != verification.end() && usable->is_number()
                  ? fmt::format("backup {} was restored and usable in {:.1f} s (verified{})", newest->name,
                                usable->get<double>(), when)
                  : fmt::format("backup {} was restored and verified{}", newest->name, when);
  } else {
    const std::string why = string_at(verification, "message");
    message = fmt::format("verification of backup {} failed{}: {}", newest->name, when,
                          why.empty() ? std::string("no message") : why);
  }
  return condition(previous_conditions, "BackupsVerified", passed, passed ? "VerificationPassed" : "VerificationFailed",
                   message, now);
}

std::optional<model::Condition> distinct_hosts_condition(const std::vector<Placement>& placements,
                                                         const Json& previous_conditions, const std::string& now) {
  if (placements.size() < 2) return std::nullopt;
  std::map<std::string, std::vector<std::string>> members_on;
  for (const auto& placement : placements) members_on[placement.host].push_back(placement.member);
  std::vector<std::string> shared;
  for (auto& [host, members] : members_on) {
    if (members.size() < 2) continue;
    std::sort(members.begin(), members.end());
    shared.push_back(fmt::format("{} on {}", fmt::join(members, ", "), host));
  }
  if (shared.empty())
    return condition(previous_conditions, "MembersOnDistinctHosts", true, "EachMemberOnItsOwnHost",
                     fmt::format("{} members on {} hosts", placements.size(), members_on.size()), now);
  return condition(
      previous_conditions, "MembersOnDistinctHosts", false, "MembersShareHosts",
      fmt::format("{}: losing one host loses every member on it ({} members, {} host{}; pgstack join "
                  "adds hosts, and a replica moves to a host with no member once every member is ready)",
                  fmt::join(shared, "; "), placements.size(), members_on.size(), members_on.size() == 1 ? "" : "s"),
      now);
}

Json extensions_summary(const std::map<std::string, Json>& member_extensions) {
  Json summary = Json::array();
  for (const auto& [member, section] : member_extensions) {
    const Json items = section.value("items", Json::array());
    if (!items.is_array()) continue;
    for (const auto& item : items) {
      if (!item.is_object()) continue;
      const std::string name = string_at(item, "name");
      auto found = std::find_if(summary.begin(), summary.end(),
                                [&](const Json& known) { return string_at(known, "name") == name; });
      if (found == summary.end()) {
        summary.push_back({{"name", name},
                           {"package", string_at(item, "package")},
                           {"preload", string_at(item, "preload")},
                           {"members", Json::object()}});
        found = summary.end() - 1;
      }
      const std::string version = string_at(item, "version");
      (*found)["members"][member] = version.empty() ? "missing" : version;
    }
  }
  return summary;
}

model::Condition archiving_condition(const model::ReportedArchiving& archiving, const Json& previous_conditions,
                                     const std::string& now) {
  const std::string& last_wal = archiving.last_archived_wal;
  const std::string& last_time = archiving.last_archived_time;
  if (archiving.failing) {
    std::string why = archiving.last_failure_message;
    // pgBackRest names the file it could not write, not why: a full repository disk is said first.
    const Json disk = archiving.repository_disk.is_object() ? archiving.repository_disk : Json::object();
    if (config::repository_nearly_full(disk))
      why = config::repository_full_message(disk) + (why.empty() ? std::string() : "; " + why);
    return condition(previous_conditions, "WalArchiving", false, "ArchiveCommandFailing",
                     fmt::format("archiving {} failed at {}{} ({} failures so far; the primary keeps the WAL until it "
                                 "is archived)",
                                 archiving.last_failed_wal, archiving.last_failed_time,
                                 why.empty() ? std::string() : ": " + why, archiving.failed_count),
                     now);
  }
  return condition(previous_conditions, "WalArchiving", true, "Archiving",
                   last_wal.empty() ? std::string("no WAL segment has been archived yet")
                                    : fmt::format("last archived {} at {}", last_wal, last_time),
                   now);
}

std::vector<model::StatusAlert> status_alerts(const std::vector<monitoring::Alert>& alerts) {
  std::vector<model::StatusAlert> out;
  for (const auto& alert : alerts) {
    if (!counts_as_firing(alert)) continue;
    // A cluster-wide alert names no member: its subject is the cluster itself.
    const bool about_member = !alert.instance_name.empty() || alert.cluster.empty();
    out.push_back({alert.name, alert.severity, about_member ? monitoring::alert_subject(alert) : "", alert.starts_at});
  }
  return out;
}

model::Condition logs_behind_condition(
    const std::map<std::string, std::map<std::string, model::ReportedLogShipping>>& member_log_shipping,
    const Json& previous_conditions, const std::string& now) {
  const auto now_time = parse_utc_timestamp(now);
  std::vector<std::string> behind;
  for (const auto& [member, logs] : member_log_shipping) {
    for (const auto& [type, log] : logs) {
      if (log.bytes_behind <= 0) continue;
      const auto success = parse_utc_timestamp(log.last_success);
      const bool stalled = now_time && (!success || *now_time - *success >= std::chrono::seconds(kLogsStalledSeconds));
      if (log.bytes_behind <= kLogsBehindBytes && !stalled) continue;
      std::string why = fmt::format("{} {} log: {} bytes not shipped", member, type, log.bytes_behind);
      if (stalled) why += success ? fmt::format(", no batch since {}", log.last_success) : ", no batch yet";
      if (!log.last_error.empty()) why += fmt::format(" ({})", log.last_error);
      behind.push_back(std::move(why));
    }
  }
  if (behind.empty())
    return condition(previous_conditions, "LogsBehind", false, "LogsShipped",
                     "every member's logs are shipped to the log store", now);
  return condition(previous_conditions, "LogsBehind", true, "ShippingBehind",
                   fmt::format("{}", fmt::join(behind, "; ")), now);
}

model::Condition alerts_firing_condition(const AlertsObservation& alerts, const Json& previous_conditions,
                                         const std::string& now) {
  if (!alerts.problem.empty())
    return condition_with_status(previous_conditions, "AlertsFiring", "Unknown", "AlertmanagerUnreachable",
                                 alerts.problem, now);
  const std::vector<model::StatusAlert> firing = status_alerts(alerts.alerts);
  const auto suppressed =
      static_cast<std::size_t>(std::count_if(alerts.alerts.begin(), alerts.alerts.end(),
                                             [](const monitoring::Alert& alert) { return !counts_as_firing(alert); }));
  const std::string put_aside =
      suppressed == 0 ? std::string() : fmt::format(" ({} more silenced or inhibited)", suppressed);
  if (firing.empty())
    return condition(previous_conditions, "AlertsFiring", false, "NoAlertsFiring",
                     "no alert about this cluster is firing" + put_aside, now);
  std::vector<std::string> named;
  for (const auto& alert : firing) {
    if (named.size() == kAlertsNamed) break;
    std::vector<std::string> details;
    if (!alert.severity.empty()) details.push_back(alert.severity);
    if (!alert.subject.empty()) details.push_back(alert.subject);
    named.push_back(details.empty() ? alert.name : fmt::format("{} ({})", alert.name, fmt::join(details, ", ")));
  }
  if (firing.size() > named.size()) named.push_back(fmt::format("and {} more", firing.size() - named.size()));
  // Alerts come critical first: the reason says the worst.
  const std::string& worst = firing.front().severity;
  const std::string reason = worst == "critical"  ? "CriticalAlertsFiring"
                             : worst == "warning" ? "WarningAlertsFiring"
                                                  : "AlertsFiring";
  return condition(previous_conditions, "AlertsFiring", true, reason,
                   fmt::format("{} alert{} firing: {}{}", firing.size(), firing.size() == 1 ? "" : "s",
                               fmt::join(named, ", "), put_aside),
                   now);
}

Json merge_events(const Json& previous, const std::map<std::string, std::vector<Json>>& by_member) {
  std::vector<Json> events;
  std::set<std::string> seen;
  const auto identity = [](const Json& event) {
    return string_at(event, "at") + "|" + string_at(event, "member") + "|" + string_at(event, "reason") + "|" +
           string_at(event, "message");
  };
  const auto add = [&](Json event) {
    if (!event.is_object() || !seen.insert(identity(event)).second) return;
    events.push_back(std::move(event));
  };
  if (previous.is_array()) {
    for (const auto& event : previous) add(event);
  }
  for (const auto& [member, reported] : by_member) {
    for (const auto& event : reported) {
      if (!event.is_object()) continue;
      Json copy = event;
      copy["member"] = member;
      add(std::move(copy));
    }
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Json& a, const Json& b) { return string_at(a, "at") < string_at(b, "at"); });
  if (events.size() > kStatusEventsKept)
    events.erase(events.begin(), events.end() - static_cast<std::ptrdiff_t>(kStatusEventsKept));
  return Json(events);
}

PatroniMember parse_patroni_member(const std::string& name, const std::string& json_text) {
  PatroniMember member;
  if (auto record = patroni::parse_member(name, json_text); record.ok()) {
    static_cast<patroni::Member&>(member) = std::move(record).value();
  } else {
    member.name = name;
  }
  return member;
}

model::ClusterStatus build_cluster_status(const StatusInputs& inputs) {
  model::ClusterStatus status;
  status.postgres_version = inputs.postgres_version;
  // Readers can tell a fresh observation from one left behind by a controller that stopped.
  status.observed_at = inputs.now;
  status.instances = inputs.instances - inputs.additional_instances;
  status.additional_instances = inputs.additional_instances;
  const PatroniMember* primary = nullptr;
  if (inputs.leader) {
    if (auto found = inputs.members.find(*inputs.leader);
        found != inputs.members.end() && is_primary_role(found->second.role))
      primary = &found->second;
  }
  if (primary) status.primary = primary->name;

  model::ClusterEndpoints& endpoints = status.endpoints;
  int streaming = 0;
  int running = 0;
  std::vector<std::string> pending_restart;
  std::vector<std::string> troubles;
  for (const auto& placement : inputs.placements) {
    const std::string address = host_address(inputs, placement.host);
    model::MemberStatus member;
    member.name = placement.member;
    member.host = placement.host;
    member.role = "unknown";
    member.state = "pending";
    const auto found = inputs.members.find(placement.member);
    if (found != inputs.members.end()) {
      const PatroniMember& patroni = found->second;
      member.state = patroni.state.empty() ? "unknown" : patroni.state;
      if (is_primary_role(patroni.role) && primary == &patroni) {
        member.role = "primary";
      } else if (is_primary_role(patroni.role)) {
        member.role = "primary";  // a second one: Patroni will demote it; shown as it is
        troubles.push_back(fmt::format("{} also claims to be primary", placement.member));
      } else {
        member.role = "replica";
        if (auto standby = inputs.standbys.find(placement.member); standby != inputs.standbys.end()) {
          if (standby->second.sync_state == "sync" || standby->second.sync_state == "quorum")
            member.role = "sync_standby";
          if (patroni.state == "running") member.state = standby->second.state;
          if (standby->second.state == "streaming") ++streaming;
        }
      }
      if (patroni.state == "running") ++running;
      member.timeline = patroni.timeline;
      if (primary && primary->xlog_location && patroni.xlog_location && member.role != "primary") {
        member.lag_bytes = *primary->xlog_location > *patroni.xlog_location
                               ? *primary->xlog_location - *patroni.xlog_location
                               : std::uint64_t{0};
      } else if (member.role == "primary") {
        member.lag_bytes = 0;
      }
      member.pending_restart = patroni.pending_restart;
      if (patroni.pending_restart) pending_restart.push_back(placement.member);
      if (patroni.state != "running") {
        const std::string why = agent_reason(inputs, placement.member);
        troubles.push_back(fmt::format("{} is {}{}", placement.member, member.state, why.empty() ? "" : ": " + why));
      }
    } else {
      if (const std::string why = agent_reason(inputs, placement.member); !why.empty()) {
        if (const std::string& reported = inputs.member_reports.at(placement.member).state; !reported.empty())
          member.state = reported;
        troubles.push_back(fmt::format("{} is {}: {}", placement.member, member.state, why));
      } else {
        troubles.push_back(fmt::format("{} has not started yet", placement.member));
      }
    }
    const std::string postgres = fmt::format("{}:{}", address, placement.ports.postgres);
    const std::string pgbouncer = fmt::format("{}:{}", address, placement.ports.pgbouncer);
    member.endpoints.postgres = postgres;
    if (inputs.pooling_enabled) member.endpoints.pgbouncer = pgbouncer;
    member.endpoints.patroni = fmt::format("https://{}:{}", address, placement.ports.patroni);
    const std::string pooled = inputs.pooling_enabled ? pgbouncer : postgres;
    // Read-write lists every member (libpq's target_session_attrs=read-write finds the primary even
    // after a failover); read-only lists replicas first, then the primary as the fallback.
    endpoints.read_write.push_back(pooled);
    endpoints.read_write_direct.push_back(postgres);
    if (member.role != "primary") {
      endpoints.read_only.push_back(pooled);
      endpoints.read_only_direct.push_back(postgres);
    }
    status.members.push_back(std::move(member));
  }
  for (const auto& placement : inputs.placements) {
    const auto found = inputs.members.find(placement.member);
    if (found != inputs.members.end() && primary == &found->second) {
      const std::string address = host_address(inputs, placement.host);
      endpoints.read_only.push_back(
          fmt::format("{}:{}", address, inputs.pooling_enabled ? placement.ports.pgbouncer : placement.ports.postgres));
      endpoints.read_only_direct.push_back(fmt::format("{}:{}", address, placement.ports.postgres));
    }
  }
  if (inputs.proxy_ports) {
    // One proxy per host with a member; any of them routes to the current primary or a replica.
    std::vector<std::string> proxy_read_write, proxy_read_only, proxy_admin;
    std::set<std::string> seen;
    for (const auto& placement : inputs.placements) {
      const std::string address = host_address(inputs, placement.host);
      if (!seen.insert(address).second) continue;
      proxy_read_write.push_back(fmt::format("{}:{}", address, inputs.proxy_ports->read_write));
      proxy_read_only.push_back(fmt::format("{}:{}", address, inputs.proxy_ports->read_only));
      proxy_admin.push_back(fmt::format("http://{}:{}", address, inputs.proxy_ports->admin));
    }
    endpoints.proxy_read_write = std::move(proxy_read_write);
    endpoints.proxy_read_only = std::move(proxy_read_only);
    endpoints.proxy_admin = std::move(proxy_admin);
  }

  const int replicas_wanted = inputs.instances - 1;
  const bool ready = primary != nullptr && static_cast<int>(inputs.placements.size()) == inputs.instances &&
                     running == inputs.instances && streaming >= replicas_wanted;
  std::vector<model::Condition>& conditions = status.conditions;
  if (!inputs.scheduling_problem.empty()) {
    conditions.push_back(condition(inputs.previous_conditions, "Scheduling", false, inputs.scheduling_reason,
                                   inputs.scheduling_problem, inputs.now));
  }
  std::string reason = ready ? "AllMembersStreaming" : primary == nullptr ? "NoPrimary" : "MembersNotReady";
  std::string message =
      ready ? fmt::format("1 primary, {} replica{} streaming", replicas_wanted, replicas_wanted == 1 ? "" : "s")
            : fmt::format("{} of {} members running, {} of {} replicas streaming{}", running, inputs.instances,
                          streaming, std::max(0, replicas_wanted),
                          troubles.empty() ? "" : fmt::format(" ({})", fmt::join(troubles, "; ")));
  conditions.push_back(condition(inputs.previous_conditions, "Ready", ready, reason, message, inputs.now));
  conditions.push_back(condition(inputs.previous_conditions, "PendingRestart", !pending_restart.empty(),
                                 pending_restart.empty() ? "NoPendingRestart" : "ParametersNeedRestart",
                                 pending_restart.empty()
                                     ? "no member needs a restart"
                                     : fmt::format("{} need a restart to apply changed parameters (pgstack restart)",
                                                   fmt::join(pending_restart, ", ")),
                                 inputs.now));
  if (auto spread = distinct_hosts_condition(inputs.placements, inputs.previous_conditions, inputs.now))
    conditions.push_back(std::move(*spread));
  if (auto verified = backups_verified_condition(inputs.backups, inputs.previous_conditions, inputs.now))
    conditions.push_back(std::move(*verified));
  if (inputs.backups_configured && inputs.backup_problem) {
    const bool usable = inputs.backup_problem->empty();
    conditions.push_back(condition(
        inputs.previous_conditions, "BackupStorageUsable", usable, usable ? "Configured" : "BackupConfigurationProblem",
        usable ? std::string("pgBackRest is configured for the backup storage") : *inputs.backup_problem, inputs.now));
  }
  if (inputs.archiving) {
    conditions.push_back(archiving_condition(*inputs.archiving, inputs.previous_conditions, inputs.now));
    status.archiving = *inputs.archiving;
  }
  if (inputs.rejoins.empty()) {
    conditions.push_back(condition(inputs.previous_conditions, "MembersFollowPrimary", true, "NoDivergedMembers",
                                   "no member reports a history that cannot follow the primary", inputs.now));
  } else {
    std::vector<std::string> which;
    bool needs_person = false;
    for (const auto& [member, rejoin] : inputs.rejoins) {
      const std::string state = string_at(rejoin, "state");
      needs_person = needs_person || state == "needsAttention" || state == "rebuildFailed";
      which.push_back(fmt::format("{} {}: {}", member, state, string_at(rejoin, "reason")));
    }
    conditions.push_back(condition(inputs.previous_conditions, "MembersFollowPrimary", false,
                                   needs_person ? "DivergedMemberNeedsAttention" : "RepairingDivergedMember",
                                   fmt::format("{}", fmt::join(which, "; ")), inputs.now));
  }
  if (!inputs.member_extensions.empty()) {
    status.extensions = extensions_summary(inputs.member_extensions);
    std::vector<std::string> problems;
    bool installing = false;
    for (const auto& [member, section] : inputs.member_extensions) {
      const Json missing = section.value("missingPackages", Json::array());
      if (!missing.is_array() || missing.empty()) continue;
      installing = installing || section.value("installing", false);
      std::vector<std::string> packages;
      for (const auto& package : missing)
        packages.push_back(package.is_string() ? package.get<std::string>() : package.dump());
      const std::string problem = string_at(section, "problem");
      problems.push_back(fmt::format(
          "{}: {} missing{}", member, fmt::join(packages, ", "),
          problem.empty() ? std::string(installing ? " (installing)" : "") : fmt::format(" ({})", problem)));
    }
    conditions.push_back(condition(inputs.previous_conditions, "ExtensionsAvailable", problems.empty(),
                                   problems.empty() ? "Installed" : (installing ? "Installing" : "PackagesMissing"),
                                   problems.empty()
                                       ? std::string("every member's host has the packages of postgres.extensions")
                                       : fmt::format("{}", fmt::join(problems, "; ")),
                                   inputs.now));
  }
  status.metrics = inputs.metrics;
  if (inputs.log_store) {
    Json shipping = Json::object();
    for (const auto& [member, logs] : inputs.member_log_shipping)
      shipping[member] = model::reported_log_shipping_to_json(logs);
    status.log_shipping = std::move(shipping);
    conditions.push_back(logs_behind_condition(inputs.member_log_shipping, inputs.previous_conditions, inputs.now));
  }
  if (inputs.alerts) {
    conditions.push_back(alerts_firing_condition(*inputs.alerts, inputs.previous_conditions, inputs.now));
    if (inputs.alerts->problem.empty()) status.alerts = status_alerts(inputs.alerts->alerts);
  }
  for (const Json& event : merge_events(inputs.previous_events, inputs.member_events)) {
    status.events.push_back({string_at(event, "at"), string_at(event, "member"), string_at(event, "type"),
                             string_at(event, "reason"), string_at(event, "message")});
  }
  status.backups = backups_summary(inputs.backups);
  return status;
}

}  // namespace pgstack::controller
