#include "proxy/routing_table.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/network.h"
#include "common/strings.h"
#include "model/lsn.h"
#include "patroni/roles.h"

namespace pgstack::proxy {
namespace {

// Read-write traffic goes only to a leader that accepts writes: a standby cluster's standby_leader
// holds the leader key too, but is read-only (the controller's status still calls it the primary).
bool is_primary_role(std::string_view role) { return patroni::is_writable_role(role); }
bool is_replica_role(std::string_view role) { return patroni::is_replica_role(role); }

}  // namespace

Result<std::pair<std::string, std::uint16_t>> parse_conn_url(std::string_view conn_url) {
  std::string_view rest = conn_url;
  for (std::string_view scheme : {"postgres://", "postgresql://"}) {
    if (rest.rfind(scheme, 0) == 0) {
      rest.remove_prefix(scheme.size());
      break;
    }
  }
  if (rest.size() == conn_url.size()) {
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("conn_url \"{}\": expected postgres://HOST:PORT/...", conn_url));
  }
  rest = rest.substr(0, rest.find_first_of("/?"));
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  std::string host;
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos)
      return make_error(ErrorCode::kInvalidInput, fmt::format("conn_url \"{}\": unclosed [", conn_url));
    host = std::string(rest.substr(1, close - 1));
    if (close + 1 < rest.size() && rest[close + 1] == ':') port_text = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
  }
  if (host.empty()) return make_error(ErrorCode::kInvalidInput, fmt::format("conn_url \"{}\": no host", conn_url));
  std::uint16_t port = 5432;
  if (!port_text.empty()) {
    const auto parsed = parse_port(port_text);
    if (!parsed || *parsed == 0) {
      return make_error(ErrorCode::kInvalidInput, fmt::format("conn_url \"{}\": bad port", conn_url));
    }
    port = *parsed;
  }
  return std::pair<std::string, std::uint16_t>(host, port);
}

Result<MemberInfo> parse_member(std::string_view name, std::string_view json_text) {
  auto record = patroni::parse_member(name, json_text);
  if (!record) return record.error();
  if (record->conn_url.empty())
    return make_error(ErrorCode::kInvalidInput, fmt::format("member {}: conn_url is missing", name));
  auto endpoint = parse_conn_url(record->conn_url);
  if (!endpoint)
    return make_error(ErrorCode::kInvalidInput, fmt::format("member {}: {}", name, endpoint.error().message));
  MemberInfo member;
  static_cast<patroni::Member&>(member) = std::move(record).value();
  member.host = endpoint->first;
  member.postgres_port = endpoint->second;
  return member;
}

RoutingSnapshot compute_routes(const RoutingInputs& inputs, const RoutingPolicy& policy) {
  RoutingSnapshot snapshot;
  auto health_of = [&](const std::string& name) {
    const auto found = inputs.health.find(name);
    return found == inputs.health.end() ? MemberHealth{} : found->second;
  };

  // The leader key names the primary; Patroni's own REST answer confirms it (the member key's role
  // lags behind a promotion by up to a loop_wait, so it is not required).
  if (inputs.leader) {
    snapshot.leader = *inputs.leader;
    const auto member = inputs.members.find(*inputs.leader);
    if (member != inputs.members.end()) {
      const RouteTarget target{member->first, member->second.host, member->second.postgres_port};
      const Check check = health_of(member->first).primary;
      if (!policy.require_rest_confirmation || check == Check::kPass) snapshot.primary = target;
      if (snapshot.primary || (check == Check::kNoAnswer && is_primary_role(member->second.role)))
        snapshot.primary_for_open_sessions = target;
    }
  }

  std::optional<std::uint64_t> leader_lsn = inputs.leader_optime;
  if (inputs.leader) {
    if (const auto member = inputs.members.find(*inputs.leader); member != inputs.members.end()) {
      if (member->second.xlog_location && (!leader_lsn || *member->second.xlog_location > *leader_lsn)) {
        leader_lsn = member->second.xlog_location;
      }
    }
  }

  for (const auto& [name, member] : inputs.members) {
    if (snapshot.primary && snapshot.primary->member == name) continue;
    if (inputs.leader && *inputs.leader == name) {
      snapshot.skipped[name] = health_of(name).primary == Check::kNoAnswer
                                   ? "holds the leader key but its Patroni does not answer"
                                   : "holds the leader key but is not confirmed as primary";
      continue;
    }
    if (is_primary_role(member.role)) {
      snapshot.skipped[name] = "reports role " + member.role + " without the leader key";
      continue;
    }
    if (!member.role.empty() && !is_replica_role(member.role)) {
      snapshot.skipped[name] = "role " + member.role;
      continue;
    }
    if (!member.state.empty() && member.state != "running" && member.state != "streaming") {
      snapshot.skipped[name] = "state " + member.state;
      continue;
    }
    if (leader_lsn && member.xlog_location && *leader_lsn > *member.xlog_location &&
        *leader_lsn - *member.xlog_location > policy.max_replica_lag_bytes) {
      snapshot.skipped[name] = fmt::format("lags {} bytes behind the leader", *leader_lsn - *member.xlog_location);
      continue;
    }
    if (policy.require_rest_confirmation && health_of(name).replica != Check::kPass) {
      snapshot.skipped[name] = health_of(name).replica == Check::kFail
                                   ? "Patroni /replica?lag check fails (unhealthy or lagging)"
                                   : "not yet confirmed by Patroni /replica";
      continue;
    }
    snapshot.replicas.push_back(RouteTarget{name, member.host, member.postgres_port});
  }
  return snapshot;
}

std::optional<RouteTarget> choose_read_target(const RoutingSnapshot& snapshot, const ConnectionCounts& counts,
                                              std::uint64_t tiebreak) {
  if (snapshot.replicas.empty()) return snapshot.primary;
  std::int64_t least = INT64_MAX;
  std::vector<const RouteTarget*> best;
  for (const auto& replica : snapshot.replicas) {
    const auto active = counts.active(replica.member);
    if (active < least) {
      least = active;
      best.clear();
    }
    if (active == least) best.push_back(&replica);
  }
  return *best[tiebreak % best.size()];
}

}  // namespace pgstack::proxy
