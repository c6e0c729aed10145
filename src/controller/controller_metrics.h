// The controller's own Prometheus metrics (/metrics on --metrics-listen): API requests by method, route
// template and status code; each cluster's reconcile duration (histogram) and errors; whether this
// controller leads. Route templates keep the label set bounded: names and namespaces become
// placeholders, unknown paths one value. Thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace pgstack::controller {

// "/apis/stackgres.io/v1/namespaces/{namespace}/sgclusters/{name}/status" from the split path; kinds
// and actions the API knows stay as they are, anything else becomes "{other}". Pure.
std::string route_template(const std::vector<std::string>& parts);

class ControllerMetrics {
 public:
  // Seconds; a reconcile of one cluster reads and writes etcd and may ask Patroni, so 5 ms to 30 s.
  static constexpr std::array<double, 11> kReconcileBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                               0.5,   1,    2.5,   10,   30};

  void record_request(const std::string& method, const std::string& route, int status);
  void record_reconcile(const std::string& cluster_key, std::chrono::duration<double> took, bool failed);
  // A pass that did not run (etcd unavailable).
  void record_skipped_pass();
  // How many replicas each cluster ("<ns>/<cluster>") should have now, as of the last pass: the alert
  // ReplicaNotStreaming compares it with the replicas that stream. Replaces the previous pass's, so a
  // deleted cluster's series goes.
  void set_expected_replicas(std::map<std::string, int> by_cluster);

  // The Prometheus text exposition format (0.0.4).
  std::string render(bool leader) const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kReconcileBuckets.size()> buckets{};  // not cumulative
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;  // method, route, status
  std::map<std::string, Histogram> reconcile_seconds_;                           // by "<ns>/<cluster>"
  std::map<std::string, std::uint64_t> reconcile_errors_;
  std::uint64_t skipped_passes_ = 0;
  std::map<std::string, int> expected_replicas_;
};

}  // namespace pgstack::controller
