// pgstack's Grafana dashboards (monitoring/dashboards/*.json): built into the binaries so `pgstack up`
// writes the ones this build was tested with, and seen as what they ask Prometheus: every panel's
// PromQL, with Grafana's template variables filled in, so tests run each query against a real
// Prometheus. Pure apart from write_dashboards.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace pgstack::monitoring {

struct DashboardFile {
  std::string_view name;  // "overview.json"
  std::string_view text;  // as checked in
};

// Every dashboard file, by name.
std::vector<DashboardFile> built_in_dashboards();

// Writes them to <dir>/<name> (atomically, 0644; the directory is created), for an existing Grafana to
// import. Returns the directory.
Result<std::filesystem::path> write_dashboards(const std::filesystem::path& dir);

struct PanelQuery {
  std::string panel;   // the panel's title ("" when it has none)
  std::string ref_id;  // the target's refId
  std::string expr;    // as written, variables unsubstituted
};

// The panels of a dashboard in order, the panels nested in rows (collapsed or not) after their row.
// Rows themselves are not panels.
std::vector<nlohmann::json> dashboard_panels(const nlohmann::json& dashboard);

// Every target expr of every panel (targets without an expr are left out).
std::vector<PanelQuery> dashboard_queries(const nlohmann::json& dashboard);

// The names of the variables `text` refers to: $name, ${name}, ${name:format}, [[name]]
// (Grafana's built-ins such as __rate_interval included).
std::set<std::string> referenced_variables(std::string_view text);

// `text` with each variable that `values` names replaced by its value (any ${name:format} as the plain
// value); the others left as they are.
std::string substitute_variables(std::string_view text, const std::map<std::string, std::string>& values);

}  // namespace pgstack::monitoring
