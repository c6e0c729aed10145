#include "common/prometheus_text.h"

#include <cmath>

#include <fmt/format.h>

namespace pgstack {
namespace {

std::string escape(std::string_view text, bool quote) {
  std::string out;
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) return fmt::format("{}", static_cast<long long>(value));
  return fmt::format("{}", value);
}

}  // namespace

std::string format_prometheus_text(const std::vector<MetricFamily>& families) {
  std::string text;
  for (const auto& family : families) {
    if (family.samples.empty()) continue;
    text += fmt::format("# HELP {} {}\n# TYPE {} {}\n", family.name, escape(family.help, false), family.name,
                        family.type == MetricType::kCounter ? "counter" : "gauge");
    for (const auto& sample : family.samples) {
      text += family.name;
      if (!sample.labels.empty()) {
        text += '{';
        for (std::size_t i = 0; i < sample.labels.size(); ++i) {
          if (i > 0) text += ',';
          text += fmt::format("{}=\"{}\"", sample.labels[i].first, escape(sample.labels[i].second, true));
        }
        text += '}';
      }
      text += ' ' + number(sample.value) + '\n';
    }
  }
  return text;
}

}  // namespace pgstack
