// One controller leads at a time: it holds <prefix>/controller/leader under an etcd lease and keeps
// the lease alive; the others retry until the key is free.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "store/etcd_client.h"

namespace pgstack::controller {

class LeaderElection {
 public:
  LeaderElection(const store::EtcdClient& etcd, const std::string& etcd_prefix, std::string identity);
  ~LeaderElection();
  LeaderElection(const LeaderElection&) = delete;
  LeaderElection& operator=(const LeaderElection&) = delete;

  void start();
  // Resigns (revokes the lease) so another controller can lead at once.
  void stop();
  bool is_leader() const { return leader_.load(); }

 private:
  void run();

  store::EtcdClient etcd_;
  std::string key_;
  std::string identity_;
  std::atomic<bool> leader_{false};
  std::atomic<bool> stopping_{false};
  std::int64_t lease_ = 0;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace pgstack::controller
