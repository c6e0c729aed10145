#include "controller/reconcile/status_step.h"

#include <gtest/gtest.h>

#include "step_fixture.h"

namespace pgstack::controller {
namespace {

using model::Json;

const Json* find_condition(const Json& status, const std::string& type) {
  for (const auto& condition : status["conditions"]) {
    if (condition["type"] == type) return &condition;
  }
  return nullptr;
}

struct StatusFixture {
  model::Document document = testing::cluster_document();
  ClusterState state{document, model::cluster_from(document)};
  PassSnapshot pass;
  StatusObservation observed{&state, &pass, {}, {}, "2026-11-24T01:30:00Z"};

  StatusFixture() {
    state.inputs.postgres = testing::postgres15();
    state.members = {{"shop/demo", "demo-0", 0, "node-a", {15432, 16432, 18008}}};
    pass.hosts = {{"node-a", "10.0.0.1"}};
  }
};

TEST(StatusStep, TheStepThatStoppedTheReconcileIsACondition) {
  StatusFixture fixture;
  fixture.state.stopped = StepOutcome::stopped("ReferencedResourceMissing", "SGPostgresConfig/pgconf does not exist");
  const Json status = decide_status(fixture.observed);
  const Json* scheduling = find_condition(status, "Scheduling");
  ASSERT_NE(scheduling, nullptr);
  EXPECT_EQ((*scheduling)["status"], "False");
  EXPECT_EQ((*scheduling)["reason"], "ReferencedResourceMissing");
  EXPECT_EQ((*scheduling)["message"], "SGPostgresConfig/pgconf does not exist");
  fixture.state.stopped.reset();
  EXPECT_EQ(find_condition(decide_status(fixture.observed), "Scheduling"), nullptr);
}

TEST(StatusStep, ReadsTheAgentsReports) {
  StatusFixture fixture;
  model::InstanceReport report{.member = "demo-0", .state = "failed", .reason = "the restore failed"};
  report.events = {Json{{"at", "2026-11-24T01:29:00Z"}, {"type", "Warning"}, {"reason", "Rebuilt"}}};
  fixture.observed.reports["demo-0"] = report;
  const Json status = decide_status(fixture.observed);
  EXPECT_EQ(status["members"][0]["state"], "failed");
  EXPECT_NE(find_condition(status, "Ready")->at("message").get<std::string>().find("the restore failed"),
            std::string::npos);
  ASSERT_EQ(status["events"].size(), 1u);
  EXPECT_EQ(status["events"][0]["member"], "demo-0");
}

TEST(StatusStep, ThePrimarysReportGivesArchiving) {
  StatusFixture fixture;
  fixture.state.topology = ClusterTopology{};
  fixture.state.topology->leader = "demo-0";
  fixture.state.topology->members["demo-0"] =
      parse_patroni_member("demo-0", R"({"role":"master","state":"running","timeline":1})");
  fixture.state.cluster.backup = model::BackupConfiguration{};
  model::InstanceReport report{.member = "demo-0", .state = "running"};
  report.archiving = model::ReportedArchiving{.archived_count = 3, .last_archived_wal = "000000010000000000000003"};
  fixture.observed.reports["demo-0"] = report;
  const Json status = decide_status(fixture.observed);
  EXPECT_EQ(status["archiving"]["archivedCount"], 3);
  EXPECT_NE(find_condition(status, "WalArchiving"), nullptr);
  EXPECT_NE(find_condition(status, "BackupStorageUsable"), nullptr) << status.dump();
}

TEST(StatusStep, KeepsWhatOtherWritersPutInTheStatus) {
  StatusFixture fixture;
  fixture.state.previous_status = Json{{"restart", {{"phase", "Running"}}}};
  const Json status = decide_status(fixture.observed);
  EXPECT_EQ(status["restart"]["phase"], "Running");
}

}  // namespace
}  // namespace pgstack::controller

namespace pgstack::controller {
namespace {

monitoring::Alert labelled(const std::string& name, const std::string& ns, const std::string& cluster,
                           const std::string& host) {
  monitoring::Alert alert;
  alert.name = name;
  alert.severity = "warning";
  alert.namespace_name = ns;
  alert.cluster = cluster;
  alert.host = host;
  return alert;
}

// The pass reads Alertmanager once; each cluster's status takes its own alerts and its hosts'.
TEST(StatusStep, TakesTheClustersAlertsAndThoseOfItsHosts) {
  StatusFixture fixture;
  EXPECT_EQ(find_condition(decide_status(fixture.observed), "AlertsFiring"), nullptr);  // no Alertmanager
  fixture.pass.alerts =
      AlertsObservation{{labelled("ReplicationLagHigh", "shop", "demo", "node-a"),
                         labelled("ReplicationLagHigh", "other", "demo", "node-a"),
                         labelled("ConnectionsNearMax", "shop", "orders", "node-a"),
                         labelled("DiskSpaceLow", "", "", "node-a"), labelled("DiskSpaceCritical", "", "", "node-b")},
                        ""};
  const Json status = decide_status(fixture.observed);
  const Json* firing = find_condition(status, "AlertsFiring");
  ASSERT_NE(firing, nullptr) << status.dump(2);
  EXPECT_EQ((*firing)["status"], "True");
  EXPECT_EQ((*firing)["message"], "2 alerts firing: ReplicationLagHigh (warning), DiskSpaceLow (warning, node-a)");
  fixture.pass.alerts = AlertsObservation{{}, "Alertmanager at http://127.0.0.1:9093 is unreachable"};
  EXPECT_EQ((*find_condition(decide_status(fixture.observed), "AlertsFiring"))["status"], "Unknown");
}

}  // namespace
}  // namespace pgstack::controller
