// The figures of one cluster that `pgstack top` shows and `GET .../sgclusters/{name}/metrics/summary`
// answers (docs/api.md): TPS, connections, replication lag per replica, WAL rate, cache hit ratio, the
// top queries, the CPU, memory and disk of the members' hosts (node_exporter), and the last minutes of
// each for sparklines and charts. The PromQL is built here from the cluster's
// namespace and cluster labels only (pure), so a caller who may read the cluster reads nothing else;
// the results are assembled into ClusterMetrics (pure) with one to/from JSON for the API and the CLI.
// The metric names are those of docs/monitoring.md: postgres_exporter's built-ins, pgstack's exporter
// queries (src/config/render_exporter.cpp) and pgstack-proxy's /metrics.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "monitoring/prometheus_query.h"

namespace pgstack::monitoring {

struct MemberFigures {
  std::string name;  // instance_name
  std::string role;  // primary, replica, or "" while the exporter has not said
  bool up = false;   // pg_up: the exporter reached its Postgres at the last scrape
  std::optional<double> tps, connections, max_connections;
  std::optional<double> lag_seconds, lag_bytes;  // replicas only
};

// A host the cluster's members run on, from its node_exporter: fractions from 0 to 1.
struct HostFigures {
  std::string name;                   // the targets' `host` label: the agent's host name
  std::optional<double> cpu_busy;     // of all its CPUs, over the last minute
  std::optional<double> memory_used;  // 1 - MemAvailable / MemTotal
  std::optional<double> disk_used;    // of its fullest filesystem (node_exporter skips pseudo filesystems)
};

struct QueryFigures {
  std::string source;  // "pg_stat_statements" (id: the queryid) or "pgstack-proxy" (id: the normalized text)
  std::string id, database, user;
  double seconds_per_second = 0;  // execution time spent per second of wall time: the load it puts on the server
  double calls_per_second = 0;
  std::optional<double> mean_seconds;
};

// What pgstack-proxy measured of the cluster's queries (its /metrics, scraped by Prometheus).
struct ProxyErrorFigures {
  std::string severity;        // ERROR, FATAL, PANIC
  std::string sqlstate_class;  // the SQLSTATE's first two characters: 42 syntax or access, 23 integrity, ...
  double count = 0;            // over the last hour
};

struct ProxyFigures {
  // Query latency through the proxy over the last 5 minutes (seconds): absent without queries then.
  std::optional<double> p50, p95, p99;
  std::map<std::string, double> statements_per_second;  // by listener: rw (read-write), ro (read-only)
  std::vector<ProxyErrorFigures> errors;                // most first
};

struct ClusterMetrics {
  std::string namespace_name, cluster;
  double time = 0;  // when it was computed, seconds since the epoch
  int minutes = 10;
  double step = 10;  // seconds between the history's points
  std::optional<double> tps, wal_bytes_per_second, cache_hit_ratio, connections, max_connections;
  std::map<std::string, double> connections_by_state;  // pg_stat_activity's states
  std::vector<MemberFigures> members;                  // by name
  std::vector<QueryFigures> top_queries;               // most time first
  std::vector<HostFigures> hosts;                      // by name
  ProxyFigures proxy;
  // The last `minutes`: points oldest first; lag per replica.
  std::vector<PromSample> tps_history, connections_history, wal_history, cache_hit_history;
  std::map<std::string, std::vector<PromSample>> lag_history;
  std::map<std::string, std::vector<PromSample>> host_cpu_history, host_memory_history;  // by host
  // Queries that failed (a missing metric is not a failure: the figure is just absent).
  std::vector<std::string> errors;
};

struct ClusterMetricsQuery {
  std::string key;  // what assemble_cluster_metrics reads it as
  std::string promql;
  bool range = false;  // over the last minutes, for a sparkline
};

// The queries for one cluster; label values are quoted, so no name can widen the selection.
std::vector<ClusterMetricsQuery> cluster_metrics_queries(const std::string& namespace_name, const std::string& cluster);
// The history's step for `minutes`: about 60 points, never under 5 s.
double cluster_metrics_step(int minutes);

// From the results by key (those absent failed or were not asked).
ClusterMetrics assemble_cluster_metrics(const std::string& namespace_name, const std::string& cluster, int minutes,
                                        double now, const std::map<std::string, PromResult>& results);

// The figures the cluster status carries (status.metrics: TPS, connections, lag per replica), for every
// cluster at once: few queries whatever the number of clusters, as the leader reads them on its passes.
std::vector<ClusterMetricsQuery> status_figures_queries();
// status.metrics of each cluster Prometheus has series of, by "<namespace>/<cluster>":
// {"tps", "connections", "maxConnections", "lagSeconds": {replica: seconds}, "observedAt"}.
std::map<std::string, nlohmann::ordered_json> status_figures_by_cluster(
    const std::map<std::string, PromResult>& results, const std::string& observed_at);

nlohmann::ordered_json cluster_metrics_to_json(const ClusterMetrics& metrics);
Result<ClusterMetrics> cluster_metrics_from_json(const nlohmann::ordered_json& json);

}  // namespace pgstack::monitoring
