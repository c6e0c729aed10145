// What `pgstack top` and `pgstack metrics` print, pure (figures in, text out) so the frame is unit-tested
// without a terminal, a controller or a Prometheus: one frame of the dashboard from a cluster's
// ClusterMetrics (monitoring/cluster_metrics.h), Unicode sparklines, and a query result as a table.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "cli/output.h"
#include "monitoring/cluster_metrics.h"
#include "monitoring/prometheus_query.h"

namespace pgstack::cli {

// The last `width` values as ▁▂▃▄▅▆▇█ scaled between their minimum and maximum (a flat line is ▁ at 0,
// ▄ otherwise); a missing value (NaN) is a space.
std::string sparkline(const std::vector<monitoring::PromSample>& points, std::size_t width);

// 12.5, 1.2k, 3.4M: a rate in few characters.
std::string format_rate(double value);
// 850us, 12.3ms, 1.5s.
std::string format_seconds(double seconds);

struct TopFrameOptions {
  std::size_t sparkline_width = 30;
  std::size_t query_width = 60;  // a query's text is cut there
};

// One frame: the cluster's figures with their sparklines, a line per member (role, TPS, connections,
// lag), the top queries. No escape codes: the caller clears the screen when it redraws.
std::string render_top_frame(const monitoring::ClusterMetrics& metrics, const TopFrameOptions& options = {});

// `pgstack metrics -o table`: one row per series, its labels ({a="b", ...}, the name first) and value
// (a range: the last value and how many points).
Table query_result_table(const monitoring::PromResult& result);

}  // namespace pgstack::cli
