// pgstack-proxy for one cluster on this host: one per cluster that has a member here, so every such
// host offers the cluster's read-write and read-only endpoints (docs/proxy.md). Writes its
// configuration and keeps it running through ProcessSupervisor; like Patroni and PgBouncer it outlives
// the agent, which re-attaches to it.
//
// Thread-safety: none; the agent loop calls everything.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "agent/instance_plan.h"
#include "config/render_proxy.h"
#include "process/process_supervisor.h"

namespace pgstack::agent {

// In the proxy's directory: its pid file and its log, which the cluster's InstanceLogs on this host rotates
// (by renaming, then SIGHUP) and ships.
inline constexpr const char* kProxyPidFile = "proxy.pid";
inline constexpr const char* kProxyLogFile = "proxy.log";

class ProxySupervisor {
 public:
  // cluster_key: "<ns>/<cluster>".
  ProxySupervisor(AgentSettings settings, std::string cluster_key);
  // Leaves the proxy running: clients keep their endpoints while the agent restarts.
  ~ProxySupervisor() = default;
  ProxySupervisor(const ProxySupervisor&) = delete;
  ProxySupervisor& operator=(const ProxySupervisor&) = delete;

  // Writes the configuration; starts the proxy, or restarts it when the configuration changed (it
  // has no reload). Errors are logged once and retried on the next call.
  void reconcile(const config::ProxyLayout& layout);
  // Restarts a proxy that died, after its backoff.
  void tick();
  // Stops it, also when only its pid file knows it.
  void stop();

  // <state-dir>/proxies/<ns>/<cluster>
  static std::filesystem::path directory_for(const std::filesystem::path& state_dir, const std::string& cluster_key);

 private:
  Result<bool> apply(const config::ProxyLayout& layout);

  const AgentSettings settings_;
  const std::string cluster_key_;
  const std::filesystem::path directory_;
  std::unique_ptr<ProcessSupervisor> process_;
  std::string last_error_;
};

}  // namespace pgstack::agent
