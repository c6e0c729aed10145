// pgstack-proxy against real servers: etcd, three Postgres 15 nodes (a primary and two streaming
// replicas), a standalone shadow for mirroring, and stand-ins for Patroni's REST health endpoints whose
// answers the tests set (as Patroni would during a switchover or failover). The tests share one setup
// and run in order, as a user's session would.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <signal.h>
#include <sstream>
#include <thread>
#include <unistd.h>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <sys/stat.h>

#include "common/http_client.h"
#include "integration/proxy/postgres_node.h"
#include "pgwire/encoder.h"
#include "proxy/proxy_server.h"
#include "store/etcd_client.h"
#include "support/etcd_server.h"
#include "support/pgstack_runtime.h"

namespace pgstack::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kPrefix = "/pgstack/patroni/default/demo/";

struct ProxyTestSetup {
  std::filesystem::path directory;
  std::unique_ptr<EtcdServer> etcd;
  std::unique_ptr<store::EtcdClient> client;
  std::vector<std::unique_ptr<PostgresNode>> nodes;  // m0, m1, m2
  std::vector<std::unique_ptr<FakePatroni>> patroni;
  std::unique_ptr<PostgresNode> shadow;
  std::unique_ptr<proxy::ProxyServer> proxy;
};
ProxyTestSetup* setup = nullptr;

std::string member_json(int index, const std::string& role) {
  return json{{"conn_url", fmt::format("postgres://127.0.0.1:{}/postgres", setup->nodes[index]->port())},
              {"api_url", setup->patroni[index]->api_url()},
              {"role", role},
              {"state", "running"},
              {"xlog_location", 50331648},
              {"timeline", 1}}
      .dump();
}

void put(const std::string& key, const std::string& value) {
  auto written = setup->client->put(std::string(kPrefix) + key, value);
  ASSERT_TRUE(written.ok()) << written.error().message;
}

class Environment : public ::testing::Environment {
 public:
  void SetUp() override {
    owned_ = std::make_unique<ProxyTestSetup>();
    setup = owned_.get();
    char pattern[] = "/tmp/pgstack-proxy-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    setup->directory = pattern;
    ASSERT_EQ(run_command({"chown", "postgres:postgres", setup->directory.string()})->exit_code, 0);

    auto etcd = EtcdServer::start();
    ASSERT_TRUE(etcd.ok()) << etcd.error().message;
    setup->etcd = std::move(etcd).value();
    setup->client = std::make_unique<store::EtcdClient>(std::vector<std::string>{setup->etcd->endpoint()});

    auto primary = PostgresNode::init_primary(setup->directory / "m0", free_tcp_port());
    ASSERT_TRUE(primary.ok()) << primary.error().message;
    setup->nodes.push_back(std::move(primary).value());
    for (const std::string sql :
         {"CREATE USER scram_user PASSWORD 'secret-pw' SUPERUSER", "CREATE DATABASE statsdb",
          "CREATE TABLE mirrored(id int, note text)",
          // The pooled listener's lookups, as pgstack's bootstrap makes them (trust for pooler_auth here).
          "CREATE USER pooler_auth PASSWORD 'auth-pw'", "CREATE SCHEMA pgstack",
          "CREATE FUNCTION pgstack.user_lookup(i_username text, OUT usename name, OUT passwd text) RETURNS record "
          "LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$ SELECT rolname, rolpassword FROM "
          "pg_authid WHERE rolname = i_username AND rolcanlogin $$",
          "GRANT USAGE ON SCHEMA pgstack TO pooler_auth"}) {
      auto prepared = setup->nodes[0]->psql(sql);
      ASSERT_TRUE(prepared.ok() && prepared->exit_code == 0) << prepared->standard_error;
    }
    for (int i = 1; i <= 2; ++i) {
      auto replica =
          PostgresNode::init_replica(*setup->nodes[0], setup->directory / fmt::format("m{}", i), free_tcp_port());
      ASSERT_TRUE(replica.ok()) << replica.error().message;
      setup->nodes.push_back(std::move(replica).value());
    }
    auto shadow = PostgresNode::init_primary(setup->directory / "shadow", free_tcp_port());
    ASSERT_TRUE(shadow.ok()) << shadow.error().message;
    setup->shadow = std::move(shadow).value();
    ASSERT_EQ(setup->shadow->psql("CREATE TABLE mirrored(id int, note text)")->exit_code, 0);

    for (int i = 0; i < 3; ++i) {
      auto fake = std::make_unique<FakePatroni>();
      ASSERT_TRUE(fake->start().ok());
      fake->set_role(i == 0 ? FakePatroni::Role::kPrimary : FakePatroni::Role::kReplica);
      setup->patroni.push_back(std::move(fake));
    }
    put("leader", "m0");
    put("members/m0", member_json(0, "master"));
    put("members/m1", member_json(1, "replica"));
    put("members/m2", member_json(2, "replica"));

    const auto password_file = setup->directory / "auth-password";
    std::ofstream(password_file) << "auth-pw\n";
    ::chmod(password_file.c_str(), 0600);

    // A self-signed certificate for the TLS listener.
    const auto cert = (setup->directory / "proxy.crt").string();
    const auto key = (setup->directory / "proxy.key").string();
    auto made = run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                             "/CN=127.0.0.1", "-keyout", key, "-out", cert});
    ASSERT_TRUE(made.ok() && made->exit_code == 0) << made->standard_error;

    const std::string yaml =
        fmt::format(R"(
workers: 2
admin: {{listen: "127.0.0.1:0"}}
etcd: {{endpoints: ["{}"], prefix: /pgstack}}
health: {{interval_ms: 200, timeout_ms: 500, fall: 2}}
limits: {{connect_timeout_ms: 2000, handshake_timeout_ms: 4000}}
tls: {{certificate: "{}", private_key: "{}"}}
clusters:
  - name: demo
    max_replica_lag_bytes: 1048576
    listeners:
      - {{name: rw, role: read-write, listen: "127.0.0.1:0"}}
      - {{name: ro, role: read-only, listen: "127.0.0.1:0"}}
      - name: mirrored
        role: read-write
        listen: "127.0.0.1:0"
        mirror: {{conninfo: "{}", queue_size: 1000}}
      - name: pooled
        role: read-write
        listen: "127.0.0.1:0"
        pooling: {{mode: transaction, pool_size: 2, auth_user: pooler_auth, auth_password_file: "{}"}}
)",
                    setup->etcd->endpoint(), cert, key, setup->shadow->conninfo(), password_file.string());
    auto config = proxy::parse_proxy_config(yaml, "test.yaml");
    ASSERT_TRUE(config.ok()) << config.error().message;
    setup->proxy = std::make_unique<proxy::ProxyServer>(std::move(config).value());
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
  std::unique_ptr<ProxyTestSetup> owned_;
};

int port_of(const std::string& listener) { return setup->proxy->listener_port("demo", listener); }

std::string proxy_conninfo(const std::string& listener, const std::string& extra = "sslmode=disable",
                           const std::string& database = "postgres", const std::string& user = "postgres") {
  return fmt::format("host=127.0.0.1 port={} dbname={} user={} connect_timeout=10 {}", port_of(listener), database,
                     user, extra);
}

struct Connection {
  explicit Connection(const std::string& conninfo) : conn(PQconnectdb(conninfo.c_str())) {}
  ~Connection() { PQfinish(conn); }
  bool ok() const { return PQstatus(conn) == CONNECTION_OK; }
  std::string error() const { return PQerrorMessage(conn); }
  // The first column of the first row, or "<error: ...>".
  std::string value(const std::string& sql) {
    PGresult* result = PQexec(conn, sql.c_str());
    std::string out;
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0)
      out = PQgetvalue(result, 0, 0);
    else if (PQresultStatus(result) != PGRES_COMMAND_OK && PQresultStatus(result) != PGRES_TUPLES_OK) {
      out = std::string("<error: ") + PQerrorMessage(conn) + ">";
    }
    PQclear(result);
    return out;
  }
  PGconn* conn;
};

std::string admin(const std::string& path) {
  auto response = http_request("GET", fmt::format("http://127.0.0.1:{}{}", setup->proxy->admin_port(), path));
  return response.ok() ? response->body : "";
}

// The value of the first sample whose name and labels contain every piece of `labels`; -1 if none.
double metric(const std::string& name, const std::vector<std::string>& labels) {
  std::istringstream lines(admin("/metrics"));
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + "{", 0) != 0) continue;
    bool all = true;
    for (const auto& label : labels) all = all && line.find(label) != std::string::npos;
    if (all) return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

json health() { return json::parse(admin("/healthz"), nullptr, false); }

bool wait_for_routes(const std::string& primary, std::set<std::string> replicas,
                     std::chrono::milliseconds timeout = 15s) {
  return wait_until(
      [&] {
        const auto h = health();
        if (h.is_discarded()) return false;
        const auto& cluster = h["clusters"]["demo"];
        const std::string seen = cluster["primary"].is_string() ? cluster["primary"].get<std::string>() : "";
        std::set<std::string> readable;
        for (const auto& member : cluster["replicas"]) readable.insert(member.get<std::string>());
        return seen == primary && readable == replicas;
      },
      timeout, 50ms);
}

TEST(Proxy, RoutesReadWriteToThePrimaryAndReadOnlyToReplicas) {
  ASSERT_TRUE(wait_for_routes("m0", {"m1", "m2"})) << admin("/healthz");
  Connection rw(proxy_conninfo("rw"));
  ASSERT_TRUE(rw.ok()) << rw.error();
  EXPECT_EQ(rw.value("select pg_is_in_recovery()"), "f");
  EXPECT_EQ(rw.value("select inet_server_port()"), std::to_string(setup->nodes[0]->port()));
  Connection ro(proxy_conninfo("ro"));
  ASSERT_TRUE(ro.ok()) << ro.error();
  EXPECT_EQ(ro.value("select pg_is_in_recovery()"), "t");
}

TEST(Proxy, PsqlThroughBothListenersWithPassedThroughScramAuthentication) {
  for (const std::string listener : {"rw", "ro"}) {
    auto out = run_psql(fmt::format("postgresql://scram_user@127.0.0.1:{}/postgres?sslmode=disable", port_of(listener)),
                        "secret-pw", "select current_user, pg_is_in_recovery()");
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->exit_code, 0) << out->standard_error;
    EXPECT_EQ(out->standard_output, listener == "rw" ? "scram_user|f\n" : "scram_user|t\n");
    auto wrong =
        run_psql(fmt::format("postgresql://scram_user@127.0.0.1:{}/postgres?sslmode=disable", port_of(listener)),
                 "wrong", "select 1");
    EXPECT_NE(wrong->exit_code, 0);
    EXPECT_NE(wrong->standard_error.find("password authentication failed"), std::string::npos) << wrong->standard_error;
  }
  // A client that never logs in is counted under one fixed label, whatever names it sent.
  auto stranger = run_psql(
      fmt::format("postgresql://nobody_{}@127.0.0.1:{}/db_{}?sslmode=disable", ::getpid(), port_of("rw"), ::getpid()),
      "x", "select 1");
  EXPECT_NE(stranger->exit_code, 0);
  const std::string metrics = admin("/metrics");
  EXPECT_EQ(metrics.find(fmt::format("nobody_{}", ::getpid())), std::string::npos);
  EXPECT_NE(metrics.find(R"(database="<unauthenticated>",user="<unauthenticated>")"), std::string::npos);
}

TEST(Proxy, ReadOnlyConnectionsSpreadAcrossReplicasByLeastConnections) {
  std::vector<std::unique_ptr<Connection>> connections;
  std::map<std::string, int> by_port;
  for (int i = 0; i < 6; ++i) {
    connections.push_back(std::make_unique<Connection>(proxy_conninfo("ro")));
    ASSERT_TRUE(connections.back()->ok()) << connections.back()->error();
    ++by_port[connections.back()->value("select inet_server_port()")];
  }
  EXPECT_EQ(by_port[std::to_string(setup->nodes[1]->port())], 3);
  EXPECT_EQ(by_port[std::to_string(setup->nodes[2]->port())], 3);
}

TEST(Proxy, ReadOnlyAvoidsALaggingReplicaAndFallsBackToThePrimary) {
  setup->patroni[2]->set_lagging(true);
  ASSERT_TRUE(wait_for_routes("m0", {"m1"})) << admin("/healthz");
  for (int i = 0; i < 4; ++i) {
    Connection ro(proxy_conninfo("ro"));
    ASSERT_TRUE(ro.ok()) << ro.error();
    EXPECT_EQ(ro.value("select inet_server_port()"), std::to_string(setup->nodes[1]->port()));
  }
  // Lag seen in etcd alone (member xlog_location far behind the leader's) also takes a replica out.
  auto behind = json::parse(member_json(1, "replica"));
  behind["xlog_location"] = 1;
  put("members/m1", behind.dump());
  ASSERT_TRUE(wait_for_routes("m0", {})) << admin("/healthz");
  Connection fallback(proxy_conninfo("ro"));
  ASSERT_TRUE(fallback.ok()) << fallback.error();
  EXPECT_EQ(fallback.value("select inet_server_port()"), std::to_string(setup->nodes[0]->port()));

  setup->patroni[2]->set_lagging(false);
  put("members/m1", member_json(1, "replica"));
  ASSERT_TRUE(wait_for_routes("m0", {"m1", "m2"})) << admin("/healthz");
}

TEST(Proxy, MetricsCountExactlyWhatWasSent) {
  {
    Connection c(proxy_conninfo("rw", "sslmode=disable", "statsdb"));
    ASSERT_TRUE(c.ok()) << c.error();
    c.value("create table t(id int primary key, v text)");
    for (int i = 0; i < 3; ++i) c.value(fmt::format("insert into t values ({}, 'x')", i));
    c.value("update t set v = 'y' where id = 1");
    c.value("update t set v = 'z' where id = 2");
    c.value("delete from t where id = 0");
    for (int i = 0; i < 4; ++i) c.value("select count(*) from t where id > " + std::to_string(i));
    // Extended protocol: counted the same way.
    const char* values[1] = {"7"};
    PQclear(PQexecParams(c.conn, "insert into t values ($1, 'p')", 1, nullptr, values, nullptr, nullptr, 0));
    c.value("begin");
    c.value("insert into t values (10, 'b')");
    c.value("commit");
    c.value("begin");
    c.value("select 1");
    c.value("rollback");
    c.value("select * from no_such_table");      // ERROR 42P01
    c.value("select 1/0");                       // ERROR 22012
    c.value("insert into t values (1, 'dup')");  // ERROR 23505
    c.value("do $$ begin raise notice 'hello'; end $$");
  }
  const std::vector<std::string> key{"listener=\"rw\"", "database=\"statsdb\"", "user=\"postgres\""};
  auto with = [&](std::string extra) {
    auto labels = key;
    labels.push_back(std::move(extra));
    return labels;
  };
  ASSERT_TRUE(wait_until([&] { return metric("pgstack_proxy_sessions_active", key) == 0; }, 5s, 50ms));
  EXPECT_EQ(metric("pgstack_proxy_statements_total", with("type=\"insert\"")), 5);
  EXPECT_EQ(metric("pgstack_proxy_statements_total", with("type=\"update\"")), 2);
  EXPECT_EQ(metric("pgstack_proxy_statements_total", with("type=\"delete\"")), 1);
  EXPECT_EQ(metric("pgstack_proxy_statements_total", with("type=\"select\"")), 5);
  EXPECT_EQ(metric("pgstack_proxy_statements_total", with("type=\"begin\"")), 2);
  EXPECT_EQ(metric("pgstack_proxy_transactions_total", with("outcome=\"commit\"")), 1);
  EXPECT_EQ(metric("pgstack_proxy_transactions_total", with("outcome=\"rollback\"")), 1);
  EXPECT_EQ(metric("pgstack_proxy_errors_total", with("class=\"42\"")), 1);
  EXPECT_EQ(metric("pgstack_proxy_errors_total", with("class=\"22\"")), 1);
  EXPECT_EQ(metric("pgstack_proxy_errors_total", with("class=\"23\"")), 1);
  EXPECT_EQ(metric("pgstack_proxy_notices_total", key), 1);
  EXPECT_EQ(metric("pgstack_proxy_sessions_total", with("tls=\"false\"")), 1);
  // 22 round trips: every statement above plus the extended insert.
  EXPECT_EQ(metric("pgstack_proxy_query_duration_seconds_count", key), 22);
  EXPECT_EQ(metric("pgstack_proxy_transaction_duration_seconds_count", key), 2);
  // Three single inserts, the one in the block and the duplicate; the extended one keeps its $1.
  EXPECT_EQ(metric("pgstack_proxy_query_calls_total", with("query=\"insert into t values (?, ?)\"")), 5);
  EXPECT_EQ(metric("pgstack_proxy_query_calls_total", with("query=\"insert into t values ($1, ?)\"")), 1);
  const auto stats = json::parse(admin("/stats"));
  bool found = false;
  for (const auto& entry : stats["entries"]) {
    if (entry["database"] == "statsdb") {
      found = true;
      EXPECT_EQ(entry["statements"]["insert"], 5);
      EXPECT_GT(entry["bytes"]["in"].get<double>(), 0);
      EXPECT_FALSE(entry["top_queries"].empty());
    }
  }
  EXPECT_TRUE(found);
}

TEST(Proxy, PgbenchThroughBothListeners) {
  auto init = run_command({"pgbench", "-i", "-s", "1", "-q", "-h", "127.0.0.1", "-p", std::to_string(port_of("rw")),
                           "-U", "postgres", "postgres"});
  ASSERT_EQ(init->exit_code, 0) << init->standard_error;
  auto rw = run_command({"pgbench", "-n", "-c", "4", "-j", "2", "-T", "3", "-h", "127.0.0.1", "-p",
                         std::to_string(port_of("rw")), "-U", "postgres", "postgres"});
  EXPECT_EQ(rw->exit_code, 0) << rw->standard_error;
  EXPECT_NE(rw->standard_output.find("tps"), std::string::npos);
  // Let the replicas replay the initialization before reading from them.
  ASSERT_TRUE(wait_until(
      [] {
        return setup->nodes[1]->psql("select count(*) from pgbench_branches")->exit_code == 0 &&
               setup->nodes[2]->psql("select count(*) from pgbench_branches")->exit_code == 0;
      },
      20s));
  auto ro = run_command({"pgbench", "-n", "-S", "-M", "extended", "-c", "4", "-j", "2", "-T", "3", "-h", "127.0.0.1",
                         "-p", std::to_string(port_of("ro")), "-U", "postgres", "postgres"});
  EXPECT_EQ(ro->exit_code, 0) << ro->standard_error;
}

TEST(Proxy, TlsWithSslmodeRequire) {
  Connection tls(proxy_conninfo("rw", "sslmode=require", "statsdb"));
  ASSERT_TRUE(tls.ok()) << tls.error();
  EXPECT_NE(PQgetssl(tls.conn), nullptr);
  EXPECT_EQ(tls.value("select 42"), "42");
  auto out = run_psql(fmt::format("postgresql://scram_user@127.0.0.1:{}/postgres?sslmode=require", port_of("ro")),
                      "secret-pw", "select 1");
  EXPECT_EQ(out->exit_code, 0) << out->standard_error;
  EXPECT_GE(metric("pgstack_proxy_sessions_total", {"listener=\"rw\"", "database=\"statsdb\"", "tls=\"true\""}), 1);
}

// Raw sockets for what libpq never sends.
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
void send_all(int fd, const std::string& bytes) {
  ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), (ssize_t)bytes.size());
}
// Everything until the proxy closes the connection (or 5 s pass).
std::string read_to_end(int fd) {
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) out.append(buffer, n);
  return out;
}
std::string read_until_ready(int fd) {
  std::string out;
  char buffer[4096];
  while (out.find(std::string("Z\0\0\0\5I", 6)) == std::string::npos) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    out.append(buffer, n);
  }
  return out;
}

TEST(Proxy, MalformedAndTruncatedInputGetsAnErrorAndTheProxyKeepsServing) {
  {  // A startup packet whose length is below the minimum.
    const int fd = raw_connect(port_of("rw"));
    send_all(fd, std::string("\0\0\0\3", 4));
    const auto answer = read_to_end(fd);
    ::close(fd);
    ASSERT_FALSE(answer.empty());
    EXPECT_EQ(answer[0], 'E');
    EXPECT_NE(answer.find("08P01"), std::string::npos);
  }
  {  // A typed message with an impossible length after a good startup.
    const int fd = raw_connect(port_of("rw"));
    send_all(fd, pgwire::encode_startup({{"user", "postgres"}, {"database", "postgres"}}));
    ASSERT_NE(read_until_ready(fd).find('R'), std::string::npos);
    send_all(fd, std::string("Q\0\0\0\2", 5));
    const auto answer = read_to_end(fd);
    ::close(fd);
    ASSERT_FALSE(answer.empty());
    EXPECT_EQ(answer[0], 'E');
    EXPECT_NE(answer.find("08P01"), std::string::npos);
  }
  {  // Plaintext sent right behind an SSLRequest (CVE-2021-23214) is refused.
    const int fd = raw_connect(port_of("rw"));
    send_all(fd, pgwire::encode_ssl_request() + pgwire::encode_startup({{"user", "postgres"}}));
    const auto answer = read_to_end(fd);
    ::close(fd);
    ASSERT_FALSE(answer.empty());
    EXPECT_EQ(answer[0], 'E');
  }
  {  // GSSENCRequest gets 'N'.
    const int fd = raw_connect(port_of("rw"));
    send_all(fd, pgwire::encode_gssenc_request());
    char answer = 0;
    EXPECT_EQ(::recv(fd, &answer, 1, 0), 1);
    EXPECT_EQ(answer, 'N');
    ::close(fd);
  }
  {  // Truncated: half a startup packet, then the client goes away; and random bytes.
    const int fd = raw_connect(port_of("ro"));
    send_all(fd, pgwire::encode_startup({{"user", "postgres"}}).substr(0, 7));
    ::close(fd);
    std::mt19937 random(42);
    for (int round = 0; round < 50; ++round) {
      const int noisy = raw_connect(port_of(round % 2 ? "rw" : "ro"));
      std::string bytes(1 + random() % 200, '\0');
      for (auto& byte : bytes) byte = static_cast<char>(random());
      ::send(noisy, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      timeval quick{0, 200000};
      ::setsockopt(noisy, SOL_SOCKET, SO_RCVTIMEO, &quick, sizeof quick);
      (void)read_to_end(noisy);
      ::close(noisy);
    }
  }
  EXPECT_GE(metric("pgstack_proxy_protocol_errors_total", {"listener=\"rw\""}), 2);
  Connection still(proxy_conninfo("rw"));
  ASSERT_TRUE(still.ok()) << still.error();
  EXPECT_EQ(still.value("select 1"), "1");
}

TEST(Proxy, CancelRequestReachesTheServerHoldingTheSession) {
  Connection c(proxy_conninfo("ro"));
  ASSERT_TRUE(c.ok()) << c.error();
  ASSERT_EQ(PQsendQuery(c.conn, "select pg_sleep(20)"), 1);
  std::this_thread::sleep_for(300ms);  // let the query start on the server
  const auto started = std::chrono::steady_clock::now();
  PGcancel* cancel = PQgetCancel(c.conn);
  char error[256];
  ASSERT_EQ(PQcancel(cancel, error, sizeof error), 1) << error;
  PQfreeCancel(cancel);
  PGresult* result = PQgetResult(c.conn);
  const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  EXPECT_STREQ(sqlstate ? sqlstate : "", "57014");
  PQclear(result);
  while ((result = PQgetResult(c.conn)) != nullptr) PQclear(result);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST(Proxy, MirrorReplaysSimpleAndExtendedQueriesOnTheShadow) {
  {
    Connection c(proxy_conninfo("mirrored"));
    ASSERT_TRUE(c.ok()) << c.error();
    for (int i = 0; i < 10; ++i) c.value(fmt::format("insert into mirrored values ({}, 'simple')", i));
    for (int i = 10; i < 15; ++i) {
      const std::string id = std::to_string(i);
      const char* values[2] = {id.c_str(), "extended"};
      PQclear(PQexecParams(c.conn, "insert into mirrored values ($1, $2)", 2, nullptr, values, nullptr, nullptr, 0));
    }
    c.value("begin");
    c.value("insert into mirrored values (100, 'in block')");
    c.value("commit");
  }
  ASSERT_TRUE(
      wait_until([] { return setup->shadow->psql("select count(*) from mirrored")->standard_output == "16\n"; }, 10s))
      << setup->shadow->psql("select count(*) from mirrored")->standard_output;
  EXPECT_EQ(setup->shadow->psql("select count(*) from mirrored where note = 'extended'")->standard_output, "5\n");
  EXPECT_EQ(metric("pgstack_proxy_mirrored_total", {"listener=\"mirrored\""}), 18);
  EXPECT_EQ(metric("pgstack_proxy_mirror_dropped_total", {"listener=\"mirrored\""}), 0);
  EXPECT_EQ(metric("pgstack_proxy_mirror_errors_total", {"listener=\"mirrored\""}), 0);
}

TEST(Proxy, SwitchoverReroutesNewConnectionsAndClosesOldOnes) {
  Connection old_rw(proxy_conninfo("rw"));
  ASSERT_TRUE(old_rw.ok());
  EXPECT_EQ(old_rw.value("select inet_server_port()"), std::to_string(setup->nodes[0]->port()));
  Connection old_ro(proxy_conninfo("ro"));
  ASSERT_TRUE(old_ro.ok());
  // Pooled clients (transaction mode): one between transactions, one inside a transaction.
  const std::string pooled_conninfo =
      proxy_conninfo("pooled", "sslmode=disable password=secret-pw", "postgres", "scram_user");
  Connection idle_pooled(pooled_conninfo);
  ASSERT_TRUE(idle_pooled.ok()) << idle_pooled.error();
  EXPECT_EQ(idle_pooled.value("select inet_server_port()"), std::to_string(setup->nodes[0]->port()));
  EXPECT_EQ(idle_pooled.value("SET application_name TO 'survivor'"), "");
  // Two more transactions: with one server connection per worker (pool_size 2, 2 workers) at least one
  // of the three clients waits for a connection when the primary changes. Its transaction must not
  // start on the old primary when a holder's connection there frees up.
  std::vector<std::unique_ptr<Connection>> contenders;
  // (A login takes a server connection for a moment too: all log in before any transaction starts.)
  for (int i = 0; i < 2; ++i) {
    contenders.push_back(std::make_unique<Connection>(pooled_conninfo));
    ASSERT_TRUE(contenders.back()->ok()) << contenders.back()->error();
  }
  Connection busy_pooled(pooled_conninfo);
  ASSERT_TRUE(busy_pooled.ok()) << busy_pooled.error();
  EXPECT_EQ(busy_pooled.value("BEGIN"), "");
  EXPECT_EQ(busy_pooled.value("select inet_server_port()"), std::to_string(setup->nodes[0]->port()));
  for (auto& contender : contenders) {
    ASSERT_EQ(PQsendQuery(contender->conn, "BEGIN; select inet_server_port()"), 1);
  }
  std::this_thread::sleep_for(500ms);
  std::vector<bool> waited;  // per contender: still without an answer when the primary changes
  for (auto& contender : contenders) {
    ASSERT_EQ(PQconsumeInput(contender->conn), 1);
    waited.push_back(PQisBusy(contender->conn) == 1);
  }
  ASSERT_GE(std::count(waited.begin(), waited.end(), true), 1);

  // Promote the candidate and move the leader key. The old primary stays up and writable here (as
  // when it is partitioned away): the proxy itself must end the sessions still open to it.
  setup->patroni[0]->set_role(FakePatroni::Role::kReplica);
  ASSERT_TRUE(setup->nodes[1]->promote().ok());
  setup->patroni[1]->set_role(FakePatroni::Role::kPrimary);
  const auto switched = std::chrono::steady_clock::now();
  put("leader", "m1");
  put("members/m1", member_json(1, "master"));
  put("members/m0", member_json(0, "replica"));

  // New read-write connections reach the new primary at once (waiting for it while unconfirmed).
  Connection new_rw(proxy_conninfo("rw"));
  ASSERT_TRUE(new_rw.ok()) << new_rw.error();
  EXPECT_EQ(new_rw.value("select inet_server_port()"), std::to_string(setup->nodes[1]->port()));
  EXPECT_EQ(new_rw.value("select pg_is_in_recovery()"), "f");
  EXPECT_LT(std::chrono::steady_clock::now() - switched, 3s);
  // The old session was closed by the proxy.
  EXPECT_NE(old_rw.value("select 1").find("<error"), std::string::npos);
  EXPECT_NE(PQstatus(old_rw.conn), CONNECTION_OK);
  EXPECT_GE(metric("pgstack_proxy_closed_by_failover_total", {"listener=\"rw\""}), 1);
  // The read-only session may stay: its member is still part of the cluster.
  EXPECT_EQ(old_ro.value("select 1"), "1");
  // Contenders that held a connection there were closed; those that waited ran on the new primary. Two
  // that waited on one worker take the new primary's connection there in turn: each commits as soon as
  // it has its answer, so the other is not left waiting behind an open transaction.
  for (std::size_t i = 0; i < contenders.size(); ++i) {
    if (!waited[i]) {
      std::string last_port;
      while (PGresult* result = PQgetResult(contenders[i]->conn)) {
        if (PQresultStatus(result) == PGRES_TUPLES_OK) last_port = PQgetvalue(result, 0, 0);
        PQclear(result);
      }
      EXPECT_EQ(last_port, std::to_string(setup->nodes[0]->port()));
      EXPECT_NE(contenders[i]->value("select 1").find("<error"), std::string::npos);
    }
  }
  std::vector<std::string> ports(contenders.size());
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (bool pending = true; pending && std::chrono::steady_clock::now() < deadline;) {
    pending = false;
    for (std::size_t i = 0; i < contenders.size(); ++i) {
      if (!waited[i] || !ports[i].empty()) continue;
      PGconn* conn = contenders[i]->conn;
      PQconsumeInput(conn);
      if (PQisBusy(conn)) {
        pending = true;
        continue;
      }
      std::string last_port = "<none>";
      while (PGresult* result = PQgetResult(conn)) {
        if (PQresultStatus(result) == PGRES_TUPLES_OK) last_port = PQgetvalue(result, 0, 0);
        PQclear(result);
      }
      ports[i] = last_port;
      contenders[i]->value("COMMIT");
    }
    if (pending) std::this_thread::sleep_for(20ms);
  }
  for (std::size_t i = 0; i < contenders.size(); ++i) {
    if (waited[i]) {
      EXPECT_EQ(ports[i], std::to_string(setup->nodes[1]->port())) << "contender " << i;
    }
  }
  contenders.clear();
  // The pooled client that held nothing goes on, on the new primary, with its settings; the one inside a
  // transaction on the old primary was closed.
  EXPECT_EQ(idle_pooled.value("select inet_server_port()"), std::to_string(setup->nodes[1]->port()));
  EXPECT_EQ(idle_pooled.value("select pg_is_in_recovery()"), "f");
  EXPECT_EQ(idle_pooled.value("SHOW application_name"), "survivor");
  EXPECT_NE(busy_pooled.value("select 1").find("<error"), std::string::npos);
  EXPECT_GE(metric("pgstack_proxy_rerouted_by_failover_total", {"listener=\"pooled\""}), 1);
  ASSERT_TRUE(setup->nodes[0]->stop().ok());
  setup->patroni[0]->set_role(FakePatroni::Role::kDown);
}

TEST(Proxy, KillNineFailoverReroutesToTheNewPrimary) {
  Connection old_rw(proxy_conninfo("rw"));
  ASSERT_TRUE(old_rw.ok());
  EXPECT_EQ(old_rw.value("select inet_server_port()"), std::to_string(setup->nodes[1]->port()));

  ASSERT_TRUE(setup->nodes[1]->kill_hard().ok());
  setup->patroni[1]->set_role(FakePatroni::Role::kDown);
  // The proxy takes m1 out on its own after `fall` failed /primary checks, before the leader key moves.
  ASSERT_TRUE(wait_for_routes("", {"m2"}, 5s)) << admin("/healthz");
  EXPECT_NE(old_rw.value("select 1").find("<error"), std::string::npos);

  ASSERT_TRUE(setup->nodes[2]->promote().ok());
  setup->patroni[2]->set_role(FakePatroni::Role::kPrimary);
  put("leader", "m2");
  put("members/m2", member_json(2, "master"));
  Connection new_rw(proxy_conninfo("rw"));
  ASSERT_TRUE(new_rw.ok()) << new_rw.error();
  EXPECT_EQ(new_rw.value("select inet_server_port()"), std::to_string(setup->nodes[2]->port()));
  EXPECT_EQ(new_rw.value("create table after_failover(id int)"), "");
  // No replica left: reads go to the primary.
  Connection ro(proxy_conninfo("ro"));
  ASSERT_TRUE(ro.ok()) << ro.error();
  EXPECT_EQ(ro.value("select inet_server_port()"), std::to_string(setup->nodes[2]->port()));
}

}  // namespace
}  // namespace pgstack::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  ::testing::AddGlobalTestEnvironment(new pgstack::testing::Environment);
  return RUN_ALL_TESTS();
}
