// The host's registration in etcd (/pgstack/hosts/<host>) under a lease that this class keeps alive
// on its own thread: a slow reconcile (stopping Postgres may take many seconds) must never let the
// host or its instance reports expire. A lost lease (etcd restarted, the agent paused) is replaced by
// a new one and the host registered again; reports use lease() and follow it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "agent/instance_plan.h"
#include "model/document.h"
#include "store/etcd_client.h"

namespace pgstack::agent {

inline constexpr std::chrono::seconds kHostLeaseTtl{10};
inline constexpr std::chrono::seconds kHostKeepAliveInterval{3};

// {"name","address","cpus","memoryBytes","freeDiskBytes","stateDir","reportedAt"}, "metricsAddress" (the agent's own
// /metrics) and "nodeExporterAddress" when the host runs them (docs/monitoring.md): freeDiskBytes from statvfs of the
// state directory, CPUs and memory as this process may use them (cgroup limits included).
model::Json host_facts(const AgentSettings& settings);

class HostRegistration {
 public:
  HostRegistration(const store::EtcdClient& client, std::string key, std::function<model::Json()> describe_host);
  ~HostRegistration();
  HostRegistration(const HostRegistration&) = delete;
  HostRegistration& operator=(const HostRegistration&) = delete;

  void start();
  // revoke: also deletes the host key and every key under the lease (the instance reports) at once;
  // otherwise they expire with the lease, so an agent restarted within the TTL never flaps.
  void stop(bool revoke);

  // The current lease, 0 while there is none.
  std::int64_t lease() const { return lease_.load(); }

 private:
  void run();
  bool register_host();

  store::EtcdClient client_;
  const std::string key_;
  const std::function<model::Json()> describe_host_;
  std::atomic<std::int64_t> lease_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pgstack::agent
