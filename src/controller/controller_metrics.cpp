#include "controller/controller_metrics.h"

#include <fmt/format.h>

#include "model/kinds.h"

namespace pgstack::controller {
namespace {

constexpr std::string_view kOther = "{other}";

std::string escape_label(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::pair<std::string, std::string> namespace_and_cluster(const std::string& key) {
  const auto slash = key.find('/');
  if (slash == std::string::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

bool is_known_action(const std::string& action) {
  for (const char* known : {"status", "credentials", "switchover", "restart", "verify"})
    if (action == known) return true;
  return false;
}

}  // namespace

std::string route_template(const std::vector<std::string>& parts) {
  const auto n = parts.size();
  if (n == 1 && parts[0] == "healthz") return "/healthz";
  if (n == 0 || parts[0] == "ui") return "/ui/*";
  if (n >= 1 && parts[0] == "auth") {
    if (n == 2 && (parts[1] == "login" || parts[1] == "logout" || parts[1] == "whoami" || parts[1] == "session"))
      return "/auth/" + parts[1];
    return "/auth/" + std::string(kOther);
  }
  if (n >= 4 && parts[0] == "apis" && parts[1] == "pgstack.io" && parts[2] == "v1") {
    const std::string base = "/apis/pgstack.io/v1/";
    if (n == 4 && parts[3] == "query") return base + "query";
    if (n == 9 && parts[3] == "namespaces" && parts[5] == "sgclusters" && parts[7] == "metrics" &&
        parts[8] == "summary")
      return base + "namespaces/{namespace}/sgclusters/{name}/metrics/summary";
    if (n == 8 && parts[3] == "namespaces" && parts[5] == "sgclusters" && parts[7] == "logs")
      return base + "namespaces/{namespace}/sgclusters/{name}/logs";
    for (const char* collection : {"tokens", "users", "audit", "extensions"}) {
      if (parts[3] != collection) continue;
      if (n == 4) return base + collection;
      if (n == 5) return base + collection + "/{name}";
      if (n == 6 && parts[5] == "password") return base + collection + "/{name}/password";
    }
    return base + std::string(kOther);
  }
  if (n >= 5 && n <= 6 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "namespaces" && parts[4] == "secrets")
    return n == 5 ? "/api/v1/namespaces/{namespace}/secrets" : "/api/v1/namespaces/{namespace}/secrets/{name}";
  if (n >= 6 && n <= 8 && parts[0] == "apis" && parts[1] == "stackgres.io" &&
      (parts[2] == "v1" || parts[2] == "v1beta1") && parts[3] == "namespaces") {
    const model::KindInfo* kind = model::find_kind(parts[5]);
    if (kind == nullptr) return "/apis/stackgres.io/" + parts[2] + "/namespaces/{namespace}/" + std::string(kOther);
    std::string out = "/apis/stackgres.io/" + parts[2] + "/namespaces/{namespace}/" + kind->plural;
    if (n >= 7) out += "/{name}";
    if (n == 8) out += "/" + (is_known_action(parts[7]) ? parts[7] : std::string(kOther));
    return out;
  }
  return std::string(kOther);
}

void ControllerMetrics::record_request(const std::string& method, const std::string& route, int status) {
  // Methods a client invents would grow the label set: they share one value.
  const bool known = method == "GET" || method == "HEAD" || method == "POST" || method == "PUT" || method == "PATCH" ||
                     method == "DELETE" || method == "OPTIONS";
  const std::lock_guard lock(mutex_);
  ++requests_[{known ? method : "OTHER", route, status}];
}

void ControllerMetrics::record_reconcile(const std::string& cluster_key, std::chrono::duration<double> took,
                                         bool failed) {
  const std::lock_guard lock(mutex_);
  Histogram& histogram = reconcile_seconds_[cluster_key];
  const double seconds = took.count();
  for (std::size_t i = 0; i < kReconcileBuckets.size(); ++i) {
    if (seconds <= kReconcileBuckets[i]) {
      ++histogram.buckets[i];
      break;
    }
  }
  ++histogram.count;
  histogram.sum += seconds;
  if (failed) ++reconcile_errors_[cluster_key];
}

void ControllerMetrics::record_skipped_pass() {
  const std::lock_guard lock(mutex_);
  ++skipped_passes_;
}

void ControllerMetrics::set_expected_replicas(std::map<std::string, int> by_cluster) {
  const std::lock_guard lock(mutex_);
  expected_replicas_ = std::move(by_cluster);
}

std::string ControllerMetrics::render(bool leader) const {
  const std::lock_guard lock(mutex_);
  std::string out;
  out += "# HELP pgstack_controller_leader 1 when this controller leads (runs the reconcilers), else 0.\n";
  out += "# TYPE pgstack_controller_leader gauge\n";
  out += fmt::format("pgstack_controller_leader {}\n", leader ? 1 : 0);

  out += "# HELP pgstack_controller_api_requests_total REST API requests served, by route template and status.\n";
  out += "# TYPE pgstack_controller_api_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    const auto& [method, route, status] = key;
    out += fmt::format("pgstack_controller_api_requests_total{{method=\"{}\",route=\"{}\",code=\"{}\"}} {}\n", method,
                       escape_label(route), status, count);
  }

  out += "# HELP pgstack_controller_reconcile_duration_seconds Time of one reconcile of one cluster.\n";
  out += "# TYPE pgstack_controller_reconcile_duration_seconds histogram\n";
  for (const auto& [key, histogram] : reconcile_seconds_) {
    const auto [ns, cluster] = namespace_and_cluster(key);
    const std::string labels = fmt::format("namespace=\"{}\",cluster=\"{}\"", escape_label(ns), escape_label(cluster));
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kReconcileBuckets.size(); ++i) {
      cumulative += histogram.buckets[i];
      out += fmt::format("pgstack_controller_reconcile_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", labels,
                         kReconcileBuckets[i], cumulative);
    }
    out += fmt::format("pgstack_controller_reconcile_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", labels,
                       histogram.count);
    out += fmt::format("pgstack_controller_reconcile_duration_seconds_sum{{{}}} {}\n", labels, histogram.sum);
    out += fmt::format("pgstack_controller_reconcile_duration_seconds_count{{{}}} {}\n", labels, histogram.count);
  }

  out += "# HELP pgstack_controller_reconcile_errors_total Reconciles of a cluster that failed with an error.\n";
  out += "# TYPE pgstack_controller_reconcile_errors_total counter\n";
  for (const auto& [key, count] : reconcile_errors_) {
    const auto [ns, cluster] = namespace_and_cluster(key);
    out += fmt::format("pgstack_controller_reconcile_errors_total{{namespace=\"{}\",cluster=\"{}\"}} {}\n",
                       escape_label(ns), escape_label(cluster), count);
  }
  out += "# HELP pgstack_controller_reconcile_skipped_passes_total Reconcile passes not run: etcd did not answer.\n";
  out += "# TYPE pgstack_controller_reconcile_skipped_passes_total counter\n";
  out += fmt::format("pgstack_controller_reconcile_skipped_passes_total {}\n", skipped_passes_);

  // Only the leader's: a follower's figures are of its last pass as leader, possibly long stale.
  out += "# HELP pgstack_cluster_expected_replicas Replicas the cluster should have now (instances - 1).\n";
  out += "# TYPE pgstack_cluster_expected_replicas gauge\n";
  if (leader) {
    for (const auto& [key, replicas] : expected_replicas_) {
      const auto [ns, cluster] = namespace_and_cluster(key);
      out += fmt::format("pgstack_cluster_expected_replicas{{namespace=\"{}\",cluster=\"{}\"}} {}\n", escape_label(ns),
                         escape_label(cluster), replicas);
    }
  }
  return out;
}

}  // namespace pgstack::controller
