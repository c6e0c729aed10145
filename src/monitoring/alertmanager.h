// Alertmanager's alerts as pgstack shows them (API, CLI, the AlertsFiring condition): read from its
// API v2 (`GET /api/v2/alerts`), parsed into a typed Alert (pure), filtered per cluster (pure), and
// written to and read from the REST API's JSON (one to/from for both sides). Alertmanager holds what
// Prometheus evaluated with monitoring/rules/pgstack-alerts.yml; pgstack keeps no alert state itself.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace pgstack::monitoring {

enum class AlertState {
  kFiring,       // Alertmanager's "active": routed to its receivers
  kSuppressed,   // silenced or inhibited: firing, but nobody is told
  kUnprocessed,  // just received, not yet routed
};
std::string_view alert_state_name(AlertState state);  // firing, suppressed, unprocessed

struct Alert {
  std::string name;      // labels.alertname
  std::string severity;  // labels.severity: critical, warning, info ("" when the rule set none)
  AlertState state = AlertState::kFiring;
  // The target labels every pgstack target carries (docs/monitoring.md); "" where the alert has none
  // (a host's disk alert has no cluster; a cluster-wide one no instance_name).
  std::string namespace_name, cluster, instance_name, host;
  std::string instance;                        // Prometheus's target address
  std::string summary, description;            // annotations
  std::string starts_at, updated_at, ends_at;  // RFC 3339, UTC, whole seconds
  std::string fingerprint;
  std::string generator_url;  // the Prometheus expression that fired
  std::map<std::string, std::string> labels, annotations;
  std::vector<std::string> silenced_by, inhibited_by;  // silence and inhibiting alert ids
  bool operator==(const Alert&) const = default;
};

// The body of Alertmanager's `GET /api/v2/alerts` (a list of gettableAlert). Errors say which
// element and field are wrong; they are sorted by severity (critical first), name, cluster, instance.
Result<std::vector<Alert>> parse_alertmanager_alerts(std::string_view body);

// Reads `<alertmanager_url>/api/v2/alerts`: every alert, silenced and inhibited ones included.
// Unreachable or not answering 200 is kUnavailable, naming the URL.
Result<std::vector<Alert>> fetch_alertmanager_alerts(const std::string& alertmanager_url,
                                                     std::chrono::milliseconds timeout = std::chrono::seconds(3));

// Whether an alert is about a cluster: its namespace and cluster labels, or, for an alert about a
// host and no cluster (a disk filling up), a host one of the cluster's members runs on.
bool alert_concerns_cluster(const Alert& alert, std::string_view namespace_name, std::string_view cluster,
                            const std::set<std::string>& member_hosts);

// The REST API's representation of an alert (docs/api.md) and back (ordered: fields in the order written).
nlohmann::ordered_json alert_to_json(const Alert& alert);
Result<Alert> alert_from_json(const nlohmann::ordered_json& json);

// The member or target an alert names for people: instance_name, else host, else the target address.
std::string alert_subject(const Alert& alert);

}  // namespace pgstack::monitoring
