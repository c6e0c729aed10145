// Keeps one cluster's RoutingSnapshot current: reads Patroni's keys from etcd, follows them with a
// watch, and confirms roles with Patroni's REST health endpoints on its own thread. Needs only etcd and
// Patroni (never the controller). Sessions read the snapshot; a change of primary or readable set is
// reported to a callback so the proxy can close connections to a member that lost its role.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "proxy/primary_outages.h"
#include "proxy/proxy_config.h"
#include "proxy/routing_table.h"
#include "store/etcd_client.h"

namespace pgstack::proxy {

// Server connections open per member, shared by all workers (least-connections reads).
class MemberConnectionCounts : public ConnectionCounts {
 public:
  std::shared_ptr<std::atomic<std::int64_t>> counter(const std::string& member);
  std::int64_t active(std::string_view member) const override;
  std::map<std::string, std::int64_t> all() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<std::atomic<std::int64_t>>, std::less<>> counters_;
};

class ClusterRouter {
 public:
  using ChangeCallback = std::function<void(const std::string& cluster, const RoutingSnapshot& snapshot)>;

  // `etcd_prefix`: pgstack's keys, where the router saves the outages it sees (store::keys::outages_prefix).
  ClusterRouter(ClusterConfig cluster, HealthConfig health, std::vector<std::string> etcd_endpoints,
                const std::string& etcd_prefix, ChangeCallback on_change);
  ~ClusterRouter();
  ClusterRouter(const ClusterRouter&) = delete;
  ClusterRouter& operator=(const ClusterRouter&) = delete;

  // Before start(): routes by `snapshot` for good instead of by etcd and Patroni, and start() then
  // runs no thread (tests and fuzzing, which need a route without etcd).
  void use_fixed_routes(RoutingSnapshot snapshot);
  // Starts the background thread; routing begins once etcd answers (retried every interval).
  void start();
  void stop();

  const std::string& name() const { return cluster_.name; }
  std::shared_ptr<const RoutingSnapshot> snapshot() const;
  MemberConnectionCounts& connections() { return connections_; }
  // Wakes the health thread now (e.g. a rw connection found no primary).
  void poke();
  // The read-write outages this router saw (PrimaryOutages::to_json).
  nlohmann::json outages() const;

 private:
  void run();
  bool reload();  // full read of the prefix; restarts the watch after it
  void on_watch(const std::vector<store::WatchEvent>& events);
  void apply(const std::string& key, const std::string* value);  // value nullptr: deleted
  void check_health();
  void publish();
  void save_outages();  // writes the unsaved outages to etcd; what fails is tried again next loop

  const ClusterConfig cluster_;
  const HealthConfig health_;
  const RoutingPolicy policy_;
  store::EtcdClient etcd_;
  const ChangeCallback on_change_;
  const std::string outages_prefix_;
  const std::string proxy_id_;  // random, per start: this proxy's saved outages never overwrite another's
  MemberConnectionCounts connections_;

  mutable std::mutex mutex_;  // guards inputs_, failures_, snapshot_, outages_
  RoutingInputs inputs_;
  std::map<std::string, int> failures_;  // consecutive failed checks per member
  std::shared_ptr<const RoutingSnapshot> snapshot_;
  std::uint64_t generation_ = 0;
  PrimaryOutages outages_;

  std::unique_ptr<store::EtcdWatch> watch_;
  // The run thread's own: the last failed read's error (said once, not at every retry) and when a read
  // after a failure may be tried again (a waiting client's poke must not become a request storm).
  std::string reload_error_;
  std::string save_error_;
  std::chrono::steady_clock::time_point next_reload_;
  bool fixed_ = false;  // use_fixed_routes() was called
  std::atomic<bool> stopping_{false};
  std::atomic<bool> dirty_{false};  // etcd changed: check the members now
  std::condition_variable wake_;
  std::mutex wake_mutex_;
  std::thread thread_;
};

}  // namespace pgstack::proxy
