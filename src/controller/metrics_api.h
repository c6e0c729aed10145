// The metrics endpoints (docs/api.md), read from the Prometheus of --prometheus on each request:
//   GET /apis/pgstack.io/v1/namespaces/{ns}/sgclusters/{name}/metrics/summary[?minutes=N]
//       (get sgclusters in ns): one cluster's figures, from PromQL the controller builds with the
//       cluster's namespace and cluster labels (monitoring/cluster_metrics.h), so it shows nothing else;
//   GET /apis/pgstack.io/v1/query?query=PROMQL[&start=&end=&step=][&namespace=&cluster=]
//       (get sgclusters in every namespace): raw PromQL, instant or range. PromQL can read any series,
//       so it cannot be confined to the namespaces a caller may read: it needs read on all of them.
// Without --prometheus they answer 503 "monitoring is not configured".
#pragma once

#include <string>
#include <vector>

#include "common/http_server.h"
#include "store/resource_store.h"

namespace pgstack::controller {

// Whether `parts` (the decoded path segments) name the raw query or a cluster's summary.
bool is_metrics_query_path(const std::vector<std::string>& parts);
bool is_metrics_summary_path(const std::vector<std::string>& parts);

// Why the raw query needs read on every namespace: the 403's detail says it.
inline constexpr const char* kRawQueryNeedsEveryNamespace =
    "raw PromQL can read the series of every cluster, so /apis/pgstack.io/v1/query needs read on every "
    "namespace (a binding to \"*\"); one cluster's figures are at "
    "/apis/pgstack.io/v1/namespaces/{ns}/sgclusters/{name}/metrics/summary (pgstack top)";

class MetricsApi {
 public:
  MetricsApi(const store::ResourceStore& store, std::string prometheus_url)
      : store_(store), prometheus_url_(std::move(prometheus_url)) {}

  // `parts` as one of the is_metrics_*_path accepted them; access was checked already.
  HttpReply handle(const HttpRequest& request, const std::vector<std::string>& parts) const;

 private:
  HttpReply summary(const HttpRequest& request, const std::string& namespace_name, const std::string& cluster) const;
  HttpReply query(const HttpRequest& request) const;

  const store::ResourceStore& store_;
  std::string prometheus_url_;
};

}  // namespace pgstack::controller
