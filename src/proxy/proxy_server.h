// pgstack-proxy's server: worker threads (one io_context each), per-listener acceptors with
// SO_REUSEPORT on every worker so the kernel spreads connections and a session never leaves its thread;
// one ClusterRouter per cluster; the admin HTTP port (/metrics, /stats, /healthz).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/error.h"
#include "proxy/proxy_config.h"
#include "proxy/proxy_stats.h"
#include "proxy/routing_table.h"

namespace pgstack::proxy {

class ProxyServer {
 public:
  explicit ProxyServer(ProxyConfig config);
  ~ProxyServer();
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  // Before start(): `cluster` is routed by `snapshot` for good, without etcd or Patroni (tests, fuzzing).
  void use_fixed_routes(const std::string& cluster, RoutingSnapshot snapshot);
  // Binds every listener and the admin port (port 0 picks a free one), starts routers and workers.
  Result<bool> start();
  void stop();

  // 0 when unknown.
  std::uint16_t listener_port(const std::string& cluster, const std::string& listener) const;
  std::uint16_t admin_port() const;
  StatsView stats_view() const;
  const ProxyConfig& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgstack::proxy
