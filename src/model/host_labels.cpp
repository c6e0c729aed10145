#include "model/host_labels.h"

#include <algorithm>

#include <fmt/format.h>

namespace pgstack::model {
namespace {

bool made_of(std::string_view text, std::string_view extra) {
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

}  // namespace

bool is_label_key(std::string_view key) { return !key.empty() && key.size() <= 253 && made_of(key, "-_./"); }

bool is_label_value(std::string_view value) { return value.size() <= 63 && made_of(value, "-_."); }

std::optional<std::pair<std::string, std::string>> parse_label(std::string_view text, std::string& error) {
  const auto equals = text.find('=');
  if (equals == std::string_view::npos) {
    error = fmt::format("\"{}\": expected KEY=VALUE", text);
    return std::nullopt;
  }
  const std::string_view key = text.substr(0, equals);
  const std::string_view value = text.substr(equals + 1);
  if (!is_label_key(key)) {
    error = fmt::format("\"{}\": the key must be 1 to 253 letters, digits, '-', '_', '.' or '/'", text);
    return std::nullopt;
  }
  if (!is_label_value(value)) {
    error = fmt::format("\"{}\": the value must be up to 63 letters, digits, '-', '_' or '.'", text);
    return std::nullopt;
  }
  return std::make_pair(std::string(key), std::string(value));
}

bool matches_selector(const Labels& labels, const Labels& selector) {
  return std::all_of(selector.begin(), selector.end(), [&](const auto& wanted) {
    const auto found = labels.find(wanted.first);
    return found != labels.end() && found->second == wanted.second;
  });
}

Labels labels_from(const nlohmann::ordered_json& object) {
  Labels labels;
  if (!object.is_object()) return labels;
  for (const auto& [key, value] : object.items())
    if (value.is_string()) labels[key] = value.get<std::string>();
  return labels;
}

std::string describe_labels(const Labels& labels) {
  if (labels.empty()) return "no labels";
  std::string out;
  for (const auto& [key, value] : labels) {
    if (!out.empty()) out += ',';
    out += key;
    out += '=';
    out += value;
  }
  return out;
}

}  // namespace pgstack::model
