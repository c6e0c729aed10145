// Prometheus scraping a real pgstack (issue 13): the controller writes file_sd files of every member's
// Patroni, pgstack-proxy and its own /metrics (--prometheus-targets-dir, --metrics-listen); a real
// Prometheus 2.42 with the configuration pgstack up renders finds them `up` with the common labels, and
// follows scaling 3 -> 2 -> 3 without a restart.
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "common/files.h"
#include "common/http_client.h"
#include "common/network.h"
#include "monitoring/alert_rules.h"
#include "monitoring/prometheus_config.h"
#include "process/process_supervisor.h"
#include "support/pgstack_runtime.h"

namespace pgstack::testing {
namespace {

// A form value, percent-encoded (PromQL has braces, quotes and spaces).
std::string url_encode(std::string_view text) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

using nlohmann::json;
using namespace std::chrono_literals;

PgstackRuntime* runtime = nullptr;
std::filesystem::path monitoring_dir;  // targets/, rules/, prometheus/ (data), prometheus.yml
int controller_metrics_port = 0;
int prometheus_port = 0;  // chosen before the controller starts: its --prometheus points here

const char* kDemo = R"({"apiVersion":"stackgres.io/v1","kind":"SGCluster","metadata":{"name":"demo"},
  "spec":{"instances":3,"postgres":{"version":"latest"},"pods":{"persistentVolume":{"size":"5Gi"}}}})";

json status_of(const std::string& cluster) {
  auto status = runtime->api_json("GET", "sgclusters/" + cluster + "/status");
  return status.ok() ? status.value() : json::object();
}

bool wait_ready(std::size_t members, std::chrono::seconds timeout) {
  return wait_until(
      [&] {
        const json status = status_of("demo");
        return condition_in(status, "Ready").value("status", "") == "True" &&
               status.value("members", json::array()).size() == members;
      },
      timeout, 500ms);
}

std::string cluster_with(int instances) {
  auto current = runtime->api_json("GET", "sgclusters/demo");
  json document = current.ok() ? current.value() : json::parse(kDemo);
  document.erase("status");
  document["spec"]["instances"] = instances;
  return document.dump();
}

class Prometheus {
 public:
  Result<bool> start() {
    url_ = fmt::format("http://127.0.0.1:{}", prometheus_port);
    monitoring::PrometheusSettings settings;
    settings.scrape_interval = "2s";  // the test waits for scrapes
    settings.targets_dir = (monitoring_dir / "targets").string();
    settings.rules_dir = (monitoring_dir / "rules").string();
    settings.patroni_ca_file = runtime->ca_certificate().string();
    RETURN_IF_ERROR(
        write_file_atomically(monitoring_dir / "prometheus.yml", monitoring::render_prometheus_config(settings)));
    RETURN_IF_ERROR(monitoring::write_alert_rules(monitoring_dir / "rules"));  // as pgstack up does
    ProcessSpec spec;
    spec.name = "prometheus";
    const char* path = std::getenv("PATH");
    spec.environment = {{"PATH", path != nullptr ? path : "/usr/bin:/bin"}};
    spec.working_directory = monitoring_dir;
    spec.log_file = monitoring_dir / "prometheus.log";
    spec.pid_file = monitoring_dir / "prometheus.pid";
    spec.argv = {"prometheus",
                 "--config.file=" + (monitoring_dir / "prometheus.yml").string(),
                 "--storage.tsdb.path=" + (monitoring_dir / "prometheus").string(),
                 "--storage.tsdb.retention.time=15d",
                 "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port),
                 "--web.enable-lifecycle"};
    supervisor_ = std::make_unique<ProcessSupervisor>(std::move(spec));
    RETURN_IF_ERROR(supervisor_->start());
    if (!wait_until(
            [&] {
              auto ready = http_request("GET", url_ + "/-/ready", {}, {}, 2s);
              return ready.ok() && ready->status == 200;
            },
            30s))
      return make_error(ErrorCode::kUnavailable, "Prometheus is not ready: " + log());
    return true;
  }

  // The active targets of `job`.
  std::vector<json> targets(const std::string& job) const {
    std::vector<json> out;
    auto response = http_request("GET", url_ + "/api/v1/targets?state=active", {}, {}, 5s);
    if (!response.ok() || response->status != 200) return out;
    const json body = json::parse(response->body, nullptr, false);
    if (!body.is_object()) return out;
    for (const auto& target : body["data"]["activeTargets"]) {
      if (target["labels"].value("job", "") == job) out.push_back(target);
    }
    return out;
  }

  // The samples of an instant query: labels and value; nothing when it fails.
  std::vector<std::pair<json, double>> query(const std::string& promql) const {
    std::vector<std::pair<json, double>> out;
    auto response = http_request("POST", url_ + "/api/v1/query", "query=" + url_encode(promql),
                                 {{"Content-Type", "application/x-www-form-urlencoded"}}, 5s);
    if (!response.ok() || response->status != 200) return out;
    const json body = json::parse(response->body, nullptr, false);
    if (!body.is_object() || !body["data"].is_object()) return out;
    for (const auto& sample : body["data"]["result"])
      out.emplace_back(sample["metric"], std::stod(sample["value"][1].get<std::string>()));
    return out;
  }

  // The rule groups' evaluation errors ("group/rule: error"), and how many rules were loaded.
  std::pair<std::vector<std::string>, int> rule_errors() const {
    std::vector<std::string> errors;
    int rules = 0;
    auto response = http_request("GET", url_ + "/api/v1/rules", {}, {}, 5s);
    if (!response.ok() || response->status != 200) return {{"GET /api/v1/rules failed"}, 0};
    const json body = json::parse(response->body, nullptr, false);
    for (const auto& group : body["data"]["groups"]) {
      for (const auto& rule : group["rules"]) {
        ++rules;
        if (rule.value("health", "") == "err")
          errors.push_back(group.value("name", "") + "/" + rule.value("name", "") + ": " + rule.value("lastError", ""));
      }
    }
    return {errors, rules};
  }

  pid_t pid() const { return supervisor_->status().pid; }
  bool running() const { return supervisor_ && supervisor_->is_running(); }
  std::string log() const {
    auto content = read_file(monitoring_dir / "prometheus.log");
    return content.ok() ? *content : "(no log)";
  }
  void stop() {
    if (supervisor_) (void)supervisor_->stop();
  }

 private:
  std::string url_;
  std::unique_ptr<ProcessSupervisor> supervisor_;
};

Prometheus* prometheus = nullptr;

// The instance_name labels of `job`'s targets, when each of them is up; nothing while one is not.
std::set<std::string> members_up(const std::string& job) {
  std::set<std::string> out;
  for (const auto& target : prometheus->targets(job)) {
    if (target.value("health", "") != "up") return {};
    out.insert(target["labels"].value("instance_name", ""));
  }
  return out;
}

std::string describe_targets() {
  std::string out;
  for (const char* job : {"patroni", "postgres", "pgstack-proxy", "pgstack-agent", "node", "pgstack-controller"}) {
    for (const auto& target : prometheus->targets(job))
      out += fmt::format("{} {} {} {}\n", job, target["labels"].dump(), target.value("health", ""),
                         target.value("lastError", ""));
  }
  return out;
}

TEST(MonitoringPrometheus, ScrapesPatroniProxyAndControllerWithTheCommonLabels) {
  auto created = runtime->api("POST", "sgclusters", kDemo);
  ASSERT_TRUE(created.ok()) << created.error().message;
  ASSERT_EQ(created->status, 201) << created->body;
  ASSERT_TRUE(wait_ready(3, 240s)) << status_of("demo").dump(2);
  ASSERT_TRUE(prometheus->start().ok()) << prometheus->log();

  const std::set<std::string> all = {"demo-0", "demo-1", "demo-2"};
  EXPECT_TRUE(wait_until(
      [] {
        return members_up("patroni") == std::set<std::string>{"demo-0", "demo-1", "demo-2"};
      },
      60s, 1s))
      << describe_targets() << prometheus->log();
  for (const auto& target : prometheus->targets("patroni")) {
    const json& labels = target["labels"];
    EXPECT_EQ(labels.value("namespace", ""), "default");
    EXPECT_EQ(labels.value("cluster", ""), "demo");
    EXPECT_FALSE(labels.value("host", "").empty()) << labels.dump();
    EXPECT_EQ(target["scrapeUrl"].get<std::string>().rfind("https://", 0), 0u) << target.dump();
  }
  EXPECT_TRUE(wait_until(
      [] {
        const auto proxies = prometheus->targets("pgstack-proxy");
        return !proxies.empty() && std::all_of(proxies.begin(), proxies.end(), [](const json& target) {
          return target.value("health", "") == "up" && target["labels"].value("cluster", "") == "demo" &&
                 target["labels"].value("namespace", "") == "default";
        });
      },
      60s, 1s))
      << describe_targets();
  EXPECT_TRUE(wait_until(
      [] {
        const auto controllers = prometheus->targets("pgstack-controller");
        return controllers.size() == 1 && controllers[0].value("health", "") == "up";
      },
      60s, 1s))
      << describe_targets();

  // The exporters the agent runs: one postgres_exporter per member, the agent and node_exporter per host.
  EXPECT_TRUE(wait_until([&] { return members_up("postgres") == all; }, 60s, 1s)) << describe_targets();
  for (const char* job : {"pgstack-agent", "node"}) {
    EXPECT_TRUE(wait_until(
        [&] {
          const auto targets = prometheus->targets(job);
          return !targets.empty() && std::all_of(targets.begin(), targets.end(), [](const json& target) {
            return target.value("health", "") == "up" && !target["labels"].value("host", "").empty();
          });
        },
        60s, 1s))
        << job << "\n"
        << describe_targets();
  }
  // The series the alert rules are written against exist with the labels they join on.
  const auto single_value = [&](const std::string& promql) {
    const auto samples = prometheus->query(promql);
    return samples.size() == 1 ? samples[0].second : -1.0;
  };
  EXPECT_TRUE(wait_until([&] { return single_value("count(pg_up{cluster=\"demo\"} == 1)") == 3; }, 60s, 1s));
  EXPECT_TRUE(
      wait_until([&] { return single_value("pgstack_cluster_expected_replicas{cluster=\"demo\"}") == 2; }, 60s, 1s));
  EXPECT_TRUE(wait_until(
      [&] {
        return single_value(
                   "count by (namespace, cluster) "
                   "(pg_stat_replication_pg_wal_lsn_diff{cluster=\"demo\",state=\"streaming\"})") == 2;
      },
      60s, 1s));
  EXPECT_TRUE(wait_until([&] { return single_value("count(pg_replication_is_replica{cluster=\"demo\"} == 1)") == 2; },
                         60s, 1s));
  EXPECT_TRUE(wait_until([&] { return single_value("count(pgbouncer_up{cluster=\"demo\"} == 1)") == 3; }, 60s, 1s));
  EXPECT_TRUE(wait_until([&] { return !prometheus->query("node_filesystem_avail_bytes").empty(); }, 60s, 1s));
  // Every shipped rule loads and evaluates without an error against these series.
  EXPECT_TRUE(wait_until(
      [&] {
        const auto [errors, rules] = prometheus->rule_errors();
        return errors.empty() && rules >= 15;
      },
      30s, 1s))
      << fmt::format("{}", fmt::join(prometheus->rule_errors().first, "\n"));
  // A healthy cluster fires no warning or critical alert (those that need time, like ReplicaNotStreaming, are
  // pending at most); the informational PostgresRestarted fires for each member started minutes ago.
  std::string firing;
  for (const auto& [labels, value] :
       prometheus->query("ALERTS{alertstate=\"firing\",cluster=\"demo\",severity!=\"info\"}"))
    firing += labels.dump() + "\n";
  EXPECT_EQ(firing, "");
  EXPECT_TRUE(wait_until(
      [&] {
        return single_value("count(ALERTS{alertname=\"PostgresRestarted\",alertstate=\"firing\",cluster=\"demo\"})") ==
               3;
      },
      30s, 1s));

  // The controller's own metrics arrive: it leads, and it has reconciled demo.
  auto leader = http_request("GET", fmt::format("http://127.0.0.1:{}/metrics", controller_metrics_port), {}, {}, 5s);
  ASSERT_TRUE(leader.ok());
  EXPECT_NE(leader->body.find("pgstack_controller_leader 1\n"), std::string::npos) << leader->body;
  EXPECT_NE(
      leader->body.find("pgstack_controller_reconcile_duration_seconds_count{namespace=\"default\",cluster=\"demo\"}"),
      std::string::npos)
      << leader->body;
  EXPECT_NE(
      leader->body.find("route=\"/apis/stackgres.io/v1/namespaces/{namespace}/sgclusters/{name}/status\",code=\"200\""),
      std::string::npos)
      << leader->body;
}

TEST(MonitoringPrometheus, ScalingDropsAndReaddsTheMembersTargetsWithoutARestart) {
  ASSERT_TRUE(prometheus->running());
  const pid_t pid = prometheus->pid();
  auto down = runtime->api("PUT", "sgclusters/demo", cluster_with(2));
  ASSERT_TRUE(down.ok());
  ASSERT_EQ(down->status, 200) << down->body;
  ASSERT_TRUE(wait_ready(2, 180s)) << status_of("demo").dump(2);
  EXPECT_TRUE(wait_until(
      [] {
        return members_up("patroni") == std::set<std::string>{"demo-0", "demo-1"};
      },
      60s, 1s))
      << describe_targets();

  auto up = runtime->api("PUT", "sgclusters/demo", cluster_with(3));
  ASSERT_TRUE(up.ok());
  ASSERT_EQ(up->status, 200) << up->body;
  ASSERT_TRUE(wait_ready(3, 240s)) << status_of("demo").dump(2);
  EXPECT_TRUE(wait_until(
      [] {
        return members_up("patroni") == std::set<std::string>{"demo-0", "demo-1", "demo-2"};
      },
      90s, 1s))
      << describe_targets();
  EXPECT_TRUE(prometheus->running());
  EXPECT_EQ(prometheus->pid(), pid);  // the same Prometheus, never restarted or reloaded
}

// ---- The metrics API, `pgstack top` and `pgstack metrics` (the controller's --prometheus) ----

// What a test of the metrics API needs when run alone (--gtest_filter): demo with 3 members, Prometheus.
void ensure_demo_and_prometheus() {
  auto existing = runtime->api("GET", "sgclusters/demo");
  ASSERT_TRUE(existing.ok()) << existing.error().message;
  if (existing->status == 404) {
    auto created = runtime->api("POST", "sgclusters", kDemo);
    ASSERT_TRUE(created.ok()) << created.error().message;
    ASSERT_EQ(created->status, 201) << created->body;
  }
  ASSERT_TRUE(wait_ready(3, 240s)) << status_of("demo").dump(2);
  if (!prometheus->running()) {
    ASSERT_TRUE(prometheus->start().ok()) << prometheus->log();
  }
  ASSERT_TRUE(wait_until([] { return members_up("postgres").size() == 3; }, 90s, 1s)) << describe_targets();
}

// A user bound to one namespace as a viewer, and its token.
std::string viewer_token(const std::string& name, const std::string& ns) {
  const json user = {
      {"name", name}, {"password", name + "-password-1"}, {"roles", {{{"role", "viewer"}, {"namespace", ns}}}}};
  auto created = runtime->api("POST", "/apis/pgstack.io/v1/users", user.dump());
  EXPECT_TRUE(created.ok() && (created->status == 201 || created->status == 409))
      << (created.ok() ? created->body : created.error().message);
  auto token = runtime->api("POST", "/apis/pgstack.io/v1/tokens", json{{"user", name}, {"description", "test"}}.dump());
  if (!token.ok() || token->status != 201) return "";
  return json::parse(token->body, nullptr, false).value("token", "");
}

json json_of(const Result<HttpResponse>& response) {
  if (!response.ok()) return json::object();
  const json body = json::parse(response->body, nullptr, false);
  return body.is_discarded() ? json::object() : body;
}

TEST(MonitoringQuery, SummaryShowsTpsConnectionsAndLagPerReplicaUnderLoad) {
  ensure_demo_and_prometheus();
  // A loop of transactions as the superuser, while the summary is read.
  std::atomic<bool> stop{false};
  std::thread load([&] {
    while (!stop) (void)runtime->superuser_sql("demo", "SELECT count(*) FROM pg_class");
  });
  const std::string path = "/apis/pgstack.io/v1/namespaces/default/sgclusters/demo/metrics/summary?minutes=5";
  json summary;
  const bool complete = wait_until(
      [&] {
        summary = json_of(runtime->api("GET", path));
        std::size_t lagging = 0;
        for (const auto& member : summary.value("members", json::array())) {
          if (member.value("role", "") == "replica" && member["lagSeconds"].is_number()) ++lagging;
        }
        return summary.value("tps", json()).is_number() && summary["tps"].get<double>() > 0 &&
               summary.value("members", json::array()).size() == 3 && lagging == 2 &&
               summary["connections"].value("used", json()).is_number() &&
               summary["connections"]["used"].get<double>() > 0 &&
               summary["connections"].value("max", json()).is_number() &&
               summary["history"]["lagSeconds"].size() == 2 && !summary["history"]["tps"].empty();
      },
      120s, 2s);
  stop = true;
  load.join();
  EXPECT_TRUE(complete) << summary.dump(2);
  EXPECT_EQ(summary.value("kind", ""), "ClusterMetrics");
  EXPECT_TRUE(summary["cacheHitRatio"].is_number()) << summary.dump(2);
  EXPECT_TRUE(summary["walBytesPerSecond"].is_number()) << summary.dump(2);
  std::set<std::string> names;
  for (const auto& member : summary.value("members", json::array())) names.insert(member.value("name", ""));
  EXPECT_EQ(names, (std::set<std::string>{"demo-0", "demo-1", "demo-2"}));
  // A minutes value out of range names the parameter; an unknown cluster is 404.
  auto bad = runtime->api("GET", "/apis/pgstack.io/v1/namespaces/default/sgclusters/demo/metrics/summary?minutes=0");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400) << bad->body;
  EXPECT_NE(bad->body.find("minutes"), std::string::npos) << bad->body;
  auto missing = runtime->api("GET", "/apis/pgstack.io/v1/namespaces/default/sgclusters/nope/metrics/summary");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404) << missing->body;
}

TEST(MonitoringQuery, RawQueryAnswersPromqlAndRefusesANamespaceBoundViewer) {
  ensure_demo_and_prometheus();
  const std::string instant = "/apis/pgstack.io/v1/query?query=" + url_encode("pg_up{cluster=\"demo\"}");
  json answer;
  EXPECT_TRUE(wait_until(
      [&] {
        answer = json_of(runtime->api("GET", instant));
        return answer.value("resultType", "") == "vector" && answer["result"].size() == 3;
      },
      60s, 1s))
      << answer.dump(2);
  for (const auto& series : answer["result"]) EXPECT_EQ(series["metric"].value("cluster", ""), "demo");

  // A range: one series per member, several points.
  const auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string range = fmt::format("{}&start={:.0f}&end={:.0f}&step=5s", instant, now - 60, now);
  const json ranged = json_of(runtime->api("GET", range));
  EXPECT_EQ(ranged.value("resultType", ""), "matrix") << ranged.dump(2);
  EXPECT_EQ(ranged.value("result", json::array()).size(), 3u) << ranged.dump(2);

  // Prometheus's own words for a PromQL error: 400.
  auto broken = runtime->api("GET", "/apis/pgstack.io/v1/query?query=" + url_encode("rate(pg_up["));
  ASSERT_TRUE(broken.ok());
  EXPECT_EQ(broken->status, 400) << broken->body;
  EXPECT_NE(broken->body.find("parse error"), std::string::npos) << broken->body;

  // A viewer of one namespace reads its cluster's summary, but not raw PromQL, and is told why.
  const std::string viewer = viewer_token("quinn", "default");
  ASSERT_FALSE(viewer.empty());
  auto refused = runtime->api_as(viewer, "GET", instant);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 403) << refused->body;
  EXPECT_NE(refused->body.find("every cluster"), std::string::npos) << refused->body;
  auto summary =
      runtime->api_as(viewer, "GET", "/apis/pgstack.io/v1/namespaces/default/sgclusters/demo/metrics/summary");
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->status, 200) << summary->body;
  auto elsewhere =
      runtime->api_as(viewer, "GET", "/apis/pgstack.io/v1/namespaces/other/sgclusters/demo/metrics/summary");
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_EQ(elsewhere->status, 403) << elsewhere->body;
}

TEST(MonitoringQuery, TopOnceAndMetricsJsonFromTheCli) {
  ensure_demo_and_prometheus();
  std::string frame;
  EXPECT_TRUE(wait_until(
      [&] {
        auto top = runtime->cli({"top", "demo", "--once", "--minutes", "5"});
        if (!top.ok() || top->exit_code != 0) {
          frame = top.ok() ? top->standard_output + top->standard_error : top.error().message;
          return false;
        }
        frame = top->standard_output;
        return frame.find("demo-0") != std::string::npos && frame.find("demo-1") != std::string::npos &&
               frame.find("demo-2") != std::string::npos && frame.find("replica") != std::string::npos;
      },
      60s, 2s))
      << frame;
  EXPECT_NE(frame.find("TPS"), std::string::npos) << frame;
  EXPECT_EQ(frame.find('\033'), std::string::npos) << "--once prints no escape codes";
  // The TPS line has a figure, not "-".
  const auto tps = frame.find("\nTPS");
  ASSERT_NE(tps, std::string::npos) << frame;
  const std::string line = frame.substr(tps + 1, frame.find('\n', tps + 1) - tps - 1);
  EXPECT_NE(line.find_first_of("0123456789"), std::string::npos) << line;

  auto metrics = runtime->cli({"metrics", "demo", "--query", "pg_up", "-o", "json"});
  ASSERT_TRUE(metrics.ok()) << metrics.error().message;
  ASSERT_EQ(metrics->exit_code, 0) << metrics->standard_error;
  const json body = json::parse(metrics->standard_output, nullptr, false);
  ASSERT_TRUE(body.is_object()) << metrics->standard_output;
  EXPECT_EQ(body.value("kind", ""), "QueryResult");
  EXPECT_EQ(body.value("cluster", ""), "demo");
  EXPECT_EQ(body.value("resultType", ""), "vector");
  EXPECT_GE(body.value("result", json::array()).size(), 3u) << body.dump(2);

  auto table = runtime->cli({"metrics", "--query", "pg_up{cluster=\"demo\"}", "--range", "2m"});
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->exit_code, 0) << table->standard_error;
  EXPECT_NE(table->standard_output.find("SERIES"), std::string::npos) << table->standard_output;
  EXPECT_NE(table->standard_output.find("instance_name=\"demo-2\""), std::string::npos) << table->standard_output;

  auto unknown = runtime->cli({"metrics", "nope", "--query", "pg_up"});
  ASSERT_TRUE(unknown.ok());
  EXPECT_NE(unknown->exit_code, 0);
}

TEST(MonitoringQuery, ClusterStatusCarriesTpsConnectionsAndLagShownByDescribe) {
  ensure_demo_and_prometheus();
  json metrics;
  EXPECT_TRUE(wait_until(
      [&] {
        metrics = status_of("demo").value("metrics", json::object());
        return metrics.value("tps", json()).is_number() && metrics.value("connections", json()).is_number() &&
               metrics.value("lagSeconds", json::object()).size() == 2;
      },
      60s, 1s))
      << metrics.dump(2);
  EXPECT_TRUE(metrics["lagSeconds"].contains("demo-0") || metrics["lagSeconds"].contains("demo-1")) << metrics.dump();
  auto described = runtime->cli({"describe", "sgcluster", "demo"});
  ASSERT_TRUE(described.ok()) << described.error().message;
  EXPECT_EQ(described->exit_code, 0) << described->standard_error;
  EXPECT_NE(described->standard_output.find("Metrics:\n  TPS:"), std::string::npos) << described->standard_output;
  EXPECT_NE(described->standard_output.find("Replication Lag:"), std::string::npos) << described->standard_output;
}

}  // namespace
}  // namespace pgstack::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  char pattern[] = "/tmp/pgstack-monitoring-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) return 1;
  pgstack::testing::monitoring_dir = pattern;
  auto port = pgstack::free_tcp_port();
  if (!port.ok()) return 1;
  pgstack::testing::controller_metrics_port = *port;
  pgstack::testing::RuntimeBinaries binaries{PGSTACK_CONTROLLER_BINARY, PGSTACK_AGENT_BINARY, PGSTACK_CLI_BINARY};
  auto prometheus_port = pgstack::free_tcp_port();
  if (!prometheus_port.ok()) return 1;
  pgstack::testing::prometheus_port = *prometheus_port;
  binaries.controller_flags = {"--metrics-listen",
                               fmt::format("127.0.0.1:{}", *port),
                               "--prometheus-targets-dir",
                               (pgstack::testing::monitoring_dir / "targets").string(),
                               "--prometheus",
                               fmt::format("http://127.0.0.1:{}", *prometheus_port)};
  pgstack::testing::Prometheus prometheus;
  pgstack::testing::prometheus = &prometheus;
  ::testing::AddGlobalTestEnvironment(
      new pgstack::testing::RuntimeEnvironment(&pgstack::testing::runtime, binaries, "demo"));
  const int result = RUN_ALL_TESTS();
  prometheus.stop();
  std::filesystem::remove_all(pgstack::testing::monitoring_dir);
  return result;
}
