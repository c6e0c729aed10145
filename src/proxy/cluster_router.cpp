#include "proxy/cluster_router.h"

#include <algorithm>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/http_client.h"
#include "patroni/dcs.h"
#include "patroni/rest.h"
#include "store/keys.h"

namespace pgstack::proxy {
namespace {

constexpr int kReloadEveryLoops = 10;          // a full read now and then repairs anything a watch missed
constexpr std::size_t kKeptSavedOutages = 50;  // per cluster in etcd, every proxy's together

std::string random_proxy_id() {
  std::random_device random;
  return fmt::format("{:08x}", random());
}

}  // namespace

std::shared_ptr<std::atomic<std::int64_t>> MemberConnectionCounts::counter(const std::string& member) {
  std::lock_guard lock(mutex_);
  auto& slot = counters_[member];
  if (!slot) slot = std::make_shared<std::atomic<std::int64_t>>(0);
  return slot;
}

std::int64_t MemberConnectionCounts::active(std::string_view member) const {
  std::lock_guard lock(mutex_);
  const auto found = counters_.find(member);
  return found == counters_.end() ? 0 : found->second->load();
}

std::map<std::string, std::int64_t> MemberConnectionCounts::all() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::int64_t> out;
  for (const auto& [name, counter] : counters_) out[name] = counter->load();
  return out;
}

ClusterRouter::ClusterRouter(ClusterConfig cluster, HealthConfig health, std::vector<std::string> etcd_endpoints,
                             const std::string& etcd_prefix, ChangeCallback on_change)
    : cluster_(std::move(cluster)),
      health_(health),
      policy_{health.patroni_rest, cluster_.max_replica_lag_bytes},
      etcd_(std::move(etcd_endpoints), health.timeout),
      on_change_(std::move(on_change)),
      outages_prefix_(store::keys::outages_prefix(etcd_prefix, cluster_.namespace_name, cluster_.name)),
      proxy_id_(random_proxy_id()),
      snapshot_(std::make_shared<RoutingSnapshot>()) {}

ClusterRouter::~ClusterRouter() { stop(); }

void ClusterRouter::use_fixed_routes(RoutingSnapshot snapshot) {
  std::lock_guard lock(mutex_);
  snapshot.generation = ++generation_;
  snapshot_ = std::make_shared<const RoutingSnapshot>(std::move(snapshot));
  fixed_ = true;
}

void ClusterRouter::start() {
  if (!fixed_) thread_ = std::thread([this] { run(); });
}

void ClusterRouter::stop() {
  stopping_ = true;
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (watch_) watch_->stop();
  watch_.reset();
}

std::shared_ptr<const RoutingSnapshot> ClusterRouter::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

void ClusterRouter::poke() {
  dirty_ = true;
  wake_.notify_all();
}

void ClusterRouter::run() {
  bool loaded = false;
  int loops = 0;
  while (!stopping_) {
    const bool reload_due =
        !loaded ? std::chrono::steady_clock::now() >= next_reload_ : ++loops % kReloadEveryLoops == 0;
    if (reload_due) loaded = reload() || loaded;
    dirty_ = false;
    if (loaded) check_health();
    publish();
    if (loaded) save_outages();
    std::unique_lock lock(wake_mutex_);
    wake_.wait_for(lock, health_.interval, [this] { return stopping_.load() || dirty_.load(); });
  }
}

bool ClusterRouter::reload() {
  auto range = etcd_.get_prefix(cluster_.dcs_prefix);
  if (!range) {
    if (range.error().message != reload_error_)
      spdlog::warn(
          "cluster {}: cannot read {} from etcd (retried every {} ms, said again only when the error "
          "changes): {}",
          cluster_.name, cluster_.dcs_prefix, health_.interval.count(), range.error().message);
    reload_error_ = range.error().message;
    next_reload_ = std::chrono::steady_clock::now() + health_.interval;
    return false;
  }
  if (!reload_error_.empty()) spdlog::info("cluster {}: read {} from etcd again", cluster_.name, cluster_.dcs_prefix);
  reload_error_.clear();
  {
    std::lock_guard lock(mutex_);
    const auto health = inputs_.health;
    inputs_ = RoutingInputs{};
    inputs_.health = health;
    for (const auto& kv : range->items) apply(kv.key, &kv.value);
  }
  if (!watch_) {
    watch_ = etcd_.watch_prefix(cluster_.dcs_prefix, range->revision + 1,
                                [this](const std::vector<store::WatchEvent>& events) { on_watch(events); });
  }
  return true;
}

void ClusterRouter::on_watch(const std::vector<store::WatchEvent>& events) {
  {
    std::lock_guard lock(mutex_);
    for (const auto& event : events) {
      apply(event.kv.key, event.type == store::WatchEventType::kPut ? &event.kv.value : nullptr);
    }
  }
  // Publish at once what etcd alone decides (a lost leader key), then let the checks confirm the rest.
  publish();
  poke();
}

void ClusterRouter::apply(const std::string& key, const std::string* value) {
  if (key.rfind(cluster_.dcs_prefix, 0) != 0) return;
  const patroni::DcsEntry entry = patroni::classify_key(std::string_view(key).substr(cluster_.dcs_prefix.size()));
  if (entry.kind == patroni::DcsKey::kLeader) {
    if (value)
      inputs_.leader = *value;
    else
      inputs_.leader.reset();
  } else if (entry.kind == patroni::DcsKey::kMember) {
    const std::string& name = entry.member;
    if (!value) {
      inputs_.members.erase(name);
      inputs_.health.erase(name);
      return;
    }
    auto member = parse_member(name, *value);
    if (!member) {
      spdlog::warn("cluster {}: ignoring {}: {}", cluster_.name, key, member.error().message);
      inputs_.members.erase(name);
      return;
    }
    inputs_.members[name] = std::move(member).value();
  } else if (entry.kind == patroni::DcsKey::kLeaderOptime) {
    inputs_.leader_optime.reset();
    if (!value) return;
    const auto json = nlohmann::json::parse(*value, nullptr, false);
    if (json.is_object() && json.contains("optime") && json["optime"].is_number_unsigned()) {
      inputs_.leader_optime = json["optime"].get<std::uint64_t>();
    } else if (json.is_number_unsigned()) {
      inputs_.leader_optime = json.get<std::uint64_t>();
    } else if (auto lsn = parse_lsn(*value)) {
      inputs_.leader_optime = lsn;
    }
  }
}

void ClusterRouter::check_health() {
  if (!health_.patroni_rest) return;
  std::map<std::string, MemberInfo> members;
  std::optional<std::string> leader;
  {
    std::lock_guard lock(mutex_);
    members = inputs_.members;
    leader = inputs_.leader;
  }
  for (const auto& [name, member] : members) {
    if (stopping_) return;
    if (member.api_url.empty()) continue;
    const bool is_leader = leader && *leader == name;
    // The leader is asked whether it is primary; the others whether they are healthy replicas within lag.
    const std::string url = is_leader ? patroni::primary_check_url(member.api_url)
                                      : patroni::replica_check_url(member.api_url, cluster_.max_replica_lag_bytes);
    const auto response = http_request("GET", url, {}, {}, health_.timeout);
    const bool pass = response.ok() && response->status == 200;
    std::lock_guard lock(mutex_);
    auto& health = inputs_.health[name];
    int& failures = failures_[name];
    Check& check = is_leader ? health.primary : health.replica;
    (is_leader ? health.replica : health.primary) = Check::kFail;
    if (is_leader) {
      if (pass) {
        outages_.check_passed(name);
      } else {
        outages_.check_failed(name, std::chrono::system_clock::now());
      }
    }
    if (pass) {
      failures = 0;
      check = Check::kPass;
    } else if (++failures >= health_.fall || check != Check::kPass) {
      // A member that passed keeps its role for `fall` checks; one never seen passing fails at once.
      // Silence from one that passed is no answer, not a failure (routing_table.h: kNoAnswer).
      const bool passed_before = check == Check::kPass || check == Check::kNoAnswer;
      check = passed_before && !response.ok() ? Check::kNoAnswer : Check::kFail;
    }
  }
}

void ClusterRouter::save_outages() {
  std::vector<PrimaryOutage> unsaved;
  {
    std::lock_guard lock(mutex_);
    unsaved = outages_.unsaved();
  }
  if (unsaved.empty()) return;
  std::size_t saved = 0;
  std::string error;
  for (const auto& outage : unsaved) {
    const auto ended = std::chrono::duration_cast<std::chrono::milliseconds>(outage.ended.time_since_epoch()).count();
    // Keys sort by when the outage ended, so trimming drops the oldest.
    const std::string key = fmt::format("{}{:013d}-{}", outages_prefix_, ended, proxy_id_);
    if (auto written = etcd_.put(key, to_json(outage).dump()); !written.ok()) {
      error = written.error().message;
      break;
    }
    ++saved;
  }
  {
    std::lock_guard lock(mutex_);
    outages_.mark_saved(saved);
  }
  if (error.empty() && saved > 0) {
    auto kept = etcd_.get_prefix(outages_prefix_);
    if (!kept.ok()) {
      error = kept.error().message;
    } else if (kept->items.size() > kKeptSavedOutages) {
      std::vector<std::string> keys;
      for (const auto& item : kept->items) keys.push_back(item.key);
      std::sort(keys.begin(), keys.end());
      for (std::size_t i = 0; i + kKeptSavedOutages < keys.size() && error.empty(); ++i) {
        if (auto removed = etcd_.remove(keys[i]); !removed.ok()) error = removed.error().message;
      }
    }
  }
  if (!error.empty() && error != save_error_) {
    spdlog::warn("cluster {}: cannot save a read-write outage under {} in etcd (tried again every {} ms): {}",
                 cluster_.name, outages_prefix_, health_.interval.count(), error);
  }
  save_error_ = error;
}

nlohmann::json ClusterRouter::outages() const {
  std::lock_guard lock(mutex_);
  return outages_.to_json();
}

void ClusterRouter::publish() {
  std::shared_ptr<const RoutingSnapshot> changed;
  {
    std::lock_guard lock(mutex_);
    auto next = compute_routes(inputs_, policy_);
    outages_.observe(next.primary ? std::optional<std::string>(next.primary->member) : std::nullopt,
                     std::chrono::system_clock::now());
    if (next.primary == snapshot_->primary && next.primary_for_open_sessions == snapshot_->primary_for_open_sessions &&
        next.replicas == snapshot_->replicas && next.skipped == snapshot_->skipped &&
        next.leader == snapshot_->leader) {
      return;
    }
    next.generation = ++generation_;
    const bool routes_changed = next.primary != snapshot_->primary ||
                                next.primary_for_open_sessions != snapshot_->primary_for_open_sessions ||
                                next.replicas != snapshot_->replicas;
    snapshot_ = std::make_shared<const RoutingSnapshot>(std::move(next));
    if (routes_changed) changed = snapshot_;
  }
  if (!changed) return;
  std::string replicas;
  for (const auto& replica : changed->replicas) replicas += (replicas.empty() ? "" : ",") + replica.member;
  spdlog::info("cluster {}: primary {}, readable replicas [{}]", cluster_.name,
               changed->primary ? changed->primary->member : "<none>", replicas);
  if (on_change_) on_change_(cluster_.name, *changed);
}

}  // namespace pgstack::proxy
