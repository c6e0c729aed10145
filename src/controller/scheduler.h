// Placement of a cluster's members on hosts, and of each member's ports on its host. Pure: the
// reconciler reads hosts and assignments from etcd and writes back what this decides.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pgstack::controller {

struct MemberPorts {
  int postgres = 0;
  int pgbouncer = 0;
  int patroni = 0;
  int exporter = 0;  // postgres_exporter's /metrics (0: an assignment from before it had one)
  bool operator==(const MemberPorts&) const = default;
};

struct PortBases {
  int postgres = 15432;
  int pgbouncer = 16432;
  int patroni = 18008;
  int exporter = 19187;  // postgres_exporter, one per member
  int slots = 500;       // members per host at most
  // pgstack-proxy, per cluster (the same ports on every host that runs one of its members):
  // read-write at proxy + 2 * slot, read-only at proxy + 2 * slot + 1, admin HTTP at proxy_admin + slot.
  int proxy = 14432;
  int proxy_admin = 17432;
};

struct ProxyPorts {
  int read_write = 0;
  int read_only = 0;
  int admin = 0;
  bool operator==(const ProxyPorts&) const = default;
};

struct Placement {
  std::string cluster_key;  // "<ns>/<cluster>"
  std::string member;       // "<cluster>-<index>"
  int index = 0;
  std::string host;
  MemberPorts ports;
  bool operator==(const Placement&) const = default;
};

struct SchedulingRequest {
  std::string namespace_name;
  std::string cluster;
  int instances = 1;
  std::optional<std::string> primary_member;  // never removed when scaling down
  std::vector<std::string> hosts;             // registered, alive, with the labels the cluster selects
  std::vector<Placement> existing;            // every placement on every host (all clusters)
  std::string no_host_reason;                 // why `hosts` is empty when some are registered
  // Hosts being drained (pgstack host drain) or lost past the grace period: their replicas move to `hosts`
  // while a primary runs (`primary_member`); the primary stays until a switchover has made it a replica.
  // Never in `hosts`.
  std::set<std::string> leaving_hosts;
  // Members Patroni reports running (streaming, for a replica), and its synchronous standbys: a replica
  // moves to a host that has none of the cluster's members only while every member is ready.
  std::set<std::string> ready_members;
  std::set<std::string> sync_standbys;
};

struct SchedulingResult {
  std::vector<Placement> keep;    // this cluster's placements that stay
  std::vector<Placement> add;     // new members
  std::vector<Placement> remove;  // members to stop (scale down, or moved off a leaving host)
  std::vector<Placement> moved;   // of `remove`, those replaced by a new member on another host
  bool spreading = false;         // `moved` holds a replica that leaves a shared host for an empty one
  bool surge = false;             // one member more than asked for: a single member's drain under way
  std::string problem;            // why nothing could be placed (no hosts, no free ports)
};

// Moves replicas off leaving hosts (each replaced by a new member, under a new name so that the
// old one, if its host still runs it, is never mistaken for the new); otherwise keeps existing members
// where they are, but for one replica at a time that shares a host with another member while an
// eligible host has none (hosts that joined after the cluster was placed); scales down by removing replicas, highest
// index first; scales up with the lowest free indices on the host with the fewest members of this cluster, then the
// fewest members overall; gives each new member the lowest port slot free on its host. Existing placements without an
// exporter port get their slot's.
SchedulingResult schedule_cluster(const SchedulingRequest& request, const PortBases& bases = {});

// A cluster keeps the proxy ports it has (`in_use` holds every cluster's, read back from the
// assignments); a new one takes the lowest slot no other cluster uses. Nothing when all slots are taken.
std::optional<ProxyPorts> proxy_ports_for(const std::string& cluster_key,
                                          const std::map<std::string, ProxyPorts>& in_use, const PortBases& bases = {});

std::string member_name(const std::string& cluster, int index);

// Since when each lost host (members placed on it, no registration) has been seen lost.
using LostHosts = std::map<std::string, std::chrono::steady_clock::time_point>;

// Updates `lost` from this pass (`registered` hosts, every `placements`; a host registered again or
// without members is forgotten) and returns those lost for `grace` or longer. grace 0: none.
std::set<std::string> hosts_lost_past(const std::set<std::string>& registered, const std::vector<Placement>& placements,
                                      LostHosts& lost, std::chrono::steady_clock::time_point now,
                                      std::chrono::seconds grace);

}  // namespace pgstack::controller
