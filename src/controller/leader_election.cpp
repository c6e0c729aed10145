#include "controller/leader_election.h"

#include <spdlog/spdlog.h>

#include "store/keys.h"

namespace pgstack::controller {
namespace {

// A dead leader is replaced within the TTL; keep-alives go out at a third of it.
constexpr auto kLeaseTtl = std::chrono::seconds(10);
constexpr auto kRenewEvery = std::chrono::seconds(3);
constexpr auto kRetryEvery = std::chrono::seconds(2);

}  // namespace

LeaderElection::LeaderElection(const store::EtcdClient& etcd, const std::string& etcd_prefix, std::string identity)
    : etcd_(etcd), key_(store::keys::controller_leader(etcd_prefix)), identity_(std::move(identity)) {}

LeaderElection::~LeaderElection() { stop(); }

void LeaderElection::start() {
  thread_ = std::thread([this] { run(); });
}

void LeaderElection::stop() {
  if (stopping_.exchange(true)) return;
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (lease_ != 0) (void)etcd_.revoke_lease(lease_);
  leader_ = false;
}

void LeaderElection::run() {
  while (!stopping_) {
    if (leader_) {
      auto alive = etcd_.keep_alive(lease_);
      if (!alive.ok() || !alive.value()) {
        spdlog::warn("controller {}: lost the leadership ({})", identity_,
                     alive.ok() ? "lease expired" : alive.error().message);
        leader_ = false;
        lease_ = 0;
      }
    } else {
      if (lease_ != 0) {
        // Our candidate lease expires too while we wait: renew it or take a new one.
        auto alive = etcd_.keep_alive(lease_);
        if (!alive.ok() || !alive.value()) lease_ = 0;
      }
      if (lease_ == 0) {
        auto lease = etcd_.grant_lease(kLeaseTtl);
        if (lease.ok()) lease_ = lease.value();
      }
      if (lease_ != 0) {
        auto won = etcd_.create_if_absent_with_lease(key_, identity_, lease_);
        if (won.ok() && won.value()) {
          leader_ = true;
          spdlog::info("controller {}: leading", identity_);
        }
      }
    }
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, leader_ ? kRenewEvery : kRetryEvery, [this] { return stopping_.load(); });
  }
}

}  // namespace pgstack::controller
