#include "controller/hosts_api.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/time.h"
#include "controller/api_reply.h"
#include "store/keys.h"

namespace pgstack::controller {

using model::Json;

model::Json host_list(const std::vector<std::string>& registrations, const std::vector<std::string>& assignments,
                      const std::vector<std::string>& drains) {
  std::map<std::string, Json> hosts;  // by name: sorted
  for (const auto& value : registrations) {
    const Json facts = Json::parse(value, nullptr, false);
    if (!facts.is_object() || !facts.contains("name") || !facts["name"].is_string()) continue;
    const std::string name = facts["name"].get<std::string>();
    Json host = {{"name", name}, {"status", "Ready"}, {"members", Json::array()}};
    for (const char* field : {"address", "labels", "cpus", "memoryBytes", "freeDiskBytes", "reportedAt"}) {
      if (facts.contains(field)) host[field] = facts[field];
    }
    hosts[name] = std::move(host);
  }
  for (const auto& key : assignments) {
    const auto slash = key.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 >= key.size()) continue;
    const std::string name = key.substr(0, slash);
    auto found = hosts.find(name);
    if (found == hosts.end())
      found = hosts.emplace(name, Json{{"name", name}, {"status", "Lost"}, {"members", Json::array()}}).first;
    found->second["members"].push_back(key.substr(slash + 1));
  }
  for (const auto& value : drains) {
    const Json drain = Json::parse(value, nullptr, false);
    if (!drain.is_object() || !drain.contains("host") || !drain["host"].is_string()) continue;
    const auto found = hosts.find(drain["host"].get<std::string>());
    if (found == hosts.end()) continue;  // drained, emptied and its agent gone: nothing to list
    // A lost host stays Lost: that its agent is gone is the news.
    if (found->second["status"] == "Ready") found->second["status"] = "Draining";
    found->second["drainingSince"] = drain.value("since", "");
  }
  Json list = {{"apiVersion", "pgstack.io/v1"}, {"kind", "HostList"}, {"items", Json::array()}};
  for (auto& [name, host] : hosts) {
    auto& members = host["members"];
    std::sort(members.begin(), members.end());
    list["items"].push_back(std::move(host));
  }
  return list;
}

bool is_hosts_path(const std::vector<std::string>& parts) {
  const bool hosts =
      parts.size() >= 4 && parts[0] == "apis" && parts[1] == "pgstack.io" && parts[2] == "v1" && parts[3] == "hosts";
  return hosts && (parts.size() == 4 || parts.size() == 5 || (parts.size() == 6 && parts[5] == "drain"));
}

HttpReply HostsApi::handle(const HttpRequest& request, const std::vector<std::string>& parts) const {
  if (parts.size() == 6) {
    if (request.method != "POST" && request.method != "DELETE")
      return problem(405, "MethodNotAllowed", "POST starts a drain, DELETE ends it");
    return drain(request.method, parts[4]);
  }
  if (parts.size() == 5 && request.method == "DELETE") return remove(parts[4]);
  if (request.method != "GET")
    return problem(405, "MethodNotAllowed",
                   parts.size() == 5 ? "GET reads a host, DELETE removes it" : "only GET is allowed on hosts");
  return list_or_get(parts);
}

HttpReply HostsApi::list_or_get(const std::vector<std::string>& parts) const {
  const std::string registrations_prefix = store::keys::hosts_prefix(prefix_);
  const std::string assignments_prefix = store::keys::assignments_prefix(prefix_);
  auto registered = etcd_.get_prefix(registrations_prefix);
  if (!registered.ok()) return problem_from(registered.error());
  auto assigned = etcd_.get_prefix(assignments_prefix);
  if (!assigned.ok()) return problem_from(assigned.error());
  auto drained = etcd_.get_prefix(store::keys::host_drains_prefix(prefix_));
  if (!drained.ok()) return problem_from(drained.error());
  std::vector<std::string> registrations;
  for (const auto& item : registered->items) registrations.push_back(item.value);
  std::vector<std::string> assignments;
  for (const auto& item : assigned->items) assignments.push_back(item.key.substr(assignments_prefix.size()));
  std::vector<std::string> drains;
  for (const auto& item : drained->items) drains.push_back(item.value);
  Json list = host_list(registrations, assignments, drains);
  if (parts.size() == 4) return json_reply(200, list);
  for (const auto& host : list["items"]) {
    if (host.value("name", "") == parts[4]) return json_reply(200, host);
  }
  return problem(404, "NotFound", fmt::format("no host named \"{}\" (pgstack get hosts lists them)", parts[4]));
}

HttpReply HostsApi::drain(const std::string& method, const std::string& host) const {
  const std::string key = store::keys::host_drain(prefix_, host);
  if (method == "DELETE") {
    auto removed = etcd_.remove(key);
    if (!removed.ok()) return problem_from(removed.error());
    if (!*removed) return problem(404, "NotFound", fmt::format("host \"{}\" is not being drained", host));
    return json_reply(200, Json{{"host", host},
                                {"message", fmt::format("{} takes new members again; members moved off it stay where "
                                                        "they are",
                                                        host)}});
  }
  HttpReply current = list_or_get({"apis", "pgstack.io", "v1", "hosts", host});
  if (current.status != 200) return current;
  const Json record = {{"host", host}, {"since", utc_timestamp_now()}};
  auto written = etcd_.put_if(key, record.dump(), 0);
  if (!written.ok() && written.error().code != ErrorCode::kConflict) return problem_from(written.error());
  Json reply = Json::parse(current.body, nullptr, false);
  reply["message"] = written.ok() ? fmt::format(
                                        "draining {}: its replicas are rebuilt on other hosts, a switchover moves a "
                                        "primary first; pgstack get hosts shows its members leave",
                                        host)
                                  : fmt::format("{} is being drained already", host);
  return json_reply(written.ok() ? 202 : 200, reply);
}

HttpReply HostsApi::remove(const std::string& host) const {
  auto registration = etcd_.get(store::keys::host(prefix_, host));
  if (!registration.ok()) return problem_from(registration.error());
  auto assigned = etcd_.get_prefix(store::keys::host_assignments_prefix(prefix_, host));
  if (!assigned.ok()) return problem_from(assigned.error());
  auto drain = etcd_.get(store::keys::host_drain(prefix_, host));
  if (!drain.ok()) return problem_from(drain.error());
  if (!registration->has_value() && assigned->items.empty() && !drain->has_value())
    return problem(404, "NotFound", fmt::format("no host named \"{}\" (pgstack get hosts lists them)", host));
  if (!assigned->items.empty()) {
    std::vector<std::string> members;
    for (const auto& item : assigned->items)
      members.push_back(item.key.substr(store::keys::host_assignments_prefix(prefix_, host).size()));
    return problem(409, "HostHasMembers",
                   fmt::format("host {} still has members ({}): pgstack host drain {} moves them to other hosts; "
                               "remove it once pgstack get hosts shows none",
                               host, fmt::join(members, ", "), host));
  }
  if (registration->has_value())
    return problem(409, "HostAgentRunning",
                   fmt::format("the agent of host {} is running and registers it again: stop it first (pgstack down "
                               "on {}; --purge there also takes its etcd member out)",
                               host, host));
  if (auto removed = etcd_.remove(store::keys::host_drain(prefix_, host)); !removed.ok())
    return problem_from(removed.error());
  return json_reply(200, Json{{"host", host}, {"message", fmt::format("host {} removed", host)}});
}

}  // namespace pgstack::controller
