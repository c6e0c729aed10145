// node_exporter (Debian's prometheus-node-exporter 1.5), once per host: the host's CPU, memory,
// filesystems, disks and network for Prometheus, with only the collectors pgstack's alerts and charts
// need. The agent supervises it like the instances' daemons. Pure: the process it runs, no I/O.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "agent/instance_plan.h"
#include "process/process_supervisor.h"

namespace pgstack::agent {

inline constexpr int kNodeExporterDefaultPort = 19100;

// cpu, meminfo, filesystem (pseudo filesystems left out), diskstats, netdev, loadavg; nothing else.
// `web_config_file`: exporter-toolkit's --web.config.file (basic auth); empty: none.
std::vector<std::string> node_exporter_arguments(const std::string& listen, const std::string& web_config_file = "");

// <state-dir>/node-exporter/web.yml, 0600 for the instances' OS user.
std::filesystem::path node_exporter_web_config_path(const AgentSettings& settings);

// Its web config: the scrape credential's hash when its address asks for it (metrics_auth.h); nothing
// when it does not, and an error when it does but the agent has no credential (it must not run open).
Result<std::optional<std::string>> node_exporter_web_config(const AgentSettings& settings);

// Run as the instances' OS user from <state-dir>/node-exporter (pid file, log); with the web config file
// when node_exporter_web_config gives one.
ProcessSpec node_exporter_spec(const AgentSettings& settings);

}  // namespace pgstack::agent
