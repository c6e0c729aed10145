// Huge pages for the instances' shared memory. The tuning sizes shared_buffers at 25% of memory and
// sets huge_pages=try from 8Gi (docs/tuning.md); with 4kB pages every new backend and parallel worker
// maps that memory page by page, and bench/tuning/workloads measured the tuned configuration slower
// than stock for it (docs/benchmarks.md). A StackGres pod asks its node for huge pages; on a pgstack
// host the agent plays the node: it sizes the kernel's pool of 2MiB pages to what the instances
// assigned here map (config::huge_pages_bytes: the profile's hugepages-2Mi, else an estimate).
//
// It reserves whole instances only (Postgres takes huge pages for all its shared memory or none),
// at most 3/4 of the host's memory, and gives pages back when instances go, but never below the pool
// it found before it first raised it (kept in a file, so an agent restart does not forget it, and
// `pgstack down` puts it back: host/huge_page_pool.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "host/huge_page_pool.h"

namespace pgstack::agent {

using host::HugePagesState;
using host::kHugePageBytes;

struct HugePagesDecision {
  std::optional<std::int64_t> set_to;  // the pool size to ask the kernel for; nothing: leave it
  int instances_left_out = 0;          // instances whose pages would pass 3/4 of the memory
  std::string problem;                 // says so, when some are left out
};

// instances_bytes: what each instance assigned to this host maps. baseline: the pool before the agent
// first raised it (nothing: it never did, and the pool is never lowered).
HugePagesDecision plan_huge_pages(const std::vector<std::int64_t>& instances_bytes, const HugePagesState& state,
                                  std::optional<std::int64_t> baseline);

struct HugePagesPaths {
  std::string sysfs_dir = host::kHugePagesSysfsDir;
  std::string meminfo = "/proc/meminfo";
  std::string baseline_file;  // <agent state>/huge-pages-baseline (host::kHugePagesBaselineFile)
};

// Keeps the pool at what the instances map, from the agent's loop; logs a change or a problem once.
class HugePagesKeeper {
 public:
  explicit HugePagesKeeper(HugePagesPaths paths);
  void ensure(const std::vector<std::int64_t>& instances_bytes);

 private:
  void say_once(bool warning, std::string message);

  HugePagesPaths paths_;
  std::string last_message_;
};

}  // namespace pgstack::agent
