#include "agent/node_exporter.h"

#include <algorithm>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "agent/metrics_listen.h"
#include "common/network.h"

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

TEST(NodeExporter, OffLoopbackItReadsAWebConfigWithTheCredentialsHash) {
  AgentSettings settings;
  settings.state_dir = "/var/lib/pgstack";
  settings.node_exporter_listen = "10.254.0.1:19100";
  // Without the credential it must not start at all.
  auto refused = node_exporter_web_config(settings);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("10.254.0.1:19100"), std::string::npos) << refused.error().message;
  settings.scrape_credential = monitoring::ScrapeCredential{"scrape-secret", "$2b$10$hash"};
  auto config = node_exporter_web_config(settings);
  ASSERT_TRUE(config.ok() && config->has_value());
  EXPECT_NE((*config)->find("$2b$10$hash"), std::string::npos);
  const ProcessSpec spec = node_exporter_spec(settings);
  EXPECT_EQ(spec.argv.back(), "--web.config.file=/var/lib/pgstack/node-exporter/web.yml");
  EXPECT_EQ(node_exporter_web_config_path(settings), "/var/lib/pgstack/node-exporter/web.yml");
}

TEST(NodeExporter, OnLoopbackItNeedsNoWebConfig) {
  AgentSettings settings;
  settings.node_exporter_listen = "127.0.0.1:19100";
  auto config = node_exporter_web_config(settings);
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->has_value());
  for (const auto& argument : node_exporter_spec(settings).argv)
    EXPECT_EQ(argument.find("--web.config.file"), std::string::npos);
}

TEST(MetricsListen, TheDefaultPortOnTheAgentsAddress) {
  auto chosen = choose_metrics_listen("", "--metrics-listen", "10.0.0.5", 19101, true, std::nullopt);
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(chosen->listen, "10.0.0.5:19101");
  EXPECT_FALSE(chosen->fell_back);
  EXPECT_EQ(choose_metrics_listen("", "--metrics-listen", "fd00::5", 19101, true, std::nullopt)->listen,
            "[fd00::5]:19101");
}

TEST(MetricsListen, ABusyDefaultPortGivesWayToAFreeOne) {
  auto chosen = choose_metrics_listen("", "--node-exporter-listen", "127.0.0.1", 19100, false, 40123);
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(chosen->listen, "127.0.0.1:40123");
  EXPECT_TRUE(chosen->fell_back);
  auto none = choose_metrics_listen("", "--node-exporter-listen", "127.0.0.1", 19100, false, std::nullopt);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("--node-exporter-listen"), std::string::npos);
}

TEST(MetricsListen, AnExplicitAddressIsKeptAndOffIsNone) {
  auto chosen = choose_metrics_listen("10.0.0.5:9100", "--node-exporter-listen", "10.0.0.5", 19100, false, 40123);
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(chosen->listen, "10.0.0.5:9100");
  EXPECT_FALSE(chosen->fell_back);
  EXPECT_EQ(choose_metrics_listen("off", "--metrics-listen", "10.0.0.5", 19101, false, 40123)->listen, "");
  auto bad = choose_metrics_listen("10.0.0.5", "--metrics-listen", "10.0.0.5", 19101, true, std::nullopt);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(bad.error().message.rfind("--metrics-listen: ", 0), 0U) << bad.error().message;
}

TEST(MetricsListen, ResolvingFallsBackWhenTheDefaultPortIsHeld) {
  // Hold a port the way another agent's listener would, then ask for it as the default.
  auto held = probe_tcp_listen("127.0.0.1", 0);
  ASSERT_TRUE(held.ok());
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(*held);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  auto chosen = resolve_metrics_listen("", "--metrics-listen", "127.0.0.1", *held);
  auto explicit_busy = resolve_metrics_listen(fmt::format("127.0.0.1:{}", *held), "--metrics-listen", "127.0.0.1", 1);
  ::close(fd);
  ASSERT_TRUE(chosen.ok()) << chosen.error().message;
  EXPECT_TRUE(chosen->fell_back);
  EXPECT_NE(chosen->listen, fmt::format("127.0.0.1:{}", *held));
  ASSERT_FALSE(explicit_busy.ok());
  EXPECT_NE(explicit_busy.error().message.find("--metrics-listen"), std::string::npos);
}

}  // namespace
}  // namespace pgstack::agent
