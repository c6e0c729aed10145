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

model::Document backup_document(const std::string& name, const std::string& phase, const std::string& finished,
                                const std::string& first_segment = "") {
  model::Document document;
  document.body = {{"kind", "SGBackup"},
                   {"metadata", {{"name", name}, {"namespace", "default"}}},
                   {"spec", {{"sgCluster", "demo"}}},
                   {"status", {{"phase", phase}, {"finishedAt", finished}, {"timeline", 1}, {"type", "full"}}}};
  if (!first_segment.empty()) document.body["status"]["wal"] = {{"start", first_segment}, {"stop", first_segment}};
  return document;
}

Json cluster_status(const std::string& primary_state, const Json& archiving) {
  return {{"primary", "demo-0"},
          {"members", Json::array({{{"name", "demo-0"}, {"role", "primary"}, {"state", primary_state}},
                                   {{"name", "demo-1"}, {"role", "replica"}, {"state", "streaming"}}})},
          {"archiving", archiving}};
}

TEST(RecoveryWindow, FromTheOldestCompletedBackupToNowWhileThePrimaryArchives) {
  const auto now = utc("2026-11-24T05:00:00Z");
  const std::vector<model::Document> backups = {backup_document("demo-2", "Completed", "2026-11-24T03:01:00Z"),
                                                backup_document("demo-1", "Completed", "2026-11-24T01:02:00Z"),
                                                backup_document("demo-3", "Failed", "2026-11-24T00:30:00Z"),
                                                backup_document("demo-4", "Running", "")};
  const Json window = recovery_window(
      backups, cluster_status("running", {{"lastArchivedTime", "2026-11-24T04:59:01.123456Z"}, {"failing", false}}),
      now);
  EXPECT_EQ(window["earliest"], "2026-11-24T01:02:00Z");
  EXPECT_EQ(window["latest"], "2026-11-24T05:00:00Z");
  EXPECT_TRUE(window["gaps"].empty());
  ASSERT_EQ(window["backups"].size(), 2U) << window.dump();
  EXPECT_EQ(window["backups"][0]["name"], "demo-1");  // oldest first: the wizard takes the newest before a target
  EXPECT_EQ(window["backups"][1]["name"], "demo-2");
}

TEST(RecoveryWindow, AFailingArchiveEndsTheWindowAtTheLastArchivedSegmentWithAGap) {
  const auto now = utc("2026-11-24T05:00:00Z");
  const Json window = recovery_window({backup_document("demo-1", "Completed", "2026-11-24T01:02:00Z")},
                                      cluster_status("running", {{"lastArchivedTime", "2026-11-24T04:10:30.5Z"},
                                                                 {"failing", true},
                                                                 {"lastFailedTime", "2026-11-24T04:11:00Z"},
                                                                 {"lastFailureMessage", "disk full"}}),
                                      now);
  EXPECT_EQ(window["earliest"], "2026-11-24T01:02:00Z");
  EXPECT_EQ(window["latest"], "2026-11-24T04:10:30Z");  // whole seconds, never later than what is archived
  ASSERT_EQ(window["gaps"].size(), 1U);
  EXPECT_EQ(window["gaps"][0]["from"], "2026-11-24T04:10:30Z");
  EXPECT_EQ(window["gaps"][0]["to"], "2026-11-24T05:00:00Z");
  EXPECT_NE(window["gaps"][0]["reason"].get<std::string>().find("since 2026-11-24T04:11:00Z: disk full"),
            std::string::npos);
}

TEST(RecoveryWindow, WithoutARunningPrimaryOnlyWhatWasArchivedIsReachable) {
  const auto now = utc("2026-11-24T05:00:00Z");
  const auto backups = std::vector<model::Document>{backup_document("demo-1", "Completed", "2026-11-24T01:02:00Z")};
  Json window =
      recovery_window(backups, cluster_status("stopped", {{"lastArchivedTime", "2026-11-24T02:00:00Z"}}), now);
  EXPECT_EQ(window["latest"], "2026-11-24T02:00:00Z");
  EXPECT_NE(window["latestReason"].get<std::string>().find("no running primary"), std::string::npos);
  // Nothing archived after the backup (or no archiving status): the backup's own end.
  window = recovery_window(backups, Json::object(), now);
  EXPECT_EQ(window["latest"], "2026-11-24T01:02:00Z");
}

TEST(RecoveryWindow, NoCompletedBackupMeansNothingToRestore) {
  const Json window = recovery_window({backup_document("demo-1", "Failed", "2026-11-24T01:02:00Z")},
                                      cluster_status("running", Json::object()), utc("2026-11-24T05:00:00Z"));
  EXPECT_TRUE(window["earliest"].is_null());
  EXPECT_TRUE(window["latest"].is_null());
  EXPECT_TRUE(window["backups"].empty());
  EXPECT_NE(window["latestReason"].get<std::string>().find("no Completed backup"), std::string::npos);
}

TEST(RecoveryWindow, ATargetAfterTheLatestReachableTimeIsRefusedWithTheReason) {
  const Json window = recovery_window({backup_document("demo-1", "Completed", "2026-11-24T01:02:00Z")},
                                      cluster_status("running", {{"lastArchivedTime", "2026-11-24T04:10:30Z"},
                                                                 {"failing", true},
                                                                 {"lastFailedTime", "2026-11-24T04:11:00Z"}}),
                                      utc("2026-11-24T05:00:00Z"));
  EXPECT_FALSE(restore_target_beyond(window, "2026-11-24T04:10:30Z"));
  const auto refused = restore_target_beyond(window, "2026-11-24T04:30:00Z");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->path, "spec.initialData.restore.fromBackup.pointInTimeRecovery.restoreToTimestamp");
  EXPECT_NE(refused->message.find("after the latest time a restore can reach (2026-11-24T04:10:30Z): the last archived "
                                  "WAL segment: archiving is failing"),
            std::string::npos)
      << refused->message;
  // Nothing to restore from: no latest, nothing to compare (the backup's own checks refuse it).
  EXPECT_FALSE(
      restore_target_beyond(recovery_window({}, Json::object(), utc("2026-11-24T05:00:00Z")), "2026-11-24T04:30:00Z"));
}

// The agent's archive continuity (agent/archive_continuity.h) with one hole.
Json continuity_with_hole(const std::string& from, const std::string& to, const std::string& before_archived) {
  return {
      {"checkedAt", "2026-11-24T04:58:00Z"},
      {"holes", Json::array({{{"missingFrom", from},
                              {"missingTo", to},
                              {"before", {{"segment", "000000010000000000000004"}, {"archivedAt", before_archived}}},
                              {"after", {{"segment", "000000010000000000000007"}, {"archivedAt", "x"}}}}})}};
}

TEST(RecoveryWindow, AHoleInTheRepositoryEndsWhatTheBackupsBeforeItReachAndIsAGap) {
  const auto now = utc("2026-11-24T05:00:00Z");
  const std::vector<model::Document> backups = {
      backup_document("demo-1", "Completed", "2026-11-24T01:02:00Z", "000000010000000000000003"),
      backup_document("demo-2", "Completed", "2026-11-24T03:01:00Z", "00000001000000000000000A")};
  const Json running = cluster_status("running", {{"lastArchivedTime", "2026-11-24T04:59:00Z"}, {"failing", false}});
  const Json window = recovery_window(
      backups, running, now, continuity_with_hole("0000000000000005", "0000000000000006", "2026-11-24T02:00:00Z"));
  EXPECT_EQ(window["earliest"], "2026-11-24T01:02:00Z");
  EXPECT_EQ(window["latest"], "2026-11-24T05:00:00Z");  // demo-2 starts after the hole
  EXPECT_EQ(window["archiveCheckedAt"], "2026-11-24T04:58:00Z");
  ASSERT_EQ(window["gaps"].size(), 1U) << window.dump(2);
  EXPECT_EQ(window["gaps"][0]["from"], "2026-11-24T02:00:00Z");
  EXPECT_EQ(window["gaps"][0]["to"], "2026-11-24T03:01:00Z");
  EXPECT_NE(window["gaps"][0]["reason"].get<std::string>().find(
                "WAL segments ********0000000000000005 to ********0000000000000006 (on no timeline) are missing from "
                "the repository"),
            std::string::npos)
      << window["gaps"][0]["reason"];
  EXPECT_EQ(window["backups"][0]["reachableUntil"], "2026-11-24T02:00:00Z");
  EXPECT_TRUE(window["backups"][1]["reachableUntil"].is_null());

  // A restore from demo-1 to a time past the hole is refused at the field; from demo-2 it is not.
  EXPECT_FALSE(restore_target_unreachable(window, "demo-1", "2026-11-24T01:30:00Z"));
  const auto refused = restore_target_unreachable(window, "demo-1", "2026-11-24T04:00:00Z");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->path, "spec.initialData.restore.fromBackup.pointInTimeRecovery.restoreToTimestamp");
  EXPECT_NE(refused->message.find("cannot be reached from SGBackup/demo-1: its WAL ends at 2026-11-24T02:00:00Z (WAL "
                                  "segments ********0000000000000005 to ********0000000000000006 (on no "
                                  "timeline) are missing"),
            std::string::npos)
      << refused->message;
  EXPECT_FALSE(restore_target_unreachable(window, "demo-2", "2026-11-24T04:00:00Z"));
}

TEST(RecoveryWindow, AHoleAfterTheNewestBackupEndsTheWindowBeforeIt) {
  const auto now = utc("2026-11-24T05:00:00Z");
  const Json running = cluster_status("running", {{"lastArchivedTime", "2026-11-24T04:59:00Z"}, {"failing", false}});
  Json window = recovery_window(
      {backup_document("demo-1", "Completed", "2026-11-24T01:02:00Z", "000000010000000000000003")}, running, now,
      continuity_with_hole("0000000000000005", "0000000000000005", "2026-11-24T02:00:00Z"));
  EXPECT_EQ(window["latest"], "2026-11-24T02:00:00Z");
  EXPECT_NE(window["latestReason"].get<std::string>().find("(000000010000000000000004) before a hole"),
            std::string::npos)
      << window["latestReason"];
  ASSERT_EQ(window["gaps"].size(), 1U);
  EXPECT_EQ(window["gaps"][0]["from"], "2026-11-24T02:00:00Z");
  EXPECT_EQ(window["gaps"][0]["to"], "2026-11-24T05:00:00Z");
  EXPECT_TRUE(restore_target_unreachable(window, "demo-1", "2026-11-24T03:00:00Z"));

  // The backup's own first segment is gone: nothing can be restored, and the window says why.
  window = recovery_window({backup_document("demo-1", "Completed", "2026-11-24T01:02:00Z", "000000010000000000000005")},
                           running, now,
                           continuity_with_hole("0000000000000005", "0000000000000005", "2026-11-24T02:00:00Z"));
  EXPECT_TRUE(window["earliest"].is_null());
  EXPECT_TRUE(window["latest"].is_null());
  EXPECT_NE(window["latestReason"].get<std::string>().find(
                "no backup can be restored: WAL segment ********0000000000000005 (on no timeline) is "
                "missing"),
            std::string::npos)
      << window["latestReason"];
  // A hole before the backup's first segment does not matter to it.
  window = recovery_window({backup_document("demo-1", "Completed", "2026-11-24T01:02:00Z", "000000010000000000000009")},
                           running, now,
                           continuity_with_hole("0000000000000005", "0000000000000005", "2026-11-24T00:30:00Z"));
  EXPECT_EQ(window["latest"], "2026-11-24T05:00:00Z");
  EXPECT_TRUE(window["gaps"].empty());
}

}  // namespace
}  // namespace pgstack::controller
