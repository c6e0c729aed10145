#include "controller/restore_source.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/time.h"
#include "model/lsn.h"

namespace pgstack::controller {
namespace {

using model::Json;

constexpr const char* kBackupPath = "spec.initialData.restore.fromBackup.name";
constexpr const char* kTimestampPath = "spec.initialData.restore.fromBackup.pointInTimeRecovery.restoreToTimestamp";
constexpr const char* kLsnPath = "spec.initialData.restore.fromBackup.targetLsn";

std::string string_at(const Json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

std::string phase_of(const Json& status) {
  const std::string phase = string_at(status, "phase");
  return phase.empty() ? "Pending" : phase;
}

}  // namespace

std::optional<FieldProblem> check_restore_request(const model::RestoreSource& source, const std::string& namespace_name,
                                                  const Json* backup_status, UtcSeconds now) {
  if (backup_status == nullptr)
    return FieldProblem{kBackupPath,
                        fmt::format("SGBackup/{} does not exist in namespace {}", source.backup, namespace_name)};
  const std::string phase = phase_of(*backup_status);
  if (phase != "Completed") {
    std::string message =
        fmt::format("SGBackup/{} is {}, not Completed: only a completed backup can be restored", source.backup, phase);
    if (const std::string why = string_at(*backup_status, "message"); phase == "Failed" && !why.empty())
      message += fmt::format(" (it failed: {})", why);
    return FieldProblem{kBackupPath, message};
  }
  if (source.target_lsn) {
    // Recovery must at least reach the end of the backup, where the restored copy becomes consistent.
    const std::string stop_text = backup_status->value("/lsn/stop"_json_pointer, std::string());
    const auto target = model::parse_lsn(*source.target_lsn);
    const auto stop = model::parse_lsn(stop_text);
    if (target && stop && *target < *stop)
      return FieldProblem{kLsnPath, fmt::format("targetLsn {} is before backup {} ends (LSN {}); the earliest LSN this "
                                                "backup can restore to is {}",
                                                *source.target_lsn, source.backup, stop_text, stop_text)};
  }
  if (!source.target_time) return std::nullopt;
  const auto target = parse_utc_timestamp(*source.target_time);
  if (!target)
    return FieldProblem{kTimestampPath, fmt::format("expected an ISO-8601 timestamp such as 2026-11-24T01:30:00Z, got "
                                                    "\"{}\"",
                                                    *source.target_time)};
  const std::string finished_text = string_at(*backup_status, "finishedAt");
  const auto finished = parse_utc_timestamp(finished_text);
  if (!finished) return std::nullopt;  // the agent always records it; nothing to compare with otherwise
  const std::string range =
      fmt::format("this backup can restore to any point from {} to now ({})", finished_text, utc_timestamp(now));
  if (*target < *finished) {
    return FieldProblem{
        kTimestampPath,
        fmt::format("restoreToTimestamp {} is before backup {} finished ({}); the earliest point this "
                    "backup can restore to is {}, the latest is now ({})",
                    *source.target_time, source.backup, finished_text, finished_text, utc_timestamp(now))};
  }
  if (*target > now)
    return FieldProblem{kTimestampPath,
                        fmt::format("restoreToTimestamp {} is in the future; {}", *source.target_time, range)};
  return std::nullopt;
}

std::optional<FieldProblem> resolve_backup_uid(model::Json& cluster_body, const std::vector<model::Document>& backups) {
  const Json::json_pointer pointer("/spec/initialData/restore/fromBackup");
  if (!cluster_body.contains(pointer)) return std::nullopt;
  Json& from = cluster_body.at(pointer);
  if (!from.is_object() || !from.contains("uid") || !from["uid"].is_string()) return std::nullopt;
  const std::string uid = from["uid"].get<std::string>();
  const std::string path = "spec.initialData.restore.fromBackup.uid";
  for (const auto& backup : backups) {
    const Json metadata = backup.body.value("metadata", Json::object());
    if (!metadata.is_object() || metadata.value("uid", Json()) != Json(uid)) continue;
    if (from.contains("name") && from["name"] != Json(backup.name()))
      return FieldProblem{path, fmt::format("uid {} is SGBackup/{}'s, but fromBackup.name is {}", uid, backup.name(),
                                            from["name"].dump())};
    from["name"] = backup.name();
    return std::nullopt;
  }
  if (from.contains("name")) return std::nullopt;  // the name decides; the admission checks it
  return FieldProblem{path,
                      fmt::format("no SGBackup in namespace {} has uid {}",
                                  cluster_body.value("metadata", Json::object()).value("namespace", "default"), uid)};
}

std::string restore_storage_name(const Json& backup_status) {
  return string_at(backup_status.is_object() ? backup_status.value("repository", Json::object()) : Json::object(),
                   "objectStorage");
}

Result<model::RestoreAssignment> restore_assignment(const model::RestoreSource& source,
                                                    const std::string& namespace_name, const Json* backup_status,
                                                    const Json& storage) {
  if (backup_status == nullptr)
    return make_error(ErrorCode::kNotFound,
                      fmt::format("SGBackup/{} (spec.initialData.restore.fromBackup.name) does not exist in namespace "
                                  "{}: the restore cannot start",
                                  source.backup, namespace_name));
  const std::string phase = phase_of(*backup_status);
  if (phase != "Completed")
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("SGBackup/{} is {}, not Completed: the restore cannot start", source.backup, phase));
  const std::string label = string_at(*backup_status, "label");
  const std::string storage_name = restore_storage_name(*backup_status);
  if (label.empty() || storage_name.empty())
    return make_error(
        ErrorCode::kFailedPrecondition,
        fmt::format("SGBackup/{} has no label or repository in its status: the restore cannot start", source.backup));
  if (!storage.is_object())
    return make_error(ErrorCode::kNotFound,
                      fmt::format("SGObjectStorage/{} (the repository of SGBackup/{}) does not exist in namespace {}: "
                                  "the restore cannot start",
                                  storage_name, source.backup, namespace_name));
  const Json repository = backup_status->value("repository", Json::object());
  model::RestoreAssignment restore;
  restore.backup = source.backup;
  restore.label = label;
  restore.storage_document = storage;
  restore.storage = model::object_storage_from(model::Document{"restore", 0, storage});
  restore.path = string_at(repository, "path");
  restore.stanza = string_at(repository, "stanza");
  restore.target = source;
  Json target = Json::object();
  if (source.target_time) target["time"] = *source.target_time;
  if (source.target_lsn) target["lsn"] = *source.target_lsn;
  if (source.target_xid) target["xid"] = *source.target_xid;
  if (source.target_name) target["name"] = *source.target_name;
  if (source.target_immediate) target["immediate"] = true;
  if (!target.empty()) {
    target["inclusive"] = source.target_inclusive;
    restore.target_json = target;
  }
  return restore;
}

namespace {

// The primary is running: it can seal its current WAL segment when a restore asks (docs/backups.md).
bool primary_running(const Json& cluster_status) {
  const std::string primary = string_at(cluster_status, "primary");
  if (primary.empty()) return false;
  for (const auto& member : cluster_status.value("members", Json::array())) {
    if (member.is_object() && string_at(member, "name") == primary) return string_at(member, "state") == "running";
  }
  return false;
}

}  // namespace

Json recovery_window(const std::vector<model::Document>& backups, const Json& cluster_status, UtcSeconds now) {
  struct Usable {
    UtcSeconds finished;
    Json entry;
  };
  std::vector<Usable> usable;
  for (const auto& backup : backups) {
    const Json status = backup.body.value("status", Json::object());
    if (phase_of(status) != "Completed") continue;
    const auto finished = parse_utc_timestamp(string_at(status, "finishedAt"));
    if (!finished) continue;
    usable.push_back({*finished,
                      {{"name", backup.name()},
                       {"finishedAt", utc_timestamp(*finished)},
                       {"type", status.value("type", Json())},
                       {"timeline", status.value("timeline", Json())},
                       {"verification", status.value("/verification/phase"_json_pointer, Json())}}});
  }
  std::sort(usable.begin(), usable.end(), [](const Usable& a, const Usable& b) { return a.finished < b.finished; });
  Json window = {
      {"kind", "RecoveryWindow"}, {"observedAt", utc_timestamp(now)}, {"earliest", nullptr},  {"latest", nullptr},
      {"latestReason", ""},       {"backups", Json::array()},         {"gaps", Json::array()}};
  if (usable.empty()) {
    window["latestReason"] =
        "no Completed backup: a restore starts from a backup (take one from the Backups page or "
        "with `pgstack backup`)";
    return window;
  }
  for (auto& backup : usable) window["backups"].push_back(std::move(backup.entry));
  window["earliest"] = utc_timestamp(usable.front().finished);

  const Json archiving = cluster_status.value("archiving", Json::object());
  const bool failing = archiving.is_object() && archiving.value("failing", false);
  const auto last_archived = parse_utc_timestamp(archiving.is_object() ? string_at(archiving, "lastArchivedTime") : "");
  // What the repository holds for sure: up to the last archived segment, and never before the newest backup's end.
  UtcSeconds archived_end = usable.back().finished;
  if (last_archived && *last_archived > archived_end) archived_end = *last_archived;

  if (primary_running(cluster_status) && !failing) {
    window["latest"] = utc_timestamp(now);
    window["latestReason"] =
        "now: a restore has the primary switch to a new WAL segment and archive it first, so "
        "every transaction committed before the restore is asked for is reachable";
    return window;
  }
  window["latest"] = utc_timestamp(archived_end);
  if (failing) {
    const std::string since = string_at(archiving, "lastFailedTime");
    const std::string why = string_at(archiving, "lastFailureMessage");
    window["latestReason"] =
        "the last archived WAL segment: archiving is failing, later WAL is only in the primary's "
        "pg_wal";
    window["gaps"].push_back(
        {{"from", utc_timestamp(archived_end)},
         {"to", utc_timestamp(now)},
         {"reason", fmt::format("archiving has failed since {}{}; the primary keeps this WAL until it can be archived",
                                since.empty() ? "an unknown time" : since, why.empty() ? "" : ": " + why)}});
  } else {
    window["latestReason"] =
        "the last archived WAL segment: the cluster has no running primary to switch to a new "
        "segment, so later WAL cannot be reached";
  }
  return window;
}

std::optional<FieldProblem> restore_target_beyond(const Json& window, const std::string& target_time) {
  const auto target = parse_utc_timestamp(target_time);
  const auto latest = parse_utc_timestamp(
      window.value("latest", Json()).is_string() ? window["latest"].get<std::string>() : std::string());
  if (!target || !latest || *target <= *latest) return std::nullopt;
  return FieldProblem{kTimestampPath,
                      fmt::format("restoreToTimestamp {} is after the latest time a restore can reach ({}): {}",
                                  target_time, window["latest"].get<std::string>(), window.value("latestReason", ""))};
}

}  // namespace pgstack::controller
