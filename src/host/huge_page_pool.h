// This host's pool of 2MiB huge pages: read it, size it, and put it back as pgstack found it.
// pgstack-agent sizes it for its instances (agent/huge_pages.h) and keeps the size it found before
// its first change in a baseline file; `pgstack down` puts that size back once the instances stopped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/error.h"

namespace pgstack::host {

inline constexpr std::int64_t kHugePageBytes = 2 * 1024 * 1024;
inline constexpr const char* kHugePagesSysfsDir = "/sys/kernel/mm/hugepages/hugepages-2048kB";
inline constexpr const char* kHugePagesBaselineFile = "huge-pages-baseline";  // in the agent's state dir

struct HugePagesState {
  std::int64_t total = 0;         // 2MiB pages in the pool (nr_hugepages)
  std::int64_t free = 0;          // of those, not mapped by anyone
  std::int64_t memory_bytes = 0;  // MemTotal
};

// Reads the pool from `sysfs_dir` (nr_hugepages, free_hugepages) and MemTotal from `meminfo`.
Result<HugePagesState> read_huge_pages(const std::string& sysfs_dir, const std::string& meminfo = "/proc/meminfo");

// Asks the kernel for a pool of `pages` (it may reserve fewer when memory is fragmented: read again).
Result<bool> write_huge_pages(const std::string& sysfs_dir, std::int64_t pages);

// The pool size kept in `baseline_file`; nothing when there is none (pgstack never changed the pool).
std::optional<std::int64_t> read_huge_pages_baseline(const std::string& baseline_file);

// Puts the pool back to the size in `baseline_file` and removes the file. Returns the pool's size
// before and after, or nothing when there was no baseline; an error when the pool cannot be written
// (the file stays, so that a later call can finish the job).
Result<std::optional<std::pair<std::int64_t, std::int64_t>>> restore_huge_pages(const std::string& sysfs_dir,
                                                                                const std::string& baseline_file);

}  // namespace pgstack::host
