#include "agent/host_registration.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include "common/time.h"
#include "host/machine.h"

namespace pgstack::agent {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Free disk space changes slowly; re-registering now and then keeps it fresh for the scheduler.
constexpr std::chrono::seconds kRefreshInterval{30};
constexpr std::chrono::seconds kRetryInterval{1};

}  // namespace

model::Json host_facts(const AgentSettings& settings) {
  const host::MachineResources machine = host::read_machine_resources();
  std::int64_t free_disk = 0;
  struct statvfs disk {};
  if (::statvfs(settings.state_dir.c_str(), &disk) == 0) {
    free_disk = static_cast<std::int64_t>(disk.f_bavail) * static_cast<std::int64_t>(disk.f_frsize);
  }
  model::Json facts = model::Json::object();
  facts["name"] = settings.host_name;
  facts["address"] = settings.address;
  facts["labels"] = settings.labels;
  facts["cpus"] = std::max<std::int64_t>(1, machine.cpu_millicores / 1000);
  facts["memoryBytes"] = machine.memory_bytes;
  facts["freeDiskBytes"] = free_disk;
  facts["stateDir"] = settings.state_dir.string();
  facts["reportedAt"] = utc_timestamp_now();  // when these facts were read (every 30 s); the lease says it is alive
  if (!settings.node_exporter_listen.empty()) facts["nodeExporterAddress"] = settings.node_exporter_listen;
  if (!settings.metrics_listen.empty()) facts["metricsAddress"] = settings.metrics_listen;
  return facts;
}

HostRegistration::HostRegistration(const store::EtcdClient& client, std::string key,
                                   std::function<model::Json()> describe_host)
    : client_(client), key_(std::move(key)), describe_host_(std::move(describe_host)) {}

HostRegistration::~HostRegistration() { stop(false); }

void HostRegistration::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void HostRegistration::stop(bool revoke) {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  const std::int64_t lease = lease_.exchange(0);
  if (revoke && lease != 0) {
    if (auto revoked = client_.revoke_lease(lease); !revoked) {
      spdlog::warn("cannot revoke lease {:x}: {}", lease, revoked.error().message);
    }
  }
}

bool HostRegistration::register_host() {
  std::int64_t lease = lease_.load();
  if (lease == 0) {
    auto granted = client_.grant_lease(kHostLeaseTtl);
    if (!granted) {
      spdlog::warn("cannot get a lease from etcd: {}", granted.error().message);
      return false;
    }
    lease = granted.value();
  }
  auto written = client_.put(key_, describe_host_().dump(), lease);
  if (!written) {
    spdlog::warn("cannot register {}: {}", key_, written.error().message);
    // The put may have failed because the lease is gone: then the next attempt needs a new one.
    if (auto alive = client_.keep_alive(lease); alive && !alive.value()) lease_.store(0);
    return false;
  }
  if (lease_.exchange(lease) != lease) spdlog::info("registered {} under lease {:x}", key_, lease);
  return true;
}

void HostRegistration::run() {
  auto next_refresh = SteadyClock::now();
  while (true) {
    std::chrono::seconds wait = kHostKeepAliveInterval;
    if (lease_.load() == 0 || SteadyClock::now() >= next_refresh) {
      if (register_host()) {
        next_refresh = SteadyClock::now() + kRefreshInterval;
      } else {
        wait = kRetryInterval;
      }
    } else {
      auto alive = client_.keep_alive(lease_.load());
      if (!alive) {
        spdlog::warn("lease keep-alive failed: {}", alive.error().message);
        wait = kRetryInterval;
      } else if (!alive.value()) {
        spdlog::warn("lease {:x} expired; registering again", lease_.load());
        lease_.store(0);
        continue;
      }
    }
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, wait, [this] { return stopping_; })) return;
  }
}

}  // namespace pgstack::agent
