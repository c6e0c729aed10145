#include "controller/patroni_client.h"

#include <algorithm>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/http_client.h"
#include "common/strings.h"
#include "common/time.h"
#include "controller/cluster_history.h"
#include "patroni/dcs.h"
#include "patroni/rest.h"
#include "patroni/roles.h"
#include "store/keys.h"

namespace pgstack::controller {
namespace {

using model::Json;

HttpHeaders unsafe_request_headers(const PatroniMember& member) {
  HttpHeaders headers = {{"Content-Type", "application/json"}};
  if (!member.api_authorization.empty()) headers.emplace_back("Authorization", member.api_authorization);
  return headers;
}

}  // namespace

Result<ClusterTopology> read_topology(const store::EtcdClient& etcd, const std::string& etcd_prefix,
                                      const std::string& ns, const std::string& cluster) {
  const std::string prefix = patroni::cluster_prefix(etcd_prefix, ns, cluster);
  auto range = etcd.get_prefix(prefix);
  if (!range.ok()) return range.error();
  ClusterTopology topology;
  for (const auto& kv : range->items) {
    const patroni::DcsEntry entry = patroni::classify_key(std::string_view(kv.key).substr(prefix.size()));
    if (entry.kind == patroni::DcsKey::kLeader) {
      topology.leader = kv.value;
    } else if (entry.kind == patroni::DcsKey::kMember) {
      topology.members[entry.member] = parse_patroni_member(entry.member, kv.value);
    } else if (entry.kind == patroni::DcsKey::kSync) {
      const Json sync = Json::parse(kv.value, nullptr, false);
      if (sync.is_object() && sync.contains("sync_standby") && sync["sync_standby"].is_string()) {
        for (const auto& name : split(sync["sync_standby"].get<std::string>(), ',')) {
          if (!trim(name).empty()) topology.sync_standbys.push_back(trim(name));
        }
      }
    } else if (entry.kind == patroni::DcsKey::kConfig) {
      Json config = Json::parse(kv.value, nullptr, false);
      if (config.is_object()) topology.dynamic_config = std::move(config);
    }
  }
  // Patroni's unsafe endpoints (switchover, restart, PATCH /config) need the cluster's restapi credentials.
  auto secrets = etcd.get(store::keys::cluster_secrets(etcd_prefix, ns, cluster));
  if (secrets.ok() && secrets->has_value()) {
    const Json parsed = Json::parse((*secrets)->value, nullptr, false);
    if (parsed.is_object() && parsed.contains("restapi") && parsed["restapi"].is_object()) {
      const std::string authorization =
          basic_authorization(parsed["restapi"].value("username", ""), parsed["restapi"].value("password", ""));
      for (auto& [name, member] : topology.members) member.api_authorization = authorization;
    }
  }
  return topology;
}

Result<std::map<std::string, StandbyReplication>> read_standbys(const PatroniMember& primary) {
  auto response = http_request("GET", patroni::status_url(primary.api_url), "", {}, std::chrono::seconds(3));
  if (!response.ok()) return response.error();
  const Json body = Json::parse(response->body, nullptr, false);
  std::map<std::string, StandbyReplication> standbys;
  if (!body.is_object() || !body.contains("replication") || !body["replication"].is_array()) return standbys;
  for (const auto& entry : body["replication"]) {
    if (!entry.is_object()) continue;
    standbys[entry.value("application_name", "")] = {entry.value("state", ""), entry.value("sync_state", "")};
  }
  return standbys;
}

Result<std::string> switchover(const store::EtcdClient& etcd, const std::string& etcd_prefix, const std::string& ns,
                               const std::string& cluster, const std::string& candidate,
                               const std::string& requested_by, std::chrono::seconds timeout) {
  auto topology = read_topology(etcd, etcd_prefix, ns, cluster);
  if (!topology.ok()) return topology.error();
  if (!topology->leader || topology->members.count(*topology->leader) == 0)
    return make_error(ErrorCode::kFailedPrecondition, fmt::format("SGCluster {} has no primary right now", cluster));
  const PatroniMember& leader = topology->members.at(*topology->leader);
  std::string chosen = candidate;
  if (chosen.empty()) {
    std::optional<std::uint64_t> best_position;
    const auto& sync = topology->sync_standbys;
    for (const auto& [name, member] : topology->members) {
      if (name == leader.name || member.state != "running") continue;
      // In synchronous modes Patroni only switches over to a synchronous standby.
      if (!sync.empty() && std::find(sync.begin(), sync.end(), name) == sync.end()) continue;
      if (chosen.empty() || member.xlog_location.value_or(0) > best_position.value_or(0)) {
        chosen = name;
        best_position = member.xlog_location;
      }
    }
    if (chosen.empty())
      return make_error(ErrorCode::kFailedPrecondition,
                        fmt::format("SGCluster {} has no running replica to switch over to", cluster));
  } else if (chosen == leader.name) {
    return make_error(ErrorCode::kFailedPrecondition, fmt::format("{} is already the primary", chosen));
  } else if (topology->members.count(chosen) == 0 || topology->members.at(chosen).state != "running") {
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("{} is not a running member of SGCluster {}", chosen, cluster));
  }
  SwitchoverRecord record{utc_millis(std::chrono::system_clock::now()), "", leader.name, chosen, requested_by, 0, ""};
  const auto started = std::chrono::steady_clock::now();
  // The outcome, kept for the cluster's history; a record that cannot be written is logged, not fatal.
  const auto recorded = [&](Result<std::string> outcome) {
    record.completed_at = utc_millis(std::chrono::system_clock::now());
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!outcome.ok()) record.error = outcome.error().message;
    if (auto written = record_switchover(etcd, etcd_prefix, ns, cluster, record); !written.ok())
      spdlog::warn("SGCluster {}/{}: the switchover to {} could not be recorded: {}", ns, cluster, chosen,
                   written.error().message);
    return outcome;
  };
  const Json request = {{"leader", leader.name}, {"candidate", chosen}};
  auto response = http_request("POST", patroni::switchover_url(leader.api_url), request.dump(),
                               unsafe_request_headers(leader), std::chrono::seconds(60));
  if (!response.ok()) return recorded(response.error());
  if (response->status != 200)
    return recorded(make_error(ErrorCode::kFailedPrecondition, fmt::format("Patroni refused the switchover ({}): {}",
                                                                           response->status, response->body)));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto now = read_topology(etcd, etcd_prefix, ns, cluster);
    if (now.ok() && now->leader == chosen && now->members.count(chosen) &&
        patroni::is_leader_role(now->members.at(chosen).role))
      return recorded(chosen);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return recorded(
      make_error(ErrorCode::kUnavailable,
                 fmt::format("Patroni accepted the switchover to {}, but it was not the primary within {} s", chosen,
                             timeout.count())));
}

Result<bool> restart_member(const PatroniMember& member) {
  auto response = http_request("POST", patroni::restart_url(member.api_url), "{}", unsafe_request_headers(member),
                               std::chrono::seconds(120));
  if (!response.ok()) return response.error();
  if (response->status != 200)
    return make_error(ErrorCode::kFailedPrecondition, fmt::format("Patroni could not restart {} ({}): {}", member.name,
                                                                  response->status, response->body));
  return true;
}

Result<bool> patch_dynamic_config(const PatroniMember& primary, const model::Json& changes) {
  auto response = http_request("PATCH", patroni::config_url(primary.api_url), changes.dump(),
                               unsafe_request_headers(primary), std::chrono::seconds(10));
  if (!response.ok()) return response.error();
  if (response->status != 200)
    return make_error(ErrorCode::kFailedPrecondition, fmt::format("Patroni refused the configuration change ({}): {}",
                                                                  response->status, response->body));
  return true;
}

}  // namespace pgstack::controller
