#include "proxy/proxy_config.h"

#include <chrono>

#include <gtest/gtest.h>

#include "config/render_proxy.h"

namespace pgstack::proxy {
namespace {

// What pgstack-agent writes for each cluster must be what the proxy reads.
TEST(ProxyConfig, ReadsWhatTheAgentRenders) {
  config::ProxyLayout layout{
      "demo", "shop", {"http://127.0.0.1:2379"}, "/pgstack",         "10.0.0.5", 14432, 14433, 17432,
      true,   1000,   "/s/tls/server.crt",       "/s/tls/server.key"};
  const auto config = parse_proxy_config(config::render_proxy_config(layout), "proxy.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  // Statistics stay on the host: loopback whatever address the listeners use.
  EXPECT_EQ(config->admin.host, "127.0.0.1");
  EXPECT_EQ(config->admin.port, 17432);
  EXPECT_EQ(config->etcd_prefix, "/pgstack");
  ASSERT_TRUE(config->tls.has_value());
  EXPECT_EQ(config->tls->private_key, "/s/tls/server.key");
  ASSERT_EQ(config->clusters.size(), 1u);
  const ClusterConfig& cluster = config->clusters[0];
  EXPECT_EQ(cluster.name, "demo");
  EXPECT_EQ(cluster.dcs_prefix, "/pgstack/patroni/shop/demo/");
  ASSERT_EQ(cluster.listeners.size(), 2u);
  EXPECT_EQ(cluster.listeners[0].role, ListenerRole::kReadWrite);
  EXPECT_EQ(cluster.listeners[0].listen.port, 14432);
  EXPECT_EQ(cluster.listeners[0].target, TargetKind::kPgbouncer);
  EXPECT_EQ(cluster.listeners[0].port_offset, 1000);
  EXPECT_EQ(cluster.listeners[1].role, ListenerRole::kReadOnly);
  EXPECT_EQ(cluster.listeners[1].listen.port, 14433);
  EXPECT_TRUE(config->client_tls.ca_file.empty());

  // etcd over https: the CA verifies etcd and Patroni, the instance's certificate is the proxy's identity.
  layout.etcd_endpoints = {"https://127.0.0.1:2379"};
  layout.ca_file = "/s/pki/ca.crt";
  layout.client_certificate = "/s/tls/server.crt";
  layout.client_private_key = "/s/tls/server.key";
  const auto secure = parse_proxy_config(config::render_proxy_config(layout), "proxy.yaml");
  ASSERT_TRUE(secure.ok()) << secure.error().message;
  EXPECT_EQ(secure->etcd_endpoints, std::vector<std::string>{"https://127.0.0.1:2379"});
  EXPECT_EQ(secure->client_tls.ca_file, "/s/pki/ca.crt");
  EXPECT_EQ(secure->client_tls.certificate, "/s/tls/server.crt");
  EXPECT_EQ(secure->client_tls.private_key, "/s/tls/server.key");

  layout.pooling = false;
  layout.tls_certificate.reset();
  layout.tls_private_key.reset();
  const auto direct = parse_proxy_config(config::render_proxy_config(layout), "proxy.yaml");
  ASSERT_TRUE(direct.ok()) << direct.error().message;
  EXPECT_FALSE(direct->tls.has_value());
  EXPECT_EQ(direct->clusters[0].listeners[0].target, TargetKind::kPostgres);
  EXPECT_EQ(direct->clusters[0].listeners[0].port_offset, 0);

  // pods.connectionPooler: pgstack-proxy: both listeners pool and go to Postgres, even beside PgBouncer.
  layout.pooling = true;
  config::ProxyPool pool;
  pool.mode = "session";
  pool.pool_size = 7;
  pool.query_wait_timeout_seconds = 30;
  pool.auth_user = "authenticator";
  pool.auth_password_file = "/s/proxies/shop/demo/auth-password";
  pool.auth_password = "never-in-the-file";
  layout.pool = pool;
  const std::string rendered = config::render_proxy_config(layout);
  EXPECT_EQ(rendered.find("never-in-the-file"), std::string::npos);
  const auto pooled = parse_proxy_config(rendered, "proxy.yaml");
  ASSERT_TRUE(pooled.ok()) << pooled.error().message;
  for (const auto& listener : pooled->clusters[0].listeners) {
    EXPECT_EQ(listener.target, TargetKind::kPostgres);
    EXPECT_EQ(listener.port_offset, 0);
    ASSERT_TRUE(listener.pooling.has_value());
    EXPECT_EQ(listener.pooling->mode, PoolMode::kSession);
    EXPECT_EQ(listener.pooling->pool_size, 7);
    EXPECT_EQ(listener.pooling->query_wait_timeout, std::chrono::seconds(30));
    EXPECT_EQ(listener.pooling->server_lifetime, std::chrono::seconds(3600));
    EXPECT_EQ(listener.pooling->auth_user, "authenticator");
    EXPECT_EQ(listener.pooling->auth_password_file, "/s/proxies/shop/demo/auth-password");
  }
}

TEST(ProxyConfig, APoolingConfigsPgbouncerSettingsCarryOverToTheProxysPool) {
  config::ProxyPool pool;
  std::vector<std::string> ignored;
  config::apply_pooling_settings({{"pool_mode", "session"},
                                  {"default_pool_size", "50"},
                                  {"query_wait_timeout", "0"},
                                  {"server_idle_timeout", "30"},
                                  {"server_lifetime", "soon"},
                                  {"max_client_conn", "2000"},
                                  {"client_idle_timeout", "300"}},
                                 pool, ignored);
  EXPECT_EQ(pool.max_client_connections, 2000);
  EXPECT_EQ(pool.client_idle_timeout_seconds, 300);
  EXPECT_EQ(pool.mode, "session");
  EXPECT_EQ(pool.pool_size, 50);
  EXPECT_EQ(pool.query_wait_timeout_seconds, 86'400);  // 0: never, as far as a day goes
  EXPECT_EQ(pool.server_idle_timeout_seconds, 30);
  EXPECT_EQ(pool.server_lifetime_seconds, 3600);
  ASSERT_EQ(ignored.size(), 1U);
  EXPECT_EQ(ignored[0], "server_lifetime=soon (expected seconds)");
  ignored.clear();
  config::apply_pooling_settings({{"pool_mode", "statement"}, {"default_pool_size", "0"}}, pool, ignored);
  EXPECT_EQ(pool.mode, "session");
  EXPECT_EQ(ignored.size(), 2U);
}

TEST(ProxyConfig, APoolingConfigsDatabasesAndUsersCarryOverToTheProxysPool) {
  config::ProxyPool pool;
  std::vector<std::string> ignored;
  config::apply_pooling_entries({{"reports", "dbname=warehouse pool_size=5 pool_mode=session"},
                                 {"*", "pool_size=8 reserve_pool=2"},
                                 {"remote", "host=10.0.0.9 dbname=app"},
                                 {"bad", "pool_size=lots pool_mode=statement"}},
                                {{"batch", "pool_mode=transaction max_user_connections=10"}}, pool, ignored);
  EXPECT_EQ(pool.databases.size(), 2U);
  EXPECT_EQ(pool.databases["reports"], (config::ProxyPoolOverride{"session", 5, "warehouse"}));
  EXPECT_EQ(pool.databases["*"], (config::ProxyPoolOverride{"", 8, ""}));
  EXPECT_EQ(pool.users["batch"], (config::ProxyPoolOverride{"transaction", 0, ""}));
  EXPECT_EQ(ignored, (std::vector<std::string>{
                         "[databases] * reserve_pool (not used by the proxy's pool)",
                         "[databases] remote (another server: the proxy pools to the cluster's members only)",
                         "[databases] bad pool_size=lots (expected 1 to 10000)",
                         "[databases] bad pool_mode=statement (the proxy pools by session or transaction)",
                         "[users] batch max_user_connections (not used by the proxy's pool)"}));

  // Rendered into proxy.yaml and read back by the proxy.
  config::ProxyLayout layout{
      "demo", "shop", {"http://127.0.0.1:2379"}, "/pgstack",         "10.0.0.5", 14432, 14433, 17432,
      true,   1000,   "/s/tls/server.crt",       "/s/tls/server.key"};
  pool.auth_user = "authenticator";
  pool.auth_password_file = "/s/auth-password";
  layout.pool = pool;
  pool.max_client_connections = 2000;
  pool.client_idle_timeout_seconds = 300;
  layout.pool = pool;
  const auto parsed = parse_proxy_config(config::render_proxy_config(layout), "proxy.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->limits.max_client_connections, 2000U);
  EXPECT_EQ(parsed->limits.idle_timeout, std::chrono::seconds(300));
  const auto& pooling = *parsed->clusters[0].listeners[0].pooling;
  ASSERT_EQ(pooling.databases.size(), 2U);
  EXPECT_EQ(pooling.databases.at("reports").mode, PoolMode::kSession);
  EXPECT_EQ(pooling.databases.at("reports").pool_size, 5);
  EXPECT_EQ(pooling.databases.at("reports").dbname, "warehouse");
  EXPECT_FALSE(pooling.databases.at("*").mode.has_value());
  EXPECT_EQ(pooling.databases.at("*").pool_size, 8);
  EXPECT_EQ(pooling.users.at("batch").mode, PoolMode::kTransaction);
}

TEST(ProxyConfig, FullExample) {
  const auto config = parse_proxy_config(R"(
workers: 4
admin: {listen: "0.0.0.0:9187"}
etcd: {endpoints: ["http://10.0.0.1:2379", "http://10.0.0.2:2379"], prefix: /pg}
health: {patroni_rest: true, interval_ms: 500, timeout_ms: 300, fall: 3}
limits: {max_client_connections: 100, connect_timeout_ms: 1000, handshake_timeout_ms: 2000, idle_timeout_ms: 60000}
tls: {certificate: /etc/cert.pem, private_key: /etc/key.pem}
stats: {top_queries: 5, max_fingerprints: 100}
clusters:
  - name: demo
    namespace: prod
    max_replica_lag_bytes: 1000
    listeners:
      - {name: rw, role: read-write, listen: "127.0.0.1:5432"}
      - name: ro
        role: read-only
        listen: "127.0.0.1:5433"
        target: pgbouncer
        mirror: {conninfo: "host=shadow user=mirror", queue_size: 50}
)");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->workers, 4u);
  EXPECT_EQ(config->admin.host, "0.0.0.0");
  EXPECT_EQ(config->etcd_endpoints.size(), 2u);
  EXPECT_EQ(config->health.fall, 3);
  EXPECT_EQ(config->limits.idle_timeout.count(), 60000);
  ASSERT_TRUE(config->tls);
  const auto& cluster = config->clusters.at(0);
  EXPECT_EQ(cluster.dcs_prefix, "/pg/patroni/prod/demo/");
  EXPECT_EQ(cluster.listeners[0].target, TargetKind::kPostgres);
  EXPECT_EQ(cluster.listeners[0].port_offset, 0);
  EXPECT_EQ(cluster.listeners[1].role, ListenerRole::kReadOnly);
  EXPECT_EQ(cluster.listeners[1].target, TargetKind::kPgbouncer);
  EXPECT_EQ(cluster.listeners[1].port_offset, 1000);
  ASSERT_TRUE(cluster.listeners[1].mirror);
  EXPECT_EQ(cluster.listeners[1].mirror->queue_size, 50u);
}

TEST(ProxyConfig, Defaults) {
  const auto config = parse_proxy_config("clusters: [{name: c, listeners: [{name: rw, listen: '127.0.0.1:0'}]}]");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->workers, 0u);
  EXPECT_EQ(config->etcd_prefix, "/pgstack");
  EXPECT_TRUE(config->health.patroni_rest);
  EXPECT_FALSE(config->tls);
  EXPECT_EQ(config->clusters[0].dcs_prefix, "/pgstack/patroni/default/c/");
  EXPECT_EQ(config->clusters[0].listeners[0].role, ListenerRole::kReadWrite);
}

void expect_error(const std::string& yaml, const std::string& expected) {
  const auto config = parse_proxy_config(yaml, "proxy.yaml");
  ASSERT_FALSE(config.ok()) << yaml;
  EXPECT_NE(config.error().message.find(expected), std::string::npos) << config.error().message;
  EXPECT_EQ(config.error().message.rfind("proxy.yaml: ", 0), 0u) << config.error().message;
}

TEST(ProxyConfig, ClearErrors) {
  expect_error("workers: 2", "clusters: required field is missing");
  expect_error("clusters: []", "clusters: expected a non-empty list");
  expect_error("clusters: [{name: c, listeners: []}]", "clusters[0].listeners: expected a non-empty list");
  expect_error("clusters: [{name: '', listeners: [{name: rw, listen: '127.0.0.1:0'}]}]",
               "clusters[0].name: must not be empty");
  expect_error("clusters: [{name: c, listeners: [{name: rw, listen: '127.0.0.1:0', role: writer}]}]",
               "clusters[0].listeners[0].role: \"writer\" is not a role; expected read-write or read-only");
  expect_error("clusters: [{name: c, listeners: [{name: rw, listen: 'localhost'}]}]",
               "clusters[0].listeners[0].listen: \"localhost\": expected ADDRESS:PORT");
  expect_error("clusters: [{name: c, listeners: [{name: rw, listen: '1.2.3.4:70000'}]}]", "from 0 to 65535");
  expect_error("clusters: [{name: c, listeners: [{name: rw, listen: '127.0.0.1:1', target: pgpool}]}]",
               "expected postgres or pgbouncer");
  expect_error("clusters: [{name: c, listeners: [{name: rw}]}]",
               "clusters[0].listeners[0].listen: required field is missing");
  expect_error("clusters: [{name: c, listeners: [{name: rw, listen: '127.0.0.1:1', mirror: {queue_size: 5}}]}]",
               "clusters[0].listeners[0].mirror.conninfo: required field is missing");
  expect_error("wokers: 2\nclusters: []", "wokers: unknown field; did you mean \"workers\"?");
  expect_error("zzz: 2\nclusters: []", "zzz: unknown field; expected one of workers, admin,");
  expect_error("limits: {connect_timeout_ms: soon}\nclusters: []", "limits.connect_timeout_ms: expected an integer");
  expect_error("etcd: {endpoints: ['ftp://x:1']}\nclusters: []",
               "etcd.endpoints[0]: \"ftp://x:1\" is not an http:// or https:// URL");
  expect_error("clusters: [{name: c, listeners: [{name: a, listen: '127.0.0.1:5'}, {name: b, listen: '127.0.0.1:5'}]}]",
               "127.0.0.1:5 is the listen address of two listeners");
  expect_error("clusters: [{name: c, listeners: [{name: a, listen: '127.0.0.1:5'}, {name: a, listen: '127.0.0.1:6'}]}]",
               "\"a\" is used twice");
  expect_error("clusters: [\n  {name: c", "line");
  expect_error("tls: {certificate: /x}\nclusters: []", "tls.private_key: required field is missing");
  expect_error("client_tls: {ca_file: /ca, certificate: /x}\nclusters: []",
               "client_tls.certificate: certificate and private_key go together");
}

TEST(ProxyConfig, PoolingWithItsDefaultsAndErrors) {
  auto config = parse_proxy_config(
      "clusters: [{name: c, listeners: [{name: pool, listen: '127.0.0.1:0', pooling: {auth_user: a, "
      "auth_password_file: /p}}, {name: s, listen: '127.0.0.1:1', pooling: {mode: session, pool_size: 5, "
      "query_wait_timeout_ms: 300, server_idle_timeout_ms: 2000, server_lifetime_ms: 9000, auth_user: a, "
      "auth_password_file: /p}}]}]");
  ASSERT_TRUE(config.ok()) << config.error().message;
  const auto& pooled = *config->clusters[0].listeners[0].pooling;
  EXPECT_EQ(pooled.mode, PoolMode::kTransaction);
  EXPECT_EQ(pooled.pool_size, 20);
  EXPECT_EQ(pooled.query_wait_timeout, std::chrono::seconds(120));
  EXPECT_EQ(pooled.auth_user, "a");
  EXPECT_EQ(pooled.auth_password_file, "/p");
  const auto& session = *config->clusters[0].listeners[1].pooling;
  EXPECT_EQ(session.mode, PoolMode::kSession);
  EXPECT_EQ(session.pool_size, 5);
  EXPECT_EQ(session.query_wait_timeout, std::chrono::milliseconds(300));
  EXPECT_EQ(session.server_idle_timeout, std::chrono::seconds(2));
  EXPECT_EQ(session.server_lifetime, std::chrono::seconds(9));
  EXPECT_EQ(pool_mode_name(session.mode), "session");

  expect_error("clusters: [{name: c, listeners: [{name: rw, listen: '127.0.0.1:1', pooling: {auth_user: a}}]}]",
               "clusters[0].listeners[0].pooling.auth_password_file: required field is missing");
  expect_error(
      "clusters: [{name: c, listeners: [{name: rw, listen: '127.0.0.1:1', pooling: {mode: statement, "
      "auth_user: a, auth_password_file: /p}}]}]",
      "\"statement\" is not a pool mode; expected session or transaction");
  expect_error(
      "clusters: [{name: c, listeners: [{name: rw, listen: '127.0.0.1:1', pooling: {pool_size: 0, "
      "auth_user: a, auth_password_file: /p}}]}]",
      "clusters[0].listeners[0].pooling.pool_size");
  expect_error(
      "clusters: [{name: c, listeners: [{name: rw, listen: '127.0.0.1:1', target: pgbouncer, pooling: "
      "{auth_user: a, auth_password_file: /p}}]}]",
      "clusters[0].listeners[0].pooling: pooling needs target: postgres");
}

// Bad or huge input gives a clear error naming the file, never a crash or a stall.
TEST(ProxyConfig, HostileInput) {
  const std::string listener = "{name: rw, listen: '127.0.0.1:0'}";
  std::string many_clusters = "clusters:\n";
  for (int i = 0; i < 2000; ++i)
    many_clusters += "- {name: c" + std::to_string(i) + ", listeners: [" + listener + "]}\n";
  std::string aliases = "a: &a [x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'z'; ++c) {
    const std::string previous(1, static_cast<char>(c - 1));
    aliases += std::string(1, c) + ": &" + std::string(1, c) + " [*" + previous + ", *" + previous + ", *" + previous +
               ", *" + previous + "]\n";
  }
  const std::vector<std::pair<std::string, std::string>> cases = {
      {std::string(100000, '['), "nested deeper than"},
      {std::string(100000, '{'), "nested deeper than"},
      {[] {
         std::string text;
         for (int i = 0; i < 5000; ++i) text += std::string(static_cast<std::size_t>(i % 200), ' ') + "- \n";
         return text;
       }(),
       ""},
      {"workers: 99999999999999999999999\nclusters: []", "workers: expected an integer between 0 and 256"},
      {"workers: -1\nclusters: []", "workers: expected an integer between 0 and 256, got -1"},
      {"{[a]: 1}", "mapping keys must be plain strings"},
      {"clusters: [{name: c, listeners: [{name: rw, listen: '127.0.0.1:1'}]}]\nclusters: []",
       "duplicate key \"clusters\""},
      {std::string("clusters: \xff\xfe\n"), "invalid"},
      {std::string("clusters: [a\0b]", 15), ""},
      {"\t\tclusters:", ""},
      {"etcd: {endpoints: [[1], {a: b}]}\nclusters: []", "etcd.endpoints"},
      {"health: {interval_ms: [1]}\nclusters: []", "health.interval_ms: expected an integer"},
      {"health: {patroni_rest: {a: 1}}\nclusters: []", "health.patroni_rest: expected true or false"},
      {"admin: {listen: [1]}\nclusters: []", "admin.listen: expected a string"},
      {"clusters: [{name: c, listeners: [" + listener + "], max_replica_lag_bytes: 1e400}]", "max_replica_lag_bytes"},
      {"clusters: *nothing", "unknown alias"},
      {aliases + "clusters: []", ""},
      {"---\nclusters: []\n---\nworkers: 1\n", "one document"},
      {"", "expected a mapping at the top"},
      {"- a\n- b", "expected a mapping at the top"},
      {std::string(2 * 1024 * 1024, '#'), "over 1048576 bytes"},
  };
  for (const auto& [text, expected] : cases) {
    // A stall would show as the test's ctest timeout; timing it here would fail on a busy machine.
    auto config = parse_proxy_config(text, "proxy.yaml");
    ASSERT_FALSE(config.ok()) << text.substr(0, 80);
    EXPECT_EQ(config.error().code, ErrorCode::kInvalidInput);
    EXPECT_EQ(config.error().message.rfind("proxy.yaml: ", 0), 0u) << config.error().message;
    EXPECT_NE(config.error().message.find(expected), std::string::npos) << config.error().message;
    EXPECT_LT(config.error().message.size(), 600u) << config.error().message.substr(0, 600);
  }
  auto many = parse_proxy_config(many_clusters, "proxy.yaml");
  EXPECT_TRUE(many.ok()) << many.error().message;

  const auto directory = load_proxy_config("/");
  ASSERT_FALSE(directory.ok());
  EXPECT_NE(directory.error().message.find("/: cannot read the configuration file"), std::string::npos)
      << directory.error().message;
}

}  // namespace
}  // namespace pgstack::proxy
