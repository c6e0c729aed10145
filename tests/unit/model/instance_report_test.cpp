#include "model/instance_report.h"

#include <gtest/gtest.h>

namespace pgstack::model {
namespace {

InstanceReport full_report() {
  InstanceReport report;
  report.member = "demo-0";
  report.host = "node-a";
  report.state = "running";
  ReportedPatroni patroni;
  patroni.role = "primary";
  patroni.state = "running";
  patroni.timeline = 2;
  patroni.pending_restart = true;
  patroni.lsn = "0/3000150";
  patroni.lag_bytes = 0;
  report.patroni = patroni;
  ReportedArchiving archiving;
  archiving.archived_count = 7;
  archiving.failed_count = 1;
  archiving.last_archived_wal = "000000020000000000000003";
  archiving.last_failed_time = "2026-11-24T01:29:00Z";
  archiving.repository_disk = Json{{"freeBytes", 1024}};
  archiving.failing = true;
  report.archiving = archiving;
  report.backup_problem = "SGObjectStorage objects: the Secret s3-keys does not exist";
  report.rejoin = Json{{"state", "Waiting"}, {"reason", "Diverged"}};
  report.events = {Json{{"at", "2026-11-24T01:30:00Z"}, {"type", "Warning"}, {"reason", "Rebuilt"}}};
  ReportedLogShipping postgres_log;
  postgres_log.records_total = 120;
  postgres_log.errors_total = 2;
  postgres_log.bytes_behind = 4096;
  postgres_log.last_record_time = "2026-11-24 01:29:59.123 UTC";
  postgres_log.last_success = "2026-11-24T01:30:00Z";
  postgres_log.files_removed_unshipped = 1;
  postgres_log.last_removal = "removed postgresql-2026-11-17_000000.csv with 10MiB not shipped";
  report.log_shipping["postgres"] = postgres_log;
  ReportedLogShipping patroni_log;
  patroni_log.last_error = "the log store has no primary";
  report.log_shipping["patroni"] = patroni_log;
  report.pgbouncer = "running";
  report.ports = {15432, 16432, 18008};
  report.updated_at = "2026-11-24T01:30:00Z";
  return report;
}

TEST(InstanceReport, RoundTripsThroughJson) {
  const InstanceReport report = full_report();
  const Json json = instance_report_to_json(report);
  EXPECT_EQ(json["patroni"]["pendingRestart"], true);
  EXPECT_EQ(json["archiving"]["lastArchivedWal"], "000000020000000000000003");
  EXPECT_FALSE(json["archiving"].contains("lastFailedWal"));  // empty texts are left out
  EXPECT_EQ(json["logShipping"]["postgres"]["bytesBehind"], 4096);
  EXPECT_EQ(json["logShipping"]["patroni"]["lastError"], "the log store has no primary");
  EXPECT_FALSE(json["logShipping"]["patroni"].contains("lastSuccess"));
  auto parsed = instance_report_from_json(json);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed.value(), report);
  // The text the agent writes is the text the controller reads back.
  EXPECT_EQ(instance_report_to_json(parsed.value()).dump(), json.dump());
}

TEST(InstanceReport, OptionalSectionsStayAbsent) {
  InstanceReport report;
  report.member = "demo-1";
  report.state = "starting";
  report.reason = "waiting for the cluster's secrets";
  report.pgbouncer = "stopped";
  const Json json = instance_report_to_json(report);
  for (const char* field : {"patroni", "archiving", "backupProblem", "rejoin", "events", "logShipping"})
    EXPECT_FALSE(json.contains(field)) << field;
  auto parsed = instance_report_from_json(json);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed.value(), report);
}

TEST(InstanceReport, RejectsFieldsOfTheWrongType) {
  struct Case {
    const char* name;
    Json json;
    const char* message;
  };
  const Json good = instance_report_to_json(full_report());
  const auto with = [&](const Json::json_pointer& at, Json value) {
    Json json = good;
    json[at] = std::move(value);
    return json;
  };
  const std::vector<Case> cases = {
      {"not an object", Json::array(), "instance report: expected a JSON object, got array"},
      {"no member", with(Json::json_pointer("/member"), ""), "member: expected the member's name"},
      {"state as number", with(Json::json_pointer("/state"), 3), "state: expected a string"},
      {"patroni as text", with(Json::json_pointer("/patroni"), "primary"), "patroni: expected an object"},
      {"timeline as text", with(Json::json_pointer("/patroni/timeline"), "2"), "patroni.timeline: expected an integer"},
      {"failing as text", with(Json::json_pointer("/archiving/failing"), "yes"),
       "archiving.failing: expected true or false"},
      {"events as object", with(Json::json_pointer("/events"), Json::object()), "events: expected an array"},
      {"port as text", with(Json::json_pointer("/ports/postgres"), "5432"), "ports.postgres: expected an integer"},
  };
  for (const auto& test : cases) {
    SCOPED_TRACE(test.name);
    auto parsed = instance_report_from_json(test.json);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidInput);
    EXPECT_NE(parsed.error().message.find(test.message), std::string::npos) << parsed.error().message;
  }
}

}  // namespace
}  // namespace pgstack::model
