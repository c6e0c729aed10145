// PgBouncer as pgstack renders and sizes it, in front of a real Postgres 15 that takes few connections
// (max_connections 20): three times as many clients as Postgres takes all finish, waiting in the pool;
// the next user is not locked out by the first one's idle server connections; the slots Postgres keeps
// for superusers and monitoring stay free. Authentication is pgstack's own (SCRAM, auth_query through
// the authenticator set up by bootstrap_sql), so the authenticator's connections are in the pool too.
// The tests share one setup and run in order. Needs root: Postgres and PgBouncer run as `postgres`.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "agent/bootstrap_sql.h"
#include "agent/instance_plan.h"
#include "common/files.h"
#include "common/network.h"
#include "common/process.h"
#include "common/strings.h"
#include "config/render_pgbouncer.h"
#include "config/tuning.h"
#include "integration/proxy/postgres_node.h"
#include "support/child_process.h"

namespace pgstack::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kMaxConnections = 20;
constexpr int kClients = 3 * kMaxConnections;
constexpr int kTransactionsPerClient = 50;
constexpr const char* kDatabase = "app";
constexpr const char* kAuthenticatorPassword = "auth-Pa55";
constexpr const char* kAppPassword = "app-Pa55";

struct PoolSetup {
  fs::path directory;
  std::unique_ptr<PostgresNode> postgres;
  std::vector<config::TunedParameter> parameters;
  int pool_size = 0;  // the server connections PgBouncer may hold
  int pgbouncer_port = 0;
  pid_t pgbouncer = -1;
  bool ready = false;  // every server started

  ~PoolSetup() {
    stop_child(pgbouncer, 5s);
    postgres.reset();
    std::error_code ignored;
    fs::remove_all(directory, ignored);
  }
};
PoolSetup* setup = nullptr;

std::string tuned(const std::vector<config::TunedParameter>& parameters, std::string_view name) {
  for (const auto& parameter : parameters) {
    if (parameter.name == name) return parameter.value;
  }
  return "";
}

CommandOutput must_run(const std::vector<std::string>& argv, const CommandOptions& options = {}) {
  auto output = run_command(argv, options);
  EXPECT_TRUE(output.ok()) << argv[0] << ": " << (output.ok() ? "" : output.error().message);
  if (!output.ok()) return {};
  EXPECT_EQ(output->exit_code, 0) << argv[0] << ": " << output->standard_output << output->standard_error;
  return output.value();
}

std::string psql_as(const std::string& user, const std::string& sql, const std::string& database = "postgres") {
  auto output = run_command({"psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                             setup->postgres->conninfo(database, user), "-c", sql});
  if (!output.ok()) return "psql: " + output.error().message;
  return output->exit_code == 0 ? trim(output->standard_output) : output->standard_error;
}

// The roles and lookup function pgstack's bootstrap creates, and pgbench's tables in the app database.
void create_roles_and_tables() {
  CommandOptions options;
  options.standard_input = agent::bootstrap_sql();
  options.extra_environment = {{std::string(agent::kAuthenticatorUserVariable), "authenticator"},
                               {std::string(agent::kAuthenticatorPasswordVariable), kAuthenticatorPassword},
                               {std::string(agent::kAppUserVariable), "app"},
                               {std::string(agent::kAppPasswordVariable), kAppPassword},
                               {std::string(agent::kAppDatabaseVariable), kDatabase}};
  must_run({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", setup->postgres->conninfo()}, options);
  EXPECT_EQ(psql_as("postgres", fmt::format("CREATE ROLE app2 LOGIN PASSWORD '{}'; "
                                            "CREATE ROLE monitor LOGIN IN ROLE pg_monitor",
                                            kAppPassword)),
            "");
  must_run({"pgbench", "-i", "-q", "-s", "1", "-d", setup->postgres->conninfo(kDatabase, "app")});
  EXPECT_EQ(psql_as("app", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO app2", kDatabase), "");
}

// pgbench's select-only transactions through PgBouncer, kClients sessions at once; prints its report.
CommandOutput pgbench_through_pgbouncer(const std::string& user) {
  CommandOptions options;
  options.extra_environment = {{"PGPASSWORD", kAppPassword}};
  auto output = run_command(
      {"pgbench", "-n", "-S", "-c", std::to_string(kClients), "-j", "4", "-t", std::to_string(kTransactionsPerClient),
       "-h", "127.0.0.1", "-p", std::to_string(setup->pgbouncer_port), "-U", user, kDatabase},
      options);
  EXPECT_TRUE(output.ok());
  if (!output.ok()) return {};
  std::cout << fmt::format("pgbench as {} exited {}:\n{}{}\n", user, output->exit_code, output->standard_output,
                           output->standard_error);
  return output.value();
}

void expect_every_client_completed(const CommandOutput& output) {
  const std::string all = output.standard_output + output.standard_error;
  EXPECT_EQ(output.exit_code, 0);
  const int transactions = kClients * kTransactionsPerClient;
  EXPECT_NE(all.find(fmt::format("number of transactions actually processed: {}/{}", transactions, transactions)),
            std::string::npos);
  EXPECT_EQ(all.find("too many clients"), std::string::npos);
  EXPECT_EQ(all.find("connection slots are reserved"), std::string::npos);
}

class PgbouncerPoolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!unprivileged_service_user()) return;  // SetUp skips
    setup = new PoolSetup();                   // TearDownTestSuite stops what started, also after a failed step here
    PoolSetup* owned = setup;
    char pattern[] = "/tmp/pgstack-pool-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    owned->directory = pattern;
    ASSERT_EQ(run_command({"chown", "postgres:postgres", owned->directory.string()})->exit_code, 0);

    // What a user gets asking for max_connections 20 in an SGPostgresConfig.
    model::Cluster cluster;
    cluster.name = "pool";
    cluster.ssl_enabled = false;
    const model::PostgresConfig small{"small", "15", {{"max_connections", std::to_string(kMaxConnections)}}};
    const config::TuningInput tuning = config::tuning_input_for(cluster, model::default_instance_profile(), &small, 15);
    owned->parameters = config::tune_postgres_parameters(tuning);
    const config::PoolBudget budget = config::pgbouncer_pool_budget(tuning);
    owned->pool_size = budget.connections;
    std::cout << fmt::format("pool budget: {} = {}\n", budget.connections, budget.reason);

    auto postgres = PostgresNode::init_primary(owned->directory / "postgres", free_tcp_port().value());
    ASSERT_TRUE(postgres.ok()) << postgres.error().message;
    owned->postgres = std::move(postgres).value();
    for (const char* name : {"max_connections", "superuser_reserved_connections"}) {
      ASSERT_EQ(psql_as("postgres", fmt::format("ALTER SYSTEM SET {} = '{}'", name, tuned(owned->parameters, name))),
                "");
    }
    ASSERT_TRUE(owned->postgres->stop().ok());
    ASSERT_TRUE(owned->postgres->start().ok());
    ASSERT_EQ(psql_as("postgres", "SHOW max_connections"), std::to_string(kMaxConnections));
    create_roles_and_tables();

    config::InstanceLayout layout = config::default_instance_layout(cluster, 0, 15);
    layout.postgres_port = owned->postgres->port();
    layout.pgbouncer_port = owned->pgbouncer_port = free_tcp_port().value();
    layout.socket_dir = (owned->directory / "postgres").string();  // PostgresNode's socket directory
    layout.config_dir = layout.log_dir = (owned->directory / "pgbouncer").string();
    fs::create_directories(layout.config_dir);
    const fs::path ini = fs::path(layout.config_dir) / "pgbouncer.ini";
    std::ofstream(ini) << config::render_pgbouncer_ini(cluster, nullptr, layout, budget);
    std::ofstream(config::pgbouncer_auth_file_path(layout))
        << agent::pgbouncer_auth_file({"authenticator", kAuthenticatorPassword});
    fs::permissions(config::pgbouncer_auth_file_path(layout), fs::perms::owner_read | fs::perms::owner_write);
    ASSERT_EQ(run_command({"chown", "-R", "postgres:postgres", layout.config_dir})->exit_code, 0);

    const fs::path log = owned->directory / "pgbouncer.out";
    auto pid = spawn_child({"/usr/sbin/pgbouncer", "-u", "postgres", ini.string()}, log);
    ASSERT_TRUE(pid.ok()) << pid.error().message;
    owned->pgbouncer = pid.value();
    const std::string conninfo =
        fmt::format("host=127.0.0.1 port={} dbname={} user=app connect_timeout=2", owned->pgbouncer_port, kDatabase);
    auto ready = wait_until_ready(owned->pgbouncer, "pgbouncer", conninfo, log, [&]() -> std::optional<std::string> {
      if (PQping(conninfo.c_str()) == PQPING_OK) return std::nullopt;
      return "not answering";
    });
    ASSERT_TRUE(ready.ok()) << ready.error().message;
    std::cout << "pgbouncer.ini [pgbouncer] pool settings:\n";
    for (const auto& line : split(read_file(ini).value(), '\n')) {
      if (line.find("pool_size") != std::string::npos || line.find("_connections") != std::string::npos ||
          line.find("idle_timeout") != std::string::npos)
        std::cout << "  " << line << "\n";
    }
    owned->ready = true;
  }

  static void TearDownTestSuite() {
    delete setup;
    setup = nullptr;
  }

  void SetUp() override {
    if (!unprivileged_service_user()) GTEST_SKIP() << "needs root (Postgres and PgBouncer run as postgres)";
    ASSERT_TRUE(setup != nullptr && setup->ready) << "the servers did not start";
  }
};

TEST_F(PgbouncerPoolTest, MoreClientsThanPostgresTakesAllComplete) {
  expect_every_client_completed(pgbench_through_pgbouncer("app"));
}

// The first user's server connections are idle in its pool now; a new pool must still get connections.
TEST_F(PgbouncerPoolTest, TheNextUserIsNotLockedOutByIdleServerConnections) {
  expect_every_client_completed(pgbench_through_pgbouncer("app2"));
}

TEST_F(PgbouncerPoolTest, PostgresKeepsRoomForSuperuserAndMonitoring) {
  EXPECT_EQ(psql_as("postgres", "SELECT current_user"), "postgres");
  EXPECT_EQ(psql_as("monitor", "SELECT current_user"), "monitor");
  const std::string held =
      psql_as("postgres", "SELECT count(*) FROM pg_stat_activity WHERE usename IN ('app', 'app2', 'authenticator')");
  std::cout << fmt::format("server connections PgBouncer holds: {} (pool size {})\n", held, setup->pool_size);
  EXPECT_LE(std::stoi(held), setup->pool_size);
  // Postgres never refused PgBouncer: the pool waited instead.
  const auto log = read_file(setup->directory / "postgres" / "server.log");
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ(log->find("too many clients"), std::string::npos);
  EXPECT_EQ(log->find("connection slots are reserved"), std::string::npos);
}

}  // namespace
}  // namespace pgstack::testing
