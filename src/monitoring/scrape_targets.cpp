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
  // A new job is added here and its targets in scrape_target_groups below.
  static const std::vector<ScrapeJob> jobs = {
      {std::string(kPatroniJob), "https", true, false}, {std::string(kPostgresExporterJob), "http", false, true},
      {std::string(kProxyJob), "http", false, false},   {std::string(kAgentJob), "http", false, true},
      {std::string(kNodeJob), "http", false, true},     {std::string(kControllerJob), "http", false, true},
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
    if (name.empty()) continue;
    // "host:port" as the agent registered them; absent when the agent runs without them (flag `off`).
    for (const auto& [job, field] :
         {std::pair{kAgentJob, "metricsAddress"}, std::pair{kNodeJob, "nodeExporterAddress"}}) {
      const std::string target = host.value(field, "");
      if (!target.empty()) out[std::string(job)].push_back({{target}, {{"job", std::string(job)}, {"host", name}}});
    }
  }

  // pgstack-proxy runs once per cluster on every host with one of its members, all on the same admin port.
  std::set<std::tuple<std::string, std::string, std::string, int>> proxies;  // ns, cluster, host, port
  for (const auto& assignment : inputs.assignments) {
    const auto address = addresses.find(assignment.host);
    if (address == addresses.end()) continue;
    // prometheusAutobind false: the cluster is left to a Prometheus the user points at it.
    if (!assignment.cluster.prometheus_autobind) continue;
    if (assignment.ports.patroni > 0) {
      out[std::string(kPatroniJob)].push_back(
          {{endpoint(address->second, assignment.ports.patroni)}, member_labels(kPatroniJob, assignment)});
    }
    // No exporter runs for a cluster with observability.disableMetrics: a target there would only be down.
    if (assignment.ports.exporter > 0 && !assignment.cluster.disable_metrics) {
      out[std::string(kPostgresExporterJob)].push_back(
          {{endpoint(address->second, assignment.ports.exporter)}, member_labels(kPostgresExporterJob, assignment)});
    }
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
