#include "controller/backup_schedule.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

namespace pgstack::controller {
namespace {

using model::Json;
using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;

// Five years of days, hours and minutes to skip: enough for any schedule that fires at all.
constexpr int kSearchSteps = 5 * 366 * (1 + 24 + 60);

struct Calendar {
  std::chrono::sys_days day;
  std::chrono::year_month_day date;
  int hour = 0;
  int minute = 0;
};

Calendar calendar_of(UtcSeconds time) {
  Calendar out;
  out.day = std::chrono::floor<days>(time);
  out.date = std::chrono::year_month_day{out.day};
  const auto in_day = std::chrono::duration_cast<minutes>(time - out.day);
  out.hour = static_cast<int>(in_day.count() / 60);
  out.minute = static_cast<int>(in_day.count() % 60);
  return out;
}

bool day_matches(const model::CronSchedule& schedule, const Calendar& at) {
  const bool day_of_month = schedule.days_of_month.test(static_cast<unsigned>(at.date.day()));
  const bool day_of_week = schedule.days_of_week.test(std::chrono::weekday{at.day}.c_encoding());
  if (schedule.day_of_month_restricted && schedule.day_of_week_restricted) return day_of_month || day_of_week;
  return day_of_month && day_of_week;
}

bool month_matches(const model::CronSchedule& schedule, const Calendar& at) {
  return schedule.months.test(static_cast<unsigned>(at.date.month()));
}

std::chrono::sys_days first_of_month(const Calendar& at) {
  return std::chrono::sys_days{at.date.year() / at.date.month() / 1};
}

}  // namespace

bool cron_matches(const model::CronSchedule& schedule, UtcSeconds time) {
  const Calendar at = calendar_of(time);
  return month_matches(schedule, at) && day_matches(schedule, at) && schedule.hours.test(at.hour) &&
         schedule.minutes.test(at.minute);
}

std::optional<UtcSeconds> next_fire_after(const model::CronSchedule& schedule, UtcSeconds after) {
  UtcSeconds time = std::chrono::floor<minutes>(after) + minutes(1);
  for (int step = 0; step < kSearchSteps; ++step) {
    const Calendar at = calendar_of(time);
    if (!month_matches(schedule, at)) {
      time = std::chrono::sys_days{(at.date.year() / at.date.month() / 1) + std::chrono::months(1)};
    } else if (!day_matches(schedule, at)) {
      time = at.day + days(1);
    } else if (!schedule.hours.test(at.hour)) {
      time = at.day + hours(at.hour + 1);
    } else if (!schedule.minutes.test(at.minute)) {
      time += minutes(1);
    } else {
      return time;
    }
  }
  return std::nullopt;
}

std::optional<UtcSeconds> last_fire_at_or_before(const model::CronSchedule& schedule, UtcSeconds at_time) {
  UtcSeconds time = std::chrono::floor<minutes>(at_time);
  for (int step = 0; step < kSearchSteps; ++step) {
    const Calendar at = calendar_of(time);
    // Each skip lands on the last minute of the previous month, day or hour.
    if (!month_matches(schedule, at)) {
      time = UtcSeconds{first_of_month(at)} - minutes(1);
    } else if (!day_matches(schedule, at)) {
      time = UtcSeconds{at.day} - minutes(1);
    } else if (!schedule.hours.test(at.hour)) {
      time = at.day + hours(at.hour) - minutes(1);
    } else if (!schedule.minutes.test(at.minute)) {
      time -= minutes(1);
    } else {
      return time;
    }
  }
  return std::nullopt;
}

Json backup_schedule_state_to_json(const BackupScheduleState& state) {
  return {{"clusterUid", state.cluster_uid},
          {"lastScheduled", state.last_scheduled ? Json(utc_timestamp(*state.last_scheduled)) : Json(nullptr)},
          {"firstBackupDone", state.first_backup_done}};
}

BackupScheduleState backup_schedule_state_from_json(std::string_view text) {
  BackupScheduleState state;
  const Json json = Json::parse(text, nullptr, false);
  if (!json.is_object()) return state;
  if (json.contains("clusterUid") && json["clusterUid"].is_string()) state.cluster_uid = json["clusterUid"];
  if (json.contains("lastScheduled") && json["lastScheduled"].is_string())
    state.last_scheduled = parse_utc_timestamp(json["lastScheduled"].get<std::string>());
  if (json.contains("firstBackupDone") && json["firstBackupDone"].is_boolean())
    state.first_backup_done = json["firstBackupDone"].get<bool>();
  return state;
}

std::string_view backup_trigger_name(BackupTrigger trigger) {
  switch (trigger) {
    case BackupTrigger::kNone: return "none";
    case BackupTrigger::kFirst: return "first backup";
    case BackupTrigger::kSchedule: return "cronSchedule";
    case BackupTrigger::kCatchUp: return "missed cronSchedule fire";
  }
  return "none";
}

BackupScheduleDecision decide_backup(const BackupScheduleInput& input) {
  BackupScheduleDecision decision;
  const UtcSeconds this_minute = std::chrono::floor<minutes>(input.now);
  const bool same_cluster = input.state && input.state->cluster_uid == input.cluster_uid;
  decision.state = same_cluster ? *input.state : BackupScheduleState{input.cluster_uid, std::nullopt, false};
  decision.state_changed = !same_cluster;
  BackupScheduleState& state = decision.state;

  if (!state.first_backup_done) {
    // Fires before the cluster is first Ready do not count: the first backup stands for them.
    if (!input.cluster_ready) return decision;
    state.first_backup_done = true;
    state.last_scheduled = this_minute;  // a fire in this minute is covered by the first backup
    decision.state_changed = true;
    if (!input.cluster_has_backups) {
      decision.trigger = BackupTrigger::kFirst;
      decision.backup_name = backup_name_at(input.cluster, input.now);
    }
    return decision;
  }
  if (!state.last_scheduled) {
    // Nothing remembered (the schedule was added later): fires from this minute on count.
    state.last_scheduled = this_minute - minutes(1);
    decision.state_changed = true;
  }
  if (!input.schedule) return decision;
  const auto next = next_fire_after(*input.schedule, *state.last_scheduled);
  if (!next || *next > input.now) return decision;
  // However many fires were missed, one backup, named for the latest of them.
  const auto latest = last_fire_at_or_before(*input.schedule, input.now);
  const UtcSeconds fire = latest ? *latest : *next;
  decision.trigger = fire == this_minute ? BackupTrigger::kSchedule : BackupTrigger::kCatchUp;
  decision.backup_name = backup_name_at(input.cluster, fire);
  state.last_scheduled = fire;
  decision.state_changed = true;
  return decision;
}

}  // namespace pgstack::controller
