// The agent's own /metrics (docs/monitoring.md): what it supervises on this host, in Prometheus' text
// format. Pure: the agent loop gathers the inputs at each report round; this decides the families.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/prometheus_text.h"
#include "model/document.h"
#include "model/instance_report.h"
#include "process/process_supervisor.h"

namespace pgstack::agent {

inline constexpr int kAgentMetricsDefaultPort = 19101;

struct InstanceMetricsInput {
  std::string namespace_name;
  std::string cluster;
  std::string member;
  std::map<std::string, ProcessStatus> processes;  // "patroni", "pgbouncer", "postgres_exporter"
  bool reconcile_failing = false;                  // the instance holds on a failed step now
  std::uint64_t reconcile_errors = 0;              // failed reconciles since the agent started
  // pg_stat_archiver as the agent last read it (a primary that archives; instance_supervisor.cpp).
  std::optional<model::Json> archiver;
  // PgBouncer's admin console: psql's unaligned output (-A -F '|') of SHOW POOLS, SHOW STATS and SHOW
  // LISTS, in one run; "" when it did not answer; nothing when the instance has no PgBouncer.
  std::optional<std::string> pgbouncer_show;
  // How its logs are shipped to the cluster's log store, by log type (instance_logs.h); empty: no store.
  std::map<std::string, model::ReportedLogShipping> log_shipping;
};

// One result of psql's unaligned output: its header's columns and its rows.
struct ShowTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};
// The tables of SHOW POOLS, SHOW STATS and SHOW LISTS in `output`, each found by its header.
std::vector<ShowTable> parse_pgbouncer_show(std::string_view output);

// The PgBouncer families of one instance (pgbouncer_up, pgbouncer_pools_*, pgbouncer_stats_*,
// pgbouncer_lists_items), added to `families` by name.
void add_pgbouncer_families(const std::vector<std::pair<std::string, std::string>>& labels,
                            const std::string& show_output, std::map<std::string, MetricFamily>& families);

// A cluster whose primary runs on this host and that has backups: its SGBackups' statuses.
struct ClusterBackupsInput {
  std::string namespace_name;
  std::string cluster;
  std::vector<model::Json> statuses;  // status of each of its SGBackups (phase, finishedAt, verification...)
};

struct AgentMetricsInput {
  std::string host;
  std::vector<InstanceMetricsInput> instances;
  std::vector<ClusterBackupsInput> backups;
  std::map<std::string, ProcessStatus> host_processes;  // "node_exporter", "pgstack-proxy <ns>/<cluster>"
};

std::vector<MetricFamily> agent_metric_families(const AgentMetricsInput& input);

// "2026-11-24T01:30:00.123456Z" -> seconds since the epoch; nothing for anything else.
std::optional<double> archiver_time_seconds(const model::Json& value);

}  // namespace pgstack::agent
