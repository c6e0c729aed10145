// A cluster restored from a backup: admission of the request and the assignment's "restore".
#include "controller/restore_source.h"

#include <gtest/gtest.h>

namespace pgstack::controller {
namespace {

using model::Json;

// What the agent reads: the restore as it is written into an assignment.
model::Assignment assignment_with(const model::RestoreAssignment& restore) {
  model::Assignment assignment;
  assignment.restore = restore;
  return assignment;
}

UtcSeconds utc(std::string_view text) { return parse_utc_timestamp(text).value_or(UtcSeconds{}); }

const Json kCompleted = Json::parse(R"({
  "phase": "Completed", "type": "full", "label": "20261124-010000F",
  "startedAt": "2026-11-24T01:00:00Z", "finishedAt": "2026-11-24T01:02:00Z",
  "lsn": {"start": "0/2000028", "stop": "0/2000138"},
  "repository": {"objectStorage": "backups", "path": "/srv/backups/default/demo", "stanza": "default-demo"}})");

model::RestoreSource source(std::optional<std::string> time = std::nullopt) {
  model::RestoreSource restore;
  restore.backup = "demo-20261124010000";
  restore.target_time = std::move(time);
  return restore;
}

TEST(CheckRestoreRequest, TheBackupMustExistAndBeCompleted) {
  const auto now = utc("2026-11-24T03:00:00Z");
  auto refused = check_restore_request(source(), "default", nullptr, now);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->path, "spec.initialData.restore.fromBackup.name");
  EXPECT_EQ(refused->message, "SGBackup/demo-20261124010000 does not exist in namespace default");

  const Json pending = nullptr;
  refused = check_restore_request(source(), "default", &pending, now);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->message,
            "SGBackup/demo-20261124010000 is Pending, not Completed: only a completed backup can be restored");

  const Json failed = {{"phase", "Failed"}, {"message", "disk full"}};
  refused = check_restore_request(source(), "default", &failed, now);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->message.find("(it failed: disk full)"), std::string::npos);

  EXPECT_FALSE(check_restore_request(source(), "default", &kCompleted, now));
}

TEST(CheckRestoreRequest, ThePointInTimeLiesBetweenTheBackupAndNow) {
  const auto now = utc("2026-11-24T03:00:00Z");
  EXPECT_FALSE(check_restore_request(source("2026-11-24T01:02:00Z"), "default", &kCompleted, now));
  EXPECT_FALSE(check_restore_request(source("2026-11-24T02:59:59Z"), "default", &kCompleted, now));

  auto refused = check_restore_request(source("2026-11-24T01:01:00Z"), "default", &kCompleted, now);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->path, "spec.initialData.restore.fromBackup.pointInTimeRecovery.restoreToTimestamp");
  EXPECT_EQ(refused->message,
            "restoreToTimestamp 2026-11-24T01:01:00Z is before backup demo-20261124010000 finished "
            "(2026-11-24T01:02:00Z); the earliest point this backup can restore to is 2026-11-24T01:02:00Z, the "
            "latest is now (2026-11-24T03:00:00Z)");

  refused = check_restore_request(source("2026-11-24T04:00:00Z"), "default", &kCompleted, now);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->message,
            "restoreToTimestamp 2026-11-24T04:00:00Z is in the future; this backup can restore to "
            "any point from 2026-11-24T01:02:00Z to now (2026-11-24T03:00:00Z)");
}

TEST(CheckRestoreRequest, ATargetLsnIsNotBeforeTheBackupEnds) {
  const auto now = utc("2026-11-24T03:00:00Z");
  model::RestoreSource to_lsn = source();
  for (const char* reachable : {"0/2000138", "0/3000000", "1/0"}) {
    to_lsn.target_lsn = reachable;
    EXPECT_FALSE(check_restore_request(to_lsn, "default", &kCompleted, now)) << reachable;
  }
  to_lsn.target_lsn = "0/2000100";
  auto refused = check_restore_request(to_lsn, "default", &kCompleted, now);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->path, "spec.initialData.restore.fromBackup.targetLsn");
  EXPECT_EQ(refused->message,
            "targetLsn 0/2000100 is before backup demo-20261124010000 ends (LSN 0/2000138); the "
            "earliest LSN this backup can restore to is 0/2000138");
}

TEST(RestoreAssignment, NamesTheLabelRepositoryAndTarget) {
  const Json storage = {{"kind", "SGObjectStorage"},
                        {"metadata", {{"name", "backups"}}},
                        {"spec", {{"type", "filesystem"}, {"filesystem", {{"path", "/srv/backups"}}}}}};
  EXPECT_EQ(restore_storage_name(kCompleted), "backups");
  auto restore = restore_assignment(source(), "default", &kCompleted, storage);
  ASSERT_TRUE(restore.ok()) << restore.error().message;
  EXPECT_EQ(model::assignment_to_json(assignment_with(*restore))["restore"],
            Json({{"backup", "demo-20261124010000"},
                  {"label", "20261124-010000F"},
                  {"repository",
                   {{"objectStorage", storage}, {"path", "/srv/backups/default/demo"}, {"stanza", "default-demo"}}}}));

  model::RestoreSource to_lsn = source();
  to_lsn.target_lsn = "0/3000060";
  to_lsn.target_inclusive = false;
  restore = restore_assignment(to_lsn, "default", &kCompleted, storage);
  ASSERT_TRUE(restore.ok());
  EXPECT_EQ(restore->target_json, Json({{"lsn", "0/3000060"}, {"inclusive", false}}));
  restore = restore_assignment(source("2026-11-24T02:00:00Z"), "default", &kCompleted, storage);
  EXPECT_EQ(restore->target_json, Json({{"time", "2026-11-24T02:00:00Z"}, {"inclusive", true}}));
}

TEST(RestoreAssignment, ExplainsWhyTheRestoreCannotStart) {
  auto restore = restore_assignment(source(), "default", nullptr, nullptr);
  ASSERT_FALSE(restore.ok());
  EXPECT_EQ(restore.error().message,
            "SGBackup/demo-20261124010000 (spec.initialData.restore.fromBackup.name) does "
            "not exist in namespace default: the restore cannot start");
  const Json running = {{"phase", "Running"}};
  restore = restore_assignment(source(), "default", &running, nullptr);
  ASSERT_FALSE(restore.ok());
  EXPECT_EQ(restore.error().message,
            "SGBackup/demo-20261124010000 is Running, not Completed: the restore cannot start");
  restore = restore_assignment(source(), "default", &kCompleted, nullptr);
  ASSERT_FALSE(restore.ok());
  EXPECT_EQ(restore.error().message,
            "SGObjectStorage/backups (the repository of SGBackup/demo-20261124010000) does "
            "not exist in namespace default: the restore cannot start");
}

model::Document backup_with_uid(const std::string& name, const std::string& uid) {
  return model::Document{
      "stored", 0, Json{{"kind", "SGBackup"}, {"metadata", {{"name", name}, {"namespace", "default"}, {"uid", uid}}}}};
}

// fromBackup.uid (deprecated in StackGres, still valid) is resolved to the backup's name at creation.
TEST(ResolveBackupUid, TheUidNamesTheBackup) {
  const std::vector<model::Document> backups = {backup_with_uid("daily-1", "uid-1"),
                                                backup_with_uid("daily-2", "uid-2")};
  Json cluster = Json::parse(R"({"metadata": {"name": "c", "namespace": "default"},
                                 "spec": {"initialData": {"restore": {"fromBackup": {"uid": "uid-2"}}}}})");
  EXPECT_FALSE(resolve_backup_uid(cluster, backups));
  EXPECT_EQ(cluster["spec"]["initialData"]["restore"]["fromBackup"]["name"], "daily-2");

  Json unknown = Json::parse(R"({"metadata": {"name": "c", "namespace": "default"},
                                 "spec": {"initialData": {"restore": {"fromBackup": {"uid": "uid-9"}}}}})");
  const auto missing = resolve_backup_uid(unknown, backups);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->path, "spec.initialData.restore.fromBackup.uid");
  EXPECT_EQ(missing->message, "no SGBackup in namespace default has uid uid-9");

  Json conflicting =
      Json::parse(R"({"spec": {"initialData": {"restore": {"fromBackup": {"uid": "uid-1", "name": "daily-2"}}}}})");
  const auto conflict = resolve_backup_uid(conflicting, backups);
  ASSERT_TRUE(conflict);
  EXPECT_NE(conflict->message.find("uid uid-1 is SGBackup/daily-1's"), std::string::npos) << conflict->message;

  Json without = Json::parse(R"({"spec": {"instances": 1}})");
  EXPECT_FALSE(resolve_backup_uid(without, backups));
}

}  // namespace
}  // namespace pgstack::controller
