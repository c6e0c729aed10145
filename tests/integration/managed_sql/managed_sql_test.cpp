// SGScripts (spec.managedSql) end to end, against a real etcd, controller, agent, Patroni and Postgres:
// entries run once, in order, in their database, as their user, in a transaction with their status
// stored in the database, one from a Secret; a failing entry (in a transaction: rolled back) is
// reported with its SQLSTATE and message, the SGScript's continueOnError runs the entries after it
// while the next SGScript waits; a changed entry runs again as a new version; a restarted controller
// runs nothing twice; an SGScript that cannot run is refused. The tests run in order in one process
// and share the runtime and the `scripted` cluster.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/pgstack_runtime.h"

namespace pgstack::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

PgstackRuntime* runtime = nullptr;

json managed_sql_of(const std::string& cluster) {
  return runtime->cluster_status(cluster).value("managedSql", json::object());
}

// status.managedSql.scripts[] of the reference to `sg_script`; an empty object until there is one.
json script_status(const std::string& sg_script) {
  for (const auto& script : managed_sql_of("scripted").value("scripts", json::array())) {
    if (script.value("sgScript", "") == sg_script) return script;
  }
  return json::object();
}

json entry_status(const std::string& sg_script, int id) {
  for (const auto& entry : script_status(sg_script).value("scripts", json::array())) {
    if (entry.value("id", -1) == id) return entry;
  }
  return json::object();
}

bool applied(const std::string& sg_script, int id, int version) {
  const json entry = entry_status(sg_script, id);
  return entry.value("version", -1) == version && !entry.contains("intents") && !entry.contains("failureCode");
}

std::string sql(const std::string& statement) {
  auto out = runtime->superuser_sql("scripted", statement);
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message);
  return out.ok() ? out.value() : "";
}

// What the entries inserted, in the order they ran: "n:user,...".
std::string log_rows() { return sql("SELECT string_agg(n || ':' || who, ',' ORDER BY seq) FROM log"); }

// Every entry runs in the cluster's `app` database (superuser_sql reads there).
json in_app(json entry) {
  entry["database"] = "app";
  return entry;
}

std::string setup_script(const std::string& second_insert, const std::string& failing) {
  const json entries = json::array({
      in_app({{"name", "table"}, {"script", "CREATE TABLE log (seq serial, n int, who text)"}}),
      in_app({{"name", "first-row"}, {"script", second_insert}}),
      in_app({{"name", "failing"}, {"wrapInTransaction", "read-committed"}, {"script", failing}}),
      in_app(
          {{"name", "from-secret"}, {"scriptFrom", {{"secretKeyRef", {{"name", "owner-sql"}, {"key", "owner.sql"}}}}}}),
      in_app({{"name", "as-owner"},
              {"user", "app_owner"},
              {"wrapInTransaction", "serializable"},
              {"storeStatusInDatabase", true},
              {"script", "INSERT INTO log (n, who) VALUES (4, current_user)"}}),
  });
  return json{{"apiVersion", "stackgres.io/v1"},
              {"kind", "SGScript"},
              {"metadata", {{"name", "setup"}}},
              {"spec", {{"continueOnError", true}, {"scripts", entries}}}}
      .dump();
}

std::string later_script(const std::vector<std::string>& statements) {
  json entries = json::array();
  for (const auto& statement : statements) entries.push_back(in_app({{"script", statement}}));
  return json{{"apiVersion", "stackgres.io/v1"},
              {"kind", "SGScript"},
              {"metadata", {{"name", "later"}}},
              {"spec", {{"scripts", entries}}}}
      .dump();
}

const char* kFirstInsert = "INSERT INTO log (n, who) VALUES (1, current_user)";
// In a transaction: its row is rolled back with it.
const char* kFailing = "INSERT INTO log (n, who) VALUES (99, current_user); SELECT * FROM missing_table";

TEST(ManagedSql, AnSGScriptThatCannotRunIsRefused) {
  const json body = {
      {"apiVersion", "stackgres.io/v1"},
      {"kind", "SGScript"},
      {"metadata", {{"name", "from-configmap"}}},
      {"spec", {{"scripts", json::array({{{"scriptFrom", {{"configMapKeyRef", {{"name", "cm"}, {"key", "k"}}}}}}})}}}};
  auto refused = runtime->api("POST", "sgscripts", body.dump());
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 422) << refused->body;
  EXPECT_NE(refused->body.find("spec.scripts[0].scriptFrom.configMapKeyRef"), std::string::npos) << refused->body;
  auto stored = runtime->api("GET", "sgscripts/from-configmap");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->status, 404);
}

TEST(ManagedSql, EntriesRunInOrderAndAFailureIsReported) {
  const json secret_body = {
      {"apiVersion", "v1"},
      {"kind", "Secret"},
      {"metadata", {{"name", "owner-sql"}}},
      {"stringData",
       {{"owner.sql",
         "CREATE ROLE app_owner LOGIN PASSWORD 'S3cretOwnerPassw0rd'; GRANT ALL ON log, log_seq_seq TO app_owner; "
         "INSERT INTO log (n, who) VALUES (3, current_user)"}}}};
  auto secret = runtime->api("POST", "/api/v1/namespaces/default/secrets", secret_body.dump());
  ASSERT_TRUE(secret.ok() && secret->status == 201) << (secret.ok() ? secret->body : secret.error().message);
  for (const std::string& body :
       {setup_script(kFirstInsert, kFailing), later_script({"INSERT INTO log (n, who) VALUES (10, current_user)"})}) {
    auto created = runtime->api("POST", "sgscripts", body);
    ASSERT_TRUE(created.ok() && created->status == 201) << (created.ok() ? created->body : created.error().message);
  }
  const json cluster_body = {
      {"apiVersion", "stackgres.io/v1"},
      {"kind", "SGCluster"},
      {"metadata", {{"name", "scripted"}}},
      {"spec",
       {{"instances", 1},
        {"postgres", {{"version", "latest"}}},
        {"pods", {{"persistentVolume", {{"size", "1Gi"}}}}},
        {"managedSql", {{"scripts", json::array({{{"sgScript", "setup"}}, {{"sgScript", "later"}}})}}}}}};
  auto cluster = runtime->api("POST", "sgclusters", cluster_body.dump());
  ASSERT_TRUE(cluster.ok() && cluster->status == 201) << (cluster.ok() ? cluster->body : cluster.error().message);

  // continueOnError: the entries after the failing one run.
  ASSERT_TRUE(wait_until([] { return applied("setup", 4, 0); }, 180s, 500ms)) << managed_sql_of("scripted").dump();
  EXPECT_TRUE(applied("setup", 0, 0));
  EXPECT_TRUE(applied("setup", 1, 0));
  EXPECT_TRUE(applied("setup", 3, 0));
  const json failed = entry_status("setup", 2);
  EXPECT_EQ(failed.value("version", -1), 0);
  EXPECT_EQ(failed.value("intents", 0), 1);
  EXPECT_EQ(failed.value("failureCode", ""), "42P01");
  EXPECT_EQ(failed.value("failure", ""), "relation \"missing_table\" does not exist");
  const json setup = script_status("setup");
  EXPECT_TRUE(setup.contains("startedAt") && setup.contains("failedAt")) << setup.dump();
  EXPECT_FALSE(setup.contains("completedAt")) << setup.dump();

  EXPECT_EQ(log_rows(), "1:postgres,3:postgres,4:app_owner");
  // storeStatusInDatabase: StackGres' table, in the entry's database.
  EXPECT_EQ(sql("SELECT id || '/' || entry_id || '@' || version FROM managed_sql.status"), "0/4@0");
  // The SGScript failed and continueOnSGScriptError is false: the next SGScript waits.
  EXPECT_FALSE(script_status("later").contains("startedAt")) << managed_sql_of("scripted").dump();
  EXPECT_EQ(runtime->controller_log().find("S3cretOwnerPassw0rd"), std::string::npos);
}

TEST(ManagedSql, AChangedEntryRunsAgainAsANewVersion) {
  auto current = runtime->api_json("GET", "sgscripts/setup");
  ASSERT_TRUE(current.ok());
  json body = json::parse(setup_script("INSERT INTO log (n, who) VALUES (2, current_user)", "SELECT 1"));
  body["metadata"]["resourceVersion"] = current.value()["metadata"]["resourceVersion"];
  auto replaced = runtime->api("PUT", "sgscripts/setup", body.dump());
  ASSERT_TRUE(replaced.ok() && replaced->status == 200) << (replaced.ok() ? replaced->body : replaced.error().message);

  ASSERT_TRUE(wait_until([] { return script_status("later").contains("completedAt"); }, 60s, 500ms))
      << managed_sql_of("scripted").dump();
  EXPECT_TRUE(applied("setup", 1, 1));
  EXPECT_TRUE(applied("setup", 2, 1));
  EXPECT_TRUE(applied("setup", 0, 0));  // unchanged: not run again
  EXPECT_TRUE(script_status("setup").contains("completedAt"));
  EXPECT_FALSE(script_status("setup").contains("failedAt"));
  EXPECT_EQ(log_rows(), "1:postgres,3:postgres,4:app_owner,2:postgres,10:postgres");
}

TEST(ManagedSql, ARestartedControllerRunsNothingTwice) {
  ASSERT_TRUE(runtime->stop_controller().ok());
  ASSERT_TRUE(runtime->start_controller().ok());
  // A new entry runs only after every earlier one is applied, so once it ran, a rerun would show.
  auto current = runtime->api_json("GET", "sgscripts/later");
  ASSERT_TRUE(current.ok());
  json body = json::parse(later_script(
      {"INSERT INTO log (n, who) VALUES (10, current_user)", "INSERT INTO log (n, who) VALUES (11, current_user)"}));
  body["metadata"]["resourceVersion"] = current.value()["metadata"]["resourceVersion"];
  auto replaced = runtime->api("PUT", "sgscripts/later", body.dump());
  ASSERT_TRUE(replaced.ok() && replaced->status == 200) << (replaced.ok() ? replaced->body : replaced.error().message);
  ASSERT_TRUE(wait_until([] { return applied("later", 1, 0); }, 60s, 500ms)) << managed_sql_of("scripted").dump();
  EXPECT_EQ(log_rows(), "1:postgres,3:postgres,4:app_owner,2:postgres,10:postgres,11:postgres");
}

}  // namespace
}  // namespace pgstack::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new pgstack::testing::RuntimeEnvironment(
      &pgstack::testing::runtime, {PGSTACK_CONTROLLER_BINARY, PGSTACK_AGENT_BINARY, PGSTACK_CLI_BINARY, {}},
      "scripted"));
  return RUN_ALL_TESTS();
}
