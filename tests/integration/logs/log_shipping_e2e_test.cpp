// Central logs end to end, against a real etcd, controller, agent, Patroni and Postgres: the agent ships
// the csvlog and Patroni's log of a cluster with spec.distributedLogs to the log store (an SGCluster
// annotated as the SGDistributedLogs' store). A failing statement is in log_postgres (the time it took is printed) with
// its SQLSTATE, user, database, instance and role; Patroni's lines are in log_patroni; an agent killed with SIGKILL
// while Postgres logs heavily resumes from the store's offsets: every csvlog record on disk is one row, none twice; the
// agent's /metrics and the cluster status show the shipping. `pgstack logs`, run as the CLI binary: `--grep MARKER`
// finds a failed statement seconds after it failed, and after a switchover `--type patroni` shows Patroni's lines of
// the demotion and the promotion with the members' roles.
//
// The store is the controller's (an SGDistributedLogs, made Ready by the controller: docs/logs.md).
#include <algorithm>
#include <atomic>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/files.h"
#include "common/http_client.h"
#include "logs/log_store_plan.h"
#include "logs/log_store_target.h"
#include "logs/record_framing.h"
#include "postgres/postgres_session.h"
#include "store/etcd_client.h"
#include "store/keys.h"
#include "support/pgstack_runtime.h"

namespace pgstack::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

PgstackRuntime* runtime = nullptr;

// The cluster's primary as its superuser, in `database`, over TLS checked against the installation's CA.
Result<postgres::PostgresTarget> superuser_target(const std::string& cluster, const std::string& database) {
  const json status = runtime->cluster_status(cluster);
  std::string endpoint;
  for (const auto& member : status.value("members", json::array())) {
    if (member.value("role", "") == "primary") endpoint = member["endpoints"]["postgres"];
  }
  if (endpoint.empty()) return make_error(ErrorCode::kUnavailable, cluster + " has no primary");
  const json superuser = runtime->get("sgclusters/" + cluster + "/credentials").value("superuser", json::object());
  postgres::PostgresTarget target;
  target.host = endpoint.substr(0, endpoint.rfind(':'));
  target.port = std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
  target.database = database;
  target.user = superuser.value("username", "");
  target.password = superuser.value("password", "");
  target.ssl_root_certificate = runtime->ca_certificate().string();
  return target;
}

Result<postgres::Rows> store_query(const std::string& sql) {
  ASSIGN_OR_RETURN(const auto target, superuser_target("logstore", std::string(logs::kLogStoreDatabase)));
  ASSIGN_OR_RETURN(auto session, postgres::PostgresSession::connect(target));
  return session->query(sql);
}

std::int64_t store_number(const std::string& sql) {
  auto rows = store_query(sql);
  if (!rows.ok() || rows->size() != 1) return -1;
  return std::stoll(rows->front().front());
}

bool ready(const std::string& cluster) {
  return condition_in(runtime->cluster_status(cluster), "Ready").value("status", "") == "True";
}

Result<bool> post(const std::string& path, const json& body) {
  ASSIGN_OR_RETURN(const auto response, runtime->api("POST", path, body.dump()));
  if (response.status != 201 && response.status != 409)
    return make_error(ErrorCode::kInternal, fmt::format("POST {}: {} {}", path, response.status, response.body));
  return true;
}

// The store as the controller makes it for an SGDistributedLogs (docs/logs.md): its SGCluster, the
// database pgstack_logs with the log tables, partitions, the logWriter role and its credentials; Ready
// once all of it is in place.
Result<bool> make_log_store() {
  RETURN_IF_ERROR(post("sgdistributedlogs", {{"apiVersion", "stackgres.io/v1"},
                                             {"kind", "SGDistributedLogs"},
                                             {"metadata", {{"name", "logstore"}}},
                                             {"spec", {{"persistentVolume", {{"size", "1Gi"}}}}}}));
  const auto store_ready = [] {
    const json status = runtime->get("sgdistributedlogs/logstore").value("status", json::object());
    return condition_in(status, "Ready").value("status", "") == "True";
  };
  if (!wait_until(store_ready, 180s, 500ms))
    return make_error(ErrorCode::kUnavailable, "the log store logstore never became ready: " +
                                                   runtime->get("sgdistributedlogs/logstore").dump());
  return true;
}

fs::path demo_log_dir() { return runtime->agent_state_dir() / "instances" / "default" / "demo" / "demo-0" / "log"; }

// Complete csvlog records in every file of demo-0, framed as the shipper frames them.
std::int64_t csv_records_on_disk() {
  std::int64_t count = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(demo_log_dir(), error)) {
    if (entry.path().extension() != ".csv") continue;
    auto content = read_file(entry.path());
    if (content.ok()) count += static_cast<std::int64_t>(logs::frame_csv_records(*content).records.size());
  }
  return count;
}

std::int64_t demo_rows() { return store_number("SELECT count(*) FROM log_postgres WHERE instance = 'demo-0'"); }

Result<bool> demo_sql(const std::string& sql) {
  ASSIGN_OR_RETURN(const auto target, superuser_target("demo", "app"));
  ASSIGN_OR_RETURN(auto session, postgres::PostgresSession::connect(target));
  RETURN_IF_ERROR(session->query(sql));
  return true;
}

json demo_cluster(int instances) {
  return {{"apiVersion", "stackgres.io/v1"},
          {"kind", "SGCluster"},
          {"metadata", {{"name", "demo"}}},
          {"spec",
           {{"instances", instances},
            {"postgres", {{"version", "latest"}}},
            {"pods", {{"persistentVolume", {{"size", "1Gi"}}}}},
            {"distributedLogs", {{"sgDistributedLogs", "logstore"}}}}}};
}

// `pgstack logs demo ARGS -o json` as the CLI binary: the API's items (a JSON array); none when it fails.
std::vector<json> pgstack_logs(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), {"logs", "demo"});
  arguments.insert(arguments.end(), {"-o", "json"});
  auto output = runtime->cli(arguments);
  if (!output.ok() || output->exit_code != 0) return {};
  auto items = json::parse(output->standard_output, nullptr, false);
  if (!items.is_array()) return {};
  return {items.begin(), items.end()};
}

TEST(LogShipping, AClusterWithAStoreShipsItsLogs) {
  const auto setup = make_log_store();
  ASSERT_TRUE(setup.ok()) << setup.error().message;
  ASSERT_TRUE(post("sgclusters", demo_cluster(1)).ok());
  ASSERT_TRUE(wait_until([] { return ready("demo"); }, 180s, 500ms)) << runtime->cluster_status("demo").dump();

  // (b) Patroni's lines, with the member and its role (known once the agent reported it).
  EXPECT_TRUE(wait_until(
      [] {
        return store_number(
                   "SELECT count(*) FROM log_patroni WHERE namespace = 'default' AND cluster = 'demo' AND "
                   "instance = 'demo-0' AND role = 'primary'") > 0;
      },
      30s, 250ms))
      << runtime->agent_log();

  // (b') The cluster's pgstack-proxy on the host: its lines under the host's name (the proxy is no one
  // member's), found with `pgstack logs demo --type proxy`.
  std::vector<json> proxy_lines;
  EXPECT_TRUE(wait_until(
      [&] {
        proxy_lines = pgstack_logs({"--type", "proxy", "--since", "10m"});
        return std::any_of(proxy_lines.begin(), proxy_lines.end(), [](const json& record) {
          return record.value("podName", "") == "e2e-host" &&
                 record.value("message", "").find("listener rw (read-write)") != std::string::npos;
        });
      },
      30s, 500ms))
      << json(proxy_lines).dump() << runtime->agent_log();

  // (b'') The agent's own lines about demo (not the log store's), under the host's name too, and its host-wide
  // lines (its registration, logged before demo came to the host).
  std::vector<json> agent_lines;
  EXPECT_TRUE(wait_until(
      [&] {
        agent_lines = pgstack_logs({"--type", "agent", "--since", "10m"});
        const auto about = [](const json& record, const std::string& text) {
          return record.value("podName", "") == "e2e-host" &&
                 record.value("message", "").find(text) != std::string::npos;
        };
        const bool demo = std::any_of(agent_lines.begin(), agent_lines.end(), [&](const json& record) {
          return about(record, "default/demo/demo-0: wrote ") && record.value("logType", "") == "agent";
        });
        const bool host = std::any_of(agent_lines.begin(), agent_lines.end(), [&](const json& record) {
          return about(record, "registered /pgstack/hosts/e2e-host") && record.value("logType", "") == "agent";
        });
        const bool others = std::any_of(agent_lines.begin(), agent_lines.end(), [&](const json& record) {
          return record.value("message", "").starts_with("default/logstore/");
        });
        return demo && host && !others;
      },
      30s, 500ms))
      << json(agent_lines).dump() << runtime->agent_log();

  // (a) A failure is in the store, with who, where and which error. First demo-0 must be the primary
  // in the agent's eyes too: its newest Patroni line says so with that role (Patroni may restart in between:
  // it did once in CI, stopping Postgres, and the member was a replica for seconds).
  EXPECT_TRUE(wait_until(
      [] {
        return store_number(
                   "SELECT count(*) FROM (SELECT role, message FROM log_patroni WHERE cluster = 'demo' AND "
                   "instance = 'demo-0' ORDER BY log_time DESC LIMIT 1) newest WHERE role = 'primary' AND "
                   "message LIKE '%the leader with the lock%'") > 0;
      },
      60s, 250ms))
      << runtime->agent_log();
  const std::string marker = fmt::format("MARKER_{}", ::getpid());
  EXPECT_FALSE(demo_sql(fmt::format("DO $$ BEGIN RAISE EXCEPTION '{}'; END $$", marker)).ok());
  const auto failed_at = std::chrono::steady_clock::now();
  const std::string lookup = fmt::format(
      "SELECT sql_state_code, user_name, database_name, instance, role FROM log_postgres WHERE message = '{}'", marker);
  postgres::Rows found;
  ASSERT_TRUE(wait_until(
      [&] {
        auto rows = store_query(lookup);
        if (rows.ok()) found = *rows;
        return !found.empty();
      },
      20s, 50ms))
      << runtime->agent_log();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - failed_at);
  // How soon is a benchmark's figure (bench/logs: the shipping delay's p50 and p99), not an assertion here:
  // this suite runs beside others, and 20 s above bounds it.
  std::cout << "the failing statement was in log_postgres " << took.count() << " ms after it failed\n";
  ASSERT_EQ(found.size(), 1u);
  const json superuser = runtime->get("sgclusters/demo/credentials").value("superuser", json::object());
  EXPECT_EQ(found[0][0], "P0001");
  EXPECT_EQ(found[0][1], superuser.value("username", ""));
  EXPECT_EQ(found[0][2], "app");
  EXPECT_EQ(found[0][3], "demo-0");
  EXPECT_EQ(found[0][4], "primary");

  // (c) The agent killed while Postgres logs heavily: once it is back and caught up, every record on disk
  // is one row, none twice.
  ASSERT_TRUE(demo_sql("ALTER SYSTEM SET log_statement = 'all'").ok());
  ASSERT_TRUE(demo_sql("SELECT pg_reload_conf()").ok());
  std::atomic<bool> burst_done = false;
  std::thread burst([&] {
    auto target = superuser_target("demo", "app");
    if (target.ok()) {
      auto session = postgres::PostgresSession::connect(*target);
      for (int i = 0; session.ok() && i < 3000; ++i) {
        (void)(*session)->query(fmt::format("SELECT {} AS burst, repeat('x', 200)", i));
        if (i % 500 == 0)
          (void)(*session)->query("DO $$ BEGIN FOR i IN 1..500 LOOP RAISE LOG 'burst line %', i; END LOOP; END $$");
      }
    }
    burst_done = true;
  });
  std::this_thread::sleep_for(300ms);
  const auto killed = runtime->kill_agent();
  EXPECT_TRUE(killed.ok()) << (killed.ok() ? "" : killed.error().message);
  burst.join();
  ASSERT_TRUE(burst_done);
  const auto restarted_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(runtime->start_agent().ok());
  std::int64_t on_disk = 0, rows = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        on_disk = csv_records_on_disk();
        rows = demo_rows();
        return on_disk == rows;
      },
      60s, 250ms))
      << on_disk << " csvlog records on disk, " << rows << " rows\n"
      << runtime->agent_log();
  std::cout
      << "caught up "
      << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - restarted_at).count()
      << " ms after the agent restarted: " << rows << " csvlog records\n";
  EXPECT_GT(rows, 3000);
  EXPECT_EQ(store_number("SELECT count(*) - count(DISTINCT (session_id, session_line_num)) FROM log_postgres WHERE "
                         "instance = 'demo-0'"),
            0);
  (void)demo_sql("ALTER SYSTEM RESET log_statement");
  (void)demo_sql("SELECT pg_reload_conf()");

  // (d) The agent's /metrics and the cluster status.
  std::string metrics;
  const std::string labels = R"({namespace="default",cluster="demo",instance_name="demo-0",log_type="postgres"})";
  EXPECT_TRUE(wait_until(
      [&] {
        auto response =
            http_request("GET", fmt::format("http://127.0.0.1:{}/metrics", runtime->agent_metrics_port()), "", {}, 5s);
        metrics = response.ok() ? response->body : "";
        for (const char* family :
             {"pgstack_log_shipper_records_total", "pgstack_log_shipper_errors_total",
              "pgstack_log_shipper_bytes_behind", "pgstack_log_shipper_last_success_timestamp_seconds",
              "pgstack_log_files_removed_unshipped_total"}) {
          if (metrics.find(family + labels) == std::string::npos) return false;
        }
        return true;
      },
      20s, 500ms))
      << metrics;
  json status;
  EXPECT_TRUE(wait_until(
      [&] {
        status = runtime->cluster_status("demo");
        const json postgres_log = status.value("logShipping", json::object())
                                      .value("demo-0", json::object())
                                      .value("postgres", json::object());
        return postgres_log.value("bytesBehind", -1) == 0 && postgres_log.value("recordsTotal", 0) > 0 &&
               condition_in(status, "LogsBehind").value("status", "") == "False";
      },
      30s, 500ms))
      << status.dump();
  EXPECT_TRUE(status["logShipping"]["demo-0"].contains("patroni")) << status.dump();
}

// What a user does by hand: a statement fails, and `pgstack logs --grep` finds it.
TEST(LogShipping, PgstackLogsGrepFindsAFailedStatement) {
  ASSERT_TRUE(ready("demo")) << runtime->cluster_status("demo").dump();
  const std::string marker = fmt::format("CLI_MARKER_{}", ::getpid());
  EXPECT_FALSE(demo_sql(fmt::format("DO $$ BEGIN RAISE EXCEPTION '{}'; END $$", marker)).ok());
  const auto failed_at = std::chrono::steady_clock::now();
  std::vector<json> found;
  ASSERT_TRUE(wait_until(
      [&] {
        found = pgstack_logs({"--grep", marker, "--since", "10m"});
        return std::any_of(found.begin(), found.end(),
                           [&](const json& record) { return record.value("message", "") == marker; });
      },
      30s, 100ms))
      << runtime->agent_log();
  std::cout
      << "`pgstack logs demo --grep` found the failed statement "
      << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - failed_at).count()
      << " ms after it failed\n";
  const auto error = std::find_if(found.begin(), found.end(),
                                  [&](const json& record) { return record.value("message", "") == marker; });
  EXPECT_EQ(error->value("logType", ""), "postgres");
  EXPECT_EQ(error->value("errorLevel", ""), "ERROR");
  EXPECT_EQ(error->value("sqlState", ""), "P0001");
  EXPECT_EQ(error->value("podName", ""), "demo-0");
  EXPECT_EQ(error->value("role", ""), "primary");
  EXPECT_EQ(error->value("databaseName", ""), "app");
}

// A switchover as a user follows it: `pgstack logs demo --type patroni` has the old primary's demotion and
// the new one's promotion, and afterwards each member's lines with its new role.
TEST(LogShipping, PatroniLinesOfASwitchoverCarryTheMembersRoles) {
  auto scaled = runtime->api("PUT", "sgclusters/demo", demo_cluster(2).dump());
  ASSERT_TRUE(scaled.ok());
  ASSERT_EQ(scaled->status, 200) << scaled->body;
  const auto two_members_ready = [] {
    const json status = runtime->cluster_status("demo");
    return ready("demo") && status.value("members", json::array()).size() == 2 && primary_in(status) == "demo-0";
  };
  ASSERT_TRUE(wait_until(two_members_ready, 180s, 500ms)) << runtime->cluster_status("demo").dump();
  auto switched = runtime->cli({"switchover", "demo", "--candidate", "demo-1"});
  ASSERT_TRUE(switched.ok());
  ASSERT_EQ(switched->exit_code, 0) << switched->standard_output << switched->standard_error;
  const auto switched_at = std::chrono::steady_clock::now();

  const auto has = [](const std::vector<json>& records, const std::string& member, const std::string& text,
                      const std::string& role) {
    return std::any_of(records.begin(), records.end(), [&](const json& record) {
      return record.value("podName", "") == member && record.value("message", "").find(text) != std::string::npos &&
             (role.empty() || record.value("role", "") == role);
    });
  };
  std::vector<json> patroni;
  const bool seen = wait_until(
      [&] {
        patroni = pgstack_logs({"--type", "patroni", "--since", "10m", "--records", "1000"});
        return has(patroni, "demo-0", "Demoting self", "") && has(patroni, "demo-1", "promoted self to leader", "") &&
               has(patroni, "demo-1", "the leader with the lock", "primary") &&
               has(patroni, "demo-0", "following a leader (demo-1)", "replica");
      },
      60s, 500ms);
  std::string shown;
  for (const auto& record : patroni) {
    const std::string message = record.value("message", "");
    if (message.find("emot") != std::string::npos || message.find("promot") != std::string::npos)
      shown += fmt::format("{} {} [{}] {}\n", record.value("logTime", ""), record.value("podName", ""),
                           record.value("role", ""), message);
  }
  std::cout
      << "Patroni's lines of the switchover, in `pgstack logs` "
      << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - switched_at).count()
      << " ms after it:\n"
      << shown;
  EXPECT_TRUE(seen) << patroni.size() << " Patroni records:\n"
                    <<
      [&] {
        std::string all;
        for (const auto& record : patroni) all += record.dump() + "\n";
        return all;
      }() << runtime->patroni_logs("demo");
}

}  // namespace
}  // namespace pgstack::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new pgstack::testing::RuntimeEnvironment(
      &pgstack::testing::runtime, {PGSTACK_CONTROLLER_BINARY, PGSTACK_AGENT_BINARY, PGSTACK_CLI_BINARY, {}}, "demo"));
  return RUN_ALL_TESTS();
}
