// pgstack-proxy's own pooling against a real Postgres 15 the test starts (fixed routes, no etcd): clients
// authenticate to the proxy with SCRAM-SHA-256 against the verifier pgstack.user_lookup returns to the
// authenticator, server connections log in with the ClientKey the client proved, and a few server
// connections serve many clients in transaction mode; session mode resets a connection between clients.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sys/stat.h>

#include "common/http_client.h"
#include "integration/proxy/postgres_node.h"
#include "proxy/proxy_server.h"
#include "support/pgstack_runtime.h"

namespace pgstack::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kPassword = "secret-pw";  // scram_user's (scram-sha-256 in pg_hba.conf)

struct Servers {
  std::filesystem::path directory;
  std::unique_ptr<PostgresNode> postgres;
  std::unique_ptr<proxy::ProxyServer> proxy;
};
Servers* setup = nullptr;

class Environment : public ::testing::Environment {
 public:
  void SetUp() override {
    owned_ = std::make_unique<Servers>();
    setup = owned_.get();
    char pattern[] = "/tmp/pgstack-proxy-pooling-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    setup->directory = pattern;
    ASSERT_EQ(run_command({"chown", "postgres:postgres", setup->directory.string()})->exit_code, 0);
    auto postgres = PostgresNode::init_primary(setup->directory / "postgres", free_tcp_port());
    ASSERT_TRUE(postgres.ok()) << postgres.error().message;
    setup->postgres = std::move(postgres).value();
    // The authenticator and its lookup function, as pgstack's bootstrap makes them.
    for (const std::string sql : {
             "CREATE USER scram_user PASSWORD 'secret-pw'",
             "CREATE USER pooler_auth PASSWORD 'auth-pw'",
             "CREATE SCHEMA pgstack",
             "CREATE FUNCTION pgstack.user_lookup(i_username text, OUT usename name, OUT passwd text) RETURNS record "
             "LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$ SELECT rolname, CASE WHEN "
             "rolvaliduntil < now() THEN NULL ELSE rolpassword END FROM pg_authid WHERE rolname = i_username AND "
             "rolcanlogin $$",
             "REVOKE ALL ON FUNCTION pgstack.user_lookup(text) FROM PUBLIC",
             "GRANT USAGE ON SCHEMA pgstack TO pooler_auth",
             "GRANT EXECUTE ON FUNCTION pgstack.user_lookup(text) TO pooler_auth",
             "CREATE TABLE ledger(id int PRIMARY KEY)",
             "GRANT ALL ON ledger TO scram_user",
         }) {
      auto done = setup->postgres->psql(sql);
      ASSERT_TRUE(done.ok() && done->exit_code == 0) << sql << ": " << done->standard_error;
    }
    const auto password_file = setup->directory / "auth-password";
    std::ofstream(password_file) << "auth-pw\n";
    ::chmod(password_file.c_str(), 0600);

    const std::string yaml = fmt::format(R"(
workers: 1
admin: {{listen: "127.0.0.1:0"}}
health: {{patroni_rest: false}}
limits: {{connect_timeout_ms: 2000, handshake_timeout_ms: 10000}}
clusters:
  - name: demo
    listeners:
      - name: transaction
        listen: "127.0.0.1:0"
        pooling:
          mode: transaction
          pool_size: 2
          auth_user: pooler_auth
          auth_password_file: "{0}"
          databases: {{reporting: {{dbname: postgres, mode: session, pool_size: 1}}}}
      - name: session
        listen: "127.0.0.1:0"
        pooling: {{mode: session, pool_size: 1, auth_user: pooler_auth, auth_password_file: "{0}"}}
      - name: tiny
        listen: "127.0.0.1:0"
        pooling: {{pool_size: 1, query_wait_timeout_ms: 500, auth_user: pooler_auth, auth_password_file: "{0}"}}
)",
                                         password_file.string());
    auto config = proxy::parse_proxy_config(yaml, "test.yaml");
    ASSERT_TRUE(config.ok()) << config.error().message;
    setup->proxy = std::make_unique<proxy::ProxyServer>(std::move(config).value());
    proxy::RoutingSnapshot demo;
    demo.primary = proxy::RouteTarget{"m0", "127.0.0.1", static_cast<std::uint16_t>(setup->postgres->port())};
    demo.leader = "m0";
    setup->proxy->use_fixed_routes("demo", demo);
    auto started = setup->proxy->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }
  void TearDown() override {
    if (setup && setup->proxy) setup->proxy->stop();
    setup = nullptr;
    const auto directory = owned_ ? owned_->directory : std::filesystem::path();
    owned_.reset();
    if (!directory.empty()) std::filesystem::remove_all(directory);
  }

 private:
  std::unique_ptr<Servers> owned_;
};

struct Client {
  explicit Client(const std::string& listener, const std::string& extra = "", const std::string& password = kPassword,
                  const std::string& user = "scram_user", const std::string& database = "postgres")
      : conn(PQconnectdb(fmt::format("host=127.0.0.1 port={} dbname={} user={} password={} sslmode=disable "
                                     "connect_timeout=10 {}",
                                     setup->proxy->listener_port("demo", listener), database, user, password, extra)
                             .c_str())) {}
  ~Client() { PQfinish(conn); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  bool ok() const { return PQstatus(conn) == CONNECTION_OK; }
  std::string error() const { return PQerrorMessage(conn); }
  // The first column of the first row, "" for a command, or "<error: SQLSTATE message>".
  std::string value(const std::string& sql) {
    PGresult* result = PQexec(conn, sql.c_str());
    std::string out;
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0) {
      out = PQgetvalue(result, 0, 0);
    } else if (PQresultStatus(result) != PGRES_COMMAND_OK && PQresultStatus(result) != PGRES_TUPLES_OK) {
      const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      out = fmt::format("<error: {} {}>", sqlstate ? sqlstate : "-----", PQerrorMessage(conn));
    }
    PQclear(result);
    return out;
  }
  PGconn* conn;
};

// Server connections of scram_user that Postgres sees, asked directly (not through the proxy).
int server_connections(const std::string& condition = "true") {
  auto count = setup->postgres->psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'scram_user' AND (" +
                                     condition + ")");
  return count.ok() && count->exit_code == 0 ? std::stoi(count->standard_output) : -1;
}

// The value of /metrics' sample whose name and labels start with `series`; -1 if none.
double metric(const std::string& series) {
  auto response = http_request("GET", fmt::format("http://127.0.0.1:{}/metrics", setup->proxy->admin_port()));
  if (!response.ok()) return -1;
  std::istringstream lines(response->body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series, 0) == 0) return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

TEST(ProxyPooling, ClientsLogInWithScramAndWrongPasswordsAndUnknownUsersFailAlike) {
  Client good("transaction");
  ASSERT_TRUE(good.ok()) << good.error();
  EXPECT_EQ(good.value("SELECT current_user"), "scram_user");
  EXPECT_EQ(good.value("SHOW server_version_num").substr(0, 2), "15");

  Client wrong("transaction", "", "not-the-password");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().find("password authentication failed for user \"scram_user\""), std::string::npos)
      << wrong.error();
  Client unknown("transaction", "", "whatever", "nobody_here");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().find("password authentication failed for user \"nobody_here\""), std::string::npos)
      << unknown.error();
}

TEST(ProxyPooling, ALookupConnectionTerminatedMeanwhileIsReplacedNotReportedAsAFailure) {
  // A failed login forgets the cached verifier: the next login looks the user up again.
  Client wrong("transaction", "", "not-the-password");
  ASSERT_FALSE(wrong.ok());
  // As node-postgres's tests do: every idle backend terminated, the proxy's lookup connection among them.
  auto terminated = setup->postgres->psql(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'pgstack-proxy-auth'");
  ASSERT_TRUE(terminated.ok() && terminated->exit_code == 0);
  EXPECT_EQ(terminated->standard_output, "1\n");
  std::this_thread::sleep_for(100ms);
  Client good("transaction");
  ASSERT_TRUE(good.ok()) << good.error();
  EXPECT_EQ(good.value("SELECT current_user"), "scram_user");
}

TEST(ProxyPooling, AStartupParameterAPoolCannotCarryIsRefusedByName) {
  Client client("transaction", "replication=database");
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.error().find("unsupported startup parameter in a pooled connection: replication"), std::string::npos)
      << client.error();
}

TEST(ProxyPooling, SettingsOfTheStartupPacketFollowTheClientAndNotTheNext) {
  // "tiny" has one server connection: both clients get the same one, one after the other.
  Client strict("tiny", "options='-c statement_timeout=1500 --search-path=pg_catalog'");
  ASSERT_TRUE(strict.ok()) << strict.error();
  const std::string backend = strict.value("SELECT pg_backend_pid()");
  EXPECT_EQ(strict.value("SHOW statement_timeout"), "1500ms");
  EXPECT_EQ(strict.value("SHOW search_path"), "pg_catalog");
  Client plain("tiny");
  ASSERT_TRUE(plain.ok()) << plain.error();
  EXPECT_EQ(plain.value("SELECT pg_backend_pid()"), backend);
  EXPECT_EQ(plain.value("SHOW statement_timeout"), "0");
  EXPECT_EQ(plain.value("SHOW search_path"), "\"$user\", public");
  // Back to the first client: its settings again, and they act.
  EXPECT_NE(strict.value("SELECT pg_sleep(3)").find("57014"), std::string::npos);
  EXPECT_EQ(strict.value("SHOW search_path"), "pg_catalog");
  Client wrong("tiny", "options='-c statement_timeout=soon'");
  EXPECT_FALSE(wrong.ok() && wrong.value("SELECT 1") == "1");
  EXPECT_NE(wrong.error().find("statement_timeout"), std::string::npos) << wrong.error();
}

TEST(ProxyPooling, TwentyClientsShareTwoServerConnectionsInTransactionMode) {
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(std::make_unique<Client>("transaction", fmt::format("application_name=client{}", i)));
    ASSERT_TRUE(clients.back()->ok()) << clients.back()->error();
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      Client& client = *clients[static_cast<std::size_t>(i)];
      for (int round = 0; round < 10; ++round) {
        const int id = i * 100 + round;
        // A transaction keeps its server connection from BEGIN to COMMIT.
        if (!client.value("BEGIN").empty()) ++failures;
        const std::string pid = client.value("SELECT pg_backend_pid()");
        if (!client.value(fmt::format("INSERT INTO ledger VALUES ({})", id)).empty()) ++failures;
        if (client.value("SELECT pg_backend_pid()") != pid) ++failures;
        if (!client.value("COMMIT").empty()) ++failures;
        // The client's own settings follow it to whichever server connection it gets.
        if (client.value("SHOW application_name") != fmt::format("client{}", i)) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(server_connections("application_name LIKE 'client%'"), 2);
  // The pool's own figures: two server connections, idle now, nobody waiting.
  const std::string labels = R"({cluster="demo",listener="transaction",role="read-write"})";
  EXPECT_EQ(metric("pgstack_proxy_pool_server_connections" + labels.substr(0, labels.size() - 1) + R"(,state="idle"})"),
            2);
  EXPECT_EQ(metric("pgstack_proxy_pool_waiting_clients" + labels), 0);
  EXPECT_GE(metric("pgstack_proxy_pool_logins_total" + labels), 2);
  auto rows = setup->postgres->psql("SELECT count(*) FROM ledger");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(std::stoi(rows->standard_output), 200);
}

TEST(ProxyPooling, ADatabaseEntryNamesTheServerDatabaseAndItsOwnModeAndSize) {
  // "reporting" on the transaction-mode listener: Postgres's database postgres, in session mode.
  Client report("transaction", "", kPassword, "scram_user", "reporting");
  ASSERT_TRUE(report.ok()) << report.error();
  EXPECT_EQ(report.value("SELECT current_database()"), "postgres");
  const std::string backend = report.value("SELECT pg_backend_pid()");
  EXPECT_EQ(report.value("CREATE TEMP TABLE kept(x int)"), "");
  // Its own pool: clients of the listener's other databases do not take its connection, nor it theirs.
  Client other("transaction");
  ASSERT_TRUE(other.ok()) << other.error();
  EXPECT_NE(other.value("SELECT pg_backend_pid()"), backend);
  EXPECT_EQ(report.value("SELECT count(*) FROM kept"), "0");  // session mode: the same backend
  EXPECT_EQ(report.value("SELECT pg_backend_pid()"), backend);
  // pool_size 1: a second client of the entry waits for the first to leave.
  Client second("transaction", "connect_timeout=2", kPassword, "scram_user", "reporting");
  EXPECT_FALSE(second.ok());
}

TEST(ProxyPooling, ASetOfAReportedSettingFollowsTheClientAcrossTransactions) {
  Client a("transaction");
  Client b("transaction");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a.value("SET DateStyle TO 'German'"), "");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(a.value("SHOW DateStyle"), "German, DMY");
    EXPECT_EQ(b.value("SHOW DateStyle"), "ISO, MDY");
  }
}

TEST(ProxyPooling, NamedPreparedStatementsKeepWorkingInTransactionMode) {
  Client client("transaction");
  ASSERT_TRUE(client.ok());
  PGresult* prepared = PQprepare(client.conn, "add_one", "SELECT $1::int + 1", 1, nullptr);
  ASSERT_EQ(PQresultStatus(prepared), PGRES_COMMAND_OK) << PQerrorMessage(client.conn);
  PQclear(prepared);
  Client other("transaction");
  ASSERT_TRUE(other.ok());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(other.value("SELECT 1"), "1");
    const std::string value = std::to_string(i);
    const char* values[1] = {value.c_str()};
    PGresult* result = PQexecPrepared(client.conn, "add_one", 1, values, nullptr, nullptr, 0);
    ASSERT_EQ(PQresultStatus(result), PGRES_TUPLES_OK) << PQerrorMessage(client.conn);
    EXPECT_EQ(std::string(PQgetvalue(result, 0, 0)), std::to_string(i + 1));
    PQclear(result);
  }
}

TEST(ProxyPooling, TenClientsWithTheirOwnPreparedStatementsShareTwoServerConnections) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&, i] {
      Client client("transaction");
      if (!client.ok()) {
        ++failures;
        return;
      }
      // Same text under different names across clients, and a statement of this client's own.
      PGresult* shared = PQprepare(client.conn, fmt::format("plus_{}", i).c_str(), "SELECT $1::int + 1", 1, nullptr);
      PGresult* own = PQprepare(client.conn, "mine", fmt::format("SELECT $1::int * {}", i).c_str(), 1, nullptr);
      if (PQresultStatus(shared) != PGRES_COMMAND_OK || PQresultStatus(own) != PGRES_COMMAND_OK) ++failures;
      PQclear(shared);
      PQclear(own);
      for (int round = 0; round < 20; ++round) {
        const std::string value = std::to_string(round);
        const char* values[1] = {value.c_str()};
        PGresult* plus = PQexecPrepared(client.conn, fmt::format("plus_{}", i).c_str(), 1, values, nullptr, nullptr, 0);
        PGresult* times = PQexecPrepared(client.conn, "mine", 1, values, nullptr, nullptr, 0);
        if (PQresultStatus(plus) != PGRES_TUPLES_OK || std::string(PQgetvalue(plus, 0, 0)) != std::to_string(round + 1))
          ++failures;
        if (PQresultStatus(times) != PGRES_TUPLES_OK ||
            std::string(PQgetvalue(times, 0, 0)) != std::to_string(round * i))
          ++failures;
        PQclear(plus);
        PQclear(times);
      }
      // Describe on whichever server connection comes next (libpq 15 has no protocol Close; unit-tested).
      PGresult* described = PQdescribePrepared(client.conn, "mine");
      if (PQresultStatus(described) != PGRES_COMMAND_OK || PQnparams(described) != 1) ++failures;
      PQclear(described);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(server_connections("application_name LIKE 'client%'"), 2);
  // A statement never prepared is still Postgres's own error.
  Client client("transaction");
  PGresult* missing = PQexecPrepared(client.conn, "never", 0, nullptr, nullptr, nullptr, 0);
  EXPECT_NE(std::string(PQresultErrorMessage(missing)).find("prepared statement \"never\" does not exist"),
            std::string::npos)
      << PQresultErrorMessage(missing);
  PQclear(missing);
}

TEST(ProxyPooling, SessionModeResetsAServerConnectionBeforeTheNextClient) {
  std::string first_pid;
  {
    Client first("session");
    ASSERT_TRUE(first.ok()) << first.error();
    first_pid = first.value("SELECT pg_backend_pid()");
    EXPECT_EQ(first.value("CREATE TEMP TABLE scratch(x int)"), "");
    EXPECT_EQ(first.value("SET work_mem TO '77MB'"), "");
  }
  Client second("session");
  ASSERT_TRUE(second.ok()) << second.error();
  // The same server connection (pool_size 1), with nothing left of the first client.
  EXPECT_EQ(second.value("SELECT pg_backend_pid()"), first_pid);
  EXPECT_EQ(second.value("SHOW work_mem"), "4MB");
  EXPECT_EQ(second.value("SELECT count(*) FROM pg_class WHERE relname = 'scratch'"), "0");
}

TEST(ProxyPooling, ACancelReachesTheServerConnectionTheClientHolds) {
  Client client("transaction");
  ASSERT_TRUE(client.ok());
  std::thread canceller([&] {
    std::this_thread::sleep_for(500ms);
    PGcancel* cancel = PQgetCancel(client.conn);
    char error[256];
    PQcancel(cancel, error, sizeof error);
    PQfreeCancel(cancel);
  });
  const auto start = Clock::now();
  const std::string answer = client.value("SELECT pg_sleep(30)");
  canceller.join();
  EXPECT_NE(answer.find("57014"), std::string::npos) << answer;
  EXPECT_LT(Clock::now() - start, 10s);
  EXPECT_EQ(client.value("SELECT 1"), "1");
}

TEST(ProxyPooling, AClientWaitsForAServerConnectionAndIsToldWhenNoneCameFree) {
  Client holder("tiny");
  ASSERT_TRUE(holder.ok()) << holder.error();
  EXPECT_EQ(holder.value("BEGIN"), "");
  Client waiter("tiny");  // logs in while the only connection is held: it waits, then gives up
  EXPECT_FALSE(waiter.ok() && waiter.value("SELECT 1") == "1");
  EXPECT_NE(waiter.error().find("query_wait_timeout"), std::string::npos) << waiter.error();
  EXPECT_EQ(metric(R"(pgstack_proxy_pool_wait_timeouts_total{cluster="demo",listener="tiny",role="read-write"})"), 1);
  EXPECT_EQ(holder.value("COMMIT"), "");
  Client later("tiny");
  ASSERT_TRUE(later.ok()) << later.error();
  EXPECT_EQ(later.value("SELECT 2"), "2");
}

TEST(ProxyPooling, APrepareOfAStatementThePoolKnowsNeedsNoServerConnection) {
  Client first("tiny");
  Client second("tiny");
  ASSERT_TRUE(first.ok() && second.ok()) << first.error() << second.error();
  PGresult* prepared = PQprepare(first.conn, "double_it", "SELECT $1::int * 2", 1, nullptr);
  ASSERT_EQ(PQresultStatus(prepared), PGRES_COMMAND_OK) << PQerrorMessage(first.conn);
  PQclear(prepared);
  // The only server connection is held: a prepare that needed one would wait 500 ms and fail.
  EXPECT_EQ(first.value("BEGIN"), "");
  prepared = PQprepare(second.conn, "twice", "SELECT $1::int * 2", 1, nullptr);
  EXPECT_EQ(PQresultStatus(prepared), PGRES_COMMAND_OK) << PQerrorMessage(second.conn);
  PQclear(prepared);
  EXPECT_EQ(metric(R"(pgstack_proxy_pool_prepares_answered_total{cluster="demo",listener="tiny",role="read-write"})"),
            1);
  EXPECT_EQ(first.value("COMMIT"), "");
  const char* values[1] = {"21"};
  PGresult* result = PQexecPrepared(second.conn, "twice", 1, values, nullptr, nullptr, 0);
  ASSERT_EQ(PQresultStatus(result), PGRES_TUPLES_OK) << PQerrorMessage(second.conn);
  EXPECT_EQ(std::string(PQgetvalue(result, 0, 0)), "42");
  PQclear(result);
}

TEST(ProxyPooling, AServerConnectionTerminatedWhileIdleIsReplacedNotHandedOut) {
  Client client("session");
  ASSERT_TRUE(client.ok());
  const std::string pid = client.value("SELECT pg_backend_pid()");
  PQfinish(client.conn);
  client.conn = nullptr;
  std::this_thread::sleep_for(200ms);  // the reset (DISCARD ALL) runs before it is idle
  auto killed = setup->postgres->psql(fmt::format("SELECT pg_terminate_backend({})", pid));
  ASSERT_TRUE(killed.ok() && killed->exit_code == 0);
  std::this_thread::sleep_for(200ms);
  Client next("session");
  ASSERT_TRUE(next.ok()) << next.error();
  const std::string new_pid = next.value("SELECT pg_backend_pid()");
  EXPECT_NE(new_pid, pid);
  EXPECT_EQ(next.value("SELECT 3"), "3");
}

}  // namespace
}  // namespace pgstack::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new pgstack::testing::Environment);
  return RUN_ALL_TESTS();
}
