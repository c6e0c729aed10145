#include "agent/node_exporter.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace pgstack::agent {
namespace {

TEST(NodeExporter, OnlyTheNeededCollectorsOnTheGivenAddress) {
  const auto arguments = node_exporter_arguments("10.0.0.5:19100");
  EXPECT_EQ(arguments.front(), "--web.listen-address=10.0.0.5:19100");
  EXPECT_NE(std::find(arguments.begin(), arguments.end(), "--collector.disable-defaults"), arguments.end());
  std::vector<std::string> collectors;
  for (const auto& argument : arguments) {
    const std::string prefix = "--collector.";
    if (argument.rfind(prefix, 0) == 0 && argument.find('=') == std::string::npos &&
        argument != "--collector.disable-defaults")
      collectors.push_back(argument.substr(prefix.size()));
  }
  EXPECT_EQ(collectors, (std::vector<std::string>{"cpu", "meminfo", "filesystem", "diskstats", "netdev", "loadavg"}));
}

TEST(NodeExporter, RunsAsTheInstancesUserFromTheStateDirectory) {
  AgentSettings settings;
  settings.state_dir = "/var/lib/pgstack";
  settings.os_user = "postgres";
  settings.node_exporter_listen = "127.0.0.1:19100";
  const ProcessSpec spec = node_exporter_spec(settings);
  EXPECT_EQ(spec.argv.front(), "/usr/bin/prometheus-node-exporter");
  EXPECT_EQ(spec.run_as_user, "postgres");
  EXPECT_EQ(spec.pid_file, "/var/lib/pgstack/node-exporter/node-exporter.pid");
  EXPECT_EQ(spec.argv[1], "--web.listen-address=127.0.0.1:19100");
}

}  // namespace
}  // namespace pgstack::agent
