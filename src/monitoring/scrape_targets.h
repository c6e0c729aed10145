// What Prometheus scrapes, decided from what is in etcd: the registered hosts
// (<prefix>/hosts/<host>) and the assignments (<prefix>/assignments/...), as Prometheus file_sd target
// groups, one list per scrape job. Every group carries the same label set: job, namespace, cluster,
// instance_name (the member), host; a label that does not apply (the controller has no cluster) is
// left out rather than set empty. Pure, no I/O.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/assignment.h"
#include "model/document.h"

namespace pgstack::monitoring {

// One file_sd entry: {"targets": [...], "labels": {...}}.
struct TargetGroup {
  std::vector<std::string> targets;  // "host:port"
  std::map<std::string, std::string> labels;
  bool operator==(const TargetGroup&) const = default;
};

// The scrape jobs, each with its own file_sd file <targets dir>/<job>.json and its own scrape settings
// in prometheus.yml. Every job's file is written, empty when it has no target, so Prometheus never
// reads a missing file.
struct ScrapeJob {
  std::string name;  // the `job` label and the file's name
  std::string scheme = "http";
  bool patroni_tls = false;  // https with the installation's CA (Patroni's REST API)
  // A listener pgstack makes ask for the scrape credential off loopback (metrics_auth.h): the job sends it.
  bool scrape_credential = false;
};
const std::vector<ScrapeJob>& scrape_jobs();

inline constexpr std::string_view kPatroniJob = "patroni";
inline constexpr std::string_view kProxyJob = "pgstack-proxy";
inline constexpr std::string_view kControllerJob = "pgstack-controller";
inline constexpr std::string_view kPostgresExporterJob = "postgres";  // postgres_exporter, per member
inline constexpr std::string_view kAgentJob = "pgstack-agent";        // the agent's /metrics, per host
inline constexpr std::string_view kNodeJob = "node";                  // node_exporter, per host

struct ScrapeInputs {
  std::vector<model::Json> hosts;  // the host registrations as stored: {"name", "address", ...}
  std::vector<model::Assignment> assignments;
  // Where the controller(s) serve /metrics ("host:port"); empty: not scraped.
  std::vector<std::string> controller_metrics_addresses;
};

// By job name; every job of scrape_jobs() is present, possibly with no group. Groups are sorted, so the
// same inputs always give the same files (the writer rewrites a file only when it changes).
std::map<std::string, std::vector<TargetGroup>> scrape_target_groups(const ScrapeInputs& inputs);

// The file_sd document of one job.
model::Json file_sd_json(const std::vector<TargetGroup>& groups);

}  // namespace pgstack::monitoring
