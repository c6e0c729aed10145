// Prometheus' text exposition format (version 0.0.4): metric families with HELP and TYPE, label values
// escaped. Pure; whoever serves /metrics builds the families and formats them here.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace pgstack {

enum class MetricType { kGauge, kCounter };

struct MetricSample {
  std::vector<std::pair<std::string, std::string>> labels;  // in this order
  double value = 0;
};

struct MetricFamily {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<MetricSample> samples;
};

// Families without samples are left out (Prometheus reads a family with no sample as nothing anyway).
std::string format_prometheus_text(const std::vector<MetricFamily>& families);

inline constexpr const char* kPrometheusTextContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace pgstack
