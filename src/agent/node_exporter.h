// node_exporter (Debian's prometheus-node-exporter 1.5), once per host: the host's CPU, memory,
// filesystems, disks and network for Prometheus, with only the collectors pgstack's alerts and charts
// need. The agent supervises it like the instances' daemons. Pure: the process it runs, no I/O.
#pragma once

#include <filesystem>
#include <string>

#include "agent/instance_plan.h"
#include "process/process_supervisor.h"

namespace pgstack::agent {

inline constexpr int kNodeExporterDefaultPort = 19100;

// cpu, meminfo, filesystem (pseudo filesystems left out), diskstats, netdev, loadavg; nothing else.
std::vector<std::string> node_exporter_arguments(const std::string& listen);

// Run as the instances' OS user from <state-dir>/node-exporter (pid file, log).
ProcessSpec node_exporter_spec(const AgentSettings& settings);

}  // namespace pgstack::agent
