// When the controller creates backups: cron fires, the first backup, catch-up after downtime.
#include "controller/backup_schedule.h"

#include <gtest/gtest.h>

namespace pgstack::controller {
namespace {

using std::chrono::minutes;

UtcSeconds at(std::string_view text) {
  const auto parsed = parse_utc_timestamp(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(UtcSeconds{});
}

model::CronSchedule cron(std::string_view expression) {
  auto parsed = model::parse_cron(expression);
  EXPECT_TRUE(parsed.ok()) << expression;
  return parsed.ok() ? parsed.value() : model::CronSchedule{};
}

std::string next(std::string_view expression, std::string_view after) {
  const auto fire = next_fire_after(cron(expression), at(after));
  return fire ? utc_timestamp(*fire) : "never";
}

std::string last(std::string_view expression, std::string_view at_or_before) {
  const auto fire = last_fire_at_or_before(cron(expression), at(at_or_before));
  return fire ? utc_timestamp(*fire) : "never";
}

TEST(BackupName, IsTheClusterAndTheUtcTime) {
  EXPECT_EQ(backup_name_at("demo", at("2026-01-02T03:04:05Z")), "demo-20260102030405");
}

TEST(CronMatches, MinuteHourDayMonthWeekday) {
  EXPECT_TRUE(cron_matches(cron("*/15 * * * *"), at("2026-11-24T01:45:30Z")));
  EXPECT_FALSE(cron_matches(cron("*/15 * * * *"), at("2026-11-24T01:46:00Z")));
  EXPECT_TRUE(cron_matches(cron("0 2 * * *"), at("2026-11-24T02:00:59Z")));
  EXPECT_FALSE(cron_matches(cron("0 2 * * *"), at("2026-11-24T03:00:00Z")));
  // 2026-11-24 is a Tuesday.
  EXPECT_TRUE(cron_matches(cron("0 0 * * tue"), at("2026-11-24T00:00:00Z")));
  EXPECT_FALSE(cron_matches(cron("0 0 * * mon"), at("2026-11-24T00:00:00Z")));
  EXPECT_FALSE(cron_matches(cron("0 0 1 dec *"), at("2026-11-01T00:00:00Z")));
}

TEST(CronMatches, RestrictedDayFieldsMatchEitherAsCronDoes) {
  // The 1st of the month or any Monday.
  const auto schedule = cron("0 0 1 * mon");
  EXPECT_TRUE(cron_matches(schedule, at("2026-11-01T00:00:00Z")));  // a Sunday, the 1st
  EXPECT_TRUE(cron_matches(schedule, at("2026-11-23T00:00:00Z")));  // a Monday
  EXPECT_FALSE(cron_matches(schedule, at("2026-11-24T00:00:00Z")));
  // With one day field left as *, the other decides.
  EXPECT_FALSE(cron_matches(cron("0 0 1 * *"), at("2026-11-23T00:00:00Z")));
}

TEST(NextFireAfter, StrictlyAfterAndAcrossDaysMonthsYears) {
  EXPECT_EQ(next("*/15 * * * *", "2026-11-24T01:30:00Z"), "2026-11-24T01:45:00Z");
  EXPECT_EQ(next("*/15 * * * *", "2026-11-24T01:44:59Z"), "2026-11-24T01:45:00Z");
  EXPECT_EQ(next("0 2 * * *", "2026-11-24T02:00:00Z"), "2026-11-25T02:00:00Z");
  EXPECT_EQ(next("30 23 31 * *", "2026-11-24T00:00:00Z"), "2026-12-31T23:30:00Z");
  EXPECT_EQ(next("@yearly", "2026-06-01T00:00:00Z"), "2027-01-01T00:00:00Z");
  EXPECT_EQ(next("0 0 29 2 *", "2026-03-01T00:00:00Z"), "2028-02-29T00:00:00Z");
  EXPECT_EQ(next("0 12 * * sun", "2026-11-24T00:00:00Z"), "2026-11-29T12:00:00Z");
  EXPECT_EQ(next("0 0 30 2 *", "2026-01-01T00:00:00Z"), "never");
}

TEST(LastFireAtOrBefore, IncludesTheCurrentMinute) {
  EXPECT_EQ(last("*/15 * * * *", "2026-11-24T01:45:30Z"), "2026-11-24T01:45:00Z");
  EXPECT_EQ(last("*/15 * * * *", "2026-11-24T01:44:59Z"), "2026-11-24T01:30:00Z");
  EXPECT_EQ(last("0 2 * * *", "2026-11-24T01:00:00Z"), "2026-11-23T02:00:00Z");
  EXPECT_EQ(last("0 0 1 * *", "2026-11-24T00:00:00Z"), "2026-11-01T00:00:00Z");
  EXPECT_EQ(last("59 23 31 12 *", "2026-11-24T00:00:00Z"), "2025-12-31T23:59:00Z");
  EXPECT_EQ(last("0 0 30 2 *", "2026-01-01T00:00:00Z"), "never");
}

BackupScheduleInput daily_at_two(std::string_view now) {
  BackupScheduleInput input;
  input.cluster = "demo";
  input.cluster_uid = "uid-1";
  input.schedule = cron("0 2 * * *");
  input.cluster_ready = true;
  input.cluster_has_backups = true;
  input.state = BackupScheduleState{"uid-1", at("2026-11-23T02:00:00Z"), true};
  input.now = at(now);
  return input;
}

TEST(DecideBackup, FirstBackupOnceTheClusterIsReady) {
  BackupScheduleInput input = daily_at_two("2026-11-24T01:30:12Z");
  input.state.reset();
  input.cluster_has_backups = false;
  input.cluster_ready = false;
  BackupScheduleDecision decision = decide_backup(input);
  EXPECT_EQ(decision.trigger, BackupTrigger::kNone);
  EXPECT_FALSE(decision.state.first_backup_done);

  input.cluster_ready = true;
  decision = decide_backup(input);
  EXPECT_EQ(decision.trigger, BackupTrigger::kFirst);
  EXPECT_EQ(decision.backup_name, "demo-20261124013012");
  EXPECT_TRUE(decision.state_changed);
  EXPECT_TRUE(decision.state.first_backup_done);
  EXPECT_EQ(decision.state.last_scheduled, at("2026-11-24T01:30:00Z"));

  // Stored, the next pass creates nothing, even if the backups were deleted meanwhile.
  input.state = decision.state;
  input.now += std::chrono::seconds(1);
  decision = decide_backup(input);
  EXPECT_EQ(decision.trigger, BackupTrigger::kNone);
  EXPECT_FALSE(decision.state_changed);
}

TEST(DecideBackup, NoFirstBackupWhenTheClusterAlreadyHasOne) {
  BackupScheduleInput input = daily_at_two("2026-11-24T01:30:00Z");
  input.state.reset();
  const BackupScheduleDecision decision = decide_backup(input);
  EXPECT_EQ(decision.trigger, BackupTrigger::kNone);
  EXPECT_TRUE(decision.state.first_backup_done);
  EXPECT_TRUE(decision.state_changed);
}

TEST(DecideBackup, AClusterCreatedAgainUnderTheSameNameStartsAfresh) {
  BackupScheduleInput input = daily_at_two("2026-11-24T01:30:00Z");
  input.cluster_uid = "uid-2";
  input.cluster_has_backups = false;
  const BackupScheduleDecision decision = decide_backup(input);
  EXPECT_EQ(decision.trigger, BackupTrigger::kFirst);
  EXPECT_EQ(decision.state.cluster_uid, "uid-2");
}

TEST(DecideBackup, ScheduledOncePerFireMinute) {
  BackupScheduleInput input = daily_at_two("2026-11-24T01:59:59Z");
  EXPECT_EQ(decide_backup(input).trigger, BackupTrigger::kNone);

  input.now = at("2026-11-24T02:00:03Z");
  BackupScheduleDecision decision = decide_backup(input);
  EXPECT_EQ(decision.trigger, BackupTrigger::kSchedule);
  EXPECT_EQ(decision.backup_name, "demo-20261124020000");
  EXPECT_EQ(decision.state.last_scheduled, at("2026-11-24T02:00:00Z"));

  // Later in the same minute (or after a controller restart that reads the stored state): nothing.
  input.state = backup_schedule_state_from_json(backup_schedule_state_to_json(decision.state).dump());
  input.now = at("2026-11-24T02:00:58Z");
  decision = decide_backup(input);
  EXPECT_EQ(decision.trigger, BackupTrigger::kNone);
  EXPECT_FALSE(decision.state_changed);
}

TEST(DecideBackup, OneCatchUpForFiresMissedWhileDown) {
  // Down from before 02:00 on the 24th until the 27th at 09:15: three fires missed, one backup.
  BackupScheduleInput input = daily_at_two("2026-11-27T09:15:00Z");
  input.schedule = cron("0 2 * * *");
  BackupScheduleDecision decision = decide_backup(input);
  EXPECT_EQ(decision.trigger, BackupTrigger::kCatchUp);
  EXPECT_EQ(decision.backup_name, "demo-20261127020000");
  input.state = decision.state;
  input.now = at("2026-11-27T09:16:00Z");
  EXPECT_EQ(decide_backup(input).trigger, BackupTrigger::kNone);
  input.now = at("2026-11-28T02:00:00Z");
  EXPECT_EQ(decide_backup(input).trigger, BackupTrigger::kSchedule);
}

TEST(DecideBackup, MissedFiresUpToThisMinuteAreOneScheduledBackup) {
  BackupScheduleInput input = daily_at_two("2026-11-25T02:00:10Z");
  const BackupScheduleDecision decision = decide_backup(input);
  EXPECT_EQ(decision.trigger, BackupTrigger::kSchedule);
  EXPECT_EQ(decision.backup_name, "demo-20261125020000");
}

TEST(DecideBackup, WithoutAScheduleOnlyTheFirstBackup) {
  BackupScheduleInput input = daily_at_two("2026-11-25T02:00:00Z");
  input.schedule.reset();
  EXPECT_EQ(decide_backup(input).trigger, BackupTrigger::kNone);
}

TEST(DecideBackup, AScheduleAddedLaterCountsFromNow) {
  BackupScheduleInput input = daily_at_two("2026-11-25T01:00:00Z");
  input.state->last_scheduled.reset();
  BackupScheduleDecision decision = decide_backup(input);
  EXPECT_EQ(decision.trigger, BackupTrigger::kNone);
  EXPECT_TRUE(decision.state_changed);
  input.state = decision.state;
  input.now = at("2026-11-25T02:00:00Z");
  EXPECT_EQ(decide_backup(input).trigger, BackupTrigger::kSchedule);
}

TEST(BackupScheduleState, RoundTripsAndToleratesGarbage) {
  const BackupScheduleState state{"uid", at("2026-11-24T02:00:00Z"), true};
  EXPECT_EQ(backup_schedule_state_from_json(backup_schedule_state_to_json(state).dump()), state);
  EXPECT_EQ(backup_schedule_state_from_json("not json"), BackupScheduleState{});
}

}  // namespace
}  // namespace pgstack::controller
