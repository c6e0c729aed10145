#include "monitoring/scrape_target_files.h"

#include <fmt/format.h>

#include "common/files.h"

namespace pgstack::monitoring {

Result<int> write_scrape_target_files(const std::filesystem::path& dir,
                                      const std::map<std::string, std::vector<TargetGroup>>& groups_by_job) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error)
    return make_error(ErrorCode::kUnavailable, fmt::format("cannot create {}: {}", dir.string(), error.message()));
  int written = 0;
  for (const auto& [job, groups] : groups_by_job) {
    const auto path = dir / (job + ".json");
    const std::string content = file_sd_json(groups).dump(2) + "\n";
    if (auto current = read_file(path); current.ok() && *current == content) continue;
    RETURN_IF_ERROR(write_file_atomically(path, content));
    ++written;
  }
  return written;
}

}  // namespace pgstack::monitoring
