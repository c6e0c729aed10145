#include "monitoring/prometheus_query.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

#include "common/http_client.h"
#include "common/time.h"
#include "monitoring/json_labels.h"

namespace pgstack::monitoring {
namespace {

using Json = nlohmann::ordered_json;

// Parses one [time, "value"] pair of Prometheus's answer.
Result<PromSample> prom_sample_from(const Json& pair, const std::string& where) {
  if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number() || !pair[1].is_string())
    return make_error(ErrorCode::kInvalidInput, where + ": expected [time, \"value\"]");
  PromSample sample;
  sample.time = pair[0].get<double>();
  auto value = parse_prometheus_value(pair[1].get<std::string>());
  if (!value) return make_error(ErrorCode::kInvalidInput, where + ": " + value.error().message);
  sample.value = *value;
  return sample;
}

// Prometheus's errorType: the query's fault (400) or Prometheus's (503).
bool prom_error_is_the_query(const std::string& error_type) {
  return error_type == "bad_data" || error_type == "execution" || error_type.empty();
}

// "data": {"resultType", "result"}, the same in Prometheus's answer and in the raw query endpoint's.
Result<PromResult> prom_data_from(const Json& data, const std::string& where) {
  if (!data.is_object()) return make_error(ErrorCode::kInvalidInput, where + ": expected an object");
  const auto type = data.find("resultType");
  if (type == data.end() || !type->is_string())
    return make_error(ErrorCode::kInvalidInput, where + ".resultType: missing");
  const auto result = data.find("result");
  if (result == data.end()) return make_error(ErrorCode::kInvalidInput, where + ".result: missing");
  PromResult out;
  const std::string type_name = type->get<std::string>();
  if (type_name == "vector" || type_name == "matrix") {
    out.type = type_name == "vector" ? PromResultType::kVector : PromResultType::kMatrix;
    if (!result->is_array()) return make_error(ErrorCode::kInvalidInput, where + ".result: expected a list");
    for (std::size_t index = 0; index < result->size(); ++index) {
      const Json& item = (*result)[index];
      const std::string at = fmt::format("{}.result[{}]", where, index);
      if (!item.is_object()) return make_error(ErrorCode::kInvalidInput, at + ": expected an object");
      PromSeries series;
      ASSIGN_OR_RETURN(series.labels, string_map_from(item.value("metric", Json()), at + ".metric"));
      if (out.type == PromResultType::kVector) {
        const auto value = item.find("value");
        if (value == item.end()) return make_error(ErrorCode::kInvalidInput, at + ".value: missing");
        ASSIGN_OR_RETURN(auto sample, prom_sample_from(*value, at + ".value"));
        series.samples.push_back(sample);
      } else {
        const auto values = item.find("values");
        if (values == item.end() || !values->is_array())
          return make_error(ErrorCode::kInvalidInput, at + ".values: expected a list");
        for (std::size_t point = 0; point < values->size(); ++point) {
          ASSIGN_OR_RETURN(auto sample, prom_sample_from((*values)[point], fmt::format("{}.values[{}]", at, point)));
          series.samples.push_back(sample);
        }
      }
      out.series.push_back(std::move(series));
    }
    return out;
  }
  if (type_name == "scalar") {
    out.type = PromResultType::kScalar;
    ASSIGN_OR_RETURN(auto sample, prom_sample_from(*result, where + ".result"));
    out.series.push_back({{}, {sample}});
    return out;
  }
  if (type_name == "string") {
    out.type = PromResultType::kString;
    if (!result->is_array() || result->size() != 2 || !(*result)[1].is_string())
      return make_error(ErrorCode::kInvalidInput, where + ".result: expected [time, \"text\"]");
    out.string_value = (*result)[1].get<std::string>();
    return out;
  }
  return make_error(
      ErrorCode::kInvalidInput,
      fmt::format("{}.resultType: unknown \"{}\": expected vector, matrix, scalar or string", where, type_name));
}

}  // namespace

std::string_view prom_result_type_name(PromResultType type) {
  switch (type) {
    case PromResultType::kVector: return "vector";
    case PromResultType::kMatrix: return "matrix";
    case PromResultType::kScalar: return "scalar";
    case PromResultType::kString: return "string";
  }
  return "vector";
}

Result<double> parse_prometheus_value(std::string_view text) {
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || std::isnan(value) || std::isinf(value))
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("\"{}\" is not a sample value (a number, NaN, +Inf or -Inf)", text.substr(0, 40)));
  return value;
}

Result<double> parse_prom_time(std::string_view text, std::string_view field) {
  const std::string copy(text);
  char* end = nullptr;
  const double seconds = std::strtod(copy.c_str(), &end);
  if (!copy.empty() && end == copy.c_str() + copy.size() && std::isfinite(seconds) && seconds >= 0) return seconds;
  if (const auto parsed = parse_utc_timestamp(text)) return static_cast<double>(parsed->time_since_epoch().count());
  return make_error(ErrorCode::kInvalidInput,
                    fmt::format("{}: \"{}\" is not a time: expected seconds since the epoch or RFC 3339 "
                                "(2026-12-05T01:00:00Z)",
                                field, text.substr(0, 40)));
}

Result<double> parse_prom_duration(std::string_view text, std::string_view field) {
  const std::string copy(text);
  char* end = nullptr;
  const double number = std::strtod(copy.c_str(), &end);
  const std::string_view unit(end, copy.c_str() + copy.size() - end);
  double factor = 0;
  if (unit.empty() || unit == "s")
    factor = 1;
  else if (unit == "ms")
    factor = 0.001;
  else if (unit == "m")
    factor = 60;
  else if (unit == "h")
    factor = 3600;
  else if (unit == "d")
    factor = 86400;
  if (copy.empty() || end == copy.c_str() || factor == 0 || !std::isfinite(number) || number <= 0)
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("{}: \"{}\" is not a duration: expected seconds or a number with ms, s, m, h or d "
                                  "(15s, 10m), above 0",
                                  field, text.substr(0, 40)));
  return number * factor;
}

std::string format_prometheus_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);  // shortest text that reads back the same
}

std::string form_encode(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') || (byte >= '0' && byte <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~')
      out += c;
    else
      out += fmt::format("%{:02X}", byte);
  }
  return out;
}

std::string promql_quote(std::string_view value) {
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

Result<PromResult> parse_prometheus_response(std::string_view body, std::string_view query) {
  const Json document = Json::parse(body, nullptr, false);
  if (document.is_discarded() || !document.is_object())
    return make_error(ErrorCode::kUnavailable, fmt::format("Prometheus's answer to \"{}\" is not a JSON object: {}",
                                                           query, body.substr(0, 120)));
  const std::string status = document.value("status", "");
  if (status == "error") {
    const std::string type = document.value("errorType", "");
    const std::string message = document.value("error", "");
    return make_error(prom_error_is_the_query(type) ? ErrorCode::kInvalidInput : ErrorCode::kUnavailable,
                      fmt::format("Prometheus refused the query \"{}\": {}{}", query, message,
                                  type.empty() ? "" : fmt::format(" ({})", type)));
  }
  if (status != "success")
    return make_error(
        ErrorCode::kUnavailable,
        fmt::format("Prometheus's answer to \"{}\": status \"{}\" is neither success nor error", query, status));
  auto result = prom_data_from(document.value("data", Json()), "data");
  if (!result)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("Prometheus's answer to \"{}\": {}", query, result.error().message));
  if (const auto warnings = document.find("warnings"); warnings != document.end() && warnings->is_array()) {
    for (const auto& warning : *warnings)
      if (warning.is_string()) result.value().warnings.push_back(warning.get<std::string>());
  }
  return result;
}

Json prom_result_to_json(const PromResult& result) {
  Json out = {{"resultType", std::string(prom_result_type_name(result.type))}};
  const auto pair = [](const PromSample& sample) {
    return Json::array({sample.time, format_prometheus_value(sample.value)});
  };
  switch (result.type) {
    case PromResultType::kString: out["result"] = Json::array({0, result.string_value}); break;
    case PromResultType::kScalar:
      out["result"] = result.series.empty() || result.series[0].samples.empty() ? Json::array({0, "NaN"})
                                                                                : pair(result.series[0].samples[0]);
      break;
    case PromResultType::kVector:
    case PromResultType::kMatrix: {
      Json items = Json::array();
      for (const auto& series : result.series) {
        Json item = {{"metric", series.labels}};
        if (result.type == PromResultType::kVector) {
          item["value"] = series.samples.empty() ? Json::array({0, "NaN"}) : pair(series.samples[0]);
        } else {
          Json values = Json::array();
          for (const auto& sample : series.samples) values.push_back(pair(sample));
          item["values"] = std::move(values);
        }
        items.push_back(std::move(item));
      }
      out["result"] = std::move(items);
      break;
    }
  }
  if (!result.warnings.empty()) out["warnings"] = result.warnings;
  return out;
}

Result<PromResult> prom_result_from_json(const Json& json) {
  auto result = prom_data_from(json, "query result");
  if (!result) return result;
  if (const auto warnings = json.find("warnings"); warnings != json.end() && warnings->is_array()) {
    for (const auto& warning : *warnings)
      if (warning.is_string()) result.value().warnings.push_back(warning.get<std::string>());
  }
  return result;
}

PrometheusClient::PrometheusClient(std::string url, std::chrono::milliseconds timeout)
    : url_(std::move(url)), timeout_(timeout) {
  while (!url_.empty() && url_.back() == '/') url_.pop_back();
}

Result<PromResult> PrometheusClient::instant(const std::string& query, std::optional<double> time) const {
  std::string form = "query=" + form_encode(query);
  if (time) form += "&time=" + fmt::format("{:.3f}", *time);
  return post("/api/v1/query", form, query);
}

Result<PromResult> PrometheusClient::range(const std::string& query, const PromRange& range) const {
  if (!(range.step > 0) || range.end < range.start)
    return make_error(ErrorCode::kInvalidInput,
                      fmt::format("range of \"{}\": expected start <= end and a step > 0", query));
  const std::string form =
      fmt::format("query={}&start={:.3f}&end={:.3f}&step={}", form_encode(query), range.start, range.end, range.step);
  return post("/api/v1/query_range", form, query);
}

Result<PromResult> PrometheusClient::post(const std::string& path, const std::string& form,
                                          const std::string& query) const {
  // POST: a long query does not hit a URL length limit.
  auto response =
      http_request("POST", url_ + path, form,
                   {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}}, timeout_);
  if (!response)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("Prometheus at {} is unreachable: {}", url_, response.error().message));
  auto parsed = parse_prometheus_response(response->body, query);
  if (!parsed && parsed.error().code == ErrorCode::kUnavailable && response->status != 200)
    return make_error(ErrorCode::kUnavailable, fmt::format("Prometheus at {} answered {} to {}: {}", url_,
                                                           response->status, path, response->body.substr(0, 200)));
  return parsed;
}

}  // namespace pgstack::monitoring
