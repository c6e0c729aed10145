#include "controller/cluster_status.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace pgstack::controller {
namespace {

using model::Json;

// The whole status as it is published.
Json build(const StatusInputs& inputs) { return model::cluster_status_to_json(build_cluster_status(inputs)); }

model::ReportedArchiving archiving_of(const char* json) {
  return model::reported_archiving_from_json(Json::parse(json)).value();
}

StatusInputs three_members() {
  StatusInputs inputs;
  inputs.instances = 3;
  inputs.postgres_version = "15.18";
  inputs.now = "2026-11-24T01:00:00Z";
  inputs.host_addresses = {{"a", "127.0.0.1"}};
  for (int i = 0; i < 3; ++i) {
    inputs.placements.push_back(
        {"default/demo", "demo-" + std::to_string(i), i, "a", {15432 + i, 16432 + i, 18008 + i}});
  }
  inputs.leader = "demo-0";
  inputs.members["demo-0"] = parse_patroni_member(
      "demo-0",
      R"({"role":"master","state":"running","timeline":2,"xlog_location":5000,"api_url":"http://127.0.0.1:18008/patroni"})");
  inputs.members["demo-1"] =
      parse_patroni_member("demo-1", R"({"role":"replica","state":"running","timeline":2,"xlog_location":5000})");
  inputs.members["demo-2"] = parse_patroni_member(
      "demo-2", R"({"role":"replica","state":"running","timeline":2,"xlog_location":4000,"pending_restart":true})");
  inputs.standbys = {{"demo-1", {"streaming", "sync"}}, {"demo-2", {"streaming", "async"}}};
  return inputs;
}

TEST(ClusterStatus, ReadyWithRolesLagAndEndpoints) {
  const Json status = build(three_members());
  EXPECT_EQ(status["primary"], "demo-0");
  ASSERT_EQ(status["members"].size(), 3u);
  EXPECT_EQ(status["members"][0]["role"], "primary");
  EXPECT_EQ(status["members"][1]["role"], "sync_standby");
  EXPECT_EQ(status["members"][1]["state"], "streaming");
  EXPECT_EQ(status["members"][2]["role"], "replica");
  EXPECT_EQ(status["members"][1]["lagBytes"], 0);
  EXPECT_EQ(status["members"][2]["lagBytes"], 1000);
  EXPECT_EQ(status["members"][2]["timeline"], 2);
  EXPECT_EQ(status["endpoints"]["readWrite"], Json({"127.0.0.1:16432", "127.0.0.1:16433", "127.0.0.1:16434"}));
  EXPECT_EQ(status["endpoints"]["readOnly"], Json({"127.0.0.1:16433", "127.0.0.1:16434", "127.0.0.1:16432"}));
  EXPECT_EQ(status["endpoints"]["readWriteDirect"][0], "127.0.0.1:15432");
  const Json& ready = status["conditions"][0];
  EXPECT_EQ(ready["type"], "Ready");
  EXPECT_EQ(ready["status"], "True");
  EXPECT_EQ(ready["message"], "1 primary, 2 replicas streaming");
  const Json& pending = status["conditions"][1];
  EXPECT_EQ(pending["status"], "True");
  EXPECT_NE(pending["message"].get<std::string>().find("demo-2"), std::string::npos);
}

TEST(ClusterStatus, ProxyEndpointsOncePerHostWithAMember) {
  StatusInputs inputs = three_members();
  EXPECT_FALSE(build(inputs)["endpoints"].contains("proxyReadWrite"));
  inputs.host_addresses["b"] = "10.0.0.2";
  inputs.placements[2].host = "b";
  inputs.proxy_ports = ProxyPorts{14432, 14433, 17432};
  const Json endpoints = build(inputs)["endpoints"];
  EXPECT_EQ(endpoints["proxyReadWrite"], Json({"127.0.0.1:14432", "10.0.0.2:14432"}));
  EXPECT_EQ(endpoints["proxyReadOnly"], Json({"127.0.0.1:14433", "10.0.0.2:14433"}));
  EXPECT_EQ(endpoints["proxyAdmin"], Json({"http://127.0.0.1:17432", "http://10.0.0.2:17432"}));
}

Json condition_of(const Json& status, const std::string& type) {
  for (const auto& condition : status["conditions"]) {
    if (condition["type"] == type) return condition;
  }
  return Json();
}

TEST(ClusterStatus, MembersSharingAHostAreNamed) {
  StatusInputs inputs = three_members();  // all three on host a
  Json spread = condition_of(build(inputs), "MembersOnDistinctHosts");
  EXPECT_EQ(spread["status"], "False");
  EXPECT_EQ(spread["reason"], "MembersShareHosts");
  EXPECT_EQ(spread["message"].get<std::string>().substr(0, 30), "demo-0, demo-1, demo-2 on a: l");
  inputs.placements[1].host = "b";
  spread = condition_of(build(inputs), "MembersOnDistinctHosts");
  EXPECT_EQ(spread["status"], "False");
  EXPECT_EQ(spread["message"].get<std::string>().find("demo-1"), std::string::npos);
  EXPECT_NE(spread["message"].get<std::string>().find("3 members, 2 hosts"), std::string::npos);
  inputs.placements[2].host = "c";
  spread = condition_of(build(inputs), "MembersOnDistinctHosts");
  EXPECT_EQ(spread["status"], "True");
  EXPECT_EQ(spread["message"], "3 members on 3 hosts");
  // A single member has nothing to spread.
  inputs.instances = 1;
  inputs.placements.resize(1);
  EXPECT_TRUE(condition_of(build(inputs), "MembersOnDistinctHosts").is_null());
}

TEST(ClusterStatus, NotReadyWhenAReplicaIsNotStreaming) {
  auto inputs = three_members();
  inputs.standbys.erase("demo-2");
  inputs.members["demo-2"].state = "starting";
  const Json status = build(inputs);
  EXPECT_EQ(status["conditions"][0]["status"], "False");
  EXPECT_EQ(status["conditions"][0]["reason"], "MembersNotReady");
  EXPECT_NE(status["conditions"][0]["message"].get<std::string>().find("demo-2 is starting"), std::string::npos);
}

TEST(ClusterStatus, AMemberPatroniDoesNotListSaysWhatItsAgentReports) {
  auto inputs = three_members();
  inputs.leader.reset();
  inputs.members.clear();
  inputs.standbys.clear();
  inputs.member_reports["demo-0"] = {
      .member = "demo-0",
      .state = "failed",
      .reason = "the restore of SGBackup b failed: Postgres stopped: recovery ended early"};
  inputs.member_reports["demo-1"] = {.member = "demo-1", .state = "stopped"};  // no reason: nothing to add
  const Json status = build(inputs);
  EXPECT_EQ(status["members"][0]["state"], "failed");
  EXPECT_EQ(status["members"][1]["state"], "pending");
  const std::string message = status["conditions"][0]["message"];
  EXPECT_NE(message.find("demo-0 is failed: the restore of SGBackup b failed: Postgres stopped: recovery ended early"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("demo-1 has not started yet"), std::string::npos) << message;

  // Patroni lists it, stopped: the agent's reason is added.
  inputs.members["demo-0"] = parse_patroni_member("demo-0", R"({"role":"replica","state":"stopped"})");
  const std::string listed = build(inputs)["conditions"][0]["message"];
  EXPECT_NE(listed.find("demo-0 is stopped: the restore of SGBackup b failed"), std::string::npos) << listed;
}

TEST(ClusterStatus, TransitionTimeKeptWhileTheConditionHolds) {
  auto inputs = three_members();
  inputs.previous_conditions =
      Json::array({{{"type", "Ready"}, {"status", "True"}, {"lastTransitionTime", "2026-11-24T00:00:00Z"}}});
  EXPECT_EQ(build(inputs)["conditions"][0]["lastTransitionTime"], "2026-11-24T00:00:00Z");
  inputs.leader.reset();
  const Json status = build(inputs);
  EXPECT_EQ(status["conditions"][0]["status"], "False");
  EXPECT_EQ(status["conditions"][0]["reason"], "NoPrimary");
  EXPECT_EQ(status["conditions"][0]["lastTransitionTime"], "2026-11-24T01:00:00Z");
}

TEST(ClusterStatus, SchedulingProblemIsACondition) {
  StatusInputs inputs;
  inputs.instances = 1;
  inputs.scheduling_problem = "no pgstack-agent has registered a host";
  inputs.now = "t";
  const Json status = build(inputs);
  EXPECT_EQ(status["conditions"][0]["type"], "Scheduling");
  EXPECT_EQ(status["conditions"][0]["message"], "no pgstack-agent has registered a host");
}

BackupObservation backup(const std::string& name, const std::string& json) {
  return {name, "2026-11-24T00:00:00Z", Json::parse(json)};
}

const Json* find_condition(const Json& status, const std::string& type) {
  for (const auto& condition : status["conditions"])
    if (condition["type"] == type) return &condition;
  return nullptr;
}

TEST(ClusterStatus, ExtensionsShowEachMembersVersionAndWhatIsMissing) {
  auto inputs = three_members();
  const Json installed = Json::parse(R"({"items":[{"name":"pg_cron","package":"postgresql-15-cron","preload":"pg_cron",
      "version":"1.5"},{"name":"hypopg","package":"postgresql-15-hypopg","preload":"","version":"1.3.1"}],
      "missingPackages":[],"installing":false,"problem":""})");
  inputs.member_extensions["demo-0"] = installed;
  inputs.member_extensions["demo-1"] = installed;
  inputs.member_extensions["demo-2"] = Json::parse(R"({"items":[{"name":"pg_cron","package":"postgresql-15-cron",
      "preload":"pg_cron"},{"name":"hypopg","package":"postgresql-15-hypopg","preload":"","version":"1.3.1"}],
      "missingPackages":["postgresql-15-cron"],"installing":false,
      "problem":"missing package postgresql-15-cron: this agent does not install packages"})");
  Json status = model::cluster_status_to_json(build_cluster_status(inputs));
  ASSERT_EQ(status["extensions"].size(), 2u) << status["extensions"].dump();
  EXPECT_EQ(status["extensions"][0]["name"], "pg_cron");
  EXPECT_EQ(status["extensions"][0]["preload"], "pg_cron");
  EXPECT_EQ(status["extensions"][0]["members"], Json::parse(R"({"demo-0":"1.5","demo-1":"1.5","demo-2":"missing"})"));
  const Json* available = find_condition(status, "ExtensionsAvailable");
  ASSERT_NE(available, nullptr);
  EXPECT_EQ((*available)["status"], "False");
  EXPECT_EQ((*available)["reason"], "PackagesMissing");
  EXPECT_NE((*available)["message"].get<std::string>().find("demo-2: postgresql-15-cron missing (missing package"),
            std::string::npos)
      << (*available)["message"];

  inputs.member_extensions["demo-2"] = installed;
  status = model::cluster_status_to_json(build_cluster_status(inputs));
  EXPECT_EQ((*find_condition(status, "ExtensionsAvailable"))["status"], "True");
  inputs.member_extensions.clear();
  EXPECT_EQ(find_condition(model::cluster_status_to_json(build_cluster_status(inputs)), "ExtensionsAvailable"),
            nullptr);
}

TEST(ClusterStatus, BackupsSummaryNamesTheNewestCompletedBackup) {
  StatusInputs inputs = three_members();
  EXPECT_EQ(build(inputs)["backups"], Json({{"last", nullptr}, {"lastCompletedAt", nullptr}, {"count", 0}}));
  inputs.backups = {backup("demo-a", R"({"phase":"Completed","finishedAt":"2026-11-24T01:00:00Z"})"),
                    backup("demo-b", R"({"phase":"Completed","finishedAt":"2026-11-24T02:00:00Z"})"),
                    backup("demo-c", R"({"phase":"Failed","finishedAt":"2026-11-24T03:00:00Z"})"),
                    {"demo-d", "2026-11-24T04:00:00Z", nullptr}};
  EXPECT_EQ(build(inputs)["backups"],
            Json({{"last", "demo-b"}, {"lastCompletedAt", "2026-11-24T02:00:00Z"}, {"count", 4}}));
}

TEST(ClusterStatus, WalArchivingFromThePrimarysReport) {
  StatusInputs inputs = three_members();
  EXPECT_EQ(find_condition(build(inputs), "WalArchiving"), nullptr);
  EXPECT_FALSE(build(inputs).contains("archiving"));

  inputs.archiving = archiving_of(R"({"archivedCount": 7, "failedCount": 0, "failing": false,
    "lastArchivedWal": "000000010000000000000007", "lastArchivedTime": "2026-11-24T01:29:50.000100Z"})");
  Json status = build(inputs);
  EXPECT_EQ(status["archiving"], model::reported_archiving_to_json(*inputs.archiving));
  const Json* archiving = find_condition(status, "WalArchiving");
  ASSERT_NE(archiving, nullptr);
  EXPECT_EQ((*archiving)["status"], "True");
  EXPECT_EQ((*archiving)["message"], "last archived 000000010000000000000007 at 2026-11-24T01:29:50.000100Z");

  inputs.archiving = archiving_of(R"({"archivedCount": 7, "failedCount": 3, "failing": true,
    "lastArchivedWal": "000000010000000000000007", "lastArchivedTime": "2026-11-24T01:29:50.000100Z",
    "lastFailedWal": "000000010000000000000008", "lastFailedTime": "2026-11-24T01:31:00.000000Z"})");
  inputs.previous_conditions = status["conditions"];
  status = build(inputs);
  archiving = find_condition(status, "WalArchiving");
  ASSERT_NE(archiving, nullptr);
  EXPECT_EQ((*archiving)["status"], "False");
  EXPECT_EQ((*archiving)["reason"], "ArchiveCommandFailing");
  EXPECT_NE((*archiving)["message"].get<std::string>().find("archiving 000000010000000000000008 failed at "
                                                            "2026-11-24T01:31:00.000000Z (3 failures so far"),
            std::string::npos);

  // A full repository disk is named before pgBackRest's message (which names only a file).
  inputs.archiving->last_failure_message = "104 raised from local-1 protocol: unable to write 'x.tmp'";
  inputs.archiving->repository_disk = {{"path", "/backups/default/demo"}, {"freeBytes", 4096}, {"totalBytes", 3145728}};
  status = build(inputs);
  archiving = find_condition(status, "WalArchiving");
  ASSERT_NE(archiving, nullptr);
  EXPECT_EQ((*archiving)["message"],
            "archiving 000000010000000000000008 failed at 2026-11-24T01:31:00.000000Z: the backup repository's disk "
            "is full (4096 bytes free of 3145728 at /backups/default/demo); 104 raised from local-1 protocol: unable "
            "to write 'x.tmp' (3 failures so far; the primary keeps the WAL until it is archived)");
}

TEST(ClusterStatus, BackupStorageUsableFromThePrimarysReport) {
  StatusInputs inputs = three_members();
  inputs.backups_configured = true;
  EXPECT_EQ(find_condition(build(inputs), "BackupStorageUsable"), nullptr);  // no report yet
  inputs.backup_problem = "";
  const Json fine = build(inputs);
  const Json* usable = find_condition(fine, "BackupStorageUsable");
  ASSERT_NE(usable, nullptr);
  EXPECT_EQ((*usable)["status"], "True");
  inputs.backup_problem = "SGObjectStorage s3-backups: Secret aws-creds has no key secretAccessKey";
  const Json status = build(inputs);
  usable = find_condition(status, "BackupStorageUsable");
  ASSERT_NE(usable, nullptr);
  EXPECT_EQ((*usable)["status"], "False");
  EXPECT_EQ((*usable)["reason"], "BackupConfigurationProblem");
  EXPECT_EQ((*usable)["message"], *inputs.backup_problem);
  inputs.backups_configured = false;
  EXPECT_EQ(find_condition(build(inputs), "BackupStorageUsable"), nullptr);
}

TEST(ClusterStatus, BackupsVerifiedFromTheNewestFinishedVerification) {
  StatusInputs inputs = three_members();
  inputs.backups = {backup("demo-a", R"({"phase":"Completed","finishedAt":"2026-11-24T01:00:00Z"})")};
  EXPECT_EQ(find_condition(build(inputs), "BackupsVerified"), nullptr);

  inputs.backups = {backup("demo-a", R"({"phase":"Completed","finishedAt":"2026-11-24T01:00:00Z",
                           "verification":{"phase":"Passed","finishedAt":"2026-11-24T01:10:00Z","timeToUsableSeconds":42}})"),
                    backup("demo-b", R"({"phase":"Completed","finishedAt":"2026-11-24T02:00:00Z",
                           "verification":{"phase":"Running"}})")};
  Json status = build(inputs);
  const Json* verified = find_condition(status, "BackupsVerified");
  ASSERT_NE(verified, nullptr);
  EXPECT_EQ((*verified)["status"], "True");
  EXPECT_EQ((*verified)["reason"], "VerificationPassed");
  EXPECT_EQ((*verified)["message"],
            "backup demo-a was restored and usable in 42.0 s (verified at 2026-11-24T01:10:00Z)");

  inputs.backups[1].status["verification"] = {
      {"phase", "Failed"}, {"finishedAt", "2026-11-24T02:20:00Z"}, {"message", "pg_amcheck found corruption"}};
  status = build(inputs);
  verified = find_condition(status, "BackupsVerified");
  ASSERT_NE(verified, nullptr);
  EXPECT_EQ((*verified)["status"], "False");
  EXPECT_EQ((*verified)["reason"], "VerificationFailed");
  EXPECT_EQ((*verified)["message"],
            "verification of backup demo-b failed at 2026-11-24T02:20:00Z: pg_amcheck found corruption");
}

Json condition_named(const Json& status, const std::string& type) {
  for (const auto& condition : status["conditions"]) {
    if (condition["type"] == type) return condition;
  }
  return Json::object();
}

TEST(ClusterStatus, AMemberThatCannotFollowThePrimaryIsACondition) {
  StatusInputs inputs = three_members();
  EXPECT_EQ(condition_named(build(inputs), "MembersFollowPrimary")["status"], "True");
  inputs.rejoins["demo-1"] = Json{{"state", "rebuilding"}, {"reason", "not streaming for 20 s: forked"}};
  Json condition = condition_named(build(inputs), "MembersFollowPrimary");
  EXPECT_EQ(condition["status"], "False");
  EXPECT_EQ(condition["reason"], "RepairingDivergedMember");
  EXPECT_NE(condition["message"].get<std::string>().find("demo-1 rebuilding"), std::string::npos);
  inputs.rejoins["demo-1"]["state"] = "needsAttention";
  EXPECT_EQ(condition_named(build(inputs), "MembersFollowPrimary")["reason"], "DivergedMemberNeedsAttention");
}

TEST(ClusterStatus, EventsOutliveTheirReportsOnceEachOldestFirst) {
  const Json previous = Json::array({Json{{"at", "2026-11-24T00:59:00Z"},
                                          {"member", "demo-2"},
                                          {"type", "Normal"},
                                          {"reason", "WalSetAside"},
                                          {"message", "000000030000000000000011"}}});
  std::map<std::string, std::vector<Json>> reported;
  reported["demo-1"] = {Json{{"at", "2026-11-24T01:00:00Z"},
                             {"type", "Warning"},
                             {"reason", "RebuildingDivergedMember"},
                             {"message", "moved to data.diverged-x"}}};
  reported["demo-2"] = {previous[0]};  // reported again: kept once
  const Json merged = merge_events(previous, reported);
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0]["reason"], "WalSetAside");
  EXPECT_EQ(merged[1]["member"], "demo-1");
  // Bounded: the newest ones stay.
  Json many = Json::array();
  for (std::size_t i = 0; i < kStatusEventsKept + 5; ++i)
    many.push_back(Json{{"at", fmt::format("2026-11-24T00:00:{}Z", 10 + i)}, {"reason", fmt::format("E{}", i)}});
  const Json bounded = merge_events(many, {});
  ASSERT_EQ(bounded.size(), kStatusEventsKept);
  EXPECT_EQ(bounded[0]["reason"], "E5");
}

model::ReportedLogShipping shipping(std::int64_t behind, const std::string& last_success,
                                    const std::string& error = "") {
  model::ReportedLogShipping log;
  log.bytes_behind = behind;
  log.last_success = last_success;
  log.last_error = error;
  return log;
}

TEST(ClusterStatus, LogShippingPerMemberAndLogsBehind) {
  StatusInputs inputs = three_members();  // now: 2026-11-24T01:00:00Z
  // No store: neither the section nor the condition.
  EXPECT_FALSE(build(inputs).contains("logShipping"));
  EXPECT_EQ(find_condition(build(inputs), "LogsBehind"), nullptr);

  inputs.log_store = true;
  inputs.member_log_shipping["demo-0"] = {{"postgres", shipping(0, "2026-11-24T01:00:00Z")},
                                          {"patroni", shipping(0, "2026-11-24T00:50:00Z")}};      // nothing waits
  inputs.member_log_shipping["demo-1"] = {{"postgres", shipping(1000, "2026-11-24T00:59:30Z")}};  // recent
  Json status = build(inputs);
  EXPECT_EQ(status["logShipping"]["demo-0"]["postgres"]["bytesBehind"], 0);
  EXPECT_EQ(status["logShipping"]["demo-1"]["postgres"]["lastSuccess"], "2026-11-24T00:59:30Z");
  EXPECT_EQ(condition_named(status, "LogsBehind")["status"], "False");

  // More than 64 MiB behind, however recent the last batch.
  inputs.member_log_shipping["demo-1"]["postgres"] = shipping(kLogsBehindBytes + 1, "2026-11-24T01:00:00Z");
  status = build(inputs);
  EXPECT_EQ(condition_named(status, "LogsBehind")["status"], "True");
  EXPECT_EQ(condition_named(status, "LogsBehind")["reason"], "ShippingBehind");
  EXPECT_NE(condition_named(status, "LogsBehind")["message"].get<std::string>().find("demo-1 postgres log"),
            std::string::npos);

  // Bytes waiting and no batch for a minute (the store is down): named with the error.
  inputs.member_log_shipping["demo-1"]["postgres"] = shipping(10, "2026-11-24T00:58:59Z", "connection refused");
  const std::string message = condition_named(build(inputs), "LogsBehind")["message"];
  EXPECT_NE(message.find("no batch since 2026-11-24T00:58:59Z"), std::string::npos) << message;
  EXPECT_NE(message.find("connection refused"), std::string::npos) << message;
  // Never a success and bytes waiting.
  inputs.member_log_shipping["demo-1"]["postgres"] = shipping(10, "", "the log store has no primary");
  EXPECT_EQ(condition_named(build(inputs), "LogsBehind")["status"], "True");
}

TEST(ClusterStatus, TheTypedStatusRoundTripsAndKeepsOtherWritersSections) {
  StatusInputs inputs = three_members();
  inputs.proxy_ports = ProxyPorts{14432, 14433, 17432};
  inputs.archiving = archiving_of(R"({"archivedCount": 1, "failedCount": 0, "failing": false})");
  inputs.member_events["demo-1"] = {Json{{"at", "t"}, {"type", "Normal"}, {"reason", "R"}, {"message", "m"}}};
  model::ClusterStatus built = build_cluster_status(inputs);
  built.other_sections = {{"managedSql", {{"scripts", Json::array()}}}};
  Json json = model::cluster_status_to_json(built);
  auto read = model::cluster_status_from_json(json);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read.value(), built);
  EXPECT_EQ(json["managedSql"], built.other_sections["managedSql"]);
  ASSERT_NE(model::find_condition(read->conditions, "Ready"), nullptr);
  EXPECT_EQ(model::find_condition(read->conditions, "Ready")->status, "True");

  json["members"][1]["lagBytes"] = "lots";
  auto bad = model::cluster_status_from_json(json);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("members[1].lagBytes: expected an integer"), std::string::npos)
      << bad.error().message;
}

}  // namespace
}  // namespace pgstack::controller
