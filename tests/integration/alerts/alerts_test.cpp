// Firing alerts through pgstack, against a real Alertmanager: alerts with cluster labels are POSTed to
// its /api/v2/alerts (as Prometheus does) and read back through the controller's REST API (one cluster,
// a namespace, everything the caller may read), `pgstack get alerts`, and each cluster's AlertsFiring
// condition. The controller runs with --alertmanager; the agent is stopped before the clusters are
// made, so their members are placed on its host but never started (no Postgres is needed here).
#include <chrono>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/time.h"
#include "controller/api_server.h"
#include "store/keys.h"
#include "store/resource_store.h"
#include "support/alertmanager_server.h"
#include "support/pgstack_runtime.h"

namespace pgstack::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

PgstackRuntime* runtime = nullptr;
AlertmanagerServer* alertmanager = nullptr;
std::string agent_host;  // where the clusters' members are placed

json cluster_manifest(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "stackgres.io/v1"},
          {"kind", "SGCluster"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"instances", 1}, {"postgres", {{"version", "15"}}}, {"pods", {{"persistentVolume", {{"size", "1Gi"}}}}}}}};
}

// A postableAlert that fires for the next hour.
json alert(const json& labels, const std::string& summary) {
  const auto now = std::chrono::system_clock::now();
  return {{"labels", labels},
          {"annotations", {{"summary", summary}, {"description", summary + " (test)"}}},
          {"startsAt", utc_timestamp(now - 2min)},
          {"endsAt", utc_timestamp(now + 1h)}};
}

std::vector<std::string> names_in(const json& list) {
  std::vector<std::string> names;
  for (const auto& item : list.value("items", json::array()))
    names.push_back(item.value("name", "") + "@" + item.value("namespace", "") + "/" + item.value("cluster", ""));
  std::sort(names.begin(), names.end());
  return names;
}

json get_json(const std::string& path, const std::string& token = "") {
  auto response = token.empty() ? runtime->api("GET", path) : runtime->api_as(token, "GET", path);
  EXPECT_TRUE(response.ok()) << (response.ok() ? "" : response.error().message);
  if (!response.ok()) return json::object();
  EXPECT_EQ(response->status, 200) << path << ": " << response->body;
  return json::parse(response->body, nullptr, false);
}

class Alerts : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Members are placed on the agent's host, which stays registered (its lease) for a while after the
    // agent is gone: wait until it registered, then stop it before it could start any member.
    store::EtcdClient etcd({runtime->etcd().endpoint()});
    ASSERT_TRUE(wait_until(
        [&etcd] {
          auto hosts = etcd.get_prefix(store::keys::hosts_prefix("/pgstack"));
          return hosts.ok() && !hosts->items.empty();
        },
        30s))
        << runtime->agent_log();
    ASSERT_TRUE(runtime->kill_agent().ok());
    for (const auto& [ns, name] : {std::pair{"default", "demo"}, std::pair{"team", "other"}}) {
      auto created = runtime->api("POST", fmt::format("/apis/stackgres.io/v1/namespaces/{}/sgclusters", ns),
                                  cluster_manifest(ns, name).dump());
      ASSERT_TRUE(created.ok()) << created.error().message;
      ASSERT_EQ(created->status, 201) << created->body;
    }
    // Both clusters' members have their host in the status: the API finds a cluster's host alerts there.
    ASSERT_TRUE(wait_until(
        [] {
          const json other = runtime->get("/apis/stackgres.io/v1/namespaces/team/sgclusters/other/status");
          if (other.value("members", json::array()).empty()) return false;
          const json status = runtime->get("/apis/stackgres.io/v1/namespaces/default/sgclusters/demo/status");
          const json members = status.value("members", json::array());
          if (members.empty()) return false;
          agent_host = members[0].value("host", "");
          return !agent_host.empty();
        },
        60s))
        << runtime->controller_log();
    const json demo = {{"namespace", "default"}, {"cluster", "demo"}, {"host", agent_host}};
    json down = demo, lag = demo, ghost = {{"namespace", "default"}, {"cluster", "ghost"}, {"host", "elsewhere"}};
    down.update({{"alertname", "PostgresDown"}, {"severity", "critical"}, {"instance_name", "demo-0"}});
    lag.update({{"alertname", "ReplicationLagHigh"}, {"severity", "warning"}, {"instance_name", "demo-1"}});
    ghost.update({{"alertname", "PostgresDown"}, {"severity", "critical"}, {"instance_name", "ghost-0"}});
    const json other = {
        {"alertname", "ConnectionsNearMax"}, {"severity", "warning"}, {"namespace", "team"}, {"cluster", "other"},
        {"instance_name", "other-0"},        {"host", agent_host}};
    const json disk = {{"alertname", "DiskSpaceLow"},
                       {"severity", "warning"},
                       {"host", agent_host},
                       {"mountpoint", "/"},
                       {"job", "node"}};
    const json far_disk = {{"alertname", "DiskSpaceCritical"}, {"severity", "critical"}, {"host", "elsewhere"}};
    auto posted = alertmanager->post_alerts(
        json::array({alert(down, "Postgres demo-0 of default/demo is unreachable by its exporter"),
                     alert(lag, "Replica demo-1 of default/demo is 45s behind"), alert(ghost, "ghost"),
                     alert(other, "other-0 of team/other uses 85% of its connections"),
                     alert(disk, "/ on host has 15% free"), alert(far_disk, "elsewhere's disk")}));
    ASSERT_TRUE(posted.ok()) << posted.error().message << "\n" << alertmanager->log_tail();
  }
};

const std::string kDemoAlerts = "/apis/pgstack.io/v1/namespaces/default/sgclusters/demo/alerts";

TEST_F(Alerts, OfOneClusterAreItsOwnAndThoseOfItsHosts) {
  json list;
  // Alertmanager takes what was posted at once; the controller reads it on each request.
  ASSERT_TRUE(wait_until([&] { return (list = get_json(kDemoAlerts)).value("items", json::array()).size() >= 3; }, 20s))
      << list.dump(2);
  EXPECT_EQ(list.value("kind", ""), "AlertList");
  EXPECT_EQ(names_in(list), (std::vector<std::string>{"DiskSpaceLow@/", "PostgresDown@default/demo",
                                                      "ReplicationLagHigh@default/demo"}));
  // Critical first, with what the table shows.
  const json& first = list["items"][0];
  EXPECT_EQ(first.value("name", ""), "PostgresDown");
  EXPECT_EQ(first.value("severity", ""), "critical");
  EXPECT_EQ(first.value("state", ""), "firing");
  EXPECT_EQ(first.value("instanceName", ""), "demo-0");
  EXPECT_EQ(first.value("summary", ""), "Postgres demo-0 of default/demo is unreachable by its exporter");
  EXPECT_FALSE(first.value("startsAt", "").empty());

  EXPECT_EQ(names_in(get_json("/apis/pgstack.io/v1/namespaces/team/sgclusters/other/alerts")),
            (std::vector<std::string>{"ConnectionsNearMax@team/other", "DiskSpaceLow@/"}));
  auto absent = runtime->api("GET", "/apis/pgstack.io/v1/namespaces/default/sgclusters/absent/alerts");
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(absent->status, 404) << absent->body;
}

TEST_F(Alerts, OfANamespaceAndOfEverythingFollowTheCallersRoles) {
  EXPECT_EQ(names_in(get_json("/apis/pgstack.io/v1/namespaces/default/alerts")),
            (std::vector<std::string>{"DiskSpaceLow@/", "PostgresDown@default/demo", "PostgresDown@default/ghost",
                                      "ReplicationLagHigh@default/demo"}));
  EXPECT_EQ(names_in(get_json("/apis/pgstack.io/v1/alerts")).size(), 6U);  // the admin reads everything

  // A viewer of namespace team: its cluster's alerts and those of the host it runs on, nothing else.
  const json user = {{"name", "team-viewer"},
                     {"password", "team-viewer-password-1"},
                     {"roles", {{{"role", "viewer"}, {"namespace", "team"}}}}};
  auto created = runtime->api("POST", "/apis/pgstack.io/v1/users", user.dump());
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->status, 201) << created->body;
  auto token = runtime->api("POST", "/apis/pgstack.io/v1/tokens", json{{"user", "team-viewer"}}.dump());
  ASSERT_TRUE(token.ok());
  ASSERT_EQ(token->status, 201) << token->body;
  const std::string viewer = json::parse(token->body).value("token", "");
  EXPECT_EQ(names_in(get_json("/apis/pgstack.io/v1/alerts", viewer)),
            (std::vector<std::string>{"ConnectionsNearMax@team/other", "DiskSpaceLow@/"}));
  auto refused = runtime->api_as(viewer, "GET", kDemoAlerts);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 403) << refused->body;
  EXPECT_NE(refused->body.find("sgclusters in namespace \\\"default\\\""), std::string::npos) << refused->body;
  auto no_token = runtime->api_as("", "GET", "/apis/pgstack.io/v1/alerts");
  ASSERT_TRUE(no_token.ok());
  EXPECT_EQ(no_token->status, 401);
}

TEST_F(Alerts, ThePgstackCliListsThem) {
  auto table = runtime->cli({"get", "alerts", "demo"});
  ASSERT_TRUE(table.ok());
  ASSERT_EQ(table->exit_code, 0) << table->standard_error;
  const std::string& text = table->standard_output;
  EXPECT_EQ(text.rfind("ALERT", 0), 0U) << text;  // one cluster: no CLUSTER column
  for (const char* expected : {"SEVERITY", "STATE", "INSTANCE", "SINCE", "SUMMARY", "PostgresDown", "critical",
                               "firing", "demo-0", "ReplicationLagHigh", "DiskSpaceLow", agent_host.c_str()})
    EXPECT_NE(text.find(expected), std::string::npos) << expected << " in\n" << text;
  EXPECT_LT(text.find("PostgresDown"), text.find("ReplicationLagHigh")) << text;
  EXPECT_EQ(text.find("ConnectionsNearMax"), std::string::npos) << text;

  auto in_team = runtime->cli({"get", "alerts", "-n", "team"});
  ASSERT_TRUE(in_team.ok());
  ASSERT_EQ(in_team->exit_code, 0) << in_team->standard_error;
  EXPECT_EQ(in_team->standard_output.rfind("CLUSTER", 0), 0U) << in_team->standard_output;
  EXPECT_NE(in_team->standard_output.find("ConnectionsNearMax"), std::string::npos);
  EXPECT_EQ(in_team->standard_output.find("PostgresDown"), std::string::npos);

  auto everything = runtime->cli({"get", "alerts", "-A", "-o", "json"});
  ASSERT_TRUE(everything.ok());
  ASSERT_EQ(everything->exit_code, 0) << everything->standard_error;
  const json list = json::parse(everything->standard_output, nullptr, false);
  ASSERT_TRUE(list.is_object()) << everything->standard_output;
  EXPECT_EQ(list.value("items", json::array()).size(), 6U);

  auto wrong = runtime->cli({"get", "alerts", "demo", "-A"});
  ASSERT_TRUE(wrong.ok());
  EXPECT_NE(wrong->exit_code, 0);
}

TEST_F(Alerts, AreTheClustersAlertsFiringCondition) {
  json condition;
  // The reconciler reads Alertmanager at most every 5 s.
  const bool named = wait_until(
      [&] {
        condition = condition_in(runtime->cluster_status("demo"), "AlertsFiring");
        return condition.value("status", "") == "True" &&
               condition.value("message", "").find("DiskSpaceLow") != std::string::npos;
      },
      30s);
  ASSERT_TRUE(named) << condition.dump(2) << "\n" << runtime->controller_log();
  EXPECT_EQ(condition.value("reason", ""), "CriticalAlertsFiring");
  EXPECT_EQ(condition.value("message", ""),
            fmt::format("3 alerts firing: PostgresDown (critical, demo-0), DiskSpaceLow (warning, {}), "
                        "ReplicationLagHigh (warning, demo-1)",
                        agent_host));
  const json status = runtime->cluster_status("demo");
  ASSERT_TRUE(status.contains("alerts")) << status.dump(2);
  EXPECT_EQ(status["alerts"].size(), 3U);
  EXPECT_EQ(status["alerts"][0].value("name", ""), "PostgresDown");
  EXPECT_EQ(status["alerts"][0].value("subject", ""), "demo-0");

  // Each cluster's status is written in its own turn of the pass: team/other's may come a moment after demo's.
  json other;
  EXPECT_TRUE(wait_until(
      [&] {
        other = runtime->get("/apis/stackgres.io/v1/namespaces/team/sgclusters/other/status");
        return condition_in(other, "AlertsFiring").value("reason", "") == "WarningAlertsFiring";
      },
      30s))
      << other.dump(2);
}

// The same API without --alertmanager (an in-process handler on the runtime's etcd): it says so.
TEST_F(Alerts, WithoutAlertmanagerTheApiSaysMonitoringIsNotConfigured) {
  store::EtcdClient client({runtime->etcd().endpoint()});
  controller::ApiHandler api(store::ResourceStore(client, "/pgstack"), "/pgstack", {}, nullptr);
  HttpRequest request;
  request.method = "GET";
  request.path = request.target = kDemoAlerts;
  HttpReply reply = api.handle(request);
  EXPECT_EQ(reply.status, 503) << reply.body;
  EXPECT_NE(reply.body.find("monitoring is not configured"), std::string::npos) << reply.body;
  // And with an Alertmanager that does not answer: 503 naming it.
  api.use_alertmanager(fmt::format("http://127.0.0.1:{}", free_tcp_port()));
  reply = api.handle(request);
  EXPECT_EQ(reply.status, 503) << reply.body;
  EXPECT_NE(reply.body.find("is unreachable"), std::string::npos) << reply.body;
}

}  // namespace
}  // namespace pgstack::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto started = pgstack::testing::AlertmanagerServer::start();
  if (!started.ok()) {
    std::cerr << "cannot start Alertmanager: " << started.error().message << "\n";
    return 1;
  }
  pgstack::testing::alertmanager = started.value().get();
  pgstack::testing::RuntimeBinaries binaries{PGSTACK_CONTROLLER_BINARY, PGSTACK_AGENT_BINARY, PGSTACK_CLI_BINARY};
  binaries.controller_flags = {"--alertmanager", pgstack::testing::alertmanager->url()};
  ::testing::AddGlobalTestEnvironment(new pgstack::testing::RuntimeEnvironment(&pgstack::testing::runtime, binaries));
  const int result = RUN_ALL_TESTS();
  return result;
}
