// postgres_exporter per instance (issue 13), end to end: a real etcd, controller and agent run a
// 3-member cluster; every member's exporter answers with pg_up 1 as the pgstack_monitor role, which
// cannot read table data; a cluster that disables metrics runs none. The agent runs --metrics-auth always:
// every exporter and its /metrics answer 401 without the installation's scrape credential. The tests run in order and
// share one runtime.
#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "common/http_client.h"
#include "process/process_supervisor.h"
#include "store/etcd_client.h"
#include "store/keys.h"
#include "support/child_process.h"
#include "support/pgstack_runtime.h"

namespace pgstack::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

PgstackRuntime* runtime = nullptr;

const char* kDemo = R"({"apiVersion":"stackgres.io/v1","kind":"SGCluster","metadata":{"name":"demo"},
  "spec":{"instances":3,"postgres":{"version":"latest"},"pods":{"persistentVolume":{"size":"5Gi"}}}})";
const char* kQuiet = R"({"apiVersion":"stackgres.io/v1","kind":"SGCluster","metadata":{"name":"quiet"},
  "spec":{"instances":1,"postgres":{"version":"latest"},"pods":{"persistentVolume":{"size":"5Gi"}},
          "configurations":{"observability":{"disableMetrics":true}}}})";

bool wait_ready(const std::string& cluster, std::size_t members) {
  return wait_until(
      [&] {
        const json status = runtime->cluster_status(cluster);
        bool ready = false;
        for (const auto& condition : status.value("conditions", json::array())) {
          if (condition.value("type", "") == "Ready") ready = condition.value("status", "") == "True";
        }
        return ready && status.value("members", json::array()).size() == members;
      },
      240s, 500ms);
}

std::filesystem::path config_dir(const std::string& cluster, const std::string& member) {
  return runtime->agent_state_dir() / "instances" / "default" / cluster / member / "config";
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// The exporter's listen address, from the command line of the process its pid file names ("" : none).
std::string exporter_address(const std::string& cluster, const std::string& member) {
  std::ifstream pid_file(config_dir(cluster, member) / "exporter.pid");
  long pid = 0;
  if (!(pid_file >> pid) || pid <= 1) return "";
  const std::string cmdline = read_text(fmt::format("/proc/{}/cmdline", pid));
  const std::string flag = "--web.listen-address=";
  std::stringstream arguments(cmdline);
  for (std::string argument; std::getline(arguments, argument, '\0');) {
    if (argument.rfind(flag, 0) == 0) return argument.substr(flag.size());
  }
  return "";
}

// The installation's scrape credential's password, from etcd (the suite's agent runs --metrics-auth always).
std::string scrape_password() {
  static std::string password;
  if (!password.empty()) return password;
  store::EtcdClient etcd({runtime->etcd().endpoint()});
  auto stored = etcd.get(store::keys::scrape_credential("/pgstack"));
  if (stored.ok() && stored->has_value()) password = json::parse((*stored)->value).value("password", "");
  return password;
}

HttpResponse get_metrics(const std::string& address, const HttpHeaders& headers, const std::string& path = "/metrics") {
  auto response = http_request("GET", fmt::format("http://{}{}", address, path), "", headers, 10s);
  return response.ok() ? *response : HttpResponse{};
}

HttpHeaders scrape_credential_header() {
  return {{"Authorization", basic_authorization("prometheus", scrape_password())}};
}

std::string scrape(const std::string& address) {
  const HttpResponse response = get_metrics(address, scrape_credential_header());
  return response.status == 200 ? response.body : "";
}

// Sample lines of `family` (exactly that name, any labels).
std::vector<std::string> samples(const std::string& metrics, const std::string& family) {
  std::vector<std::string> lines;
  std::stringstream text(metrics);
  for (std::string line; std::getline(text, line);) {
    if (line.rfind(family, 0) != 0) continue;
    if (line.size() > family.size() && (line[family.size()] == ' ' || line[family.size()] == '{'))
      lines.push_back(line);
  }
  return lines;
}

TEST(Exporters, EveryMemberOfTheDemoClusterHasAnExporterThatReachesPostgres) {
  auto created = runtime->api("POST", "sgclusters", kDemo);
  ASSERT_TRUE(created.ok()) << created.error().message;
  ASSERT_EQ(created->status, 201) << created->body;
  ASSERT_TRUE(wait_ready("demo", 3)) << runtime->cluster_status("demo").dump(2);
  for (const std::string member : {"demo-0", "demo-1", "demo-2"}) {
    std::string metrics;
    EXPECT_TRUE(wait_until(
        [&] {
          metrics = scrape(exporter_address("demo", member));
          return !samples(metrics, "pg_up").empty() && samples(metrics, "pg_up").front() == "pg_up 1";
        },
        60s, 500ms))
        << member << ": " << exporter_address("demo", member) << "\n"
        << metrics.substr(0, 2000);
    // The address is the host's (Patroni's REST API's), on the member's exporter port.
    EXPECT_EQ(exporter_address("demo", member).rfind("127.0.0.1:", 0), 0U) << member;
    // pgstack's queries loaded and ran.
    EXPECT_EQ(samples(metrics, "pg_exporter_user_queries_load_error").size(), 1U);
    EXPECT_NE(samples(metrics, "pg_exporter_user_queries_load_error").front().find("} 0"), std::string::npos);
    for (const char* family : {"pg_replication_is_replica", "pg_database_datfrozenxid_age", "pg_connections_used",
                               "pg_postmaster_start_time_seconds", "pg_stat_activity_max_tx_duration",
                               "pg_stat_archiver_failed_count", "pg_cache_hit_ratio", "pg_statements_calls"}) {
      EXPECT_FALSE(samples(metrics, family).empty()) << member << " has no " << family;
    }
  }
}

TEST(Exporters, ReplicationLagIsExportedForEveryReplica) {
  const std::string primary = runtime->cluster_status("demo").value("primary", "");
  ASSERT_FALSE(primary.empty());
  int replicas = 0;
  for (const std::string member : {"demo-0", "demo-1", "demo-2"}) {
    const std::string metrics = scrape(exporter_address("demo", member));
    const auto is_replica = samples(metrics, "pg_replication_is_replica");
    ASSERT_EQ(is_replica.size(), 1U) << member;
    if (member == primary) {
      EXPECT_EQ(is_replica.front().substr(is_replica.front().size() - 2), " 0") << is_replica.front();
      continue;
    }
    ++replicas;
    EXPECT_EQ(is_replica.front().substr(is_replica.front().size() - 2), " 1") << member << ": " << is_replica.front();
    EXPECT_EQ(samples(metrics, "pg_replication_lag").size(), 1U) << member;
  }
  EXPECT_EQ(replicas, 2);
  // The primary sees each standby: lag in bytes and seconds, one series per member.
  std::string metrics;
  EXPECT_TRUE(wait_until(
      [&] {
        metrics = scrape(exporter_address("demo", primary));
        return samples(metrics, "pg_replication_status_lag_bytes").size() == 2 &&
               samples(metrics, "pg_replication_status_lag_seconds").size() == 2;
      },
      30s, 500ms))
      << metrics.substr(0, 3000);
  for (const auto& line : samples(metrics, "pg_replication_status_lag_bytes")) {
    EXPECT_NE(line.find("application_name=\"demo-"), std::string::npos) << line;
  }
  EXPECT_FALSE(samples(metrics, "pg_replication_slot_retained_wal_bytes").empty()) << metrics.substr(0, 3000);
}

TEST(Exporters, TheMonitorRoleReadsStatisticsButNoTableData) {
  auto created = runtime->superuser_sql("demo", "CREATE TABLE secrets (v text); INSERT INTO secrets VALUES ('x')");
  ASSERT_TRUE(created.ok()) << created.error().message;
  auto attributes =
      runtime->superuser_sql("demo",
                             "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles "
                             "WHERE rolname = 'pgstack_monitor'");
  ASSERT_TRUE(attributes.ok()) << attributes.error().message;
  EXPECT_EQ(attributes.value(), "f|f|f|f|f");
  auto memberships = runtime->superuser_sql(
      "demo",
      "SELECT string_agg(b.rolname, ',') FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid "
      "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = 'pgstack_monitor'");
  ASSERT_TRUE(memberships.ok()) << memberships.error().message;
  EXPECT_EQ(memberships.value(), "pg_monitor");
  auto timeout = runtime->superuser_sql(
      "demo",
      "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
      "WHERE r.rolname = 'pgstack_monitor'");
  ASSERT_TRUE(timeout.ok()) << timeout.error().message;
  EXPECT_EQ(timeout.value(), "statement_timeout=5s");
  auto denied = runtime->superuser_sql("demo", "SET ROLE pgstack_monitor; SELECT * FROM secrets");
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.error().message.find("permission denied"), std::string::npos) << denied.error().message;
}

TEST(Exporters, TheExportersLogNoQueryErrors) {
  for (const std::string member : {"demo-0", "demo-1", "demo-2"}) {
    const std::string log =
        read_text(runtime->agent_state_dir() / "instances" / "default" / "demo" / member / "log" / "exporter.log");
    EXPECT_EQ(log.find("level=error"), std::string::npos) << member << ":\n" << log.substr(0, 3000);
  }
}

TEST(Exporters, AClusterThatDisablesMetricsRunsNoExporter) {
  auto created = runtime->api("POST", "sgclusters", kQuiet);
  ASSERT_TRUE(created.ok()) << created.error().message;
  ASSERT_EQ(created->status, 201) << created->body;
  ASSERT_TRUE(wait_ready("quiet", 1)) << runtime->cluster_status("quiet").dump(2);
  EXPECT_FALSE(std::filesystem::exists(config_dir("quiet", "quiet-0") / "exporter.pid"));
  EXPECT_FALSE(std::filesystem::exists(config_dir("quiet", "quiet-0") / "exporter-queries.yaml"));
  // The demo cluster's exporters still run.
  EXPECT_FALSE(exporter_address("demo", "demo-0").empty());
}

TEST(Exporters, TheHostRunsOneNodeExporterWithTheChosenCollectorsAndRegistersIt) {
  const std::string address = fmt::format("127.0.0.1:{}", runtime->node_exporter_port());
  std::string metrics;
  ASSERT_TRUE(wait_until(
      [&] {
        metrics = scrape(address);
        return !metrics.empty();
      },
      30s, 500ms))
      << runtime->agent_log();
  for (const char* family : {"node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_filesystem_avail_bytes",
                             "node_disk_read_bytes_total", "node_network_receive_bytes_total", "node_load1"}) {
    EXPECT_FALSE(samples(metrics, family).empty()) << family;
  }
  // Only those collectors.
  for (const auto& line : samples(metrics, "node_scrape_collector_success")) {
    bool expected = false;
    for (const char* collector : {"cpu", "meminfo", "filesystem", "diskstats", "netdev", "loadavg"}) {
      expected = expected || line.find(fmt::format("collector=\"{}\"", collector)) != std::string::npos;
    }
    EXPECT_TRUE(expected) << line;
  }
  store::EtcdClient etcd({runtime->etcd().endpoint()});
  auto host = etcd.get("/pgstack/hosts/e2e-host");
  ASSERT_TRUE(host.ok() && host->has_value());
  EXPECT_EQ(json::parse((*host)->value).value("nodeExporterAddress", ""), address) << (*host)->value;
}

TEST(Exporters, TheAgentServesItsOwnMetricsAndRegistersTheirAddress) {
  const std::string address = fmt::format("127.0.0.1:{}", runtime->agent_metrics_port());
  std::string metrics;
  ASSERT_TRUE(wait_until(
      [&] {
        metrics = scrape(address);
        return samples(metrics, "pgstack_process_up").size() >= 3 * 3 + 1;
      },
      30s, 500ms))
      << metrics;
  for (const std::string member : {"demo-0", "demo-1", "demo-2"}) {
    for (const std::string process : {"patroni", "pgbouncer", "postgres_exporter"}) {
      const std::string line = fmt::format(
          "pgstack_process_up{{namespace=\"default\",cluster=\"demo\",instance_name=\"{}\",process=\"{}\"}} 1", member,
          process);
      EXPECT_NE(metrics.find(line + "\n"), std::string::npos) << line << "\n" << metrics;
    }
    EXPECT_NE(
        metrics.find(fmt::format(
            "pgstack_instance_reconcile_failing{{namespace=\"default\",cluster=\"demo\",instance_name=\"{}\"}} 0\n",
            member)),
        std::string::npos)
        << metrics;
  }
  EXPECT_NE(metrics.find("pgstack_process_up{host=\"e2e-host\",process=\"node_exporter\"} 1\n"), std::string::npos)
      << metrics;
  // PgBouncer of every member, from its admin console.
  EXPECT_TRUE(wait_until(
      [&] {
        metrics = scrape(address);
        const auto up = samples(metrics, "pgbouncer_up");
        return up.size() == 4 && std::all_of(up.begin(), up.end(), [](const std::string& line) {
                 return line.substr(line.size() - 2) == " 1";
               });
      },
      30s, 500ms))
      << metrics;
  for (const auto& line : samples(metrics, "pgbouncer_up")) EXPECT_EQ(line.substr(line.size() - 2), " 1") << line;
  EXPECT_FALSE(samples(metrics, "pgbouncer_pools_cl_waiting").empty()) << metrics;
  EXPECT_FALSE(samples(metrics, "pgbouncer_stats_queries_total").empty()) << metrics;
  EXPECT_FALSE(samples(metrics, "pgbouncer_lists_items").empty()) << metrics;
  EXPECT_NE(metrics.find("# TYPE pgstack_process_restarts_total counter\n"), std::string::npos);
  // The quiet cluster has no exporter to report.
  EXPECT_EQ(metrics.find("instance_name=\"quiet-0\",process=\"postgres_exporter\""), std::string::npos);
  store::EtcdClient etcd({runtime->etcd().endpoint()});
  auto host = etcd.get("/pgstack/hosts/e2e-host");
  ASSERT_TRUE(host.ok() && host->has_value());
  EXPECT_EQ(json::parse((*host)->value).value("metricsAddress", ""), address) << (*host)->value;
  EXPECT_EQ(get_metrics(address, scrape_credential_header(), "/other").status, 404);
}

TEST(Exporters, EveryListenerAsksForTheScrapeCredentialWhenTheModeSaysSo) {
  ASSERT_FALSE(scrape_password().empty()) << "no scrape credential in etcd";
  const std::vector<std::string> addresses = {exporter_address("demo", "demo-0"),
                                              fmt::format("127.0.0.1:{}", runtime->node_exporter_port()),
                                              fmt::format("127.0.0.1:{}", runtime->agent_metrics_port())};
  for (const auto& address : addresses) {
    ASSERT_FALSE(address.empty());
    EXPECT_EQ(get_metrics(address, {}).status, 401) << address;
    EXPECT_EQ(get_metrics(address, {{"Authorization", basic_authorization("prometheus", "wrong")}}).status, 401)
        << address;
    EXPECT_EQ(get_metrics(address, {{"Authorization", basic_authorization("admin", scrape_password())}}).status, 401)
        << address;
    EXPECT_EQ(get_metrics(address, scrape_credential_header()).status, 200) << address;
  }
  // The exporters' web configs hold only the hash, readable by their owner alone.
  for (const auto& path :
       {config_dir("demo", "demo-0") / "exporter-web.yml", runtime->agent_state_dir() / "node-exporter" / "web.yml"}) {
    const std::string content = read_text(path);
    EXPECT_NE(content.find("$2b$"), std::string::npos) << path;
    EXPECT_EQ(content.find(scrape_password()), std::string::npos) << path;
    EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::mask, std::filesystem::perms(0600))
        << path;
  }
}

// Sets demo's observability.disableMetrics through the API.
void set_metrics_disabled(bool disabled) {
  auto current = runtime->api_json("GET", "sgclusters/demo");
  ASSERT_TRUE(current.ok()) << current.error().message;
  json document = current.value();
  document.erase("status");
  document["spec"]["configurations"]["observability"]["disableMetrics"] = disabled;
  auto replaced = runtime->api("PUT", "sgclusters/demo", document.dump());
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  ASSERT_EQ(replaced->status, 200) << replaced->body;
}

// True once none of demo's `members` has an exporter (their pid files are gone), within 60 s.
bool no_exporter_runs(std::initializer_list<const char*> members) {
  return wait_until(
      [&] {
        for (const std::string member : members) {
          if (std::filesystem::exists(config_dir("demo", member) / "exporter.pid")) return false;
        }
        return true;
      },
      60s, 500ms);
}

TEST(Exporters, TurningMetricsOffStopsTheExportersAndOnStartsThemAgain) {
  const auto members = {"demo-0", "demo-1", "demo-2"};
  std::vector<std::string> addresses;
  for (const std::string member : members) addresses.push_back(exporter_address("demo", member));
  set_metrics_disabled(true);
  EXPECT_TRUE(no_exporter_runs(members));
  for (const auto& address : addresses) EXPECT_TRUE(scrape(address).empty()) << address << " still answers";
  set_metrics_disabled(false);
  for (const std::string member : members) {
    EXPECT_TRUE(wait_until(
        [&] {
          const auto up = samples(scrape(exporter_address("demo", member)), "pg_up");
          return !up.empty() && up.front() == "pg_up 1";
        },
        60s, 500ms))
        << member;
  }
}

// A cluster bootstrapped before the monitoring role existed: its secrets have no monitor credential and
// Postgres no such role. The controller adds the credential (the others unchanged), the agent creates
// the role on the primary, and every member's exporter reaches Postgres.
TEST(Exporters, AClusterFromBeforeTheMonitoringRoleGetsItAndItsExporters) {
  const auto members = {"demo-0", "demo-1", "demo-2"};
  set_metrics_disabled(true);  // no exporter holds a session of the role while it is dropped
  ASSERT_TRUE(no_exporter_runs(members));
  auto dropped = runtime->superuser_sql("demo", "DROP ROLE pgstack_monitor");
  ASSERT_TRUE(dropped.ok()) << dropped.error().message;

  store::EtcdClient etcd({runtime->etcd().endpoint()});
  const std::string key = store::keys::cluster_secrets("/pgstack", "default", "demo");
  auto stored = etcd.get(key);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  json secrets = json::parse((*stored)->value);
  const std::string old_password = secrets["monitor"].value("password", "");
  const std::string superuser_password = secrets["superuser"].value("password", "");
  secrets.erase("monitor");
  ASSERT_TRUE(etcd.put(key, secrets.dump()).ok());
  set_metrics_disabled(false);

  for (const std::string member : members) {
    EXPECT_TRUE(wait_until(
        [&] {
          const auto up = samples(scrape(exporter_address("demo", member)), "pg_up");
          return !up.empty() && up.front() == "pg_up 1";
        },
        90s, 500ms))
        << member;
  }
  auto after = etcd.get(key);
  ASSERT_TRUE(after.ok() && after->has_value());
  const json added = json::parse((*after)->value);
  EXPECT_FALSE(added["monitor"].value("password", "").empty());
  EXPECT_NE(added["monitor"].value("password", ""), old_password);          // a new credential, not the old one back
  EXPECT_EQ(added["superuser"].value("password", ""), superuser_password);  // the others never change
  auto role = runtime->superuser_sql("demo", "SELECT count(*) FROM pg_roles WHERE rolname = 'pgstack_monitor'");
  ASSERT_TRUE(role.ok()) << role.error().message;
  EXPECT_EQ(role.value(), "1");
}

TEST(Exporters, TheAgentReportsBackupsAndWalArchivingOfItsPrimaries) {
  const json storage = {
      {"apiVersion", "stackgres.io/v1beta1"},
      {"kind", "SGObjectStorage"},
      {"metadata", {{"name", "disk"}}},
      {"spec", {{"type", "filesystem"}, {"filesystem", {{"path", (runtime->directory() / "backups").string()}}}}}};
  auto stored = runtime->api("POST", "sgobjectstorages", storage.dump());
  ASSERT_TRUE(stored.ok() && stored->status == 201) << (stored.ok() ? stored->body : stored.error().message);
  const json cluster = {
      {"apiVersion", "stackgres.io/v1"},
      {"kind", "SGCluster"},
      {"metadata", {{"name", "backed"}}},
      {"spec",
       {{"instances", 1},
        {"postgres", {{"version", "latest"}}},
        {"pods", {{"persistentVolume", {{"size", "5Gi"}}}}},
        {"configurations",
         {{"backups",
           json::array({{{"sgObjectStorage", "disk"}, {"cronSchedule", "0 3 * * *"}, {"retention", 2}}})}}}}}};
  auto created = runtime->api("POST", "sgclusters", cluster.dump());
  ASSERT_TRUE(created.ok() && created->status == 201) << (created.ok() ? created->body : created.error().message);
  ASSERT_TRUE(wait_ready("backed", 1)) << runtime->cluster_status("backed").dump(2);
  // The controller asks for a first backup once the cluster is ready; the agent reads SGBackups every 30 s.
  const std::string address = fmt::format("127.0.0.1:{}", runtime->agent_metrics_port());
  const std::string labels = R"({namespace="default",cluster="backed"})";
  std::string metrics;
  EXPECT_TRUE(wait_until(
      [&] {
        metrics = scrape(address);
        return metrics.find("pgstack_backup_last_success_timestamp_seconds" + labels) != std::string::npos;
      },
      300s, 1000ms))
      << metrics << runtime->get("sgbackups").dump(2);
  EXPECT_NE(metrics.find("pgstack_backup_errors_total" + labels + " 0\n"), std::string::npos) << metrics;
  EXPECT_FALSE(samples(metrics, "pgstack_backup_duration_seconds").empty()) << metrics;
  const std::string instance = R"({namespace="default",cluster="backed",instance_name="backed-0"})";
  EXPECT_NE(metrics.find("pgstack_wal_archive_archived_total" + instance), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("pgstack_wal_archive_failing" + instance + " 0\n"), std::string::npos) << metrics;
}

// A second agent on the host (a test beside an installation) must not fail on the default ports of its
// /metrics (19101) and node_exporter (19100): a busy default gives way to a free port, which the agent
// registers. Two more agents with the defaults, one after the other, so the first holds them (or, when an
// installation on this machine does, both fall back). Last: their hosts must not get later clusters.
TEST(Exporters, TwoAgentsOnOneHostBothServeMetricsOnTheirDefaultPortsOrFreeOnes) {
  const bool node_exporter_installed = ::access("/usr/bin/prometheus-node-exporter", X_OK) == 0;
  std::vector<std::unique_ptr<ProcessSupervisor>> agents;
  std::vector<json> registrations;
  store::EtcdClient etcd({runtime->etcd().endpoint()});
  for (const std::string name : {"e2e-second-a", "e2e-second-b"}) {
    // Under the runtime's agent directory, whose pid files the runtime kills at the end whatever happens.
    const auto state_dir = runtime->agent_state_dir() / "second-agents" / name;
    std::filesystem::create_directories(state_dir);
    ProcessSpec spec;
    spec.name = name;
    spec.argv = {PGSTACK_AGENT_BINARY,
                 "--etcd",
                 runtime->etcd().endpoint(),
                 "--state-dir",
                 state_dir.string(),
                 "--host-name",
                 name,
                 "--address",
                 "127.0.0.1",
                 "--ca-dir",
                 (runtime->directory() / "pki").string(),
                 "--stop-instances-on-exit"};
    spec.environment = {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}, {"HOME", "/root"}};
    spec.log_file = runtime->directory() / "logs" / (name + ".log");
    spec.pid_file = state_dir / "agent.pid";
    spec.stop_timeout = 10s;
    agents.push_back(std::make_unique<ProcessSupervisor>(spec));
    ASSERT_TRUE(agents.back()->start().ok()) << name;
    json registration;
    // Registered, and both listeners answer (loopback, default mode: no credential needed).
    const bool serving = wait_until(
        [&] {
          auto host = etcd.get(store::keys::host("/pgstack", name));
          if (!host.ok() || !host->has_value()) return false;
          registration = json::parse((*host)->value);
          const std::string metrics = registration.value("metricsAddress", "");
          const std::string node = registration.value("nodeExporterAddress", "");
          return !metrics.empty() && get_metrics(metrics, {}).status == 200 &&
                 (!node_exporter_installed || (!node.empty() && get_metrics(node, {}).status == 200));
        },
        60s, 500ms);
    EXPECT_TRUE(serving) << name << " " << registration.dump() << "\n" << file_tail(spec.log_file, 4000);
    registrations.push_back(registration);
  }
  std::set<std::string> addresses;
  for (const auto& registration : registrations) {
    addresses.insert(registration.value("metricsAddress", ""));
    if (node_exporter_installed) addresses.insert(registration.value("nodeExporterAddress", ""));
  }
  EXPECT_EQ(addresses.size(), node_exporter_installed ? 4U : 2U) << fmt::format("{}", fmt::join(addresses, " "));
  // The second found the defaults taken, by the first or by an installation.
  EXPECT_NE(registrations[1].value("metricsAddress", ""), "127.0.0.1:19101");
  if (node_exporter_installed) {
    EXPECT_NE(registrations[1].value("nodeExporterAddress", ""), "127.0.0.1:19100");
  }
  for (auto& agent : agents) EXPECT_TRUE(agent->stop().ok());
}

}  // namespace
}  // namespace pgstack::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  pgstack::testing::RuntimeBinaries binaries{PGSTACK_CONTROLLER_BINARY, PGSTACK_AGENT_BINARY, PGSTACK_CLI_BINARY};
  // Every listener the agent makes asks for the scrape credential, as it would off loopback.
  binaries.agent_flags = {"--metrics-auth", "always"};
  ::testing::AddGlobalTestEnvironment(
      new pgstack::testing::RuntimeEnvironment(&pgstack::testing::runtime, binaries, "demo"));
  return RUN_ALL_TESTS();
}
