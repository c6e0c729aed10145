// Patroni's keys in etcd (its DCS). pgstack gives each of its namespaces a Patroni `namespace`
// (<prefix>/patroni/<ns>/) and each cluster is a Patroni scope in it, so a cluster's keys are
// <prefix>/patroni/<ns>/<cluster>/{leader, members/<member>, config, sync, status, ...}.
#pragma once

#include <string>
#include <string_view>

namespace pgstack::patroni {

// Patroni's `namespace` setting for the clusters of a pgstack namespace: <prefix>/patroni/<ns>/
std::string dcs_namespace(std::string_view etcd_prefix, std::string_view namespace_name);
// <prefix>/patroni/<ns>/<cluster>/
std::string cluster_prefix(std::string_view etcd_prefix, std::string_view namespace_name, std::string_view cluster);
// <prefix>/patroni/<ns>/<cluster>/leader: the leader's member name, under the leader's lease.
std::string leader_key(std::string_view etcd_prefix, std::string_view namespace_name, std::string_view cluster);
// <prefix>/patroni/<ns>/<cluster>/history: Patroni's record of timeline switches,
// [[timeline, lsn, reason, timestamp, new leader], ...], written by the member it promotes.
std::string history_key(std::string_view etcd_prefix, std::string_view namespace_name, std::string_view cluster);

enum class DcsKey {
  kLeader,        // leader
  kMember,        // members/<name>: the member record (member.h)
  kConfig,        // config: the dynamic configuration
  kSync,          // sync: {"leader", "sync_standby": "a,b"} in synchronous modes
  kLeaderOptime,  // status ({"optime": ...}) or, from older Patroni, optime/leader
  kOther,
};

struct DcsEntry {
  DcsKey kind = DcsKey::kOther;
  std::string member;  // kMember: the member's name
};

// What a key of a cluster is; `relative` is the key without cluster_prefix().
DcsEntry classify_key(std::string_view relative);

}  // namespace pgstack::patroni
