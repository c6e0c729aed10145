#include "monitoring/scrape_targets.h"

#include <algorithm>
#include <set>
#include <tuple>

#include <fmt/format.h>

namespace pgstack::monitoring {
namespace {

using model::Json;

std::string endpoint(const std::string& address, int port) {
  // An IPv6 address needs brackets in "host:port".
  if (address.find(':') != std::string::npos) return fmt::format("[{}]:{}", address, port);
  return fmt::format("{}:{}", address, port);
}

// The labels every group of a member carries.
std::map<std::string, std::string> member_labels(std::string_view job, const model::Assignment& assignment) {
  return {{"job", std::string(job)},
          {"namespace", assignment.namespace_name},
          {"cluster", assignment.cluster_name},
          {"instance_name", assignment.member},
          {"host", assignment.host}};
}

void sort_groups(std::vector<TargetGroup>& groups) {
  std::sort(groups.begin(), groups.end(), [](const TargetGroup& a, const TargetGroup& b) {
    return std::tie(a.labels, a.targets) < std::tie(b.labels, b.targets);
  });
}

}  // namespace

const std::vector<ScrapeJob>& scrape_jobs() {
  // Wire-in point for more jobs (postgres_exporter per instance from the assignment's exporter port, the
  // agent's /metrics and node_exporter from the host registration): add the job here and its targets in
  // scrape_target_groups below.
  static const std::vector<ScrapeJob> jobs = {
      {std::string(kPatroniJob), "https", true},
      {std::string(kProxyJob), "http", false},
      {std::string(kControllerJob), "http", false},
  };
  return jobs;
}

std::map<std::string, std::vector<TargetGroup>> scrape_target_groups(const ScrapeInputs& inputs) {
  std::map<std::string, std::vector<TargetGroup>> out;
  for (const auto& job : scrape_jobs()) out[job.name];

  // Host name -> the address it registered; assignments of a host that is not registered (its lease
  // expired) are not scraped: nothing answers there.
  std::map<std::string, std::string> addresses;
  for (const auto& host : inputs.hosts) {
    if (!host.is_object()) continue;
    const std::string name = host.value("name", "");
    const std::string address = host.value("address", "");
    if (!name.empty() && !address.empty()) addresses[name] = address;
    // Wire-in point (host registration): the agent's "metricsAddress" and "nodeExporterAddress" become
    // one group each here, labelled {job, host}.
  }

  // pgstack-proxy runs once per cluster on every host with one of its members, all on the same admin port.
  std::set<std::tuple<std::string, std::string, std::string, int>> proxies;  // ns, cluster, host, port
  for (const auto& assignment : inputs.assignments) {
    const auto address = addresses.find(assignment.host);
    if (address == addresses.end()) continue;
    if (assignment.ports.patroni > 0) {
      out[std::string(kPatroniJob)].push_back(
          {{endpoint(address->second, assignment.ports.patroni)}, member_labels(kPatroniJob, assignment)});
    }
    // Wire-in point (assignment): postgres_exporter's port of the member, one group labelled like Patroni's.
    if (assignment.proxy && assignment.proxy->admin > 0)
      proxies.emplace(assignment.namespace_name, assignment.cluster_name, assignment.host, assignment.proxy->admin);
  }
  for (const auto& [ns, cluster, host, port] : proxies) {
    out[std::string(kProxyJob)].push_back(
        {{endpoint(addresses.at(host), port)},
         {{"job", std::string(kProxyJob)}, {"namespace", ns}, {"cluster", cluster}, {"host", host}}});
  }
  for (const auto& address :
       std::set<std::string>(inputs.controller_metrics_addresses.begin(), inputs.controller_metrics_addresses.end())) {
    if (address.empty()) continue;
    out[std::string(kControllerJob)].push_back({{address}, {{"job", std::string(kControllerJob)}}});
  }
  for (auto& [job, groups] : out) sort_groups(groups);
  return out;
}

Json file_sd_json(const std::vector<TargetGroup>& groups) {
  Json out = Json::array();
  for (const auto& group : groups) out.push_back({{"targets", group.targets}, {"labels", group.labels}});
  return out;
}

}  // namespace pgstack::monitoring
