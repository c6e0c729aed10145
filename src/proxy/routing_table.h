// Which member serves a new connection: pure decisions from what Patroni wrote to etcd (leader key,
// member JSON) and what its REST health endpoints answered. No I/O; ClusterRouter feeds it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "patroni/member.h"

namespace pgstack::proxy {

// One member as Patroni describes it in <dcs_prefix>members/<name> (patroni/member.h), with the
// address its conn_url names, where connections are routed.
struct MemberInfo : patroni::Member {
  std::string host;
  std::uint16_t postgres_port = 0;
};

// Parses a member key's value; fails when conn_url is missing or not postgres://host:port/...
Result<MemberInfo> parse_member(std::string_view name, std::string_view json_text);
// "postgres://127.0.0.1:15432/postgres" -> host and port.
Result<std::pair<std::string, std::uint16_t>> parse_conn_url(std::string_view conn_url);

// What the last REST checks said; kUnknown until the first answer (and with REST checks off).
// kNoAnswer: a member that passed stopped answering (timeouts, refused connections) without saying
// anything else: no proof that its role changed, only that this proxy cannot reach it now.
enum class Check { kUnknown, kPass, kFail, kNoAnswer };

struct MemberHealth {
  Check primary = Check::kUnknown;  // GET /primary
  Check replica = Check::kUnknown;  // GET /replica?lag=<max_replica_lag_bytes>
};

struct RoutingPolicy {
  bool require_rest_confirmation = true;
  std::uint64_t max_replica_lag_bytes = 16 * 1024 * 1024;
};

struct RouteTarget {
  std::string member;
  std::string host;
  std::uint16_t postgres_port = 0;
  bool operator==(const RouteTarget&) const = default;
};

// The decision for one cluster at one moment; immutable once published.
struct RoutingSnapshot {
  std::uint64_t generation = 0;
  std::optional<RouteTarget> primary;  // where new read-write connections go
  // Where open read-write sessions may stay: the confirmed primary, or the leader whose checks went
  // unanswered while its keys still call it primary. A lossy link is no proof of a role change (ending
  // its sessions would fail their transactions for nothing), and a dead primary's sessions end by
  // themselves; a definite answer (Patroni says it is not primary) or a new leader ends them.
  std::optional<RouteTarget> primary_for_open_sessions;
  std::vector<RouteTarget> replicas;           // healthy, not lagging
  std::map<std::string, std::string> skipped;  // member -> why it takes no reads
  std::string leader;                          // the leader key as read, even when unconfirmed
};

struct RoutingInputs {
  std::optional<std::string> leader;          // value of <dcs_prefix>leader
  std::map<std::string, MemberInfo> members;  // by name
  std::map<std::string, MemberHealth> health;
  std::optional<std::uint64_t> leader_optime;  // from <dcs_prefix>status or optime/leader, if present
};

RoutingSnapshot compute_routes(const RoutingInputs& inputs, const RoutingPolicy& policy);

// Least connections among the replicas; ties go round-robin by `tiebreak`. Falls back to the primary
// when no replica is healthy; nullopt when there is neither.
struct ConnectionCounts {
  virtual ~ConnectionCounts() = default;
  virtual std::int64_t active(std::string_view member) const = 0;
};
std::optional<RouteTarget> choose_read_target(const RoutingSnapshot& snapshot, const ConnectionCounts& counts,
                                              std::uint64_t tiebreak);

// Patroni writes LSNs as integers in member JSON ("xlog_location": 50331968).
using patroni::parse_lsn;

}  // namespace pgstack::proxy
