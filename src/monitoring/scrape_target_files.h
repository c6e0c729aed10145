// Writes the file_sd files Prometheus watches: <dir>/<job>.json for every job, atomically (write and
// rename, so Prometheus never reads half a file), and only when the content changes, so an unchanged
// pass touches nothing and Prometheus sees no event.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"
#include "monitoring/scrape_targets.h"

namespace pgstack::monitoring {

// The files rewritten (0: nothing changed). Creates `dir` when missing.
Result<int> write_scrape_target_files(const std::filesystem::path& dir,
                                      const std::map<std::string, std::vector<TargetGroup>>& groups_by_job);

}  // namespace pgstack::monitoring
