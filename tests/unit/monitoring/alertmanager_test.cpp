// Alertmanager's API v2 alerts read into pgstack's Alert (pure), filtered per cluster, and through the
// REST API's JSON and back.
#include "monitoring/alertmanager.h"

#include <gtest/gtest.h>

namespace pgstack::monitoring {
namespace {

// What Alertmanager 0.25 answers to GET /api/v2/alerts (two alerts, trimmed to the fields it sends).
const char* const kAlertmanagerBody = R"([
  {"annotations": {"description": "4 of 3 ...", "summary": "Replica demo-1 of default/demo is 6m 40s behind"},
   "endsAt": "2026-12-04T23:10:00.000Z", "fingerprint": "a1", "receivers": [{"name": "pgstack"}],
   "startsAt": "2026-12-04T22:40:00.123456789Z",
   "status": {"inhibitedBy": [], "silencedBy": [], "state": "active"},
   "updatedAt": "2026-12-04T22:55:00.5Z", "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=...",
   "labels": {"alertname": "ReplicationLagHigh", "severity": "warning", "namespace": "default",
              "cluster": "demo", "instance_name": "demo-1", "host": "h1", "instance": "127.0.0.1:9188",
              "job": "postgres"}},
  {"annotations": {"summary": "Postgres demo-0 of default/demo is unreachable by its exporter"},
   "endsAt": "2026-12-04T23:10:00Z", "fingerprint": "b2", "receivers": [{"name": "pgstack"}],
   "startsAt": "2026-12-04T22:41:00Z",
   "status": {"inhibitedBy": [], "silencedBy": ["0b1c"], "state": "suppressed"},
   "updatedAt": "2026-12-04T22:55:00Z",
   "labels": {"alertname": "PostgresDown", "severity": "critical", "namespace": "default", "cluster": "demo",
              "instance_name": "demo-0", "host": "h1", "instance": "127.0.0.1:9187"}}
])";

TEST(AlertmanagerAlerts, AreParsedCriticalFirstWithWholeSecondTimes) {
  auto parsed = parse_alertmanager_alerts(kAlertmanagerBody);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 2U);
  const Alert& down = parsed->at(0);
  EXPECT_EQ(down.name, "PostgresDown");
  EXPECT_EQ(down.severity, "critical");
  EXPECT_EQ(down.state, AlertState::kSuppressed);
  EXPECT_EQ(down.silenced_by, std::vector<std::string>{"0b1c"});
  EXPECT_EQ(down.description, "");
  const Alert& lag = parsed->at(1);
  EXPECT_EQ(lag.name, "ReplicationLagHigh");
  EXPECT_EQ(lag.state, AlertState::kFiring);
  EXPECT_EQ(lag.namespace_name, "default");
  EXPECT_EQ(lag.cluster, "demo");
  EXPECT_EQ(lag.instance_name, "demo-1");
  EXPECT_EQ(lag.host, "h1");
  EXPECT_EQ(lag.instance, "127.0.0.1:9188");
  EXPECT_EQ(lag.summary, "Replica demo-1 of default/demo is 6m 40s behind");
  EXPECT_EQ(lag.starts_at, "2026-12-04T22:40:00Z");
  EXPECT_EQ(lag.updated_at, "2026-12-04T22:55:00Z");
  EXPECT_EQ(lag.fingerprint, "a1");
  EXPECT_EQ(lag.labels.at("job"), "postgres");
  EXPECT_EQ(alert_subject(lag), "demo-1");
}

TEST(AlertmanagerAlerts, AnEmptyListIsNoAlerts) {
  auto parsed = parse_alertmanager_alerts("[]");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->empty());
}

TEST(AlertmanagerAlerts, WhatIsNotItsAnswerIsRefusedSayingWhere) {
  const std::pair<const char*, const char*> cases[] = {
      {"<html>", "not JSON"},
      {R"({"alerts": []})", "expected a list"},
      {"[1]", "alerts[0]: expected an object"},
      {R"([{"labels": {"severity": "critical"}, "status": {"state": "active"}}])",
       "alerts[0].labels: has no alertname"},
      {R"([{"labels": {"alertname": "A", "n": 5}, "status": {"state": "active"}}])",
       "alerts[0].labels.n: expected a string"},
      {R"([{"labels": {"alertname": "A"}, "status": {"state": "resolved"}}])", "unknown state \"resolved\""},
      {R"([{"labels": {"alertname": "A"}, "status": {"state": "active", "silencedBy": "x"}}])",
       "silencedBy: expected a list"},
  };
  for (const auto& [body, expected] : cases) {
    auto parsed = parse_alertmanager_alerts(body);
    ASSERT_FALSE(parsed.ok()) << body;
    EXPECT_NE(parsed.error().message.find(expected), std::string::npos) << parsed.error().message;
  }
}

TEST(AlertmanagerAlerts, BelongToTheirClusterOrToTheHostsOfItsMembers) {
  Alert lag;
  lag.namespace_name = "default";
  lag.cluster = "demo";
  lag.host = "h1";
  EXPECT_TRUE(alert_concerns_cluster(lag, "default", "demo", {}));
  EXPECT_FALSE(alert_concerns_cluster(lag, "team", "demo", {"h1"}));  // same name, other namespace
  EXPECT_FALSE(alert_concerns_cluster(lag, "default", "other", {"h1"}));
  Alert disk;  // node_exporter's: a host, no cluster
  disk.host = "h2";
  EXPECT_TRUE(alert_concerns_cluster(disk, "default", "demo", {"h1", "h2"}));
  EXPECT_FALSE(alert_concerns_cluster(disk, "default", "demo", {"h1"}));
  Alert nowhere;  // neither cluster nor host: nobody's in particular
  EXPECT_FALSE(alert_concerns_cluster(nowhere, "default", "demo", {""}));
}

TEST(AlertmanagerAlerts, GoThroughTheApiJsonUnchanged) {
  auto parsed = parse_alertmanager_alerts(kAlertmanagerBody);
  ASSERT_TRUE(parsed.ok());
  for (const Alert& alert : parsed.value()) {
    const auto json = alert_to_json(alert);
    EXPECT_EQ(json.value("state", ""), std::string(alert_state_name(alert.state)));
    auto back = alert_from_json(json);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back.value(), alert);
  }
  EXPECT_FALSE(alert_from_json(nlohmann::ordered_json::array()).ok());
  EXPECT_FALSE(alert_from_json({{"state", "firing"}}).ok());  // no name
}

}  // namespace
}  // namespace pgstack::monitoring
