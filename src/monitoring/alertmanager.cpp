#include "monitoring/alertmanager.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "common/http_client.h"
#include "common/time.h"
#include "monitoring/json_labels.h"

namespace pgstack::monitoring {
namespace {

using Json = nlohmann::ordered_json;

// Critical first: what a person should look at first leads every list.
int severity_rank(const std::string& severity) {
  if (severity == "critical") return 0;
  if (severity == "warning") return 1;
  if (severity == "info") return 2;
  return 3;
}

std::string value_of(const std::map<std::string, std::string>& map, const char* key) {
  const auto found = map.find(key);
  return found == map.end() ? std::string() : found->second;
}

// Alertmanager writes fractions of seconds; pgstack's timestamps have whole seconds everywhere.
std::string whole_seconds(const std::string& timestamp) {
  const auto parsed = parse_utc_timestamp(timestamp);
  return parsed ? utc_timestamp(*parsed) : timestamp;
}

Result<std::vector<std::string>> string_list(const Json& array, const std::string& where) {
  std::vector<std::string> out;
  if (array.is_null()) return out;
  if (!array.is_array()) return make_error(ErrorCode::kInvalidInput, where + ": expected a list of strings");
  for (const auto& value : array) {
    if (!value.is_string()) return make_error(ErrorCode::kInvalidInput, where + ": expected a list of strings");
    out.push_back(value.get<std::string>());
  }
  return out;
}

std::string string_field(const Json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

Result<AlertState> parse_state(const std::string& text, const std::string& where) {
  if (text == "active" || text == "firing") return AlertState::kFiring;
  if (text == "suppressed") return AlertState::kSuppressed;
  if (text == "unprocessed") return AlertState::kUnprocessed;
  return make_error(ErrorCode::kInvalidInput,
                    fmt::format("{}: unknown state \"{}\": expected active, suppressed or unprocessed", where, text));
}

// Fills the fields that come from labels and annotations.
void derive_fields(Alert& alert) {
  alert.name = value_of(alert.labels, "alertname");
  alert.severity = value_of(alert.labels, "severity");
  alert.namespace_name = value_of(alert.labels, "namespace");
  alert.cluster = value_of(alert.labels, "cluster");
  alert.instance_name = value_of(alert.labels, "instance_name");
  alert.host = value_of(alert.labels, "host");
  alert.instance = value_of(alert.labels, "instance");
  alert.summary = value_of(alert.annotations, "summary");
  alert.description = value_of(alert.annotations, "description");
}

void sort_alerts(std::vector<Alert>& alerts) {
  std::stable_sort(alerts.begin(), alerts.end(), [](const Alert& a, const Alert& b) {
    return std::forward_as_tuple(severity_rank(a.severity), a.name, a.namespace_name, a.cluster, a.instance_name,
                                 a.instance, a.fingerprint) <
           std::forward_as_tuple(severity_rank(b.severity), b.name, b.namespace_name, b.cluster, b.instance_name,
                                 b.instance, b.fingerprint);
  });
}

}  // namespace

std::string_view alert_state_name(AlertState state) {
  switch (state) {
    case AlertState::kFiring: return "firing";
    case AlertState::kSuppressed: return "suppressed";
    case AlertState::kUnprocessed: return "unprocessed";
  }
  return "firing";
}

Result<std::vector<Alert>> parse_alertmanager_alerts(std::string_view body) {
  const Json document = Json::parse(body, nullptr, false);
  if (document.is_discarded())
    return make_error(ErrorCode::kInvalidInput, "Alertmanager's alerts: the body is not JSON");
  if (!document.is_array())
    return make_error(ErrorCode::kInvalidInput, "Alertmanager's alerts: expected a list (GET /api/v2/alerts)");
  std::vector<Alert> alerts;
  for (std::size_t index = 0; index < document.size(); ++index) {
    const Json& item = document[index];
    const std::string where = fmt::format("Alertmanager's alerts[{}]", index);
    if (!item.is_object()) return make_error(ErrorCode::kInvalidInput, where + ": expected an object");
    Alert alert;
    ASSIGN_OR_RETURN(alert.labels, string_map_from(item.value("labels", Json()), where + ".labels"));
    ASSIGN_OR_RETURN(alert.annotations, string_map_from(item.value("annotations", Json()), where + ".annotations"));
    if (!alert.labels.contains("alertname"))
      return make_error(ErrorCode::kInvalidInput, where + ".labels: has no alertname");
    const Json status = item.value("status", Json::object());
    if (!status.is_object()) return make_error(ErrorCode::kInvalidInput, where + ".status: expected an object");
    ASSIGN_OR_RETURN(alert.state, parse_state(string_field(status, "state"), where + ".status.state"));
    ASSIGN_OR_RETURN(alert.silenced_by, string_list(status.value("silencedBy", Json()), where + ".status.silencedBy"));
    ASSIGN_OR_RETURN(alert.inhibited_by,
                     string_list(status.value("inhibitedBy", Json()), where + ".status.inhibitedBy"));
    alert.starts_at = whole_seconds(string_field(item, "startsAt"));
    alert.updated_at = whole_seconds(string_field(item, "updatedAt"));
    alert.ends_at = whole_seconds(string_field(item, "endsAt"));
    alert.fingerprint = string_field(item, "fingerprint");
    alert.generator_url = string_field(item, "generatorURL");
    derive_fields(alert);
    alerts.push_back(std::move(alert));
  }
  sort_alerts(alerts);
  return alerts;
}

Result<std::vector<Alert>> fetch_alertmanager_alerts(const std::string& alertmanager_url,
                                                     std::chrono::milliseconds timeout) {
  std::string url = alertmanager_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/api/v2/alerts";
  auto response = http_request("GET", url, {}, {{"Accept", "application/json"}}, timeout);
  if (!response)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("Alertmanager at {} is unreachable: {}", alertmanager_url, response.error().message));
  if (response->status != 200)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("Alertmanager at {} answered {} to GET /api/v2/alerts: {}", alertmanager_url,
                                  response->status, response->body.substr(0, 200)));
  auto alerts = parse_alertmanager_alerts(response->body);
  if (!alerts)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("Alertmanager at {}: {}", alertmanager_url, alerts.error().message));
  return alerts;
}

bool alert_concerns_cluster(const Alert& alert, std::string_view namespace_name, std::string_view cluster,
                            const std::set<std::string>& member_hosts) {
  if (!alert.cluster.empty()) return alert.namespace_name == namespace_name && alert.cluster == cluster;
  return !alert.host.empty() && member_hosts.contains(alert.host);
}

Json alert_to_json(const Alert& alert) {
  return {{"name", alert.name},
          {"severity", alert.severity},
          {"state", std::string(alert_state_name(alert.state))},
          {"namespace", alert.namespace_name},
          {"cluster", alert.cluster},
          {"instanceName", alert.instance_name},
          {"host", alert.host},
          {"instance", alert.instance},
          {"summary", alert.summary},
          {"description", alert.description},
          {"startsAt", alert.starts_at},
          {"updatedAt", alert.updated_at},
          {"endsAt", alert.ends_at},
          {"fingerprint", alert.fingerprint},
          {"generatorURL", alert.generator_url},
          {"labels", alert.labels},
          {"annotations", alert.annotations},
          {"silencedBy", alert.silenced_by},
          {"inhibitedBy", alert.inhibited_by}};
}

Result<Alert> alert_from_json(const Json& json) {
  if (!json.is_object()) return make_error(ErrorCode::kInvalidInput, "alert: expected an object");
  Alert alert;
  ASSIGN_OR_RETURN(alert.labels, string_map_from(json.value("labels", Json()), "alert.labels"));
  ASSIGN_OR_RETURN(alert.annotations, string_map_from(json.value("annotations", Json()), "alert.annotations"));
  ASSIGN_OR_RETURN(alert.state, parse_state(string_field(json, "state"), "alert.state"));
  ASSIGN_OR_RETURN(alert.silenced_by, string_list(json.value("silencedBy", Json()), "alert.silencedBy"));
  ASSIGN_OR_RETURN(alert.inhibited_by, string_list(json.value("inhibitedBy", Json()), "alert.inhibitedBy"));
  // The named fields as the API wrote them (from the labels and annotations).
  alert.name = string_field(json, "name");
  alert.severity = string_field(json, "severity");
  alert.namespace_name = string_field(json, "namespace");
  alert.cluster = string_field(json, "cluster");
  alert.instance_name = string_field(json, "instanceName");
  alert.host = string_field(json, "host");
  alert.instance = string_field(json, "instance");
  alert.summary = string_field(json, "summary");
  alert.description = string_field(json, "description");
  alert.starts_at = string_field(json, "startsAt");
  alert.updated_at = string_field(json, "updatedAt");
  alert.ends_at = string_field(json, "endsAt");
  alert.fingerprint = string_field(json, "fingerprint");
  alert.generator_url = string_field(json, "generatorURL");
  if (alert.name.empty()) return make_error(ErrorCode::kInvalidInput, "alert: has no name");
  return alert;
}

std::string alert_subject(const Alert& alert) {
  if (!alert.instance_name.empty()) return alert.instance_name;
  if (!alert.host.empty()) return alert.host;
  return alert.instance;
}

}  // namespace pgstack::monitoring
