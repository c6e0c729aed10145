// pgstack's Prometheus alert rules (monitoring/rules/pgstack-alerts.yml, promtool-tested; the table
// with every alert, its threshold and why is in docs/monitoring.md). The binaries carry the text, so
// `pgstack up` writes exactly the rules this build was tested with.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/error.h"

namespace pgstack::monitoring {

// The rule file's text, as checked in.
std::string_view alert_rules_text();

inline constexpr std::string_view kAlertRulesFileName = "pgstack-alerts.yml";

// Writes the rules to <rules_dir>/pgstack-alerts.yml (atomically, 0644; the directory is created),
// where Prometheus loads every *.yml. Returns the file's path.
Result<std::filesystem::path> write_alert_rules(const std::filesystem::path& rules_dir);

}  // namespace pgstack::monitoring
