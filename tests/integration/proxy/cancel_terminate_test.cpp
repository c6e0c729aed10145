// How sessions end through pgstack-proxy, against real servers the test starts itself: one Postgres 15,
// PgBouncer 1.18 in front of it, and an in-process proxy routed by fixed routes (no etcd) with a
// listener per endpoint. A CancelRequest must end the running query with 57014 through every endpoint,
// many at once too, without harming PgBouncer (same pid, other sessions intact); a cancel of a query that
// already finished must be harmless; a Terminate ends the connection quietly, as Postgres does, even
// before the startup packet or with data behind it.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <poll.h>
#include <signal.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "integration/proxy/pgbouncer_node.h"
#include "integration/proxy/postgres_node.h"
#include "pgwire/encoder.h"
#include "proxy/proxy_server.h"
#include "support/etcd_server.h"
#include "support/pgstack_runtime.h"

namespace pgstack::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kLongQuery = "select pg_sleep(30)";
// A cancelled query ends within this; a lost cancel leaves it running for 30 s.
constexpr auto kCancelDeadline = 5s;

struct Servers {
  std::filesystem::path directory;
  std::unique_ptr<PostgresNode> postgres;
  std::unique_ptr<PgbouncerNode> pgbouncer;
  std::unique_ptr<proxy::ProxyServer> proxy;
  int late_port = 0;  // cluster "late"'s member: nothing listens there until a test starts a PgBouncer on it
};
Servers* setup = nullptr;

class Environment : public ::testing::Environment {
 public:
  void SetUp() override {
    owned_ = std::make_unique<Servers>();
    setup = owned_.get();
    char pattern[] = "/tmp/pgstack-proxy-cancel-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    setup->directory = pattern;
    ASSERT_EQ(run_command({"chown", "postgres:postgres", setup->directory.string()})->exit_code, 0);

    auto postgres = PostgresNode::init_primary(setup->directory / "postgres", free_tcp_port());
    ASSERT_TRUE(postgres.ok()) << postgres.error().message;
    setup->postgres = std::move(postgres).value();
    auto pgbouncer = PgbouncerNode::start(setup->directory / "pgbouncer", free_tcp_port(), setup->postgres->port());
    ASSERT_TRUE(pgbouncer.ok()) << pgbouncer.error().message;
    setup->pgbouncer = std::move(pgbouncer).value();

    // "byname" reaches the same Postgres by a host name: the cancel must go where the session went.
    const std::string yaml = fmt::format(R"(
workers: 2
admin: {{listen: "127.0.0.1:0"}}
health: {{patroni_rest: false}}
limits: {{connect_timeout_ms: 2000, handshake_timeout_ms: 4000}}
clusters:
  - name: demo
    listeners:
      - {{name: postgres, role: read-write, listen: "127.0.0.1:0", target: postgres}}
      - {{name: pgbouncer, role: read-write, listen: "127.0.0.1:0", target: pgbouncer, port_offset: {}}}
  - name: byname
    listeners:
      - {{name: postgres, role: read-write, listen: "127.0.0.1:0", target: postgres}}
  - name: late
    listeners:
      - {{name: postgres, role: read-write, listen: "127.0.0.1:0", target: postgres}}
)",
                                         setup->pgbouncer->port() - setup->postgres->port());
    auto config = proxy::parse_proxy_config(yaml, "test.yaml");
    ASSERT_TRUE(config.ok()) << config.error().message;
    setup->proxy = std::make_unique<proxy::ProxyServer>(std::move(config).value());
    const auto port = static_cast<std::uint16_t>(setup->postgres->port());
    proxy::RoutingSnapshot demo;
    demo.primary = proxy::RouteTarget{"m0", "127.0.0.1", port};
    demo.leader = "m0";
    setup->proxy->use_fixed_routes("demo", demo);
    proxy::RoutingSnapshot byname;
    byname.primary = proxy::RouteTarget{"m0", "localhost", port};
    byname.leader = "m0";
    setup->proxy->use_fixed_routes("byname", byname);
    setup->late_port = free_tcp_port();
    proxy::RoutingSnapshot late;
    late.primary = proxy::RouteTarget{"m0", "127.0.0.1", static_cast<std::uint16_t>(setup->late_port)};
    late.leader = "m0";
    setup->proxy->use_fixed_routes("late", late);
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

enum class Endpoint { kPostgres, kPgbouncer, kProxyToPostgres, kProxyToPgbouncer, kProxyByHostName };

std::string name(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kPostgres: return "postgres";
    case Endpoint::kPgbouncer: return "pgbouncer";
    case Endpoint::kProxyToPostgres: return "proxy->postgres";
    case Endpoint::kProxyToPgbouncer: return "proxy->pgbouncer";
    case Endpoint::kProxyByHostName: return "proxy->postgres by host name";
  }
  return "?";
}

int port_of(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kPostgres: return setup->postgres->port();
    case Endpoint::kPgbouncer: return setup->pgbouncer->port();
    case Endpoint::kProxyToPostgres: return setup->proxy->listener_port("demo", "postgres");
    case Endpoint::kProxyToPgbouncer: return setup->proxy->listener_port("demo", "pgbouncer");
    case Endpoint::kProxyByHostName: return setup->proxy->listener_port("byname", "postgres");
  }
  return 0;
}

std::string conninfo(Endpoint endpoint) {
  return fmt::format("host=127.0.0.1 port={} dbname=postgres user=postgres connect_timeout=10 sslmode=disable",
                     port_of(endpoint));
}

std::uint64_t protocol_errors() {
  std::uint64_t total = 0;
  for (const auto& listener : setup->proxy->stats_view().listeners) total += listener.protocol_errors;
  return total;
}

struct Connection {
  explicit Connection(const std::string& conninfo) : conn(PQconnectdb(conninfo.c_str())) {}
  ~Connection() { PQfinish(conn); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  bool ok() const { return PQstatus(conn) == CONNECTION_OK; }
  std::string error() const { return PQerrorMessage(conn); }
  // The first column of the first row, "" for a command, or "<error SQLSTATE: ...>".
  std::string value(const std::string& sql) {
    PGresult* result = PQexec(conn, sql.c_str());
    std::string out;
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0) {
      out = PQgetvalue(result, 0, 0);
    } else if (PQresultStatus(result) != PGRES_COMMAND_OK && PQresultStatus(result) != PGRES_TUPLES_OK) {
      const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      out = fmt::format("<error {}: {}>", sqlstate ? sqlstate : "", PQerrorMessage(conn));
    }
    PQclear(result);
    return out;
  }
  PGconn* conn;
};

// How the query sent with PQsendQuery ended: "" when it succeeded, its SQLSTATE when it failed,
// "still running" after `timeout`.
std::string finish_query(PGconn* conn, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (PQisBusy(conn)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= 0ms) return "still running";
    pollfd readable{PQsocket(conn), POLLIN, 0};
    ::poll(&readable, 1, static_cast<int>(left.count()));
    if (!PQconsumeInput(conn)) return std::string("connection lost: ") + PQerrorMessage(conn);
  }
  std::string outcome;
  while (PGresult* result = PQgetResult(conn)) {
    if (PQresultStatus(result) == PGRES_FATAL_ERROR && outcome.empty()) {
      const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      outcome = sqlstate ? sqlstate : "error without SQLSTATE";
    }
    PQclear(result);
  }
  return outcome;
}

// PQcancel, as psql sends on Ctrl-C; "" when it was dispatched, else libpq's error.
std::string send_cancel(PGcancel* cancel) {
  char error[256] = {};
  return PQcancel(cancel, error, sizeof error) == 1 ? "" : std::string(error);
}

// Queries running kLongQuery on the Postgres itself, whichever way they came.
int sleepers() {
  auto out = setup->postgres->psql(
      fmt::format("select count(*) from pg_stat_activity where query = '{}' and state = 'active'", kLongQuery));
  return out.ok() && out->exit_code == 0 ? std::stoi(out->standard_output) : -1;
}

// A lost cancel leaves its query sleeping: end it on the server so the next test starts clean.
void cancel_leftovers() {
  (void)setup->postgres->psql(
      fmt::format("select pg_cancel_backend(pid) from pg_stat_activity where query = '{}' and pid <> pg_backend_pid()",
                  kLongQuery));
  EXPECT_TRUE(wait_until([] { return sleepers() == 0; }, 10s, 50ms));
}

// Sessions that each run kLongQuery through `endpoint`, cancelled all at once from one thread each;
// returns how each query ended.
std::vector<std::string> cancel_running_queries(Endpoint endpoint, int sessions) {
  std::vector<std::unique_ptr<Connection>> connections;
  for (int i = 0; i < sessions; ++i) {
    connections.push_back(std::make_unique<Connection>(conninfo(endpoint)));
    EXPECT_TRUE(connections.back()->ok()) << name(endpoint) << ": " << connections.back()->error();
    if (!connections.back()->ok()) return {};
  }
  const int before = sleepers();
  for (auto& connection : connections) EXPECT_EQ(PQsendQuery(connection->conn, kLongQuery), 1);
  // Cancel only running queries: a cancel that arrives before the query starts is a no-op.
  EXPECT_TRUE(wait_until([&] { return sleepers() == before + sessions; }, 10s, 20ms)) << sleepers();

  std::vector<PGcancel*> cancels;
  for (auto& connection : connections) cancels.push_back(PQgetCancel(connection->conn));
  std::vector<std::string> dispatched(cancels.size());
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < cancels.size(); ++i) {
    threads.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      dispatched[i] = send_cancel(cancels[i]);
    });
  }
  go = true;
  for (auto& thread : threads) thread.join();
  for (PGcancel* cancel : cancels) PQfreeCancel(cancel);

  std::vector<std::string> outcomes;
  const auto deadline = Clock::now() + kCancelDeadline;
  for (std::size_t i = 0; i < connections.size(); ++i) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    std::string outcome = finish_query(connections[i]->conn, std::max(left, 0ms));
    if (!dispatched[i].empty()) outcome += " (PQcancel: " + dispatched[i] + ")";
    outcomes.push_back(outcome);
  }
  cancel_leftovers();
  for (auto& connection : connections) (void)finish_query(connection->conn, 10s);
  return outcomes;
}

std::string summary(const std::vector<std::string>& outcomes) {
  std::map<std::string, int> counts;
  for (const auto& outcome : outcomes) ++counts[outcome.empty() ? "succeeded" : outcome];
  std::string out;
  for (const auto& [outcome, count] : counts) out += fmt::format("{}x {}; ", count, outcome);
  return out;
}

TEST(CancelThroughTheProxy, EndsTheQueryOnPostgresReachedByAddressOrHostName) {
  for (const Endpoint endpoint : {Endpoint::kProxyToPostgres, Endpoint::kProxyByHostName}) {
    Connection session(conninfo(endpoint));
    ASSERT_TRUE(session.ok()) << session.error();
    const auto outcomes = cancel_running_queries(endpoint, 1);
    EXPECT_EQ(summary(outcomes), "1x 57014; ") << name(endpoint);
    // The session that asked is unharmed, and so is one that did not.
    EXPECT_EQ(session.value("select 1"), "1") << name(endpoint);
  }
}

TEST(CancelThroughTheProxy, EndsTheQueryOnPgbouncerAndPgbouncerStaysUp) {
  const pid_t pid = setup->pgbouncer->pid();
  // Bystanders with session state: a crash of PgBouncer would drop them.
  Connection through_proxy(conninfo(Endpoint::kProxyToPgbouncer));
  Connection direct(conninfo(Endpoint::kPgbouncer));
  ASSERT_TRUE(through_proxy.ok() && direct.ok()) << through_proxy.error() << direct.error();
  ASSERT_EQ(through_proxy.value("create temp table kept(id int)"), "");
  ASSERT_EQ(direct.value("create temp table kept(id int)"), "");

  std::vector<std::string> outcomes;
  for (int round = 0; round < 8; ++round) {
    const auto one = cancel_running_queries(Endpoint::kProxyToPgbouncer, 1);
    outcomes.insert(outcomes.end(), one.begin(), one.end());
  }
  EXPECT_EQ(summary(outcomes), "8x 57014; ");
  EXPECT_TRUE(setup->pgbouncer->running()) << setup->pgbouncer->log_tail();
  EXPECT_EQ(setup->pgbouncer->pid(), pid);
  EXPECT_EQ(through_proxy.value("select count(*) from kept"), "0");
  EXPECT_EQ(direct.value("select count(*) from kept"), "0");
}

TEST(CancelThroughTheProxy, ManyConcurrentCancelsThroughEveryEndpoint) {
  const pid_t pid = setup->pgbouncer->pid();
  for (const Endpoint endpoint : {Endpoint::kProxyToPostgres, Endpoint::kProxyToPgbouncer}) {
    const auto started = Clock::now();
    const auto outcomes = cancel_running_queries(endpoint, 24);
    EXPECT_EQ(summary(outcomes), "24x 57014; ") << name(endpoint);
    EXPECT_LT(Clock::now() - started, 15s) << name(endpoint);
    ASSERT_TRUE(setup->pgbouncer->running()) << name(endpoint) << "\n" << setup->pgbouncer->log_tail();
  }
  EXPECT_EQ(setup->pgbouncer->pid(), pid);
  Connection after(conninfo(Endpoint::kProxyToPgbouncer));
  EXPECT_EQ(after.value("select 1"), "1") << after.error();
}

TEST(CancelThroughTheProxy, CancelOfAFinishedQueryIsHarmless) {
  const pid_t pid = setup->pgbouncer->pid();
  for (const Endpoint endpoint : {Endpoint::kProxyToPostgres, Endpoint::kProxyToPgbouncer}) {
    Connection session(conninfo(endpoint));
    ASSERT_TRUE(session.ok()) << session.error();
    PGcancel* cancel = PQgetCancel(session.conn);
    for (int round = 0; round < 10; ++round) {
      // Finished: the cancel arrives at an idle session.
      ASSERT_EQ(session.value(fmt::format("select {}", round)), std::to_string(round)) << name(endpoint);
      EXPECT_EQ(send_cancel(cancel), "") << name(endpoint);
      // Just finishing: the cancel races the end of a short query and may or may not cancel it.
      ASSERT_EQ(PQsendQuery(session.conn, "select pg_sleep(0.005)"), 1);
      EXPECT_EQ(send_cancel(cancel), "") << name(endpoint);
      const std::string raced = finish_query(session.conn, kCancelDeadline);
      EXPECT_TRUE(raced.empty() || raced == "57014") << name(endpoint) << ": " << raced;
      // Either way, no cancel is left over to strike the next query.
      EXPECT_EQ(session.value("select 'next'"), "next") << name(endpoint) << " round " << round;
    }
    PQfreeCancel(cancel);
  }
  EXPECT_TRUE(setup->pgbouncer->running()) << setup->pgbouncer->log_tail();
  EXPECT_EQ(setup->pgbouncer->pid(), pid);
}

// ---- Terminate ---------------------------------------------------------------------------------------

int raw_connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return -1;
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

bool send_all(int fd, const std::string& bytes) {
  return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

// Everything until the peer closes (a reset counts as a close), or "<no close within 5 s>".
std::string read_to_end(int fd) {
  std::string out;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      out.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) out += "<no close within 5 s>";
    return out;
  }
}

bool read_until_ready(int fd) {
  std::string out;
  char buffer[4096];
  while (out.find(std::string("Z\0\0\0\5I", 6)) == std::string::npos) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

constexpr Endpoint kEveryEndpoint[] = {Endpoint::kPostgres, Endpoint::kPgbouncer, Endpoint::kProxyToPostgres,
                                       Endpoint::kProxyToPgbouncer};

// What the agent's PgBouncer restart after a role change looks like to the proxy: the member's port refuses
// connections for a moment. A client that comes then waits instead of failing.
TEST(ConnectThroughTheProxy, AMemberThatRefusesForAMomentIsRetriedAndOneThatStaysDownFails) {
  const std::string late = fmt::format(
      "host=127.0.0.1 port={} dbname=postgres user=postgres connect_timeout=10 "
      "sslmode=disable",
      setup->proxy->listener_port("late", "postgres"));
  // Nothing listens: refused, retried for 2 s, then 08006 with the member named (before the 4 s handshake bound).
  auto started = Clock::now();
  {
    Connection refused(late);
    EXPECT_FALSE(refused.ok());
    EXPECT_NE(refused.error().find("cannot connect to member m0"), std::string::npos) << refused.error();
  }
  const auto failed_after = Clock::now() - started;
  EXPECT_GE(failed_after, 1900ms);
  EXPECT_LT(failed_after, 3500ms);

  // A PgBouncer that starts listening 500 ms after the client came: the client gets its session.
  std::unique_ptr<PgbouncerNode> restarted;
  std::thread starter([&] {
    std::this_thread::sleep_for(500ms);
    auto node = PgbouncerNode::start(setup->directory / "late-pgbouncer", setup->late_port, setup->postgres->port());
    if (node.ok()) restarted = std::move(node).value();
  });
  started = Clock::now();
  Connection session(late);
  const auto connected_after = Clock::now() - started;
  starter.join();
  ASSERT_TRUE(restarted) << "the test's PgBouncer did not start";
  EXPECT_TRUE(session.ok()) << session.error();
  EXPECT_EQ(session.value("select 1"), "1");
  EXPECT_GE(connected_after, 400ms);
  std::cout << fmt::format(
      "refused for good: failed after {} ms; a pooler listening 500 ms late: connected after {} ms\n",
      std::chrono::duration_cast<std::chrono::milliseconds>(failed_after).count(),
      std::chrono::duration_cast<std::chrono::milliseconds>(connected_after).count());
}

TEST(TerminateThroughTheProxy, BeforeTheStartupPacketClosesQuietly) {
  const auto errors = protocol_errors();
  for (const Endpoint endpoint : kEveryEndpoint) {
    // node-postgres on connect(); end(): Terminate where the startup packet would be.
    const int fd = raw_connect(port_of(endpoint));
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, pgwire::encode_terminate()));
    EXPECT_EQ(read_to_end(fd), "") << name(endpoint);
    ::close(fd);
  }
  EXPECT_EQ(protocol_errors(), errors);
}

TEST(TerminateThroughTheProxy, DataAfterTerminateIsIgnoredQuietly) {
  const auto errors = protocol_errors();
  int round = 0;
  for (const Endpoint endpoint : kEveryEndpoint) {
    const int fd = raw_connect(port_of(endpoint));
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, pgwire::encode_startup({{"user", "postgres"}, {"database", "postgres"}})));
    ASSERT_TRUE(read_until_ready(fd)) << name(endpoint);
    // A queued message flushed right behind the Terminate, in the same segment.
    const std::string table = fmt::format("after_terminate_{}", round++);
    ASSERT_TRUE(send_all(fd, pgwire::encode_terminate() + pgwire::encode_query("create table " + table + "()")));
    EXPECT_EQ(read_to_end(fd), "") << name(endpoint);
    ::close(fd);
    // The server never ran what came after the Terminate.
    EXPECT_EQ(setup->postgres->psql(fmt::format("select to_regclass('{}') is null", table))->standard_output, "t\n")
        << name(endpoint);
  }
  EXPECT_EQ(protocol_errors(), errors);
}

}  // namespace
}  // namespace pgstack::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  ::testing::AddGlobalTestEnvironment(new pgstack::testing::Environment);
  return RUN_ALL_TESTS();
}
