// pgstack-proxy's configuration for one cluster on one host (format in docs/proxy.md), as the agent
// runs it: a read-write and a read-only listener on the host's address, routing to the members'
// PgBouncer (or Postgres when pooling is off), roles from Patroni's keys under pgstack's prefix.
// Pure, no I/O.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pgstack::config {

// The proxy's own pool (pods.connectionPooler: pgstack-proxy), its settings from the cluster's
// SGPoolingConfig (pgbouncer.ini's names: proxy_pool_settings).
// A [databases] or [users] entry the proxy's pool honours: "" / 0 for what the entry does not set.
struct ProxyPoolOverride {
  std::string mode;
  int pool_size = 0;
  std::string dbname;
  bool operator==(const ProxyPoolOverride&) const = default;
};

struct ProxyPool {
  std::string mode = "transaction";
  int pool_size = 20;
  std::map<std::string, ProxyPoolOverride> databases;  // by the name clients ask for; "*" for any other
  std::map<std::string, ProxyPoolOverride> users;
  std::optional<int> max_client_connections;       // max_client_conn: clients of both endpoints together
  std::optional<int> client_idle_timeout_seconds;  // client_idle_timeout (0: none)
  int query_wait_timeout_seconds = 120;
  int server_idle_timeout_seconds = 600;
  int server_lifetime_seconds = 3600;
  std::string auth_user;           // the cluster's authenticator
  std::string auth_password_file;  // written by the agent, 0600
  std::string auth_password;       // its content: never rendered into the configuration
  bool operator==(const ProxyPool&) const = default;
};

struct ProxyLayout {
  std::string cluster;
  std::string namespace_name;
  std::vector<std::string> etcd_endpoints;
  std::string etcd_prefix;
  std::string listen_address;  // the host's address
  int read_write_port = 0;
  int read_only_port = 0;
  int admin_port = 0;
  bool pooling = true;       // route to PgBouncer, else to Postgres
  int pgbouncer_offset = 0;  // PgBouncer's port minus Postgres' port of the members (pgstack's port slots)
  std::optional<std::string> tls_certificate;  // PEM files; no TLS when unset
  std::optional<std::string> tls_private_key;
  std::string ca_file;             // verifies etcd and Patroni's REST API (https); empty: the system's trust store
  std::string client_certificate;  // presented to etcd (client-cert-auth); empty: none
  std::string client_private_key;
  std::optional<ProxyPool> pool;  // set: listeners pool themselves and go to Postgres
  // The SGPoolingConfig settings the pool does not apply, with why (not rendered: the agent warns of them).
  std::vector<std::string> ignored_pool_settings;
};

// pgbouncer.ini settings of an SGPoolingConfig that the proxy's pool honours (pool_mode, default_pool_size,
// query_wait_timeout, server_idle_timeout, server_lifetime, max_client_conn, client_idle_timeout), over
// `pool`'s values; values it cannot use (pool_mode=statement, a non-number) are named in `ignored`.
void apply_pooling_settings(const std::vector<std::pair<std::string, std::string>>& settings, ProxyPool& pool,
                            std::vector<std::string>& ignored);

// An SGPoolingConfig's [databases] and [users] entries ("dbname=app pool_size=5 pool_mode=session"):
// pool_mode, pool_size and dbname of a database, pool_mode of a user. An entry for another server
// (host=, port=) and the options the pool has no use for are named in `ignored`.
void apply_pooling_entries(const std::vector<std::pair<std::string, std::string>>& databases,
                           const std::vector<std::pair<std::string, std::string>>& users, ProxyPool& pool,
                           std::vector<std::string>& ignored);

// YAML (written as JSON, which YAML reads) with a header comment.
std::string render_proxy_config(const ProxyLayout& layout);

}  // namespace pgstack::config
