#include "monitoring/alert_rules.h"

#include <fmt/format.h>

#include "common/files.h"

namespace pgstack::monitoring {

Result<std::filesystem::path> write_alert_rules(const std::filesystem::path& rules_dir) {
  std::error_code error;
  std::filesystem::create_directories(rules_dir, error);
  if (error)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("cannot create {}: {}", rules_dir.string(), error.message()));
  const std::filesystem::path path = rules_dir / kAlertRulesFileName;
  auto written = write_file_atomically(path, std::string(alert_rules_text()));
  RETURN_IF_ERROR(written);
  return path;
}

}  // namespace pgstack::monitoring
