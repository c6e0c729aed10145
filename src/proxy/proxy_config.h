// The proxy's YAML configuration (format in docs/proxy.md): parsed and validated in one place, with
// errors that name the field path and what is expected. Pure: no I/O beyond reading the file.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/network.h"  // HostPort

namespace pgstack::proxy {

enum class ListenerRole { kReadWrite, kReadOnly };
enum class TargetKind { kPostgres, kPgbouncer };

std::string_view listener_role_name(ListenerRole role);
std::string_view target_kind_name(TargetKind kind);

struct MirrorConfig {
  std::string conninfo;  // libpq connection string of the shadow (its own credentials)
  std::size_t queue_size = 10000;
  std::size_t max_connections = 16;  // shadow sessions open at once (one per mirrored client session)
};

// The proxy pools server connections itself and talks to Postgres directly (docs/proxy.md, "Pooling").
// It authenticates clients with SCRAM-SHA-256 against the verifier that `auth_user` looks up with
// pgstack.user_lookup (as PgBouncer's auth_query), and logs in to Postgres as the client's user with the
// ClientKey the client proved: no password of a user is stored anywhere.
enum class PoolMode { kSession, kTransaction };
std::string_view pool_mode_name(PoolMode mode);

// What one database or user changes of its listener's pooling (SGPoolingConfig's [databases] and
// [users] sections, as PgBouncer reads them).
struct PoolOverride {
  std::optional<PoolMode> mode;
  std::optional<int> pool_size;  // a database's
  std::string dbname;            // a database's name on the server, when it differs from the one clients ask for
};

struct PoolingConfig {
  PoolMode mode = PoolMode::kTransaction;
  int pool_size = 20;  // server connections per member, database and user; split across the workers
  std::map<std::string, PoolOverride> databases;           // by the name clients ask for; "*" for any other
  std::map<std::string, PoolOverride> users;               // mode only: a user's pool_mode wins over its database's
  std::chrono::milliseconds query_wait_timeout{120'000};   // a client waiting for a server connection
  std::chrono::milliseconds server_idle_timeout{600'000};  // an idle server connection is closed after
  std::chrono::milliseconds server_lifetime{3'600'000};    // and any once it is this old and idle
  std::string auth_user;                                   // may run pgstack.user_lookup(text)
  std::string auth_password_file;                          // its password, alone in a file (0600)
};

struct ListenerConfig {
  std::string name;
  ListenerRole role = ListenerRole::kReadWrite;
  HostPort listen;
  TargetKind target = TargetKind::kPostgres;
  int port_offset = 0;  // added to the member's Postgres port (conn_url); 1000 by default for pgbouncer
  std::optional<MirrorConfig> mirror;
  std::optional<PoolingConfig> pooling;
};

struct ClusterConfig {
  std::string name;
  std::string namespace_name = "default";
  std::string dcs_prefix;  // Patroni's keys; default <etcd.prefix>/patroni/<namespace>/<name>/
  std::uint64_t max_replica_lag_bytes = 16 * 1024 * 1024;
  std::vector<ListenerConfig> listeners;
};

struct HealthConfig {
  bool patroni_rest = true;  // confirm roles with Patroni's /primary and /replica?lag=
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds timeout{1000};
  int fall = 2;  // consecutive failed checks before a member that passed is taken out
};

struct LimitsConfig {
  std::size_t max_client_connections = 10000;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds idle_timeout{0};  // 0: none
};

struct TlsConfig {
  std::string certificate;  // PEM files; TLS is off when unset
  std::string private_key;
};

// How the proxy verifies etcd and Patroni's REST API over https (ca_file) and proves itself to etcd
// (certificate, private_key). Empty: the system's trust store, no client certificate.
struct ClientTlsConfig {
  std::string ca_file;
  std::string certificate;
  std::string private_key;
};

struct StatsConfig {
  std::size_t top_queries = 20;
  std::size_t max_fingerprints = 5000;  // per cluster/listener/database/user; the rest count as "<other>"
};

struct ProxyConfig {
  unsigned workers = 0;  // 0: one per core
  HostPort admin{"127.0.0.1", 9187};
  std::vector<std::string> etcd_endpoints{"http://127.0.0.1:2379"};
  std::string etcd_prefix = "/pgstack";
  HealthConfig health;
  LimitsConfig limits;
  std::optional<TlsConfig> tls;
  ClientTlsConfig client_tls;
  StatsConfig stats;
  std::vector<ClusterConfig> clusters;
};

// A configuration is a short file: larger ones are refused before they are parsed.
inline constexpr std::size_t kMaxProxyConfigBytes = 1024 * 1024;

// `source` names the text in error messages (a file name).
Result<ProxyConfig> parse_proxy_config(std::string_view yaml, std::string_view source = "config");
Result<ProxyConfig> load_proxy_config(const std::string& path);

}  // namespace pgstack::proxy
