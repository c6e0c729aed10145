// The alerts of a cluster in its status (the AlertsFiring condition, status.alerts) and who sees which
// alert in GET /apis/pgstack.io/v1/alerts: pure, from typed alerts.
#include <gtest/gtest.h>

#include "controller/alerts_api.h"
#include "controller/cluster_status.h"

namespace pgstack::controller {
namespace {

using model::Json;

monitoring::Alert alert(std::string name, std::string severity, std::string ns, std::string cluster,
                        std::string instance_name, std::string host = "h1") {
  monitoring::Alert out;
  out.name = std::move(name);
  out.severity = std::move(severity);
  out.namespace_name = std::move(ns);
  out.cluster = std::move(cluster);
  out.instance_name = std::move(instance_name);
  out.host = std::move(host);
  out.starts_at = "2026-12-04T22:40:00Z";
  return out;
}

const std::string kNow = "2026-12-04T23:00:00Z";

TEST(AlertsFiringCondition, NamesTheFiringAlertsWorstFirst) {
  AlertsObservation observed;
  observed.alerts = {alert("PostgresDown", "critical", "default", "demo", "demo-0"),
                     alert("ReplicaNotStreaming", "warning", "default", "demo", ""),
                     alert("DiskSpaceLow", "warning", "", "", "", "h1")};
  const model::Condition condition = alerts_firing_condition(observed, Json::array(), kNow);
  EXPECT_EQ(condition.type, "AlertsFiring");
  EXPECT_EQ(condition.status, "True");
  EXPECT_EQ(condition.reason, "CriticalAlertsFiring");
  EXPECT_EQ(
      condition.message,
      "3 alerts firing: PostgresDown (critical, demo-0), ReplicaNotStreaming (warning), DiskSpaceLow (warning, h1)");
  EXPECT_EQ(condition.last_transition_time, kNow);

  const auto listed = status_alerts(observed.alerts);
  ASSERT_EQ(listed.size(), 3U);
  EXPECT_EQ(listed[0], (model::StatusAlert{"PostgresDown", "critical", "demo-0", "2026-12-04T22:40:00Z"}));
  EXPECT_EQ(listed[1].subject, "");  // about the whole cluster
  EXPECT_EQ(listed[2].subject, "h1");
}

TEST(AlertsFiringCondition, SilencedAlertsDoNotFireButAreCounted) {
  AlertsObservation observed;
  observed.alerts = {alert("LongRunningTransaction", "warning", "default", "demo", "demo-0")};
  observed.alerts[0].state = monitoring::AlertState::kSuppressed;
  const model::Condition quiet = alerts_firing_condition(observed, Json::array(), kNow);
  EXPECT_EQ(quiet.status, "False");
  EXPECT_EQ(quiet.reason, "NoAlertsFiring");
  EXPECT_EQ(quiet.message, "no alert about this cluster is firing (1 more silenced or inhibited)");
  EXPECT_TRUE(status_alerts(observed.alerts).empty());

  observed.alerts.push_back(alert("PostgresRestarted", "info", "default", "demo", "demo-1"));
  const model::Condition info = alerts_firing_condition(observed, Json::array(), kNow);
  EXPECT_EQ(info.reason, "AlertsFiring");
  EXPECT_EQ(info.message, "1 alert firing: PostgresRestarted (info, demo-1) (1 more silenced or inhibited)");
}

TEST(AlertsFiringCondition, KeepsItsTransitionTimeAndIsUnknownWithoutAlertmanager) {
  const Json previous = Json::parse(R"([{"type":"AlertsFiring","status":"False","reason":"NoAlertsFiring",
    "message":"","lastTransitionTime":"2026-12-01T00:00:00Z"}])");
  EXPECT_EQ(alerts_firing_condition({}, previous, kNow).last_transition_time, "2026-12-01T00:00:00Z");
  const model::Condition unknown =
      alerts_firing_condition({{}, "Alertmanager at http://127.0.0.1:9093 is unreachable: refused"}, previous, kNow);
  EXPECT_EQ(unknown.status, "Unknown");
  EXPECT_EQ(unknown.reason, "AlertmanagerUnreachable");
  EXPECT_EQ(unknown.last_transition_time, kNow);
}

TEST(AlertsFiringCondition, NamesTenAlertsAtMost) {
  AlertsObservation observed;
  for (int i = 0; i < 12; ++i)
    observed.alerts.push_back(
        alert("IdleInTransactionTooLong", "warning", "default", "demo", "demo-" + std::to_string(i)));
  const model::Condition condition = alerts_firing_condition(observed, Json::array(), kNow);
  EXPECT_EQ(condition.message.rfind("12 alerts firing: ", 0), 0U) << condition.message;
  EXPECT_NE(condition.message.find(", and 2 more"), std::string::npos) << condition.message;
  EXPECT_EQ(status_alerts(observed.alerts).size(), 12U);
}

TEST(AlertsFiringCondition, IsInTheStatusOnlyWithMonitoring) {
  StatusInputs inputs;
  inputs.instances = 1;
  inputs.now = kNow;
  const model::ClusterStatus without = build_cluster_status(inputs);
  EXPECT_EQ(model::find_condition(without.conditions, "AlertsFiring"), nullptr);
  EXPECT_FALSE(model::cluster_status_to_json(without).contains("alerts"));

  inputs.alerts = AlertsObservation{{alert("PostgresDown", "critical", "default", "demo", "demo-0")}, ""};
  const model::ClusterStatus with = build_cluster_status(inputs);
  const model::Condition* condition = model::find_condition(with.conditions, "AlertsFiring");
  ASSERT_NE(condition, nullptr);
  EXPECT_EQ(condition->status, "True");
  const Json json = model::cluster_status_to_json(with);
  ASSERT_TRUE(json.contains("alerts"));
  EXPECT_EQ(json["alerts"][0].value("name", ""), "PostgresDown");
  // Read back by the CLI and the next pass as it was written.
  auto read = model::cluster_status_from_json(json);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->alerts, with.alerts);
  EXPECT_FALSE(read->other_sections.contains("alerts"));
}

TEST(AlertsVisibleTo, TheNamespacesTheCallerMayReadAndTheirHosts) {
  const std::vector<monitoring::Alert> alerts = {alert("PostgresDown", "critical", "default", "demo", "demo-0"),
                                                 alert("ConnectionsNearMax", "warning", "team", "other", "other-0"),
                                                 alert("DiskSpaceLow", "warning", "", "", "", "h1"),
                                                 alert("DiskSpaceCritical", "critical", "", "", "", "h9"),
                                                 alert("Orphan", "warning", "", "lost", "", "h1")};
  const std::map<std::string, std::set<std::string>> hosts = {{"default", {"h1", "h2"}}, {"team", {"h1"}}};
  const auto names = [&](const NamespaceReadable& may_read) {
    std::vector<std::string> out;
    for (const auto& shown : alerts_visible_to(alerts, may_read, hosts)) out.push_back(shown.name);
    return out;
  };
  EXPECT_EQ(names([](const std::string&) { return true; }).size(), 5U);
  EXPECT_EQ(names([](const std::string& ns) { return ns == "team"; }),
            (std::vector<std::string>{"ConnectionsNearMax", "DiskSpaceLow"}));
  EXPECT_TRUE(names([](const std::string&) { return false; }).empty());
}

TEST(AlertsPath, NamesTheThreeRoutes) {
  EXPECT_TRUE(is_alerts_path({"apis", "pgstack.io", "v1", "alerts"}));
  EXPECT_TRUE(is_alerts_path({"apis", "pgstack.io", "v1", "namespaces", "team", "alerts"}));
  EXPECT_TRUE(is_alerts_path({"apis", "pgstack.io", "v1", "namespaces", "team", "sgclusters", "demo", "alerts"}));
  EXPECT_FALSE(is_alerts_path({"apis", "pgstack.io", "v1", "users"}));
  EXPECT_FALSE(is_alerts_path({"apis", "stackgres.io", "v1", "namespaces", "team", "sgclusters", "demo", "alerts"}));
  EXPECT_FALSE(is_alerts_path({"apis", "pgstack.io", "v1", "namespaces", "team", "sgbackups", "b", "alerts"}));
}

}  // namespace
}  // namespace pgstack::controller
