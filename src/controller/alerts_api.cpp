#include "controller/alerts_api.h"

#include <fmt/format.h>

#include "controller/api_input.h"
#include "controller/api_reply.h"

namespace pgstack::controller {
namespace {

using model::Json;

bool host_of(const std::map<std::string, std::set<std::string>>& hosts_by_namespace, const std::string& namespace_name,
             const std::string& host) {
  const auto hosts = hosts_by_namespace.find(namespace_name);
  return !host.empty() && hosts != hosts_by_namespace.end() && hosts->second.contains(host);
}

}  // namespace

bool is_alerts_path(const std::vector<std::string>& parts) {
  if (parts.size() < 4 || parts[0] != "apis" || parts[1] != "pgstack.io" || parts[2] != "v1") return false;
  if (parts.size() == 4) return parts[3] == "alerts";
  if (parts[3] != "namespaces") return false;
  if (parts.size() == 6) return parts[5] == "alerts";
  return parts.size() == 8 && parts[5] == "sgclusters" && parts[7] == "alerts";
}

std::vector<monitoring::Alert> alerts_visible_to(
    const std::vector<monitoring::Alert>& alerts, const NamespaceReadable& may_read,
    const std::map<std::string, std::set<std::string>>& hosts_by_namespace) {
  std::vector<monitoring::Alert> visible;
  const bool reads_everything = may_read("");
  for (const auto& alert : alerts) {
    bool shown = reads_everything;
    if (!alert.namespace_name.empty()) {
      shown = may_read(alert.namespace_name);
    } else if (!shown && alert.cluster.empty()) {
      // A host's alert: shown with the clusters that run a member there.
      for (const auto& [namespace_name, hosts] : hosts_by_namespace) {
        if (hosts.contains(alert.host) && may_read(namespace_name)) shown = true;
      }
    }
    if (shown) visible.push_back(alert);
  }
  return visible;
}

Result<std::map<std::string, std::set<std::string>>> AlertsApi::member_hosts(const std::string& namespace_name,
                                                                             const std::string& cluster) const {
  std::map<std::string, std::set<std::string>> hosts;
  auto clusters = store_.list_with_status("SGCluster", namespace_name);
  RETURN_IF_ERROR(clusters);
  for (const auto& document : clusters.value()) {
    if (!cluster.empty() && document.name() != cluster) continue;
    if (!document.body.contains("status")) continue;
    const Json members = document.body["status"].value("members", Json::array());
    if (!members.is_array()) continue;
    for (const auto& member : members) {
      if (member.is_object() && member.contains("host") && member["host"].is_string())
        hosts[document.namespace_name()].insert(member["host"].get<std::string>());
    }
  }
  return hosts;
}

HttpReply AlertsApi::handle(const HttpRequest& request, const std::vector<std::string>& parts,
                            const NamespaceReadable& may_read) const {
  if (request.method != "GET" && request.method != "HEAD")
    return problem(405, "MethodNotAllowed",
                   fmt::format("{} is not allowed on alerts: they are read-only", request.method));
  std::string namespace_name = parts.size() >= 6 ? parts[4] : "";
  const std::string cluster = parts.size() == 8 ? parts[6] : "";
  if (!namespace_name.empty()) {
    if (auto refused = check_route_names(request.method, namespace_name, 5, cluster.empty() ? nullptr : &cluster, 7))
      return problem_reply(*refused);
  }
  if (namespace_name == "_all") namespace_name.clear();
  if (!cluster.empty()) {
    if (auto found = store_.get("SGCluster", namespace_name, cluster); !found.ok()) return problem_from(found.error());
  }
  if (alertmanager_url_.empty())
    return problem(503, "MonitoringNotConfigured",
                   "monitoring is not configured: pgstack-controller runs without --alertmanager, so there are no "
                   "alerts to show (pgstack up starts Alertmanager and passes it; docs/monitoring.md)");
  auto alerts = monitoring::fetch_alertmanager_alerts(alertmanager_url_);
  if (!alerts.ok()) return problem(503, "Unavailable", alerts.error().message);
  auto hosts = member_hosts(namespace_name, cluster);
  if (!hosts.ok()) return problem_from(hosts.error());

  std::vector<monitoring::Alert> selected;
  if (!cluster.empty()) {
    const auto found = hosts->find(namespace_name);
    const std::set<std::string> cluster_hosts = found == hosts->end() ? std::set<std::string>() : found->second;
    for (const auto& alert : alerts.value()) {
      if (monitoring::alert_concerns_cluster(alert, namespace_name, cluster, cluster_hosts)) selected.push_back(alert);
    }
  } else if (!namespace_name.empty()) {
    for (const auto& alert : alerts.value()) {
      const bool host_alert = alert.namespace_name.empty() && alert.cluster.empty();
      if (alert.namespace_name == namespace_name || (host_alert && host_of(*hosts, namespace_name, alert.host)))
        selected.push_back(alert);
    }
  } else {
    selected = alerts_visible_to(alerts.value(), may_read, *hosts);
  }
  Json items = Json::array();
  for (const auto& alert : selected) items.push_back(monitoring::alert_to_json(alert));
  return json_reply(200, {{"apiVersion", "pgstack.io/v1"}, {"kind", "AlertList"}, {"items", std::move(items)}});
}

}  // namespace pgstack::controller
