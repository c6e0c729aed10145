#include "monitoring/scrape_targets.h"

#include <gtest/gtest.h>

namespace pgstack::monitoring {
namespace {

using model::Json;

model::Assignment member(const std::string& cluster, const std::string& name, const std::string& host, int patroni,
                         int proxy_admin) {
  model::Assignment out;
  out.namespace_name = "default";
  out.cluster_name = cluster;
  out.member = name;
  out.host = host;
  out.ports = {5432, 6432, patroni};
  if (proxy_admin > 0) out.proxy = model::AssignedProxyPorts{7432, 7433, proxy_admin};
  return out;
}

ScrapeInputs three_members() {
  ScrapeInputs inputs;
  inputs.hosts = {Json{{"name", "a"}, {"address", "10.0.0.1"}}, Json{{"name", "b"}, {"address", "10.0.0.2"}}};
  inputs.assignments = {member("demo", "demo-0", "a", 8008, 17432), member("demo", "demo-1", "b", 8008, 17432),
                        member("demo", "demo-2", "a", 8009, 17432)};
  inputs.controller_metrics_addresses = {"127.0.0.1:9187"};
  return inputs;
}

TEST(ScrapeTargets, PatroniGroupPerMemberWithTheCommonLabels) {
  const auto groups = scrape_target_groups(three_members());
  const auto& patroni = groups.at("patroni");
  ASSERT_EQ(patroni.size(), 3u);
  EXPECT_EQ(patroni[0].targets, std::vector<std::string>{"10.0.0.1:8008"});
  const std::map<std::string, std::string> labels = {
      {"job", "patroni"}, {"namespace", "default"}, {"cluster", "demo"}, {"instance_name", "demo-0"}, {"host", "a"}};
  EXPECT_EQ(patroni[0].labels, labels);
  // Sorted by labels (cluster, host, instance_name): a's two members, then b's.
  EXPECT_EQ(patroni[1].targets, std::vector<std::string>{"10.0.0.1:8009"});
  EXPECT_EQ(patroni[1].labels.at("instance_name"), "demo-2");
  EXPECT_EQ(patroni[2].targets, std::vector<std::string>{"10.0.0.2:8008"});
}

TEST(ScrapeTargets, OneProxyPerClusterAndHost) {
  const auto groups = scrape_target_groups(three_members());
  const auto& proxy = groups.at("pgstack-proxy");
  ASSERT_EQ(proxy.size(), 2u);  // hosts a and b; demo-0 and demo-2 share a's proxy
  EXPECT_EQ(proxy[0].targets, std::vector<std::string>{"10.0.0.1:17432"});
  const std::map<std::string, std::string> labels = {
      {"job", "pgstack-proxy"}, {"namespace", "default"}, {"cluster", "demo"}, {"host", "a"}};
  EXPECT_EQ(proxy[0].labels, labels);
  EXPECT_EQ(proxy[1].targets, std::vector<std::string>{"10.0.0.2:17432"});
}

TEST(ScrapeTargets, ExporterPerMemberUnlessTheClusterDisablesMetrics) {
  ScrapeInputs inputs = three_members();
  for (auto& assignment : inputs.assignments) assignment.ports.exporter = 19187 + assignment.ports.patroni - 8008;
  auto quiet = member("quiet", "quiet-0", "b", 8010, 0);
  quiet.ports.exporter = 19190;
  quiet.cluster.disable_metrics = true;
  inputs.assignments.push_back(quiet);
  auto unassigned = member("old", "old-0", "b", 8011, 0);  // written before exporters had a port
  inputs.assignments.push_back(unassigned);

  const auto groups = scrape_target_groups(inputs);
  const auto& exporters = groups.at("postgres");
  ASSERT_EQ(exporters.size(), 3u);
  EXPECT_EQ(exporters[0].targets, std::vector<std::string>{"10.0.0.1:19187"});
  const std::map<std::string, std::string> labels = {
      {"job", "postgres"}, {"namespace", "default"}, {"cluster", "demo"}, {"instance_name", "demo-0"}, {"host", "a"}};
  EXPECT_EQ(exporters[0].labels, labels);
  EXPECT_EQ(exporters[1].targets, std::vector<std::string>{"10.0.0.1:19188"});
  EXPECT_EQ(exporters[2].targets, std::vector<std::string>{"10.0.0.2:19187"});
}

// prometheusAutobind: false leaves a cluster's members and proxy out of the installation's Prometheus
// (its exporters still run, for a Prometheus the user points at them); the hosts stay scraped.
TEST(ScrapeTargets, AClusterNotAutoboundHasNoMemberOrProxyTargets) {
  ScrapeInputs inputs = three_members();
  auto unbound = member("own", "own-0", "b", 8010, 17500);
  unbound.ports.exporter = 19190;
  unbound.cluster.prometheus_autobind = false;
  inputs.assignments.push_back(unbound);
  inputs.hosts[1]["metricsAddress"] = "10.0.0.2:19101";

  const auto groups = scrape_target_groups(inputs);
  for (const auto& job : {"patroni", "postgres", "pgstack-proxy"}) {
    for (const auto& group : groups.at(job)) EXPECT_NE(group.labels.at("cluster"), "own") << job;
  }
  EXPECT_EQ(groups.at("patroni").size(), 3u);
  EXPECT_EQ(groups.at("pgstack-agent").size(), 1u);
}

TEST(ScrapeTargets, AgentAndNodeExporterPerHostAsRegistered) {
  ScrapeInputs inputs = three_members();
  inputs.hosts[0]["metricsAddress"] = "10.0.0.1:19101";
  inputs.hosts[0]["nodeExporterAddress"] = "10.0.0.1:19100";
  inputs.hosts[1]["metricsAddress"] = "10.0.0.2:19101";  // b runs no node_exporter (--node-exporter-listen off)

  const auto groups = scrape_target_groups(inputs);
  const auto& agents = groups.at("pgstack-agent");
  ASSERT_EQ(agents.size(), 2u);
  EXPECT_EQ(agents[0].targets, std::vector<std::string>{"10.0.0.1:19101"});
  EXPECT_EQ(agents[0].labels, (std::map<std::string, std::string>{{"job", "pgstack-agent"}, {"host", "a"}}));
  EXPECT_EQ(agents[1].targets, std::vector<std::string>{"10.0.0.2:19101"});
  const auto& nodes = groups.at("node");
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].targets, std::vector<std::string>{"10.0.0.1:19100"});
  EXPECT_EQ(nodes[0].labels, (std::map<std::string, std::string>{{"job", "node"}, {"host", "a"}}));
}

TEST(ScrapeTargets, ControllerTargetHasOnlyItsJob) {
  const auto groups = scrape_target_groups(three_members());
  const auto& controller = groups.at("pgstack-controller");
  ASSERT_EQ(controller.size(), 1u);
  EXPECT_EQ(controller[0].targets, std::vector<std::string>{"127.0.0.1:9187"});
  EXPECT_EQ(controller[0].labels, (std::map<std::string, std::string>{{"job", "pgstack-controller"}}));
}

TEST(ScrapeTargets, ScalingDownDropsTheMembersGroupsOnly) {
  auto inputs = three_members();
  inputs.assignments.pop_back();  // demo-2 on host a
  const auto groups = scrape_target_groups(inputs);
  ASSERT_EQ(groups.at("patroni").size(), 2u);
  for (const auto& group : groups.at("patroni")) EXPECT_NE(group.labels.at("instance_name"), "demo-2");
  EXPECT_EQ(groups.at("pgstack-proxy").size(), 2u);  // demo-0 still runs on a
}

TEST(ScrapeTargets, MembersOfUnregisteredHostsAreNotScraped) {
  auto inputs = three_members();
  inputs.hosts.pop_back();  // b's lease expired
  const auto groups = scrape_target_groups(inputs);
  EXPECT_EQ(groups.at("patroni").size(), 2u);
  EXPECT_EQ(groups.at("pgstack-proxy").size(), 1u);
}

TEST(ScrapeTargets, EveryJobIsPresentEvenWithoutTargets) {
  const auto groups = scrape_target_groups({});
  ASSERT_EQ(groups.size(), scrape_jobs().size());
  for (const auto& job : scrape_jobs()) EXPECT_TRUE(groups.at(job.name).empty()) << job.name;
  EXPECT_EQ(file_sd_json(groups.at("patroni")), Json::array());
}

TEST(ScrapeTargets, SameInputsInAnyOrderGiveTheSameGroups) {
  auto inputs = three_members();
  const auto first = scrape_target_groups(inputs);
  std::reverse(inputs.assignments.begin(), inputs.assignments.end());
  std::reverse(inputs.hosts.begin(), inputs.hosts.end());
  EXPECT_EQ(scrape_target_groups(inputs), first);
}

TEST(ScrapeTargets, Ipv6AddressesAreBracketed) {
  ScrapeInputs inputs;
  inputs.hosts = {Json{{"name", "a"}, {"address", "fd00::1"}}};
  inputs.assignments = {member("demo", "demo-0", "a", 8008, 0)};
  const auto groups = scrape_target_groups(inputs);
  EXPECT_EQ(groups.at("patroni").at(0).targets, std::vector<std::string>{"[fd00::1]:8008"});
  EXPECT_TRUE(groups.at("pgstack-proxy").empty());
}

TEST(ScrapeTargets, FileSdJsonShape) {
  const std::vector<TargetGroup> groups = {{{"10.0.0.1:8008"}, {{"job", "patroni"}, {"cluster", "demo"}}}};
  EXPECT_EQ(file_sd_json(groups).dump(),
            R"([{"targets":["10.0.0.1:8008"],"labels":{"cluster":"demo","job":"patroni"}}])");
}

}  // namespace
}  // namespace pgstack::monitoring
