// Prometheus scraping a real pgstack (issue 13): the controller writes file_sd files of every member's
// Patroni, pgstack-proxy and its own /metrics (--prometheus-targets-dir, --metrics-listen); a real
// Prometheus 2.42 with the configuration pgstack up renders finds them `up` with the common labels, and
// follows scaling 3 -> 2 -> 3 without a restart. The agent and controller run with --metrics-auth always, so
// the exporters and /metrics are scraped with the installation's scrape credential (basic auth).
#include <cctype>
#include <cstdlib>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "common/files.h"
#include "common/http_client.h"
#include "common/network.h"
#include "common/strings.h"
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
// Where the controller writes the scrape credential's password (--scrape-password-file), as under pgstack up.
std::filesystem::path scrape_password_file() { return monitoring_dir / "secrets" / "scrape-password"; }

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
    auto port = pgstack::free_tcp_port();
    RETURN_IF_ERROR(port);
    url_ = fmt::format("http://127.0.0.1:{}", *port);
    monitoring::PrometheusSettings settings;
    settings.scrape_interval = "2s";  // the test waits for scrapes
    settings.targets_dir = (monitoring_dir / "targets").string();
    settings.rules_dir = (monitoring_dir / "rules").string();
    settings.patroni_ca_file = runtime->ca_certificate().string();
    settings.scrape_password_file = scrape_password_file().string();
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
                 "--web.listen-address=127.0.0.1:" + std::to_string(*port),
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
  bool running() const { return supervisor_->is_running(); }
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
  // They are up because Prometheus sends the scrape credential: without it each of them answers 401.
  const auto password_mode =
      std::filesystem::status(scrape_password_file()).permissions() & std::filesystem::perms::mask;
  EXPECT_EQ(password_mode, std::filesystem::perms(0600));
  for (const char* job : {"postgres", "pgstack-agent", "node", "pgstack-controller"}) {
    const auto targets = prometheus->targets(job);
    EXPECT_FALSE(targets.empty()) << job;
    for (const auto& target : targets) {
      const std::string url = target.value("scrapeUrl", "");
      auto anonymous = http_request("GET", url, "", {}, 10s);
      ASSERT_TRUE(anonymous.ok()) << url;
      EXPECT_EQ(anonymous->status, 401) << job << " " << url;
    }
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
  // With the password Prometheus reads, from the file the controller wrote.
  auto password = read_file(scrape_password_file());
  ASSERT_TRUE(password.ok());
  auto leader = http_request("GET", fmt::format("http://127.0.0.1:{}/metrics", controller_metrics_port), {},
                             {{"Authorization", basic_authorization("prometheus", trim(*password))}}, 5s);
  ASSERT_TRUE(leader.ok());
  EXPECT_EQ(leader->status, 200) << leader->body;
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
  // Every pgstack metrics listener asks for the scrape credential, as it does off loopback: Prometheus
  // must find them up with the password file the controller writes.
  std::filesystem::create_directories(pgstack::testing::scrape_password_file().parent_path());
  std::filesystem::permissions(pgstack::testing::scrape_password_file().parent_path(), std::filesystem::perms(0700));
  binaries.controller_flags = {"--metrics-listen",         fmt::format("127.0.0.1:{}", *port),
                               "--prometheus-targets-dir", (pgstack::testing::monitoring_dir / "targets").string(),
                               "--metrics-auth",           "always",
                               "--scrape-password-file",   pgstack::testing::scrape_password_file().string()};
  binaries.agent_flags = {"--metrics-auth", "always"};
  pgstack::testing::Prometheus prometheus;
  pgstack::testing::prometheus = &prometheus;
  ::testing::AddGlobalTestEnvironment(
      new pgstack::testing::RuntimeEnvironment(&pgstack::testing::runtime, binaries, "demo"));
  const int result = RUN_ALL_TESTS();
  prometheus.stop();
  std::filesystem::remove_all(pgstack::testing::monitoring_dir);
  return result;
}
