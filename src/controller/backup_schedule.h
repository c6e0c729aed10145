// When the controller creates an SGBackup for a cluster: the first one right after the cluster is first
// Ready, then one per fire of its cronSchedule (UTC), never two for the same minute and at most one
// catch-up for fires missed while no controller ran. Pure: the reconciler reads the state kept in
// etcd (<prefix>/backup-schedule/<ns>/<cluster>) and the cluster's backups, and acts on the decision.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/time.h"
#include "model/cron.h"
#include "model/document.h"
#include "model/resources.h"

namespace pgstack::controller {

using UtcSeconds = std::chrono::sys_seconds;

// Whether the schedule fires in the minute that contains `time`. When both day fields are restricted,
// either one matching is enough (as cron does); otherwise both must match.
bool cron_matches(const model::CronSchedule& schedule, UtcSeconds time);
// The first minute strictly after `after` in which the schedule fires; nullopt when it never fires
// within five years (e.g. "0 0 30 2 *").
std::optional<UtcSeconds> next_fire_after(const model::CronSchedule& schedule, UtcSeconds after);
// The last minute at or before `at` (its minute included) in which the schedule fires, within five years.
std::optional<UtcSeconds> last_fire_at_or_before(const model::CronSchedule& schedule, UtcSeconds at);

using model::backup_name_at;  // "<cluster>-<YYYYMMDDHHMMSS>" (UTC) for that moment

// What the controller remembers per cluster, across restarts.
struct BackupScheduleState {
  std::string cluster_uid;                   // a cluster deleted and created again under the same name starts afresh
  std::optional<UtcSeconds> last_scheduled;  // the latest minute a backup was created for
  bool first_backup_done = false;
  bool operator==(const BackupScheduleState&) const = default;
};
model::Json backup_schedule_state_to_json(const BackupScheduleState& state);
// Anything unreadable is a fresh state.
BackupScheduleState backup_schedule_state_from_json(std::string_view text);

struct BackupScheduleInput {
  std::string cluster;
  std::string cluster_uid;
  std::optional<model::CronSchedule> schedule;  // nullopt: no cronSchedule, only the first backup
  bool cluster_ready = false;
  bool cluster_has_backups = false;          // any SGBackup with spec.sgCluster = this cluster
  std::optional<BackupScheduleState> state;  // nullopt: nothing stored yet
  UtcSeconds now;
};

enum class BackupTrigger {
  kNone,
  kFirst,     // the cluster is Ready for the first time and has no backup
  kSchedule,  // the schedule fires in this minute
  kCatchUp,   // the schedule fired while no controller ran: one backup for the latest missed fire
};
std::string_view backup_trigger_name(BackupTrigger trigger);

struct BackupScheduleDecision {
  BackupTrigger trigger = BackupTrigger::kNone;
  std::string backup_name;    // when trigger is not kNone
  BackupScheduleState state;  // to store once the backup exists
  bool state_changed = false;
};

// The backup name is a function of the minute it is for (kSchedule, kCatchUp), so creating it again
// after a crash between the create and the state write finds it exists instead of taking a second one.
BackupScheduleDecision decide_backup(const BackupScheduleInput& input);

}  // namespace pgstack::controller
