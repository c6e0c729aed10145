#include <gtest/gtest.h>

#include "config/render_proxy.h"
#include "proxy/proxy_config.h"

namespace pgstack::proxy {
namespace {

// What pgstack-agent writes for each cluster must be what the proxy reads.
TEST(ProxyConfig, ReadsWhatTheAgentRenders) {
  config::ProxyLayout layout{"demo", "shop", {"http://127.0.0.1:2379"}, "/pgstack", "10.0.0.5", 14432, 14433, 17432,
                             true, 1000, "/s/tls/server.crt", "/s/tls/server.key"};
  const auto config = parse_proxy_config(config::render_proxy_config(layout), "proxy.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->admin.host, "10.0.0.5");
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
  expect_error("workers: 2", "clusters: expected a non-empty list");
  expect_error("clusters: [{name: c, listeners: [{name: rw, listen: '127.0.0.1:0', role: writer}]}]",
               "clusters[0].listeners[0].role: \"writer\" is not a role; expected read-write or read-only");
  expect_error("clusters: [{name: c, listeners: [{name: rw, listen: 'localhost'}]}]",
               "clusters[0].listeners[0].listen: \"localhost\": expected ADDRESS:PORT");
  expect_error("clusters: [{name: c, listeners: [{name: rw, listen: '1.2.3.4:70000'}]}]", "from 0 to 65535");
  expect_error("clusters: [{name: c, listeners: [{name: rw, listen: '127.0.0.1:1', target: pgpool}]}]",
               "expected postgres or pgbouncer");
  expect_error("clusters: [{name: c, listeners: [{name: rw}]}]", "clusters[0].listeners[0].listen: is required");
  expect_error("clusters: [{name: c, listeners: [{name: rw, listen: '127.0.0.1:1', mirror: {queue_size: 5}}]}]",
               "clusters[0].listeners[0].mirror.conninfo: is required");
  expect_error("wokers: 2\nclusters: []", "wokers: unknown field; expected one of: workers,");
  expect_error("limits: {connect_timeout_ms: soon}\nclusters: []", "limits.connect_timeout_ms: expected an integer");
  expect_error("etcd: {endpoints: ['ftp://x:1']}\nclusters: []", "etcd.endpoints: \"ftp://x:1\" is not an http:// or https:// URL");
  expect_error("clusters: [{name: c, listeners: [{name: a, listen: '127.0.0.1:5'}, {name: b, listen: '127.0.0.1:5'}]}]",
               "127.0.0.1:5 is the listen address of two listeners");
  expect_error("clusters: [{name: c, listeners: [{name: a, listen: '127.0.0.1:5'}, {name: a, listen: '127.0.0.1:6'}]}]",
               "\"a\" is used twice");
  expect_error("clusters: [\n  {name: c", "line");
  expect_error("tls: {certificate: /x}\nclusters: []", "tls.private_key: is required");
  expect_error("client_tls: {ca_file: /ca, certificate: /x}\nclusters: []",
               "client_tls.certificate: certificate and private_key go together");
}

TEST(ParseHostPort, Forms) {
  EXPECT_EQ(parse_host_port("[::1]:5432")->host, "::1");
  EXPECT_EQ(parse_host_port("127.0.0.1:0")->port, 0);
  EXPECT_FALSE(parse_host_port(":5432").ok());
  EXPECT_FALSE(parse_host_port("host:").ok());
}

}  // namespace
}  // namespace pgstack::proxy
