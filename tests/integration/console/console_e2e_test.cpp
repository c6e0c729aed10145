// The console's Playwright tests (web/e2e) against a real pgstack: etcd, the controller serving /ui/,
// an agent with Patroni, Postgres and PgBouncer. This program brings a 1-instance cluster to Ready,
// gives the bootstrap admin a password, makes a viewer, runs Playwright with the URL and both
// credentials in its environment, and stops everything when it returns, passed or not. The cluster
// ships its logs to a log store (an SGDistributedLogs) and backs up to a filesystem SGObjectStorage, as
// `pgstack up`'s demo does, for the Logs and Backups pages; a failed query leaves a marker in its logs. A real
// Prometheus scrapes the members (the controller's --prometheus and --prometheus-targets-dir, as under
// `pgstack up`) for the Metrics page.
#include <filesystem>
#include <iostream>
#include <random>
#include <stdlib.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/network.h"
#include "common/process.h"
#include "common/strings.h"
#include "monitoring/prometheus_config.h"
#include "support/pgstack_runtime.h"
#include "support/prometheus_server.h"

namespace pgstack::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

PgstackRuntime* runtime = nullptr;
std::filesystem::path monitoring_dir;  // targets/ (the controller's file_sd files), Prometheus's files
PrometheusServer* prometheus = nullptr;

const char* kLogStore = R"({"apiVersion":"stackgres.io/v1","kind":"SGDistributedLogs","metadata":{"name":"logs"},
  "spec":{"persistentVolume":{"size":"1Gi"}}})";
const char* kCluster = R"({"apiVersion":"stackgres.io/v1","kind":"SGCluster","metadata":{"name":"demo"},
  "spec":{"instances":1,"postgres":{"version":"15"},"pods":{"persistentVolume":{"size":"1Gi"}},
          "distributedLogs":{"sgDistributedLogs":"logs"},
          "configurations":{"backups":[{"sgObjectStorage":"disk","cronSchedule":"0 3 * * *","retention":5}]}}})";
const std::string kAdminPassword = "console-admin-password-1";
const std::string kViewerPassword = "console-viewer-password-1";

bool ready(const json& status) {
  return condition_in(status, "Ready").value("status", "") == "True" &&
         status.value("members", json::array()).size() == 1;
}

bool log_store_ready() {
  return condition_in(runtime->get("sgdistributedlogs/logs").value("status", json::object()), "Ready")
             .value("status", "") == "True";
}

// The metrics summary of demo once Prometheus has a rate for it (two scrapes of its members): the figures the
// Metrics page shows.
bool metrics_have_tps() {
  auto summary = runtime->api_json("GET", "/apis/pgstack.io/v1/namespaces/default/sgclusters/demo/metrics/summary");
  return summary.ok() && summary->contains("tps") && (*summary)["tps"].is_number() &&
         !summary->value("history", json::object()).value("tps", json::array()).empty();
}

// How many of demo's error lines the logs API finds with `marker` in them.
std::size_t logged_errors_with(const std::string& marker) {
  auto found = runtime->api_json(
      "GET", "/apis/pgstack.io/v1/namespaces/default/sgclusters/demo/logs?since=1h&errorLevel=error&text=" + marker);
  return found.ok() ? found->value("items", json::array()).size() : 0;
}

TEST(Console, PlaywrightAgainstARealRuntime) {
  const json storage = {
      {"apiVersion", "stackgres.io/v1beta1"},
      {"kind", "SGObjectStorage"},
      {"metadata", {{"name", "disk"}}},
      {"spec", {{"type", "filesystem"}, {"filesystem", {{"path", (runtime->directory() / "backups").string()}}}}}};
  monitoring::PrometheusSettings scraping;
  scraping.scrape_interval = "2s";
  scraping.targets_dir = (monitoring_dir / "targets").string();
  scraping.patroni_ca_file = runtime->ca_certificate().string();
  ASSERT_TRUE(prometheus->start(monitoring::render_prometheus_config(scraping)).ok()) << prometheus->log();
  auto stored = runtime->api("POST", "sgobjectstorages", storage.dump());
  ASSERT_TRUE(stored.ok() && stored->status == 201) << (stored.ok() ? stored->body : stored.error().message);
  auto store = runtime->api("POST", "sgdistributedlogs", kLogStore);
  ASSERT_TRUE(store.ok() && store->status == 201) << (store.ok() ? store->body : store.error().message);
  auto created = runtime->api("POST", "sgclusters", kCluster);
  ASSERT_TRUE(created.ok()) << created.error().message;
  ASSERT_EQ(created->status, 201) << created->body;
  auto admin =
      runtime->api("PUT", "/apis/pgstack.io/v1/users/e2e-admin/password", json{{"password", kAdminPassword}}.dump());
  ASSERT_TRUE(admin.ok() && admin->status == 200) << (admin.ok() ? admin->body : admin.error().message);
  auto viewer = runtime->api(
      "POST", "/apis/pgstack.io/v1/users",
      json{{"name", "vera"}, {"password", kViewerPassword}, {"roles", {{{"role", "viewer"}, {"namespace", "default"}}}}}
          .dump());
  ASSERT_TRUE(viewer.ok() && viewer->status == 201) << (viewer.ok() ? viewer->body : viewer.error().message);
  ASSERT_TRUE(wait_until([] { return ready(runtime->cluster_status("demo")); }, 180s, 500ms))
      << runtime->cluster_status("demo").dump(2);
  ASSERT_TRUE(wait_until(log_store_ready, 120s, 500ms)) << runtime->get("sgdistributedlogs/logs").dump(2);

  // A statement that fails with a marker no other line has: the Logs page must find it by text and severity.
  const std::string marker = "console_e2e_marker_" + std::to_string(std::random_device{}() % 1000000000U);
  auto failed = runtime->superuser_sql("demo", "SELECT * FROM " + marker);
  ASSERT_FALSE(failed.ok()) << "the query of a missing table succeeded";
  ASSERT_NE(failed.error().message.find("does not exist"), std::string::npos) << failed.error().message;
  ASSERT_TRUE(wait_until([&] { return logged_errors_with(marker) == 1; }, 60s, 500ms))
      << "the logs API never showed the failed query; cluster status: " << runtime->cluster_status("demo").dump(2);
  ASSERT_TRUE(wait_until(metrics_have_tps, 120s, 1s))
      << "Prometheus never had demo's TPS: "
      << runtime->api("GET", "/apis/pgstack.io/v1/namespaces/default/sgclusters/demo/metrics/summary")->body;

  // The API is HTTPS with a certificate from the runtime's CA: Chromium trusts exactly that key.
  const std::string spki_of_certificate =
      "openssl x509 -in \"$1\" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | "
      "base64";
  auto spki =
      run_command({"sh", "-c", spki_of_certificate, "spki", (runtime->directory() / "pki" / "api.crt").string()});
  ASSERT_TRUE(spki.ok() && spki->exit_code == 0) << (spki.ok() ? spki->standard_error : spki.error().message);

  const std::filesystem::path output = PGSTACK_E2E_OUTPUT;
  std::filesystem::remove_all(output / "artifacts");
  std::filesystem::create_directories(output / "screenshots");
  CommandOptions options;
  options.working_directory = PGSTACK_WEB_DIR;
  options.extra_environment = {{"PGSTACK_URL", runtime->api_url()},
                               {"PGSTACK_ADMIN_USER", "e2e-admin"},
                               {"PGSTACK_ADMIN_PASSWORD", kAdminPassword},
                               {"PGSTACK_VIEWER_USER", "vera"},
                               {"PGSTACK_VIEWER_PASSWORD", kViewerPassword},
                               {"PGSTACK_CLUSTER", "demo"},
                               {"PGSTACK_LOG_MARKER", marker},
                               {"PGSTACK_API_SPKI", std::string(trim(spki->standard_output))},
                               {"PGSTACK_E2E_OUTPUT", output.string()},
                               {"CI", "1"}};
  const auto started = std::chrono::steady_clock::now();
  auto ran = run_command({PGSTACK_NODE_BINARY, "node_modules/@playwright/test/cli.js", "test"}, options);
  ASSERT_TRUE(ran.ok()) << ran.error().message;
  std::cout << ran->standard_output << ran->standard_error << "playwright took "
            << std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count()
            << " s; screenshots in " << (output / "screenshots").string() << "\n";
  EXPECT_EQ(ran->exit_code, 0) << "Playwright failed; traces under " << (output / "artifacts").string();
}

}  // namespace
}  // namespace pgstack::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  char pattern[] = "/tmp/pgstack-console-monitoring-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) return 1;
  pgstack::testing::monitoring_dir = pattern;
  // Prometheus watches it from its start: it must exist before the controller writes its first file.
  std::filesystem::create_directories(pgstack::testing::monitoring_dir / "targets");
  auto prometheus_port = pgstack::free_tcp_port();
  if (!prometheus_port.ok()) return 1;
  pgstack::testing::RuntimeBinaries binaries{PGSTACK_CONTROLLER_BINARY, PGSTACK_AGENT_BINARY, PGSTACK_CLI_BINARY};
  binaries.controller_flags = {"--prometheus-targets-dir", (pgstack::testing::monitoring_dir / "targets").string(),
                               "--prometheus", fmt::format("http://127.0.0.1:{}", *prometheus_port)};
  pgstack::testing::PrometheusServer prometheus(pgstack::testing::monitoring_dir, *prometheus_port);
  pgstack::testing::prometheus = &prometheus;
  ::testing::AddGlobalTestEnvironment(
      new pgstack::testing::RuntimeEnvironment(&pgstack::testing::runtime, binaries, "demo"));
  const int result = RUN_ALL_TESTS();
  prometheus.stop();
  std::filesystem::remove_all(pgstack::testing::monitoring_dir);
  return result;
}
