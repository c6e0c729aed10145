#include "agent/node_exporter.h"

#include <fmt/format.h>

#include "monitoring/metrics_auth.h"

namespace pgstack::agent {
namespace {

// node_exporter's own list of kernel pseudo filesystems without `overlay`: in a container the state
// directory (Postgres' data) may well be on the overlay root, whose free space the disk alerts need.
constexpr const char* kExcludedFilesystems =
    "--collector.filesystem.fs-types-exclude=^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|"
    "fusectl|hugetlbfs|iso9660|mqueue|nsfs|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|"
    "tracefs)$";

}  // namespace

std::vector<std::string> node_exporter_arguments(const std::string& listen, const std::string& web_config_file) {
  std::vector<std::string> out = {"--web.listen-address=" + listen,
                                  "--collector.disable-defaults",
                                  "--collector.cpu",
                                  "--collector.meminfo",
                                  "--collector.filesystem",
                                  "--collector.diskstats",
                                  "--collector.netdev",
                                  "--collector.loadavg",
                                  kExcludedFilesystems,
                                  "--log.level=warn"};
  if (!web_config_file.empty()) out.push_back("--web.config.file=" + web_config_file);
  return out;
}

std::filesystem::path node_exporter_web_config_path(const AgentSettings& settings) {
  return settings.state_dir / "node-exporter" / "web.yml";
}

Result<std::optional<std::string>> node_exporter_web_config(const AgentSettings& settings) {
  if (!monitoring::listener_needs_auth(settings.node_exporter_listen, settings.metrics_auth))
    return std::optional<std::string>();
  if (!settings.scrape_credential)
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("{} asks for the scrape credential and the agent has none: not started",
                                  settings.node_exporter_listen));
  return std::optional<std::string>(monitoring::render_exporter_web_config(*settings.scrape_credential));
}

ProcessSpec node_exporter_spec(const AgentSettings& settings) {
  const std::filesystem::path dir = settings.state_dir / "node-exporter";
  ProcessSpec spec;
  spec.name = "node_exporter";
  spec.argv = {settings.node_exporter_program};
  const auto web_config = node_exporter_web_config(settings);
  const bool authenticated = web_config.ok() && web_config->has_value();
  for (auto& argument : node_exporter_arguments(settings.node_exporter_listen,
                                                authenticated ? node_exporter_web_config_path(settings).string() : ""))
    spec.argv.push_back(std::move(argument));
  spec.environment = {{"PATH", "/usr/bin:/bin"}, {"LC_ALL", "C.UTF-8"}, {"HOME", settings.os_user_home}};
  spec.run_as_user = settings.os_user;
  spec.working_directory = dir;
  spec.log_file = dir / "node-exporter.log";
  spec.pid_file = dir / "node-exporter.pid";
  spec.stop_timeout = std::chrono::seconds(5);
  return spec;
}

}  // namespace pgstack::agent
