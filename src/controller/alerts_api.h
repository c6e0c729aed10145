// The alerts endpoints (docs/api.md): what Alertmanager has firing about one cluster, the clusters of a
// namespace, or every cluster the caller may read. Read on each request from the Alertmanager of
// --alertmanager (pgstack keeps no alert state); without one they answer 503 "monitoring is not
// configured".
//   GET /apis/pgstack.io/v1/namespaces/{ns}/sgclusters/{name}/alerts   (get sgclusters in ns)
//   GET /apis/pgstack.io/v1/namespaces/{ns}/alerts                     (list sgclusters in ns)
//   GET /apis/pgstack.io/v1/alerts                                     (each namespace the caller may list)
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "common/http_server.h"
#include "monitoring/alertmanager.h"
#include "store/resource_store.h"

namespace pgstack::controller {

// Whether the caller may read the clusters of a namespace ("" for alerts that name none).
using NamespaceReadable = std::function<bool(const std::string& namespace_name)>;

// Whether `parts` (the decoded path segments) name one of the alerts endpoints.
bool is_alerts_path(const std::vector<std::string>& parts);

// Which of `alerts` a caller sees in GET /apis/pgstack.io/v1/alerts (pure): those of a namespace it may
// read; those of a host (no cluster) when it may read every namespace, or a cluster it may read runs
// a member on that host (`hosts_by_namespace`: the hosts of each namespace's clusters' members).
std::vector<monitoring::Alert> alerts_visible_to(
    const std::vector<monitoring::Alert>& alerts, const NamespaceReadable& may_read,
    const std::map<std::string, std::set<std::string>>& hosts_by_namespace);

class AlertsApi {
 public:
  AlertsApi(const store::ResourceStore& store, std::string alertmanager_url)
      : store_(store), alertmanager_url_(std::move(alertmanager_url)) {}

  // `parts` as is_alerts_path accepted them; access was checked for the namespace routes already.
  HttpReply handle(const HttpRequest& request, const std::vector<std::string>& parts,
                   const NamespaceReadable& may_read) const;

 private:
  // The hosts each cluster's members run on, from the clusters' status, for host alerts.
  Result<std::map<std::string, std::set<std::string>>> member_hosts(const std::string& namespace_name,
                                                                    const std::string& cluster) const;

  const store::ResourceStore& store_;
  std::string alertmanager_url_;
};

}  // namespace pgstack::controller
