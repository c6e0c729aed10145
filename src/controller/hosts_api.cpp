#include "controller/hosts_api.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "controller/api_reply.h"
#include "store/keys.h"

namespace pgstack::controller {

using model::Json;

model::Json host_list(const std::vector<std::string>& registrations, const std::vector<std::string>& assignments) {
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
  Json list = {{"apiVersion", "pgstack.io/v1"}, {"kind", "HostList"}, {"items", Json::array()}};
  for (auto& [name, host] : hosts) {
    auto& members = host["members"];
    std::sort(members.begin(), members.end());
    list["items"].push_back(std::move(host));
  }
  return list;
}

bool is_hosts_path(const std::vector<std::string>& parts) {
  return (parts.size() == 4 || parts.size() == 5) && parts[0] == "apis" && parts[1] == "pgstack.io" &&
         parts[2] == "v1" && parts[3] == "hosts";
}

HttpReply HostsApi::handle(const HttpRequest& request, const std::vector<std::string>& parts) const {
  if (request.method != "GET") return problem(405, "MethodNotAllowed", "only GET is allowed on hosts");
  const std::string registrations_prefix = store::keys::hosts_prefix(prefix_);
  const std::string assignments_prefix = store::keys::assignments_prefix(prefix_);
  auto registered = etcd_.get_prefix(registrations_prefix);
  if (!registered.ok()) return problem_from(registered.error());
  auto assigned = etcd_.get_prefix(assignments_prefix);
  if (!assigned.ok()) return problem_from(assigned.error());
  std::vector<std::string> registrations;
  for (const auto& item : registered->items) registrations.push_back(item.value);
  std::vector<std::string> assignments;
  for (const auto& item : assigned->items) assignments.push_back(item.key.substr(assignments_prefix.size()));
  Json list = host_list(registrations, assignments);
  if (parts.size() == 4) return json_reply(200, list);
  for (const auto& host : list["items"]) {
    if (host.value("name", "") == parts[4]) return json_reply(200, host);
  }
  return problem(404, "NotFound", fmt::format("no host named \"{}\" (pgstack get hosts lists them)", parts[4]));
}

}  // namespace pgstack::controller
