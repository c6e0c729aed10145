#include "controller/scheduler.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

namespace pgstack::controller {

std::string member_name(const std::string& cluster, int index) { return fmt::format("{}-{}", cluster, index); }

namespace {

// Which of `mine` (the cluster's members, its primary among them, none leaving) to move so that the
// members cover more hosts: a replica on a host with another member, when some eligible host has none.
// Only while every member is ready, so that at most one member of the cluster is being rebuilt; a
// replica that is not a synchronous standby first, then the highest index. A synchronous standby moves
// only when another ready replica stays to take its place (Patroni accepts no other candidate).
std::optional<std::size_t> replica_to_spread(const SchedulingRequest& request, const std::vector<Placement>& mine) {
  if (mine.size() < 2) return std::nullopt;
  std::map<std::string, int> members_on;
  bool has_primary = false;
  for (const auto& placement : mine) {
    if (request.ready_members.count(placement.member) == 0) return std::nullopt;
    ++members_on[placement.host];
    has_primary = has_primary || placement.member == *request.primary_member;
  }
  const bool empty_host_exists = std::any_of(request.hosts.begin(), request.hosts.end(),
                                             [&](const std::string& host) { return members_on.count(host) == 0; });
  if (!has_primary || !empty_host_exists) return std::nullopt;
  const std::size_t other_replicas = mine.size() - 2;  // besides the primary and the one that moves
  std::optional<std::size_t> pick;
  bool pick_sync = false;
  for (std::size_t i = 0; i < mine.size(); ++i) {
    const Placement& placement = mine[i];
    if (placement.member == *request.primary_member || members_on[placement.host] < 2) continue;
    const bool sync = request.sync_standbys.count(placement.member) > 0;
    if (sync && other_replicas == 0) continue;
    // Not a synchronous standby first; sorted ascending, so a later one of the same kind has the higher index.
    if (pick && !pick_sync && sync) continue;
    pick = i;
    pick_sync = sync;
  }
  return pick;
}

}  // namespace

SchedulingResult schedule_cluster(const SchedulingRequest& request, const PortBases& bases) {
  SchedulingResult result;
  const std::string cluster_key = request.namespace_name + "/" + request.cluster;
  std::vector<Placement> mine;
  for (const auto& placement : request.existing) {
    if (placement.cluster_key == cluster_key) mine.push_back(placement);
  }
  std::sort(mine.begin(), mine.end(), [](const Placement& a, const Placement& b) { return a.index < b.index; });

  // A single member on a leaving host has no replica to hand over to: one more member comes first on
  // another host (a surge); once the switchover has made it the primary, the old one is a replica on the
  // leaving host and goes like any other.
  int instances = request.instances;
  const bool lone_primary_leaving = mine.size() == 1 && request.primary_member &&
                                    mine[0].member == *request.primary_member &&
                                    request.leaving_hosts.count(mine[0].host) > 0;
  const bool surge_member_placed =
      mine.size() == 2 && request.instances == 1 && request.primary_member &&
      std::any_of(mine.begin(), mine.end(), [&](const Placement& placement) {
        return placement.member == *request.primary_member && request.leaving_hosts.count(placement.host) > 0;
      });
  if (request.instances == 1 && !request.hosts.empty() && (lone_primary_leaving || surge_member_placed)) {
    instances = 2;
    result.surge = true;
  }

  // Scale down: replicas go first, those on leaving hosts first, then the highest index; the primary stays.
  while (static_cast<int>(mine.size()) > instances) {
    auto victim = mine.end();
    for (auto it = mine.begin(); it != mine.end(); ++it) {
      if (request.primary_member && it->member == *request.primary_member) continue;
      const bool leaving = request.leaving_hosts.count(it->host) > 0;
      // sorted ascending: the last one seen is the highest index
      if (victim == mine.end() || leaving || request.leaving_hosts.count(victim->host) == 0) victim = it;
    }
    if (victim == mine.end()) break;
    result.remove.push_back(*victim);
    mine.erase(victim);
  }
  // Drained hosts: their replicas go (and come back elsewhere below) when another host can take them and a
  // primary runs to build the new member from. Without a leader (a single member on a lost host, or an
  // election under way) a new member would have nothing to copy: the old one stays.
  std::set<int> retired_indices;
  if (!request.hosts.empty() && request.primary_member) {
    for (auto it = mine.begin(); it != mine.end();) {
      const bool primary = request.primary_member && it->member == *request.primary_member;
      if (request.leaving_hosts.count(it->host) == 0 || primary) {
        ++it;
        continue;
      }
      retired_indices.insert(it->index);
      result.remove.push_back(*it);
      result.moved.push_back(*it);
      it = mine.erase(it);
    }
  }
  if (result.remove.empty() && request.primary_member && static_cast<int>(mine.size()) == instances) {
    if (const auto spread = replica_to_spread(request, mine)) {
      retired_indices.insert(mine[*spread].index);
      result.remove.push_back(mine[*spread]);
      result.moved.push_back(mine[*spread]);
      result.spreading = true;
      mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(*spread));
    }
  }
  for (auto& placement : mine) {
    if (placement.ports.exporter == 0)
      placement.ports.exporter = bases.exporter + placement.ports.postgres - bases.postgres;
  }
  result.keep = mine;
  if (static_cast<int>(mine.size()) >= instances) return result;
  if (request.hosts.empty()) {
    result.problem = request.no_host_reason.empty() ? "no pgstack-agent has registered a host" : request.no_host_reason;
    return result;
  }

  std::set<int> used_indices = retired_indices;
  for (const auto& placement : mine) used_indices.insert(placement.index);
  std::map<std::string, std::set<int>> used_slots;  // host -> port slots taken (every cluster)
  std::map<std::string, int> members_on_host;
  std::map<std::string, int> cluster_members_on_host;
  for (const auto& placement : request.existing) {
    used_slots[placement.host].insert(placement.ports.postgres - bases.postgres);
    ++members_on_host[placement.host];
    if (placement.cluster_key == cluster_key) ++cluster_members_on_host[placement.host];
  }
  for (const auto& removed : result.remove) {
    used_slots[removed.host].erase(removed.ports.postgres - bases.postgres);
    --members_on_host[removed.host];
    --cluster_members_on_host[removed.host];
  }

  // A member that replaces a moved one takes a name above every name in use or just retired: the host
  // it left, or one that comes back, may still hold the data of a lower one.
  int next_index = 0;
  if (!result.moved.empty()) next_index = *used_indices.rbegin() + 1;
  while (static_cast<int>(mine.size() + result.add.size()) < instances) {
    while (used_indices.count(next_index) > 0) ++next_index;
    // Spread: the host with the fewest members of this cluster, then the fewest overall, then by name.
    const std::string* best = nullptr;
    for (const auto& host : request.hosts) {
      if (best == nullptr || std::make_tuple(cluster_members_on_host[host], members_on_host[host], host) <
                                 std::make_tuple(cluster_members_on_host[*best], members_on_host[*best], *best))
        best = &host;
    }
    int slot = 0;
    while (slot < bases.slots && used_slots[*best].count(slot) > 0) ++slot;
    if (slot == bases.slots) {
      result.problem = fmt::format("host {} has no free port slot left ({} members)", *best, bases.slots);
      break;
    }
    Placement placement{cluster_key,
                        member_name(request.cluster, next_index),
                        next_index,
                        *best,
                        {bases.postgres + slot, bases.pgbouncer + slot, bases.patroni + slot, bases.exporter + slot}};
    used_indices.insert(next_index);
    used_slots[*best].insert(slot);
    ++members_on_host[*best];
    ++cluster_members_on_host[*best];
    result.add.push_back(placement);
  }
  return result;
}

std::set<std::string> hosts_lost_past(const std::set<std::string>& registered, const std::vector<Placement>& placements,
                                      LostHosts& lost, std::chrono::steady_clock::time_point now,
                                      std::chrono::seconds grace) {
  std::set<std::string> lost_now;
  for (const auto& placement : placements) {
    if (registered.count(placement.host) == 0) lost_now.insert(placement.host);
  }
  for (auto it = lost.begin(); it != lost.end();) it = lost_now.count(it->first) > 0 ? std::next(it) : lost.erase(it);
  std::set<std::string> past;
  for (const auto& host : lost_now) {
    const auto since = lost.emplace(host, now).first->second;
    if (grace.count() > 0 && now - since >= grace) past.insert(host);
  }
  return past;
}

std::optional<ProxyPorts> proxy_ports_for(const std::string& cluster_key,
                                          const std::map<std::string, ProxyPorts>& in_use, const PortBases& bases) {
  if (const auto found = in_use.find(cluster_key); found != in_use.end() && found->second.read_write != 0)
    return found->second;
  std::set<int> taken;
  for (const auto& [key, ports] : in_use) {
    if (ports.read_write != 0) taken.insert((ports.read_write - bases.proxy) / 2);
  }
  for (int slot = 0; slot < bases.slots; ++slot) {
    if (taken.count(slot) == 0)
      return ProxyPorts{bases.proxy + 2 * slot, bases.proxy + 2 * slot + 1, bases.proxy_admin + slot};
  }
  return std::nullopt;
}

}  // namespace pgstack::controller
