#include "cli/top_frame.h"

#include <algorithm>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

namespace pgstack::cli {
namespace {

constexpr const char* kSparkLevels[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};

std::string top_optional_rate(const std::optional<double>& value) { return value ? format_rate(*value) : "-"; }

// UTC, to the second: the time the figures were computed.
std::string top_clock(double seconds) {
  const std::time_t when = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&when, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &utc);
  return text;
}

std::string top_labels(const std::map<std::string, std::string>& labels) {
  std::string out;
  const auto name = labels.find("__name__");
  if (name != labels.end()) out = name->second;
  std::string inner;
  for (const auto& [key, value] : labels) {
    if (key == "__name__") continue;
    inner += fmt::format("{}{}=\"{}\"", inner.empty() ? "" : ", ", key, value);
  }
  return inner.empty() && !out.empty() ? out : out + "{" + inner + "}";
}

}  // namespace

std::string sparkline(const std::vector<monitoring::PromSample>& points, std::size_t width) {
  const std::size_t first = points.size() > width ? points.size() - width : 0;
  double low = INFINITY, high = -INFINITY;
  for (std::size_t index = first; index < points.size(); ++index) {
    const double value = points[index].value;
    if (std::isfinite(value)) low = std::min(low, value), high = std::max(high, value);
  }
  std::string out;
  for (std::size_t index = first; index < points.size(); ++index) {
    const double value = points[index].value;
    if (!std::isfinite(value)) {
      out += ' ';
      continue;
    }
    int level = 0;
    if (high > low) {
      level = static_cast<int>(std::lround((value - low) / (high - low) * 7));
    } else {
      level = value > 0 ? 3 : 0;
    }
    out += kSparkLevels[std::clamp(level, 0, 7)];
  }
  return out;
}

std::string format_rate(double value) {
  if (!std::isfinite(value)) return "-";
  const double magnitude = std::fabs(value);
  if (magnitude >= 1e9) return fmt::format("{:.1f}G", value / 1e9);
  if (magnitude >= 1e6) return fmt::format("{:.1f}M", value / 1e6);
  if (magnitude >= 1e4) return fmt::format("{:.1f}k", value / 1e3);
  if (magnitude >= 100 || value == std::floor(value)) return fmt::format("{:.0f}", value);
  return fmt::format("{:.1f}", value);
}

std::string format_seconds(double seconds) {
  if (!std::isfinite(seconds)) return "-";
  if (seconds == 0) return "0s";
  if (seconds < 0.001) return fmt::format("{:.0f}us", seconds * 1e6);
  if (seconds < 1) return fmt::format("{:.1f}ms", seconds * 1e3);
  return fmt::format("{:.1f}s", seconds);
}

std::string render_top_frame(const monitoring::ClusterMetrics& metrics, const TopFrameOptions& options) {
  const std::size_t width = options.sparkline_width;
  std::string out = fmt::format("pgstack top {}/{}   {}   sparklines: last {}m, every {}s\n\n", metrics.namespace_name,
                                metrics.cluster, top_clock(metrics.time), metrics.minutes, format_rate(metrics.step));
  std::string states;
  for (const auto& [state, count] : metrics.connections_by_state) {
    if (count > 0) states += fmt::format("{}{} {}", states.empty() ? "" : ", ", state, format_rate(count));
  }
  Table figures{{"FIGURE", "NOW", "LAST MINUTES"}, {}};
  figures.rows.push_back({"TPS", top_optional_rate(metrics.tps), sparkline(metrics.tps_history, width)});
  figures.rows.push_back(
      {"CONNECTIONS",
       fmt::format("{} / {}{}", top_optional_rate(metrics.connections), top_optional_rate(metrics.max_connections),
                   states.empty() ? "" : " (" + states + ")"),
       sparkline(metrics.connections_history, width)});
  figures.rows.push_back({"WAL",
                          metrics.wal_bytes_per_second ? format_bytes(*metrics.wal_bytes_per_second) + "/s" : "-",
                          sparkline(metrics.wal_history, width)});
  figures.rows.push_back({"CACHE HIT",
                          metrics.cache_hit_ratio ? fmt::format("{:.2f}%", *metrics.cache_hit_ratio * 100) : "-",
                          sparkline(metrics.cache_hit_history, width)});
  out += format_table(figures);

  out += "\n";
  Table members{{"MEMBER", "ROLE", "UP", "TPS", "CONNECTIONS", "LAG", "LAG BYTES", "LAG, LAST MINUTES"}, {}};
  for (const auto& member : metrics.members) {
    const bool replica = member.role == "replica";
    const auto lag = metrics.lag_history.find(member.name);
    members.rows.push_back(
        {member.name, member.role.empty() ? "?" : member.role, member.up ? "yes" : "no", top_optional_rate(member.tps),
         fmt::format("{}/{}", top_optional_rate(member.connections), top_optional_rate(member.max_connections)),
         replica && member.lag_seconds ? format_seconds(*member.lag_seconds) : "-",
         replica && member.lag_bytes ? format_bytes(*member.lag_bytes) : "-",
         lag == metrics.lag_history.end() ? "" : sparkline(lag->second, width)});
  }
  if (members.rows.empty())
    out += "No members reported by Prometheus yet (is the exporter scraped? pgstack get sgcluster)\n";
  else
    out += format_table(members);

  out += "\n";
  if (metrics.top_queries.empty()) {
    out += "TOP QUERIES: none yet (pg_stat_statements and pgstack-proxy report every 30 s)\n";
  } else {
    Table queries{{"TOP QUERIES", "DATABASE", "USER", "TIME/S", "CALLS/S", "MEAN", "QUERY"}, {}};
    for (const auto& query : metrics.top_queries) {
      std::string text = query.source == "pg_stat_statements" ? "queryid " + query.id : query.id;
      for (char& c : text)
        if (c == '\n' || c == '\t' || c == '\r') c = ' ';
      if (text.size() > options.query_width) text = text.substr(0, options.query_width - 3) + "...";
      queries.rows.push_back({query.source, query.database, query.user, fmt::format("{:.3f}", query.seconds_per_second),
                              format_rate(query.calls_per_second),
                              query.mean_seconds ? format_seconds(*query.mean_seconds) : "-", text});
    }
    out += format_table(queries);
  }
  for (const auto& error : metrics.errors) out += "! " + error + "\n";
  return out;
}

Table query_result_table(const monitoring::PromResult& result) {
  Table table;
  if (result.type == monitoring::PromResultType::kString) {
    table.header = {"VALUE"};
    table.rows.push_back({result.string_value});
    return table;
  }
  const bool range = result.type == monitoring::PromResultType::kMatrix;
  table.header =
      range ? std::vector<std::string>{"SERIES", "LAST", "POINTS"} : std::vector<std::string>{"SERIES", "VALUE"};
  for (const auto& series : result.series) {
    const std::string value =
        series.samples.empty() ? "-" : monitoring::format_prometheus_value(series.samples.back().value);
    std::string labels = result.type == monitoring::PromResultType::kScalar ? "scalar" : top_labels(series.labels);
    if (range)
      table.rows.push_back({labels, value, std::to_string(series.samples.size())});
    else
      table.rows.push_back({labels, value});
  }
  return table;
}

}  // namespace pgstack::cli
