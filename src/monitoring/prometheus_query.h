// Prometheus's HTTP query API as pgstack reads it (the metrics endpoints, `pgstack top` and
// `pgstack metrics`): an instant query (`/api/v1/query`) or a range query (`/api/v1/query_range`)
// sent with a timeout, and the answer parsed into typed series (pure). A PromQL error
// (`"status": "error"`) becomes kInvalidInput naming the query and Prometheus's own words, an
// unreachable or failing Prometheus kUnavailable naming its URL, so the API can answer 400 and 503.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace pgstack::monitoring {

enum class PromResultType { kVector, kMatrix, kScalar, kString };
std::string_view prom_result_type_name(PromResultType type);  // vector, matrix, scalar, string

struct PromSample {
  double time = 0;   // seconds since the epoch (Prometheus sends fractions)
  double value = 0;  // NaN and +-Inf as Prometheus sends them ("NaN", "+Inf", "-Inf")
};

struct PromSeries {
  std::map<std::string, std::string> labels;  // __name__ included when Prometheus kept it
  std::vector<PromSample> samples;            // one for a vector or scalar, oldest first for a matrix
};

struct PromResult {
  PromResultType type = PromResultType::kVector;
  std::vector<PromSeries> series;  // a scalar or string is one series without labels
  std::string string_value;        // for kString
  std::vector<std::string> warnings;
};

// A range query's window; step in seconds (> 0), start <= end.
struct PromRange {
  double start = 0, end = 0, step = 0;
};

// The body of `/api/v1/query` or `/api/v1/query_range` (whatever the HTTP status: Prometheus answers
// errors with a JSON body too). `query` only names the query in errors.
Result<PromResult> parse_prometheus_response(std::string_view body, std::string_view query);

// A sample value as Prometheus writes it: "1.5", "NaN", "+Inf", "-Inf"; and back.
Result<double> parse_prometheus_value(std::string_view text);
std::string format_prometheus_value(double value);

// A query's time: seconds since the epoch ("1700000000.5") or RFC 3339 ("2026-12-05T01:00:00Z"), as
// Prometheus takes them; `field` names it in the error.
Result<double> parse_prom_time(std::string_view text, std::string_view field);
// A duration: seconds ("15", "0.5") or a number with a unit (500ms, 15s, 10m, 2h, 1d); > 0.
Result<double> parse_prom_duration(std::string_view text, std::string_view field);

// A value for an application/x-www-form-urlencoded body or a URL query (PromQL has braces, quotes, spaces).
std::string form_encode(std::string_view text);

// A label value inside a PromQL selector's double quotes.
std::string promql_quote(std::string_view value);

// The result in Prometheus's own shape ({"resultType", "result"}), values as strings so that NaN and
// +-Inf survive JSON; what the raw query endpoint answers.
nlohmann::ordered_json prom_result_to_json(const PromResult& result);
// And back (what the CLI reads); errors name the field.
Result<PromResult> prom_result_from_json(const nlohmann::ordered_json& json);

class PrometheusClient {
 public:
  explicit PrometheusClient(std::string url, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // At `time` (seconds since the epoch), else now.
  Result<PromResult> instant(const std::string& query, std::optional<double> time = std::nullopt) const;
  Result<PromResult> range(const std::string& query, const PromRange& range) const;

  const std::string& url() const { return url_; }

 private:
  Result<PromResult> post(const std::string& path, const std::string& form, const std::string& query) const;

  std::string url_;
  std::chrono::milliseconds timeout_;
};

}  // namespace pgstack::monitoring
