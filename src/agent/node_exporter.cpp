#include "agent/node_exporter.h"

namespace pgstack::agent {
namespace {

// node_exporter's own list of kernel pseudo filesystems without `overlay`: in a container the state
// directory (Postgres' data) may well be on the overlay root, whose free space the disk alerts need.
constexpr const char* kExcludedFilesystems =
    "--collector.filesystem.fs-types-exclude=^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|"
    "fusectl|hugetlbfs|iso9660|mqueue|nsfs|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|"
    "tracefs)$";

}  // namespace

std::vector<std::string> node_exporter_arguments(const std::string& listen) {
  return {"--web.listen-address=" + listen,
          "--collector.disable-defaults",
          "--collector.cpu",
          "--collector.meminfo",
          "--collector.filesystem",
          "--collector.diskstats",
          "--collector.netdev",
          "--collector.loadavg",
          kExcludedFilesystems,
          "--log.level=warn"};
}

ProcessSpec node_exporter_spec(const AgentSettings& settings) {
  const std::filesystem::path dir = settings.state_dir / "node-exporter";
  ProcessSpec spec;
  spec.name = "node_exporter";
  spec.argv = {settings.node_exporter_program};
  for (auto& argument : node_exporter_arguments(settings.node_exporter_listen))
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
