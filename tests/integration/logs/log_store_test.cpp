// A log store end to end, against a real etcd, controller, agent, Patroni and Postgres: an
// SGDistributedLogs becomes a 1-instance SGCluster that pgstack makes and keeps; the controller's
// maintenance makes its database pgstack_logs, the log tables, today's and the next days' partitions
// and the two roles (logWriter inserts lines and nothing else, logReader selects them and nothing
// else); a partition 30 days old is dropped while today's stays; a store in use cannot be deleted;
// deleting a cluster keeps its lines unless deleteLogs asks; deleting the store deletes its SGCluster.
// The tests run in order in one process and share the runtime and the store `logs`.
#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/pgstack_runtime.h"

namespace pgstack::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

PgstackRuntime* runtime = nullptr;

std::string day_suffix(std::chrono::sys_days day) {
  const std::chrono::year_month_day date{day};
  return fmt::format("{:04}{:02}{:02}", static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                     static_cast<unsigned>(date.day()));
}

std::string iso_day(std::chrono::sys_days day) {
  const std::string digits = day_suffix(day);
  return digits.substr(0, 4) + "-" + digits.substr(4, 2) + "-" + digits.substr(6, 2);
}

std::chrono::sys_days today() { return std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()); }

// psql in the store's database (or `database`) as one of its credentials ("superuser", "logWriter", "logReader").
Result<std::string> store_sql(const std::string& credential, const std::string& statement,
                              const std::string& database = "pgstack_logs") {
  const json status = runtime->cluster_status("logs");
  std::string endpoint;
  for (const auto& member : status.value("members", json::array())) {
    if (member.value("role", "") == "primary") endpoint = member["endpoints"]["postgres"];
  }
  if (endpoint.empty()) return make_error(ErrorCode::kUnavailable, "the store has no primary");
  const json entry = runtime->get("sgclusters/logs/credentials").value(credential, json::object());
  auto out = run_psql(fmt::format("postgresql://{}@{}/{}", entry.value("username", ""), endpoint, database),
                      entry.value("password", ""), statement);
  RETURN_IF_ERROR(out);
  if (out->exit_code != 0) return make_error(ErrorCode::kPermissionDenied, out->standard_error);
  std::string text = out->standard_output;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string sql(const std::string& statement) {
  auto out = store_sql("superuser", statement);
  EXPECT_TRUE(out.ok()) << statement << ": " << (out.ok() ? "" : out.error().message);
  return out.ok() ? out.value() : "";
}

json store_status() { return runtime->get("sgdistributedlogs/logs").value("status", json::object()); }

bool store_ready() { return condition_in(store_status(), "Ready").value("status", "") == "True"; }

// A line of <cluster> as the shipper writes it: the cluster from SET LOCAL, through the column defaults.
std::string insert_line(const std::string& cluster, const std::string& message) {
  return fmt::format(
      "BEGIN; SELECT set_config('pgstack.namespace', 'default', true), set_config('pgstack.cluster', '{0}', true), "
      "set_config('pgstack.instance', '{0}-0', true); INSERT INTO log_postgres (log_time, error_severity, message) "
      "VALUES (now(), 'LOG', '{1}'); COMMIT",
      cluster, message);
}

void create(const std::string& plural, const json& body) {
  auto created = runtime->api("POST", plural, body.dump());
  ASSERT_TRUE(created.ok() && created->status == 201) << (created.ok() ? created->body : created.error().message);
}

json cluster_using_store(const std::string& name, const std::string& retention = "7 days") {
  return {{"apiVersion", "stackgres.io/v1"},
          {"kind", "SGCluster"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"instances", 1},
            {"postgres", {{"version", "15"}}},
            {"pods", {{"persistentVolume", {{"size", "1Gi"}}}}},
            {"distributedLogs", {{"sgDistributedLogs", "logs"}, {"retention", retention}}}}}};
}

TEST(LogStore, AnSGDistributedLogsRunsAsAReadyStore) {
  const auto started = std::chrono::steady_clock::now();
  create("sgdistributedlogs", {{"apiVersion", "stackgres.io/v1"},
                               {"kind", "SGDistributedLogs"},
                               {"metadata", {{"name", "logs"}}},
                               {"spec", {{"persistentVolume", {{"size", "1Gi"}}}}}});
  create("sgclusters", cluster_using_store("shipper"));
  // Keeps less than the store: its older lines are deleted row by row, the partitions follow shipper's.
  create("sgclusters", cluster_using_store("plain", "1 hour"));

  ASSERT_TRUE(wait_until(store_ready, 180s, 500ms)) << store_status().dump();
  std::cerr << fmt::format(
      "the store was ready after {} s\n",
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count());
  const json cluster = runtime->get("sgclusters/logs");
  EXPECT_EQ(cluster["metadata"]["annotations"].value("pgstack.io/distributed-logs", ""), "logs") << cluster.dump();
  EXPECT_EQ(cluster["spec"].value("instances", 0), 1);
  EXPECT_EQ(cluster["spec"]["pods"]["persistentVolume"].value("size", ""), "1Gi");
  EXPECT_FALSE(cluster["spec"].contains("distributedLogs"));

  const json status = store_status();
  std::vector<std::string> users;
  for (const auto& user : status.value("connectedClusters", json::array())) users.push_back(user.value("name", ""));
  std::sort(users.begin(), users.end());
  EXPECT_EQ(users, (std::vector<std::string>{"plain", "shipper"})) << status.dump();
  EXPECT_EQ(status.value("retention", ""), "7 days");
  EXPECT_TRUE(status["maintenance"].contains("lastSuccess")) << status.dump();
  const json partitions = status["partitions"]["log_postgres"];
  EXPECT_NE(std::find(partitions.begin(), partitions.end(), "log_postgres_" + day_suffix(today())), partitions.end())
      << status.dump();
}

TEST(LogStore, TheDatabaseHasTheTablesAndPartitionsAhead) {
  EXPECT_EQ(sql("SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relname IN "
                "('log_postgres', 'log_patroni', 'log_ingest_state') AND relnamespace = 'public'::regnamespace"),
            "log_ingest_state,log_patroni,log_postgres");
  for (const std::string_view table : {"log_postgres", "log_patroni", "log_pgstack"}) {
    for (int ahead = 0; ahead <= 2; ++ahead) {
      const std::string partition = std::string(table) + "_" + day_suffix(today() + std::chrono::days(ahead));
      EXPECT_EQ(sql(fmt::format("SELECT to_regclass('{}') IS NOT NULL", partition)), "t") << partition;
    }
  }
  EXPECT_EQ(sql("SELECT string_agg(rolname || ':' || rolcanlogin || rolsuper, ',' ORDER BY rolname) FROM pg_roles "
                "WHERE rolname LIKE 'pgstack_log_%'"),
            "pgstack_log_reader:truefalse,pgstack_log_writer:truefalse");
}

TEST(LogStore, TheWriterInsertsLinesAndNothingElse) {
  auto inserted = store_sql("logWriter", insert_line("shipper", "hello from shipper"));
  ASSERT_TRUE(inserted.ok()) << inserted.error().message;
  ASSERT_TRUE(store_sql("logWriter", insert_line("plain", "hello from plain")).ok());
  EXPECT_EQ(sql("SELECT string_agg(namespace || '/' || cluster || '/' || instance || ':' || message, ',' ORDER BY "
                "cluster) FROM log_postgres WHERE message LIKE 'hello from %'"),
            "default/plain/plain-0:hello from plain,default/shipper/shipper-0:hello from shipper");
  EXPECT_TRUE(store_sql("logWriter", "SELECT count(*) FROM log_ingest_state").ok());
  // What the store refused goes to log_quarantine (the shipper's skip), which the writer may only add to.
  auto quarantined = store_sql(
      "logWriter",
      "BEGIN; SELECT set_config('pgstack.namespace', 'default', true), set_config('pgstack.cluster', 'shipper', "
      "true), set_config('pgstack.instance', 'shipper-0', true); INSERT INTO log_quarantine (log_type, file_name, "
      "offset_bytes, bytes, reason) VALUES ('postgres', 'postgresql-1.csv', 978, '\\x2c22', 'refused'); COMMIT");
  ASSERT_TRUE(quarantined.ok()) << quarantined.error().message;
  for (const std::string& refused : std::vector<std::string>{
           "DELETE FROM log_postgres", "SELECT count(*) FROM log_quarantine", "DELETE FROM log_quarantine",
           "SELECT count(*) FROM log_postgres", "SELECT count(*) FROM log_patroni",
           "UPDATE log_postgres SET message = ''", "CREATE TABLE mine (i int)",
           "SELECT count(*) FROM log_postgres_" + day_suffix(today())}) {
    auto out = store_sql("logWriter", refused);
    EXPECT_FALSE(out.ok()) << refused;
    if (!out.ok()) {
      EXPECT_NE(out.error().message.find("permission denied"), std::string::npos) << out.error().message;
    }
  }
}

TEST(LogStore, TheReaderOnlySelectsLines) {
  // The agent ships the clusters' own lines too: count the test's.
  auto counted = store_sql("logReader", "SELECT count(*) FROM log_postgres WHERE message LIKE 'hello from %'");
  ASSERT_TRUE(counted.ok()) << counted.error().message;
  EXPECT_EQ(counted.value(), "2");
  EXPECT_TRUE(store_sql("logReader", "SELECT count(*) FROM log_patroni").ok());
  EXPECT_TRUE(store_sql("logReader", "SELECT count(*) FROM log_pgstack").ok());
  auto quarantine = store_sql("logReader", "SELECT encode(bytes, 'hex') FROM log_quarantine WHERE cluster = 'shipper'");
  ASSERT_TRUE(quarantine.ok()) << quarantine.error().message;
  EXPECT_EQ(quarantine.value(), "2c22");
  // The logs API reads as this role too (docs/logs.md, "Reading logs").
  auto read = runtime->api("GET", "/apis/pgstack.io/v1/namespaces/default/sgclusters/shipper/logs");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->status, 200) << read->body;
  EXPECT_NE(read->body.find("hello from shipper"), std::string::npos) << read->body;
  EXPECT_EQ(read->body.find("hello from plain"), std::string::npos) << read->body;
  for (const std::string& refused : std::vector<std::string>{
           insert_line("shipper", "not allowed"), std::string("DELETE FROM log_postgres"),
           std::string("SELECT count(*) FROM log_ingest_state"), std::string("CREATE TABLE mine (i int)")}) {
    auto out = store_sql("logReader", refused);
    EXPECT_FALSE(out.ok()) << refused;
    if (!out.ok()) {
      EXPECT_NE(out.error().message.find("permission denied"), std::string::npos) << out.error().message;
    }
  }
}

TEST(LogStore, APartitionPastRetentionIsDroppedAndTodaysStays) {
  const auto old_day = today() - std::chrono::days(30);
  const std::string old_partition = "log_postgres_" + day_suffix(old_day);
  sql(
      fmt::format("CREATE TABLE {} PARTITION OF log_postgres FOR VALUES FROM ('{} 00:00:00+00') TO ('{} "
                  "00:00:00+00')",
                  old_partition, iso_day(old_day), iso_day(old_day + std::chrono::days(1))));
  ASSERT_EQ(sql(fmt::format("SELECT to_regclass('{}') IS NOT NULL", old_partition)), "t");
  sql("INSERT INTO log_postgres (log_time, message, namespace, cluster, instance) VALUES (now() - interval '2 hours', "
      "'older than plain keeps', 'default', 'plain', 'plain-0'), (now() - interval '2 hours', 'shipper keeps it', "
      "'default', 'shipper', 'shipper-0')");
  sql("INSERT INTO log_quarantine (quarantined_at, log_type, file_name, offset_bytes, bytes, reason, namespace, "
      "cluster, instance) VALUES (now() - interval '30 days', 'postgres', 'old.csv', 0, '\\x00', 'old', 'default', "
      "'shipper', 'shipper-0')");
  // A controller maintains a store at once when it first sees it: a restarted one does not wait a minute.
  ASSERT_TRUE(runtime->stop_controller().ok());
  ASSERT_TRUE(runtime->start_controller().ok());
  EXPECT_TRUE(wait_until([&] { return sql(fmt::format("SELECT to_regclass('{}') IS NULL", old_partition)) == "t"; },
                         60s, 500ms))
      << runtime->controller_log();
  EXPECT_EQ(sql(fmt::format("SELECT to_regclass('log_postgres_{}') IS NOT NULL", day_suffix(today()))), "t");
  // log_quarantine keeps its rows as long as the lines: the month-old one goes, the one of today stays.
  EXPECT_TRUE(
      wait_until([] { return sql("SELECT count(*) FROM log_quarantine WHERE reason = 'old'") == "0"; }, 30s, 500ms));
  EXPECT_EQ(sql("SELECT count(*) FROM log_quarantine WHERE reason = 'refused'"), "1");
  EXPECT_TRUE(wait_until(
      [] { return sql("SELECT count(*) FROM log_postgres WHERE message = 'older than plain keeps'") == "0"; }, 30s,
      500ms));
  EXPECT_EQ(sql("SELECT string_agg(message, ',' ORDER BY message) FROM log_postgres WHERE message LIKE 'hello from %' "
                "OR message LIKE '%keeps%'"),
            "hello from plain,hello from shipper,shipper keeps it");
  sql("DELETE FROM log_postgres WHERE message = 'shipper keeps it'");
}

TEST(LogStore, AFailedMaintenanceIsReportedAndTheStoreServedOnceItAnswers) {
  auto disallowed = store_sql("superuser", "ALTER DATABASE pgstack_logs ALLOW_CONNECTIONS false", "postgres");
  ASSERT_TRUE(disallowed.ok()) << disallowed.error().message;
  ASSERT_TRUE(runtime->stop_controller().ok());
  ASSERT_TRUE(runtime->start_controller().ok());
  const bool reported = wait_until(
      [] { return condition_in(store_status(), "Ready").value("reason", "") == "MaintenanceFailed"; }, 30s, 250ms);
  auto allowed = store_sql("superuser", "ALTER DATABASE pgstack_logs ALLOW_CONNECTIONS true", "postgres");
  ASSERT_TRUE(allowed.ok()) << allowed.error().message;
  ASSERT_TRUE(reported) << store_status().dump();
  const json failed = store_status();
  EXPECT_NE(failed["maintenance"].value("error", "").find("pgstack_logs"), std::string::npos) << failed.dump();
  EXPECT_EQ(condition_in(failed, "Ready").value("status", ""), "False");
  // Tried again within seconds, not a minute.
  EXPECT_TRUE(wait_until(store_ready, 20s, 250ms)) << store_status().dump();
  EXPECT_FALSE(store_status()["maintenance"].contains("error"));
}

TEST(LogStore, AStoreInUseIsNotDeleted) {
  auto refused = runtime->api("DELETE", "sgdistributedlogs/logs");
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 409) << refused->body;
  EXPECT_NE(refused->body.find("SGCluster default/shipper"), std::string::npos) << refused->body;
  auto own_cluster = runtime->api("DELETE", "sgclusters/logs");
  ASSERT_TRUE(own_cluster.ok());
  EXPECT_EQ(own_cluster->status, 409) << own_cluster->body;
}

TEST(LogStore, DeleteLogsDeletesNothingWhenTheStoreCannotBeReached) {
  // The store's database refuses every connection: as a store that is down does, for this request.
  auto disallowed = store_sql("superuser", "ALTER DATABASE pgstack_logs ALLOW_CONNECTIONS false", "postgres");
  ASSERT_TRUE(disallowed.ok()) << disallowed.error().message;
  auto refused = runtime->api("DELETE", "sgclusters/shipper?deleteLogs=true");
  auto allowed = store_sql("superuser", "ALTER DATABASE pgstack_logs ALLOW_CONNECTIONS true", "postgres");
  ASSERT_TRUE(allowed.ok()) << allowed.error().message;
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_NE(refused->body.find("is not reachable"), std::string::npos) << refused->body;
  EXPECT_NE(refused->body.find("SGCluster default/shipper is not deleted"), std::string::npos) << refused->body;
  EXPECT_EQ(runtime->api("GET", "sgclusters/shipper")->status, 200);
  EXPECT_EQ(sql("SELECT count(*) FROM log_postgres WHERE message = 'hello from shipper'"), "1");
  auto mistyped = runtime->api("DELETE", "sgclusters/shipper?deleteLogs=yes");
  ASSERT_TRUE(mistyped.ok());
  EXPECT_EQ(mistyped->status, 400) << mistyped->body;
  EXPECT_EQ(runtime->api("GET", "sgclusters/shipper")->status, 200);
}

TEST(LogStore, DeletingAClusterKeepsItsLinesUnlessDeleteLogsAsks) {
  auto plain = runtime->api("DELETE", "sgclusters/plain");
  ASSERT_TRUE(plain.ok() && plain->status == 200) << (plain.ok() ? plain->body : plain.error().message);
  EXPECT_EQ(sql("SELECT count(*) FROM log_postgres WHERE message = 'hello from plain'"), "1");

  sql("INSERT INTO log_ingest_state (namespace, cluster, instance, log_type, device, inode, offset_bytes, file_name) "
      "VALUES ('default', 'shipper', 'shipper-0', 'postgres', 1, 2, 3, 'postgresql-Sat.csv')");
  auto shipper = runtime->cli({"delete", "sgcluster", "shipper", "--delete-logs", "--yes"});
  ASSERT_TRUE(shipper.ok());
  EXPECT_EQ(shipper->exit_code, 0) << shipper->standard_output << shipper->standard_error;
  // The test's own rows: shipper's shippers may still send lines while its instance stops.
  EXPECT_EQ(sql("SELECT count(*) FROM log_postgres WHERE message = 'hello from shipper'"), "0");
  EXPECT_EQ(sql("SELECT count(*) FROM log_ingest_state WHERE file_name = 'postgresql-Sat.csv'"), "0");
  EXPECT_EQ(sql("SELECT count(*) FROM log_postgres WHERE message = 'hello from plain'"), "1");
  EXPECT_EQ(runtime->api("GET", "sgclusters/shipper")->status, 404);
}

TEST(LogStore, DeletingAnUnusedStoreDeletesItsCluster) {
  auto removed = runtime->api("DELETE", "sgdistributedlogs/logs");
  ASSERT_TRUE(removed.ok() && removed->status == 200) << (removed.ok() ? removed->body : removed.error().message);
  EXPECT_NE(removed->body.find("its SGCluster logs is deleted too"), std::string::npos) << removed->body;
  EXPECT_EQ(runtime->api("GET", "sgclusters/logs")->status, 404);
}

}  // namespace
}  // namespace pgstack::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new pgstack::testing::RuntimeEnvironment(
      &pgstack::testing::runtime, {PGSTACK_CONTROLLER_BINARY, PGSTACK_AGENT_BINARY, PGSTACK_CLI_BINARY, {}}, "logs"));
  return RUN_ALL_TESTS();
}
