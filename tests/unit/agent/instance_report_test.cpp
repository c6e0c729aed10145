#include "agent/instance_report.h"

#include <gtest/gtest.h>

namespace pgstack::agent {
namespace {

using model::Json;

// The report as the agent writes it into etcd.
Json report_json(const ReportInput& input) { return model::instance_report_to_json(instance_report(input)); }

ReportInput running_input(const std::string& member) {
  ReportInput input;
  input.member = member;
  input.host = "node-a";
  input.ports = {15433, 16433, 18009};
  ProcessStatus running;
  running.state = ProcessState::kRunning;
  running.pid = 42;
  input.patroni_process = running;
  input.pgbouncer_process = running;
  input.now = std::chrono::system_clock::time_point(std::chrono::seconds(1795483800));  // 2026-11-24T01:30:00Z
  return input;
}

TEST(InstanceReport, PrimaryAsPatroniReportsIt) {
  ReportInput input = running_input("demo-0");
  input.patroni = Json::parse(R"({"state": "running", "role": "master", "server_version": 150000,
    "xlog": {"location": 50331984}, "timeline": 2, "pending_restart": true,
    "replication": [{"application_name": "demo-1", "state": "streaming"}]})");
  const Json report = report_json(input);
  EXPECT_EQ(report["member"], "demo-0");
  EXPECT_EQ(report["host"], "node-a");
  EXPECT_EQ(report["state"], "running");
  EXPECT_FALSE(report.contains("reason"));
  EXPECT_EQ(report["patroni"]["role"], "primary");
  EXPECT_EQ(report["patroni"]["state"], "running");
  EXPECT_EQ(report["patroni"]["timeline"], 2);
  EXPECT_EQ(report["patroni"]["pendingRestart"], true);
  EXPECT_EQ(report["patroni"]["lsn"], "0/3000150");
  EXPECT_EQ(report["patroni"]["lagBytes"], 0);
  EXPECT_EQ(report["pgbouncer"], "running");
  EXPECT_EQ(report["ports"], Json::parse(R"({"postgres": 15433, "pgbouncer": 16433, "patroni": 18009})"));
  EXPECT_EQ(report["updatedAt"], "2026-11-24T01:30:00Z");
}

TEST(InstanceReport, ArchivingFromPgStatArchiver) {
  ReportInput input = running_input("demo-0");
  input.patroni = Json::parse(R"({"state": "running", "role": "master", "timeline": 1})");
  EXPECT_FALSE(report_json(input).contains("archiving"));

  input.archiver = Json::parse(R"({"archived_count": 7, "last_archived_wal": "000000010000000000000007",
    "last_archived_time": "2026-11-24T01:29:50.000100Z", "failed_count": 2,
    "last_failed_wal": "000000010000000000000003", "last_failed_time": "2026-11-24T01:00:00.000000Z"})");
  Json archiving = report_json(input)["archiving"];
  EXPECT_EQ(archiving["archivedCount"], 7);
  EXPECT_EQ(archiving["failedCount"], 2);
  EXPECT_EQ(archiving["lastArchivedWal"], "000000010000000000000007");
  EXPECT_EQ(archiving["lastArchivedTime"], "2026-11-24T01:29:50.000100Z");
  EXPECT_EQ(archiving["lastFailedWal"], "000000010000000000000003");
  EXPECT_EQ(archiving["failing"], false);  // failed once, archived since

  input.archiver = Json::parse(R"({"archived_count": 7, "last_archived_wal": "000000010000000000000007",
    "last_archived_time": "2026-11-24T01:29:50.000100Z", "failed_count": 3,
    "last_failed_wal": "000000010000000000000008", "last_failed_time": "2026-11-24T01:29:50.000200Z"})");
  EXPECT_EQ(report_json(input)["archiving"]["failing"], true);

  input.backup_problem = "SGObjectStorage s3: Secret creds has no key accessKeyId";
  EXPECT_EQ(report_json(input)["backupProblem"], input.backup_problem);
  input.backup_problem.clear();
  EXPECT_FALSE(report_json(input).contains("backupProblem"));

  // A fresh primary: nothing archived, nothing failed (pg_stat_archiver's nulls).
  input.archiver = Json::parse(R"({"archived_count": 0, "last_archived_wal": null, "last_archived_time": null,
    "failed_count": 0, "last_failed_wal": null, "last_failed_time": null})");
  archiving = report_json(input)["archiving"];
  EXPECT_EQ(archiving, Json::parse(R"({"archivedCount": 0, "failedCount": 0, "failing": false})"));
}

TEST(InstanceReport, ReplicaStreamsWhenTheLeaderSaysSo) {
  ReportInput input = running_input("demo-1");
  input.patroni = Json::parse(R"({"state": "running", "role": "replica", "timeline": 1,
    "xlog": {"received_location": 50331976, "replayed_location": 50331976, "paused": false}})");
  input.cluster = Json::parse(R"({"members": [
    {"name": "demo-0", "role": "leader", "state": "running", "api_url": "http://127.0.0.1:18008/patroni"},
    {"name": "demo-1", "role": "replica", "state": "running", "lag": 128}]})");
  input.leader = Json::parse(R"({"state": "running", "role": "master",
    "replication": [{"application_name": "demo-1", "state": "streaming", "sync_state": "async"}]})");
  Json report = report_json(input);
  EXPECT_EQ(report["state"], "running");
  EXPECT_EQ(report["patroni"]["role"], "replica");
  EXPECT_EQ(report["patroni"]["state"], "streaming");
  EXPECT_EQ(report["patroni"]["receivedLsn"], "0/3000148");
  EXPECT_EQ(report["patroni"]["replayedLsn"], "0/3000148");
  EXPECT_EQ(report["patroni"]["lagBytes"], 128);
  EXPECT_FALSE(report["patroni"].contains("lsn"));

  input.leader = Json::parse(R"({"state": "running", "role": "master",
    "replication": [{"application_name": "demo-1", "state": "catchup"}]})");
  EXPECT_EQ(report_json(input)["patroni"]["state"], "running");
  input.leader.reset();
  EXPECT_EQ(report_json(input)["patroni"]["state"], "running");
}

TEST(InstanceReport, SynchronousStandby) {
  ReportInput input = running_input("demo-1");
  input.patroni = Json::parse(R"({"state": "running", "role": "replica", "sync_standby": true})");
  EXPECT_EQ(report_json(input)["patroni"]["role"], "sync_standby");
}

TEST(InstanceReport, StartingUntilPatroniAnswers) {
  ReportInput input = running_input("demo-1");
  Json report = report_json(input);
  EXPECT_EQ(report["state"], "starting");
  EXPECT_FALSE(report.contains("patroni"));
  input.patroni = Json::parse(R"({"state": "creating replica", "role": "uninitialized"})");
  report = report_json(input);
  EXPECT_EQ(report["state"], "starting");
  EXPECT_EQ(report["reason"], "Patroni reports Postgres as 'creating replica'");
}

// Patroni exited and waits `backoff_ms` before its restart number `restarts` + 1.
ReportInput patroni_in_backoff(const std::string& member, int backoff_ms, int restarts) {
  ReportInput input = running_input(member);
  input.patroni_process->state = ProcessState::kBackoff;
  input.patroni_process->last_exit_reason = "exited";
  input.patroni_process->backoff = std::chrono::milliseconds(backoff_ms);
  input.patroni_process->restarts = restarts;
  return input;
}

TEST(InstanceReport, FailedWithAReason) {
  ReportInput input = patroni_in_backoff("demo-1", 4000, 3);
  Json report = report_json(input);
  EXPECT_EQ(report["state"], "failed");
  EXPECT_EQ(report["reason"], "Patroni exited; restarting in 4000 ms (restarts so far: 3)");

  input = running_input("demo-1");
  input.patroni = Json::parse(R"({"state": "start failed", "role": "replica"})");
  EXPECT_EQ(report_json(input)["state"], "failed");

  input = running_input("demo-1");
  input.condition = InstanceCondition{true, "assignment: not valid JSON"};
  report = report_json(input);
  EXPECT_EQ(report["state"], "failed");
  EXPECT_EQ(report["reason"], "assignment: not valid JSON");

  input.condition = InstanceCondition{false, "waiting for the controller to write /pgstack/secrets/shop/demo"};
  EXPECT_EQ(report_json(input)["state"], "starting");
}

TEST(InstanceReport, AFailedRestoreSaysWhichBackupAndWhyPostgresStopped) {
  ReportInput input = patroni_in_backoff("pitr-0", 8000, 2);
  input.restoring_backup = "demo-20261124110837";
  input.startup_failure = "recovery ended before configured recovery target was reached";
  EXPECT_EQ(report_json(input)["reason"],
            "the restore of SGBackup demo-20261124110837 failed: Postgres stopped: recovery ended before configured "
            "recovery target was reached; Patroni exited; restarting in 8000 ms (restarts so far: 2)");
  input.startup_failure.reset();  // pgbackrest restore itself failed: Patroni's log has its output
  EXPECT_EQ(report_json(input)["reason"],
            "the restore of SGBackup demo-20261124110837 failed: see the member's patroni.log; Patroni exited; "
            "restarting in 8000 ms (restarts so far: 2)");
}

TEST(InstanceReport, PgBouncerState) {
  ReportInput input = running_input("demo-1");
  input.pgbouncer_process->state = ProcessState::kBackoff;
  EXPECT_EQ(report_json(input)["pgbouncer"], "failed");
  input.pooling = false;
  EXPECT_EQ(report_json(input)["pgbouncer"], "disabled");
}

TEST(InstanceReport, LeaderApiUrl) {
  const Json cluster = Json::parse(R"({"members": [
    {"name": "demo-1", "role": "replica", "api_url": "http://a/patroni"},
    {"name": "demo-0", "role": "leader", "api_url": "http://b:8008/patroni"}]})");
  EXPECT_EQ(leader_api_url(cluster), "http://b:8008/patroni");
  EXPECT_FALSE(leader_api_url(Json::parse(R"({"members": []})")).has_value());
}

}  // namespace
}  // namespace pgstack::agent
