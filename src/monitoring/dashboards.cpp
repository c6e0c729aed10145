#include "monitoring/dashboards.h"

#include <cctype>

#include <fmt/format.h>

#include "common/files.h"

namespace pgstack::monitoring {
namespace {

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

void collect_panels(const nlohmann::json& panels, std::vector<nlohmann::json>& out) {
  if (!panels.is_array()) return;
  for (const auto& panel : panels) {
    if (!panel.is_object()) continue;
    if (panel.value("type", "") != "row") out.push_back(panel);
    // A collapsed row keeps its panels inside it; an expanded one has them at the top level.
    if (panel.contains("panels")) collect_panels(panel["panels"], out);
  }
}

// A variable reference starting at text[at] == '$' or '[': its name and length, or an empty name.
std::pair<std::string, std::size_t> variable_at(std::string_view text, std::size_t at) {
  if (text[at] == '[') {
    if (text.substr(at, 2) != "[[") return {};
    const std::size_t end = text.find("]]", at + 2);
    if (end == std::string_view::npos) return {};
    std::string name(text.substr(at + 2, end - at - 2));
    if (const auto colon = name.find(':'); colon != std::string::npos) name.resize(colon);
    for (const char c : name) {
      if (!is_name_char(c)) return {};
    }
    return {name, end + 2 - at};
  }
  if (at + 1 < text.size() && text[at + 1] == '{') {
    const std::size_t end = text.find('}', at + 2);
    if (end == std::string_view::npos) return {};
    std::string name(text.substr(at + 2, end - at - 2));
    if (const auto colon = name.find(':'); colon != std::string::npos) name.resize(colon);
    for (const char c : name) {
      if (!is_name_char(c)) return {};
    }
    return {name, end + 1 - at};
  }
  std::size_t end = at + 1;
  while (end < text.size() && is_name_char(text[end])) ++end;
  return {std::string(text.substr(at + 1, end - at - 1)), end - at};
}

}  // namespace

Result<std::filesystem::path> write_dashboards(const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error)
    return make_error(ErrorCode::kUnavailable, fmt::format("cannot create {}: {}", dir.string(), error.message()));
  for (const auto& dashboard : built_in_dashboards()) {
    auto written = write_file_atomically(dir / dashboard.name, std::string(dashboard.text));
    RETURN_IF_ERROR(written);
  }
  return dir;
}

std::vector<nlohmann::json> dashboard_panels(const nlohmann::json& dashboard) {
  std::vector<nlohmann::json> out;
  if (dashboard.is_object() && dashboard.contains("panels")) collect_panels(dashboard["panels"], out);
  return out;
}

std::vector<PanelQuery> dashboard_queries(const nlohmann::json& dashboard) {
  std::vector<PanelQuery> out;
  for (const auto& panel : dashboard_panels(dashboard)) {
    const nlohmann::json targets = panel.value("targets", nlohmann::json::array());
    if (!targets.is_array()) continue;
    for (const auto& target : targets) {
      if (!target.is_object() || !target.contains("expr") || !target["expr"].is_string()) continue;
      const nlohmann::json title = panel.value("title", nlohmann::json());
      out.push_back({title.is_string() ? title.get<std::string>() : "", target.value("refId", ""),
                     target["expr"].get<std::string>()});
    }
  }
  return out;
}

std::set<std::string> referenced_variables(std::string_view text) {
  std::set<std::string> names;
  for (std::size_t at = 0; at < text.size(); ++at) {
    if (text[at] != '$' && text[at] != '[') continue;
    auto [name, length] = variable_at(text, at);
    if (name.empty()) continue;
    names.insert(name);
    at += length - 1;
  }
  return names;
}

std::string substitute_variables(std::string_view text, const std::map<std::string, std::string>& values) {
  std::string out;
  for (std::size_t at = 0; at < text.size(); ++at) {
    if (text[at] == '$' || text[at] == '[') {
      auto [name, length] = variable_at(text, at);
      const auto value = name.empty() ? values.end() : values.find(name);
      if (value != values.end()) {
        out += value->second;
        at += length - 1;
        continue;
      }
    }
    out += text[at];
  }
  return out;
}

}  // namespace pgstack::monitoring
