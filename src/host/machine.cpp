#include "host/machine.h"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sched.h>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>

namespace pgstack::host {
namespace {

std::int64_t affinity_millicores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    const int count = CPU_COUNT(&set);
    if (count > 0) return std::int64_t{count} * 1000;
  }
  const unsigned count = std::thread::hardware_concurrency();
  return std::int64_t{count > 0 ? count : 1} * 1000;
}

std::optional<std::int64_t> meminfo_total_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    std::istringstream fields(line);
    std::string key;
    std::int64_t kilobytes = 0;
    if (!(fields >> key >> kilobytes)) continue;
    if (key == "MemTotal:" && kilobytes > 0) return kilobytes * 1024;
  }
  return std::nullopt;
}

// The cgroup v2 directory of this process ("0::/some/path" in /proc/self/cgroup).
std::optional<std::string> cgroup_directory() {
  std::ifstream cgroups("/proc/self/cgroup");
  std::string line;
  while (std::getline(cgroups, line)) {
    if (line.rfind("0::", 0) == 0) return "/sys/fs/cgroup" + line.substr(3);
  }
  return std::nullopt;
}

std::optional<std::string> read_first_line(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  if (!std::getline(file, line)) return std::nullopt;
  return line;
}

// cpu.max is "max 100000" (no limit) or "<quota> <period>".
std::optional<std::int64_t> cgroup_cpu_millicores(const std::string& directory) {
  const auto line = read_first_line(directory + "/cpu.max");
  if (!line) return std::nullopt;
  std::istringstream fields(*line);
  std::string quota;
  std::int64_t period = 0;
  if (!(fields >> quota >> period) || quota == "max" || period <= 0) return std::nullopt;
  try {
    const std::int64_t millicores = std::stoll(quota) * 1000 / period;
    if (millicores > 0) return millicores;
  } catch (...) {
  }
  return std::nullopt;
}

std::optional<std::int64_t> cgroup_memory_bytes(const std::string& directory) {
  const auto line = read_first_line(directory + "/memory.max");
  if (!line || *line == "max") return std::nullopt;
  try {
    const std::int64_t bytes = std::stoll(*line);
    if (bytes > 0) return bytes;
  } catch (...) {
  }
  return std::nullopt;
}

}  // namespace

MachineResources read_machine_resources() {
  MachineResources resources;
  resources.cpu_millicores = affinity_millicores();
  // Without /proc/meminfo, fall back to the page count the kernel reports.
  if (const auto total = meminfo_total_bytes()) {
    resources.memory_bytes = *total;
  } else {
    resources.memory_bytes = std::int64_t{::sysconf(_SC_PHYS_PAGES)} * ::sysconf(_SC_PAGESIZE);
  }
  // Inside a container the cgroup limit, not the host, is what Postgres can use.
  if (const auto directory = cgroup_directory()) {
    if (const auto limit = cgroup_cpu_millicores(*directory))
      resources.cpu_millicores = std::min(resources.cpu_millicores, *limit);
    if (const auto limit = cgroup_memory_bytes(*directory))
      resources.memory_bytes = std::min(resources.memory_bytes, *limit);
  }
  return resources;
}

}  // namespace pgstack::host
