#include "host/huge_page_pool.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace pgstack::host {

namespace {

Result<std::int64_t> read_count(const std::string& path) {
  std::ifstream in(path);
  std::int64_t value = 0;
  if (!(in >> value)) return make_error(ErrorCode::kUnavailable, fmt::format("cannot read a number from {}", path));
  return value;
}

}  // namespace

Result<HugePagesState> read_huge_pages(const std::string& sysfs_dir, const std::string& meminfo) {
  HugePagesState state;
  auto total = read_count(sysfs_dir + "/nr_hugepages");
  if (!total) return total.error();
  auto free = read_count(sysfs_dir + "/free_hugepages");
  if (!free) return free.error();
  state.total = *total;
  state.free = *free;
  std::ifstream in(meminfo);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string name;
    std::int64_t kilobytes = 0;
    if (words >> name >> kilobytes && name == "MemTotal:") state.memory_bytes = kilobytes * 1024;
  }
  if (state.memory_bytes <= 0) return make_error(ErrorCode::kUnavailable, "no MemTotal in " + meminfo);
  return state;
}

Result<bool> write_huge_pages(const std::string& sysfs_dir, std::int64_t pages) {
  const std::string path = sysfs_dir + "/nr_hugepages";
  std::ofstream out(path);
  out << pages << '\n';
  out.flush();
  if (!out) return make_error(ErrorCode::kUnavailable, fmt::format("cannot write {} (not root?)", path));
  return true;
}

std::optional<std::int64_t> read_huge_pages_baseline(const std::string& baseline_file) {
  auto kept = read_count(baseline_file);
  if (!kept) return std::nullopt;
  return *kept;
}

Result<std::optional<std::pair<std::int64_t, std::int64_t>>> restore_huge_pages(const std::string& sysfs_dir,
                                                                                const std::string& baseline_file) {
  const auto baseline = read_huge_pages_baseline(baseline_file);
  if (!baseline) return std::optional<std::pair<std::int64_t, std::int64_t>>();
  auto before = read_count(sysfs_dir + "/nr_hugepages");
  if (!before) return before.error();
  if (auto written = write_huge_pages(sysfs_dir, *baseline); !written) return written.error();
  auto after = read_count(sysfs_dir + "/nr_hugepages");
  std::error_code error;
  std::filesystem::remove(baseline_file, error);
  return std::optional<std::pair<std::int64_t, std::int64_t>>({*before, after ? *after : *baseline});
}

}  // namespace pgstack::host
