// The CPUs and memory this process may use, as input to tuning.
#pragma once

#include <cstdint>

namespace pgstack::host {

struct MachineResources {
  std::int64_t cpu_millicores = 0;
  std::int64_t memory_bytes = 0;
};

// CPUs from the scheduler affinity mask (else std::thread::hardware_concurrency), memory from
// /proc/meminfo MemTotal; both lowered to a cgroup v2 limit (cpu.max, memory.max) when one is set.
MachineResources read_machine_resources();

}  // namespace pgstack::host
