// Internal: what sessions share with the server that owns them: per-listener state and counters, the
// cancel-key map, the TLS context and the connection limit.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "proxy/auth_lookup.h"
#include "proxy/cluster_router.h"
#include "proxy/mirror.h"
#include "proxy/proxy_config.h"
#include "proxy/proxy_stats.h"

namespace pgstack::proxy {

// A pooled listener's server connections over all workers (each worker's pool adds its own).
struct PoolGauges {
  std::atomic<std::int64_t> open{0};  // idle, in use and logging in
  std::atomic<std::int64_t> idle{0};
  std::atomic<std::int64_t> waiting{0};  // clients waiting for a server connection
  std::atomic<std::uint64_t> logins{0};
  std::atomic<std::uint64_t> wait_timeouts{0};
  std::atomic<std::uint64_t> prepares_answered{0};  // PQprepare-style requests answered without a connection
};

struct ListenerRuntime {
  const ClusterConfig* cluster = nullptr;
  const ListenerConfig* config = nullptr;
  ClusterRouter* router = nullptr;
  std::unique_ptr<Mirror> mirror;
  std::unique_ptr<AuthLookup> auth;  // pooled listeners: where client verifiers come from
  PoolGauges pool;
  std::uint16_t bound_port = 0;

  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused_max_connections{0};
  std::atomic<std::uint64_t> routing_failures{0};
  std::atomic<std::uint64_t> protocol_errors{0};
  std::atomic<std::uint64_t> closed_by_failover{0};
  std::atomic<std::uint64_t> rerouted_by_failover{0};  // pooled clients between transactions, kept
  std::atomic<std::uint64_t> cancel_requests{0};
  std::atomic<std::uint64_t> tiebreak{0};
};

struct ServerEndpoint {
  std::string host;
  std::uint16_t port = 0;
};

// BackendKeyData the clients hold -> the address the session holding it is connected to, and the key to
// present there, for CancelRequest. The address, not the member's host name: a name may resolve elsewhere
// by the time the cancel comes, and a cancel only works on the server (Postgres or PgBouncer) that issued
// the key. A relayed session's client holds the server's own key; a pooled session's client holds one the
// proxy made, mapped to whichever server connection it has at the moment.
class CancelRegistry {
 public:
  using Key = std::pair<std::int32_t, std::string>;  // process id, secret key bytes
  using Address = boost::asio::ip::tcp::endpoint;
  struct Target {
    Address address;
    Key key;
  };
  void add(const Key& key, const Address& address) { add(key, Target{address, key}); }
  void add(const Key& key, const Target& target) {
    std::lock_guard lock(mutex_);
    entries_[key] = target;
  }
  void remove(const Key& key) {
    std::lock_guard lock(mutex_);
    entries_.erase(key);
  }
  std::optional<Target> find(const Key& key) const {
    std::lock_guard lock(mutex_);
    const auto found = entries_.find(key);
    if (found == entries_.end()) return std::nullopt;
    return found->second;
  }

 private:
  mutable std::mutex mutex_;
  std::map<Key, Target> entries_;
};

// The TLS context from config.tls: made at start, and again for new sessions when the certificate on
// disk changes (the agent renews it; checked at most once a second). A session keeps the context it
// started with. Null: answer 'N' to SSLRequest.
class TlsContextSource {
 public:
  Result<bool> load(const TlsConfig& config);
  std::shared_ptr<boost::asio::ssl::context> current();

 private:
  std::mutex mutex_;
  std::optional<TlsConfig> config_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::filesystem::file_time_type certificate_time_{};
  std::chrono::steady_clock::time_point checked_{};
};

struct ProxyShared {
  const ProxyConfig* config = nullptr;
  TlsContextSource tls;
  std::unique_ptr<StatsRegistry> stats;
  CancelRegistry cancels;
  unsigned workers = 1;  // pooled listeners split their pool_size across them
  std::atomic<std::int64_t> client_connections{0};
  std::atomic<std::uint64_t> next_session_id{1};
};

}  // namespace pgstack::proxy
