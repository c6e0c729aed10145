// postgres.extensions end to end (issue 12, section 2), against a real etcd, controller, agent, Patroni
// and Postgres: the agent installs the Debian packages when the host lacks them (the test passes
// either way), preloads the libraries that need it, and CREATE EXTENSION stays the user's act. The
// tests run in order and share one runtime and the `ext` cluster.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "agent/extension_installer.h"
#include "model/extension_catalogue.h"
#include "support/pgstack_runtime.h"

namespace pgstack::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

PgstackRuntime* runtime = nullptr;

const char* kCluster = R"({"apiVersion":"stackgres.io/v1","kind":"SGCluster","metadata":{"name":"ext"},
  "spec":{"instances":3,"postgres":{"version":"15","extensions":[{"name":"pg_cron"},{"name":"hypopg"}]},
          "pods":{"persistentVolume":{"size":"5Gi"}}}})";

json status_of() {
  auto status = runtime->api_json("GET", "sgclusters/ext/status");
  return status.ok() ? status.value() : json::object();
}

bool condition_is(const json& status, const std::string& type, const std::string& value) {
  return condition_in(status, type).value("status", "") == value;
}

bool wait_ready(std::chrono::seconds timeout) {
  return wait_until(
      [] {
        const json status = status_of();
        return condition_is(status, "Ready", "True") && status.value("members", json::array()).size() == 3;
      },
      timeout, 500ms);
}

// SQL as the superuser on one member's own Postgres (`role`: primary, or any replica), in `database`.
Result<std::string> member_sql(const std::string& role, const std::string& database, const std::string& statement) {
  const json status = status_of();
  const json credentials = runtime->get("sgclusters/ext/credentials").value("superuser", json::object());
  std::string endpoint;
  for (const auto& member : status.value("members", json::array())) {
    const bool primary = member.value("role", "") == "primary";
    if ((role == "primary") == primary) endpoint = member["endpoints"]["postgres"];
  }
  if (endpoint.empty()) return make_error(ErrorCode::kUnavailable, "no " + role);
  auto out = run_psql(fmt::format("postgresql://{}@{}/{}", credentials.value("username", ""), endpoint, database),
                      credentials.value("password", ""), statement);
  RETURN_IF_ERROR(out);
  if (out->exit_code != 0) return make_error(ErrorCode::kUnavailable, out->standard_error);
  std::string text = out->standard_output;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string text(const Result<std::string>& result) {
  return result.ok() ? result.value() : "error: " + result.error().message;
}

// Every member of status.extensions' entry for `name` reports an installed version.
bool installed_on_every_member(const json& status, const std::string& name) {
  for (const auto& extension : status.value("extensions", json::array())) {
    if (extension.value("name", "") != name) continue;
    const json members = extension.value("members", json::object());
    if (members.size() != 3) return false;
    return std::all_of(members.begin(), members.end(), [](const json& version) { return version != "missing"; });
  }
  return false;
}

std::string cluster_with_extensions(const std::string& extensions) {
  auto current = runtime->api_json("GET", "sgclusters/ext");
  json document = current.ok() ? current.value() : json::parse(kCluster);
  document.erase("status");
  document["spec"]["postgres"]["extensions"] = json::parse(extensions);
  return document.dump();
}

// The catalogue is a table in code: every package it names must exist in this host's apt archive, and every
// contrib extension must be in the server package that is installed.
TEST(Extensions, TheCatalogueMatchesDebiansPackages) {
  std::vector<std::string> argv = {"apt-cache", "policy"};
  for (const auto& entry : model::extension_catalogue()) {
    const auto resolved = model::resolve_extension(entry.name, model::kCatalogueMajor);
    ASSERT_TRUE(resolved.ok());
    if (resolved->contrib) {
      EXPECT_TRUE(std::filesystem::exists(
          fmt::format("/usr/share/postgresql/{}/extension/{}.control", model::kCatalogueMajor, entry.name)))
          << entry.name;
    } else if (std::find(argv.begin(), argv.end(), resolved->package) == argv.end()) {
      argv.push_back(resolved->package);
    }
  }
  auto policy = run_command(argv);
  ASSERT_TRUE(policy.ok());
  const auto candidates = agent::parse_apt_cache_policy(policy->standard_output);
  for (std::size_t i = 2; i < argv.size(); ++i) EXPECT_EQ(candidates.count(argv[i]), 1u) << argv[i] << " is not in apt";
}

TEST(Extensions, AnUnknownNameIsRefusedWithNearMatches) {
  json document = json::parse(kCluster);
  document["spec"]["postgres"]["extensions"] = json::parse(R"([{"name":"hypopg"},{"name":"pg_crn"}])");
  auto refused = runtime->api("POST", "sgclusters", document.dump());
  ASSERT_TRUE(refused.ok()) << refused.error().message;
  EXPECT_EQ(refused->status, 422) << refused->body;
  EXPECT_NE(refused->body.find("spec.postgres.extensions[1].name"), std::string::npos) << refused->body;
  EXPECT_NE(refused->body.find("did you mean pg_cron"), std::string::npos) << refused->body;
  EXPECT_EQ(runtime->api("GET", "sgclusters/ext")->status, 404);

  // The offline check says the same.
  const auto file = runtime->directory() / "unknown-extension.json";
  std::ofstream(file) << document.dump();
  auto validated = runtime->cli({"validate", "-f", file.string()});
  ASSERT_TRUE(validated.ok());
  EXPECT_EQ(validated->exit_code, 1);
  EXPECT_NE((validated->standard_output + validated->standard_error).find("did you mean pg_cron"), std::string::npos)
      << validated->standard_output << validated->standard_error;
}

TEST(Extensions, PgCronAndHypopgAreUsableOnThePrimary) {
  const auto started = std::chrono::steady_clock::now();
  auto created = runtime->api("POST", "sgclusters", kCluster);
  ASSERT_TRUE(created.ok()) << created.error().message;
  ASSERT_EQ(created->status, 201) << created->body;
  // Includes installing postgresql-15-cron and postgresql-15-hypopg when the host lacks them.
  ASSERT_TRUE(wait_ready(420s)) << status_of().dump(2) << runtime->agent_log();
  std::cout << fmt::format(
      "[ info ] cluster with pg_cron and hypopg ready in {} s\n",
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count());
  EXPECT_TRUE(wait_until(
      [] {
        const json status = status_of();
        return installed_on_every_member(status, "pg_cron") && installed_on_every_member(status, "hypopg") &&
               condition_is(status, "ExtensionsAvailable", "True");
      },
      60s))
      << status_of().dump(2);

  auto preload = member_sql("primary", "postgres", "SHOW shared_preload_libraries");
  ASSERT_TRUE(preload.ok()) << preload.error().message;
  EXPECT_NE(preload->find("pg_cron"), std::string::npos) << *preload;
  EXPECT_NE(preload->find("pg_stat_statements"), std::string::npos) << *preload;
  EXPECT_EQ(text(member_sql("primary", "postgres", "SHOW cron.database_name")), "postgres");
  // Installed is not created: CREATE EXTENSION is the user's.
  EXPECT_EQ(text(member_sql("primary", "postgres", "SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'")),
            "0");

  auto cron = member_sql("primary", "postgres",
                         "CREATE EXTENSION pg_cron; SELECT cron.schedule('nightly-vacuum', '0 3 * * *', 'VACUUM')");
  ASSERT_TRUE(cron.ok()) << cron.error().message;
  auto hypopg = member_sql("primary", "app",
                           "CREATE EXTENSION hypopg; CREATE TABLE things (id int, label text); "
                           "SELECT count(*) FROM hypopg_create_index('CREATE INDEX ON things (id)')");
  ASSERT_TRUE(hypopg.ok()) << hypopg.error().message;
  EXPECT_EQ(*hypopg, "1");

  // The CLI lists what the host has, through the API (the agent publishes it again after an install).
  Result<CommandOutput> listed = make_error(ErrorCode::kUnavailable, "not asked");
  EXPECT_TRUE(wait_until(
      [&] {
        listed = runtime->cli({"get", "extensions"});
        return listed.ok() && listed->standard_output.find("hypopg") != std::string::npos;
      },
      30s));
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->exit_code, 0) << listed->standard_error;
  EXPECT_NE(listed->standard_output.find("pg_cron"), std::string::npos) << listed->standard_output;
  EXPECT_NE(listed->standard_output.find("hypopg"), std::string::npos) << listed->standard_output;
  EXPECT_NE(listed->standard_output.find("installed (contrib)"), std::string::npos) << listed->standard_output;
  auto available = runtime->cli({"get", "extensions", "--available", "-o", "json"});
  ASSERT_TRUE(available.ok());
  ASSERT_EQ(available->exit_code, 0) << available->standard_error;
  const json inventory = json::parse(available->standard_output, nullptr, false);
  ASSERT_TRUE(inventory.is_object()) << available->standard_output;
  bool cron_installed = false;
  for (const auto& item : inventory.value("items", json::array()))
    cron_installed = cron_installed || (item.value("name", "") == "pg_cron" && item.value("installed", false));
  EXPECT_TRUE(cron_installed) << inventory.dump(2);
  EXPECT_GT(inventory.value("items", json::array()).size(), listed->standard_output.size() / 200);

  auto described = runtime->cli({"describe", "sgcluster", "ext"});
  ASSERT_TRUE(described.ok());
  EXPECT_NE(described->standard_output.find("Extensions:"), std::string::npos) << described->standard_output;
  EXPECT_NE(described->standard_output.find("postgresql-15-cron"), std::string::npos) << described->standard_output;
}

TEST(Extensions, EveryMemberHasThemAfterASwitchover) {
  ASSERT_TRUE(wait_ready(60s));
  // A replica already has the library loaded and the extension's catalogue rows (replicated).
  auto on_replica = member_sql("replica", "app",
                               "SELECT extname FROM pg_extension WHERE extname = 'hypopg'; "
                               "SELECT count(*) FROM hypopg_create_index('CREATE INDEX ON things (label)')");
  ASSERT_TRUE(on_replica.ok()) << on_replica.error().message;
  EXPECT_EQ(*on_replica, "hypopg\n1");

  const std::string before = primary_in(status_of());
  auto switched = runtime->api_json("POST", "sgclusters/ext/switchover", "");
  ASSERT_TRUE(switched.ok()) << switched.error().message;
  ASSERT_TRUE(switched->contains("to")) << switched->dump();
  const std::string after = (*switched)["to"];
  EXPECT_NE(after, before);
  EXPECT_TRUE(wait_until([&] { return primary_in(status_of()) == after; }, 60s));
  ASSERT_TRUE(wait_ready(120s)) << status_of().dump(2);

  Result<std::string> jobs = make_error(ErrorCode::kUnavailable, "not asked");
  EXPECT_TRUE(wait_until(
      [&] {
        jobs = member_sql("primary", "postgres", "SELECT jobname FROM cron.job");
        return jobs.ok();
      },
      30s));
  ASSERT_TRUE(jobs.ok()) << jobs.error().message;
  EXPECT_EQ(*jobs, "nightly-vacuum");
  // pg_cron's scheduler runs on the new primary: its launcher is a background worker there.
  EXPECT_EQ(text(member_sql("primary", "postgres",
                            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_cron launcher'")),
            "1");
  auto hypopg = member_sql("primary", "app", "SELECT count(*) FROM hypopg_create_index('CREATE INDEX ON things (id)')");
  ASSERT_TRUE(hypopg.ok()) << hypopg.error().message;
  EXPECT_EQ(*hypopg, "1");
  EXPECT_NE(text(member_sql("replica", "postgres", "SHOW shared_preload_libraries")).find("pg_cron"),
            std::string::npos);
}

TEST(Extensions, APreloadAddedToARunningClusterWaitsForARestart) {
  auto changed = runtime->api("PUT", "sgclusters/ext",
                              cluster_with_extensions(R"([{"name":"pg_cron"},{"name":"hypopg"},{"name":"pgaudit"}])"));
  ASSERT_TRUE(changed.ok());
  ASSERT_EQ(changed->status, 200) << changed->body;
  EXPECT_TRUE(wait_until([] { return installed_on_every_member(status_of(), "pgaudit"); }, 300s))
      << status_of().dump(2) << runtime->agent_log();
  EXPECT_TRUE(wait_until([] { return condition_is(status_of(), "PendingRestart", "True"); }, 60s))
      << status_of().dump(2);
  // Still running with the libraries it started with.
  EXPECT_EQ(text(member_sql("primary", "postgres", "SHOW shared_preload_libraries")).find("pgaudit"),
            std::string::npos);

  auto restart = runtime->api("POST", "sgclusters/ext/restart");
  ASSERT_TRUE(restart.ok());
  ASSERT_EQ(restart->status, 202) << restart->body;
  EXPECT_TRUE(wait_until([] { return condition_is(status_of(), "PendingRestart", "False"); }, 300s))
      << status_of().dump(2);
  ASSERT_TRUE(wait_ready(120s)) << status_of().dump(2);
  Result<std::string> audit = make_error(ErrorCode::kUnavailable, "not asked");
  EXPECT_TRUE(wait_until(
      [&] {
        audit = member_sql("primary", "app", "CREATE EXTENSION IF NOT EXISTS pgaudit; SHOW shared_preload_libraries");
        return audit.ok();
      },
      60s));
  ASSERT_TRUE(audit.ok()) << audit.error().message;
  EXPECT_NE(audit->find("pgaudit"), std::string::npos) << *audit;
  EXPECT_NE(audit->find("pg_cron"), std::string::npos) << *audit;
}

// An agent that may not install says which package is missing; the running cluster keeps running as it was.
TEST(Extensions, AnAgentThatMayNotInstallReportsTheMissingPackage) {
  auto installed = run_command({"dpkg-query", "-W", "-f", "${db:Status-Status}", "postgresql-15-orafce"});
  if (installed.ok() && installed->standard_output == "installed") GTEST_SKIP() << "postgresql-15-orafce is installed";
  ASSERT_TRUE(runtime->kill_agent().ok());
  runtime->set_agent_flags({"--no-extension-installs"});
  ASSERT_TRUE(runtime->start_agent().ok());
  auto changed = runtime->api(
      "PUT", "sgclusters/ext",
      cluster_with_extensions(R"([{"name":"pg_cron"},{"name":"hypopg"},{"name":"pgaudit"},{"name":"orafce"}])"));
  ASSERT_TRUE(changed.ok());
  ASSERT_EQ(changed->status, 200) << changed->body;
  EXPECT_TRUE(wait_until(
      [] {
        const json condition = condition_in(status_of(), "ExtensionsAvailable");
        return condition.value("reason", "") == "PackagesMissing" &&
               condition.value("message", "").find("postgresql-15-orafce") != std::string::npos &&
               condition.value("message", "").find("--no-extension-installs") != std::string::npos;
      },
      60s))
      << status_of().dump(2);
  EXPECT_TRUE(condition_is(status_of(), "Ready", "True")) << status_of().dump(2);
  for (const auto& extension : status_of().value("extensions", json::array())) {
    if (extension.value("name", "") == "orafce") {
      EXPECT_EQ(extension.value("members", json::object()).value("ext-0", ""), "missing") << extension.dump();
    }
  }
  EXPECT_TRUE(text(member_sql("primary", "app", "SELECT 1")) == "1");

  // Asked for no more, before installs are allowed again: this test leaves the host as it found it.
  changed = runtime->api("PUT", "sgclusters/ext",
                         cluster_with_extensions(R"([{"name":"pg_cron"},{"name":"hypopg"},{"name":"pgaudit"}])"));
  ASSERT_TRUE(changed.ok());
  ASSERT_EQ(changed->status, 200) << changed->body;
  EXPECT_TRUE(wait_until([] { return condition_is(status_of(), "ExtensionsAvailable", "True"); }, 60s))
      << status_of().dump(2);
  ASSERT_TRUE(runtime->kill_agent().ok());
  runtime->set_agent_flags({});
  ASSERT_TRUE(runtime->start_agent().ok());
}

TEST(Extensions, DeletingTheClusterLeavesThePackages) {
  auto deleted = runtime->api("DELETE", "sgclusters/ext");
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->status, 200);
}

}  // namespace
}  // namespace pgstack::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new pgstack::testing::RuntimeEnvironment(
      &pgstack::testing::runtime, {PGSTACK_CONTROLLER_BINARY, PGSTACK_AGENT_BINARY, PGSTACK_CLI_BINARY}, "ext"));
  return RUN_ALL_TESTS();
}
