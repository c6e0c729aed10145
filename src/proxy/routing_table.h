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

namespace pgstack::proxy {

// One member as Patroni describes it in <dcs_prefix>members/<name>.
struct MemberInfo {
  std::string name;
  std::string host;  // from conn_url
  std::uint16_t postgres_port = 0;
  std::string api_url;  // http://host:port/patroni
  std::string role;     // master, primary, replica, sync_standby, standby_leader...
  std::string state;    // running, streaming, starting, stopped...
  std::optional<std::uint64_t> xlog_location;
  int timeline = 0;
};

// Parses a member key's value; fails when conn_url is missing or not postgres://host:port/...
Result<MemberInfo> parse_member(std::string_view name, std::string_view json_text);
// "postgres://127.0.0.1:15432/postgres" -> host and port.
Result<std::pair<std::string, std::uint16_t>> parse_conn_url(std::string_view conn_url);
// Patroni's REST base ("http://h:p") from its api_url ("http://h:p/patroni").
std::string patroni_base_url(std::string_view api_url);

// What the last REST checks said; kUnknown until the first answer (and with REST checks off).
enum class Check { kUnknown, kPass, kFail };

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
  std::optional<RouteTarget> primary;
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

// Patroni writes WAL positions as integers ("xlog_location": 50331968, optime "50331968"); Postgres'
// "X/Y" text is read too (model::parse_lsn).
std::optional<std::uint64_t> parse_patroni_lsn(std::string_view text);

}  // namespace pgstack::proxy
