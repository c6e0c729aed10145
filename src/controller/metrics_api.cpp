#include "controller/metrics_api.h"

#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "controller/api_input.h"
#include "controller/api_reply.h"
#include "monitoring/cluster_metrics.h"
#include "monitoring/prometheus_query.h"

namespace pgstack::controller {
namespace {

using model::Json;

// Short: a summary is about 20 queries and `pgstack top` asks again every few seconds.
constexpr std::chrono::seconds kMetricsQueryTimeout{5};

HttpReply metrics_not_configured() {
  return problem(503, "MonitoringNotConfigured",
                 "monitoring is not configured: pgstack-controller runs without --prometheus, so there are no "
                 "metrics to show (pgstack up passes its Prometheus; docs/monitoring.md)");
}

// A query parameter, "" when absent.
std::string metrics_param(const std::map<std::string, std::string>& query, const std::string& name) {
  const auto found = query.find(name);
  return found == query.end() ? std::string() : found->second;
}

HttpReply metrics_invalid_query(const std::string& name, const std::string& message) {
  return problem_reply(InputProblem{400, "Invalid query", "query parameter " + name, message});
}

double metrics_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

bool is_metrics_query_path(const std::vector<std::string>& parts) {
  return parts.size() == 4 && parts[0] == "apis" && parts[1] == "pgstack.io" && parts[2] == "v1" && parts[3] == "query";
}

bool is_metrics_summary_path(const std::vector<std::string>& parts) {
  return parts.size() == 9 && parts[0] == "apis" && parts[1] == "pgstack.io" && parts[2] == "v1" &&
         parts[3] == "namespaces" && parts[5] == "sgclusters" && parts[7] == "metrics" && parts[8] == "summary";
}

HttpReply MetricsApi::handle(const HttpRequest& request, const std::vector<std::string>& parts) const {
  if (request.method != "GET" && request.method != "HEAD")
    return problem(405, "MethodNotAllowed",
                   fmt::format("{} is not allowed on metrics: they are read-only (GET)", request.method));
  if (is_metrics_summary_path(parts)) {
    if (auto refused = check_route_names(request.method, parts[4], 5, &parts[6], 7)) return problem_reply(*refused);
    return summary(request, parts[4], parts[6]);
  }
  return query(request);
}

HttpReply MetricsApi::summary(const HttpRequest& request, const std::string& namespace_name,
                              const std::string& cluster) const {
  std::map<std::string, std::string> params;
  if (auto refused = parse_query(request.target.empty() ? request.path : request.target, params))
    return problem_reply(*refused);
  int minutes = 10;
  if (const std::string text = metrics_param(params, "minutes"); !text.empty()) {
    char* end = nullptr;
    const long parsed = std::strtol(text.c_str(), &end, 10);
    if (end != text.c_str() + text.size() || parsed < 1 || parsed > 1440)
      return metrics_invalid_query("minutes",
                                   fmt::format("\"{}\": expected whole minutes from 1 to 1440", text.substr(0, 20)));
    minutes = static_cast<int>(parsed);
  }
  if (auto found = store_.get("SGCluster", namespace_name, cluster); !found.ok()) return problem_from(found.error());
  if (prometheus_url_.empty()) return metrics_not_configured();

  const monitoring::PrometheusClient prometheus(prometheus_url_, kMetricsQueryTimeout);
  const double now = metrics_now();
  const monitoring::PromRange window{now - minutes * 60.0, now, monitoring::cluster_metrics_step(minutes)};
  std::map<std::string, monitoring::PromResult> results;
  std::vector<std::string> errors;
  for (const auto& query : monitoring::cluster_metrics_queries(namespace_name, cluster)) {
    auto result = query.range ? prometheus.range(query.promql, window) : prometheus.instant(query.promql, now);
    if (result.ok()) {
      results[query.key] = std::move(result).value();
      continue;
    }
    // Unreachable: every other query would wait for its timeout too.
    if (results.empty() && result.error().message.find("unreachable") != std::string::npos)
      return problem(503, "Unavailable", result.error().message);
    errors.push_back(query.key + ": " + result.error().message);
  }
  monitoring::ClusterMetrics metrics =
      monitoring::assemble_cluster_metrics(namespace_name, cluster, minutes, now, results);
  metrics.errors = std::move(errors);
  return json_reply(200, monitoring::cluster_metrics_to_json(metrics));
}

HttpReply MetricsApi::query(const HttpRequest& request) const {
  std::map<std::string, std::string> params;
  if (auto refused = parse_query(request.target.empty() ? request.path : request.target, params))
    return problem_reply(*refused);
  const std::string promql = metrics_param(params, "query");
  if (promql.empty()) return metrics_invalid_query("query", "missing: expected a PromQL expression");
  if (promql.size() > 16384) return metrics_invalid_query("query", "longer than 16384 bytes");
  // A cluster named by `pgstack metrics CLUSTER` must exist; the query itself is not narrowed by it.
  const std::string namespace_name = metrics_param(params, "namespace");
  const std::string cluster = metrics_param(params, "cluster");
  if (!cluster.empty()) {
    const std::string ns = namespace_name.empty() ? std::string("default") : namespace_name;
    if (auto refused = check_route_names(request.method, ns, 5, &cluster, 7)) return problem_reply(*refused);
    if (auto found = store_.get("SGCluster", ns, cluster); !found.ok()) return problem_from(found.error());
  }
  const std::string start = metrics_param(params, "start"), end = metrics_param(params, "end"),
                    step = metrics_param(params, "step");
  const bool range = !start.empty() || !end.empty() || !step.empty();
  monitoring::PromRange window;
  std::optional<double> time;
  if (range) {
    if (start.empty() || end.empty() || step.empty())
      return metrics_invalid_query(start.empty() ? "start"
                                   : end.empty() ? "end"
                                                 : "step",
                                   "missing: a range query needs start, end and step");
    auto from = monitoring::parse_prom_time(start, "start");
    if (!from) return metrics_invalid_query("start", from.error().message);
    auto to = monitoring::parse_prom_time(end, "end");
    if (!to) return metrics_invalid_query("end", to.error().message);
    auto every = monitoring::parse_prom_duration(step, "step");
    if (!every) return metrics_invalid_query("step", every.error().message);
    if (*to < *from) return metrics_invalid_query("end", "before start");
    // Prometheus itself refuses more than 11,000 points per series.
    if ((*to - *from) / *every > 11000)
      return metrics_invalid_query("step", "too small for the range: at most 11000 points per series");
    window = {*from, *to, *every};
  } else if (const std::string at = metrics_param(params, "time"); !at.empty()) {
    auto parsed = monitoring::parse_prom_time(at, "time");
    if (!parsed) return metrics_invalid_query("time", parsed.error().message);
    time = *parsed;
  }
  if (prometheus_url_.empty()) return metrics_not_configured();
  const monitoring::PrometheusClient prometheus(prometheus_url_, std::chrono::seconds(30));
  auto result = range ? prometheus.range(promql, window) : prometheus.instant(promql, time);
  if (!result.ok()) {
    if (result.error().code == ErrorCode::kInvalidInput) return problem(400, "Invalid query", result.error().message);
    const bool unreachable = result.error().message.find("unreachable") != std::string::npos;
    return problem(unreachable ? 503 : 502, unreachable ? "Unavailable" : "Bad Gateway", result.error().message);
  }
  Json body = {{"apiVersion", "pgstack.io/v1"}, {"kind", "QueryResult"}, {"query", promql}};
  if (!cluster.empty()) {
    body["namespace"] = namespace_name.empty() ? "default" : namespace_name;
    body["cluster"] = cluster;
  }
  const Json data = monitoring::prom_result_to_json(*result);
  for (const auto& [key, value] : data.items()) body[key] = value;
  return json_reply(200, body);
}

}  // namespace pgstack::controller
