#include "controller/scheduler.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace pgstack::controller {

std::string member_name(const std::string& cluster, int index) { return fmt::format("{}-{}", cluster, index); }

SchedulingResult schedule_cluster(const SchedulingRequest& request, const PortBases& bases) {
  SchedulingResult result;
  const std::string cluster_key = request.namespace_name + "/" + request.cluster;
  std::vector<Placement> mine;
  for (const auto& placement : request.existing) {
    if (placement.cluster_key == cluster_key) mine.push_back(placement);
  }
  std::sort(mine.begin(), mine.end(), [](const Placement& a, const Placement& b) { return a.index < b.index; });

  // Scale down: replicas go first, those on leaving hosts first, then the highest index; the primary stays.
  while (static_cast<int>(mine.size()) > request.instances) {
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
  for (auto& placement : mine) {
    if (placement.ports.exporter == 0)
      placement.ports.exporter = bases.exporter + placement.ports.postgres - bases.postgres;
  }
  result.keep = mine;
  if (static_cast<int>(mine.size()) >= request.instances) return result;
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

  int next_index = 0;
  while (static_cast<int>(mine.size() + result.add.size()) < request.instances) {
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
