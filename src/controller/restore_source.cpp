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

// "000000010000000A000000FF" -> "0000000A000000FF": the segment number's fixed-width hex digits, which
// order as the numbers do (archive continuity names holes without a timeline).
std::string segment_digits(const std::string& name) { return name.size() == 24 ? name.substr(8) : std::string(); }

// The repository's holes (the agent's archive continuity, agent/archive_continuity.h), oldest first.
struct Hole {
  std::string missing_from;
  std::string missing_to;
  std::optional<UtcSeconds> before_archived;  // nullopt: no segment of the window before it
  std::string before_segment;
};

std::vector<Hole> holes_of(const Json& continuity) {
  std::vector<Hole> holes;
  if (!continuity.is_object()) return holes;
  for (const auto& entry : continuity.value("holes", Json::array())) {
    if (!entry.is_object()) continue;
    Hole hole{string_at(entry, "missingFrom"), string_at(entry, "missingTo"), std::nullopt, ""};
    if (hole.missing_from.empty() || hole.missing_to.empty()) continue;
    const Json before = entry.value("before", Json());
    hole.before_archived = parse_utc_timestamp(string_at(before, "archivedAt"));
    hole.before_segment = string_at(before, "segment");
    holes.push_back(std::move(hole));
  }
  std::sort(holes.begin(), holes.end(), [](const Hole& a, const Hole& b) { return a.missing_from < b.missing_from; });
  return holes;
}

// The numbers are a segment file name's last 16 digits: the eight before them (the timeline) are stars,
// since no timeline has the segment (archive_continuity.h).
std::string hole_text(const Hole& hole) {
  return hole.missing_from == hole.missing_to
             ? fmt::format("WAL segment ********{} (on no timeline) is", hole.missing_from)
             : fmt::format("WAL segments ********{} to ********{} (on no timeline) are", hole.missing_from,
                           hole.missing_to);
}

}  // namespace

Json recovery_window(const std::vector<model::Document>& backups, const Json& cluster_status, UtcSeconds now,
                     const Json& archive_continuity) {
  struct Usable {
    UtcSeconds finished;
    std::string first_segment;  // segment_digits of its first WAL segment ("" when unknown)
    Json entry;
  };
  std::vector<Usable> usable;
  for (const auto& backup : backups) {
    const Json status = backup.body.value("status", Json::object());
    if (phase_of(status) != "Completed") continue;
    const auto finished = parse_utc_timestamp(string_at(status, "finishedAt"));
    if (!finished) continue;
    usable.push_back({*finished,
                      segment_digits(string_at(status.value("wal", Json::object()), "start")),
                      {{"name", backup.name()},
                       {"finishedAt", utc_timestamp(*finished)},
                       {"type", status.value("type", Json())},
                       {"timeline", status.value("timeline", Json())},
                       {"verification", status.value("/verification/phase"_json_pointer, Json())},
                       {"reachableUntil", nullptr}}});
  }
  std::sort(usable.begin(), usable.end(), [](const Usable& a, const Usable& b) { return a.finished < b.finished; });
  Json window = {
      {"kind", "RecoveryWindow"}, {"observedAt", utc_timestamp(now)}, {"earliest", nullptr},  {"latest", nullptr},
      {"latestReason", ""},       {"backups", Json::array()},         {"gaps", Json::array()}};
  if (archive_continuity.is_object()) window["archiveCheckedAt"] = archive_continuity.value("checkedAt", Json());
  if (usable.empty()) {
    window["latestReason"] =
        "no Completed backup: a restore starts from a backup (take one from the Backups page or "
        "with `pgstack backup`)";
    return window;
  }

  const Json archiving = cluster_status.value("archiving", Json::object());
  const bool failing = archiving.is_object() && archiving.value("failing", false);
  const auto last_archived = parse_utc_timestamp(archiving.is_object() ? string_at(archiving, "lastArchivedTime") : "");
  // What the repository holds for sure: up to the last archived segment, and never before the newest backup's end.
  UtcSeconds archived_end = usable.back().finished;
  if (last_archived && *last_archived > archived_end) archived_end = *last_archived;

  // Where the archive itself ends for every backup: now while the primary runs and archives, else the last
  // archived segment.
  UtcSeconds end = archived_end;
  std::string end_reason;
  Json failing_gap;
  if (primary_running(cluster_status) && !failing) {
    end = now;
    end_reason =
        "now: a restore has the primary switch to a new WAL segment and archive it first, so "
        "every transaction committed before the restore is asked for is reachable";
  } else if (failing) {
    const std::string since = string_at(archiving, "lastFailedTime");
    const std::string why = string_at(archiving, "lastFailureMessage");
    end_reason =
        "the last archived WAL segment: archiving is failing, later WAL is only in the primary's "
        "pg_wal";
    failing_gap = {{"from", utc_timestamp(archived_end)},
                   {"to", utc_timestamp(now)},
                   {"reason", fmt::format("archiving has failed since {}{}; the primary keeps this WAL until it can be "
                                          "archived",
                                          since.empty() ? "an unknown time" : since, why.empty() ? "" : ": " + why)}};
  } else {
    end_reason =
        "the last archived WAL segment: the cluster has no running primary to switch to a new "
        "segment, so later WAL cannot be reached";
  }

  // A restore replays WAL in order from its backup's first segment: a hole at or after that segment
  // ends what the backup can reach at the last segment archived before the hole.
  const std::vector<Hole> holes = holes_of(archive_continuity);
  struct Reach {
    UtcSeconds from;
    UtcSeconds until;
    const Hole* hole;  // what ends it; nullptr: the archive's end
  };
  std::vector<Reach> reaches;
  for (auto& backup : usable) {
    Reach reach{backup.finished, end, nullptr};
    for (const auto& hole : holes) {
      if (backup.first_segment.empty() || hole.missing_to < backup.first_segment) continue;
      reach.until = hole.before_archived && hole.missing_from > backup.first_segment
                        ? std::min(*hole.before_archived, end)
                        : backup.finished;
      reach.hole = &hole;
      break;
    }
    if (reach.hole != nullptr) {
      backup.entry["reachableUntil"] = utc_timestamp(std::max(reach.until, backup.finished));
      backup.entry["reachableReason"] = fmt::format("{} missing from the repository", hole_text(*reach.hole));
    }
    // Without a hole a backup reaches at least its own end (where its restore becomes consistent).
    if (reach.hole == nullptr || reach.until > backup.finished) reaches.push_back(reach);
  }
  for (auto& backup : usable) window["backups"].push_back(std::move(backup.entry));
  if (reaches.empty()) {
    window["latestReason"] = fmt::format(
        "no backup can be restored: {} missing from the repository, and every backup needs WAL from them "
        "(take a new backup)",
        hole_text(holes.front()));
    return window;
  }

  // The union of what the backups reach: the earliest start, the latest end, and between them the gaps.
  std::sort(reaches.begin(), reaches.end(), [](const Reach& a, const Reach& b) { return a.from < b.from; });
  window["earliest"] = utc_timestamp(reaches.front().from);
  UtcSeconds covered = reaches.front().until;
  const Hole* covered_by = reaches.front().hole;
  for (std::size_t i = 1; i < reaches.size(); ++i) {
    if (reaches[i].from > covered) {
      window["gaps"].push_back(
          {{"from", utc_timestamp(covered)},
           {"to", utc_timestamp(reaches[i].from)},
           {"reason", fmt::format("{} missing from the repository: a restore cannot replay past them until the next "
                                  "backup ends",
                                  covered_by != nullptr ? hole_text(*covered_by) : std::string("WAL"))}});
    }
    if (reaches[i].until >= covered) {
      covered = reaches[i].until;
      covered_by = reaches[i].hole;
    }
  }
  window["latest"] = utc_timestamp(covered);
  if (covered_by != nullptr) {
    window["latestReason"] = fmt::format(
        "the last WAL segment archived ({}) before a hole in the repository: {} missing, so later WAL cannot be "
        "replayed from any backup (take a new backup)",
        covered_by->before_segment, hole_text(*covered_by));
    if (end > covered)
      window["gaps"].push_back(
          {{"from", utc_timestamp(covered)},
           {"to", utc_timestamp(end)},
           {"reason", fmt::format("{} missing from the repository (checked at {})", hole_text(*covered_by),
                                  archive_continuity.value("checkedAt", std::string("an unknown time")))}});
  } else {
    window["latestReason"] = end_reason;
  }
  if (!failing_gap.is_null()) window["gaps"].push_back(std::move(failing_gap));
  return window;
}

std::optional<FieldProblem> restore_target_unreachable(const Json& window, const std::string& backup_name,
                                                       const std::string& target_time) {
  const auto target = parse_utc_timestamp(target_time);
  if (!target) return std::nullopt;
  for (const auto& backup : window.value("backups", Json::array())) {
    if (!backup.is_object() || string_at(backup, "name") != backup_name) continue;
    const auto until = parse_utc_timestamp(string_at(backup, "reachableUntil"));
    if (until && *target >= *until)
      return FieldProblem{
          kTimestampPath,
          fmt::format("restoreToTimestamp {} cannot be reached from SGBackup/{}: its WAL ends at {} ({}); "
                      "choose an earlier time or a backup taken after that",
                      target_time, backup_name, string_at(backup, "reachableUntil"),
                      string_at(backup, "reachableReason"))};
  }
  return restore_target_beyond(window, target_time);
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
