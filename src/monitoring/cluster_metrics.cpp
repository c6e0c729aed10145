#include "monitoring/cluster_metrics.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace pgstack::monitoring {
namespace {

using Json = nlohmann::ordered_json;

const std::string kNoLabel;

const std::string& cm_label(const PromSeries& series, const std::string& name) {
  const auto found = series.labels.find(name);
  return found == series.labels.end() ? kNoLabel : found->second;
}

std::optional<double> cm_value(const PromSeries& series) {
  if (series.samples.empty() || std::isnan(series.samples.back().value)) return std::nullopt;
  return series.samples.back().value;
}

const PromResult* cm_result(const std::map<std::string, PromResult>& results, const std::string& key) {
  const auto found = results.find(key);
  return found == results.end() ? nullptr : &found->second;
}

// The one value of an aggregate without labels; absent when there is none (no series yet) or NaN.
std::optional<double> cm_single(const std::map<std::string, PromResult>& results, const std::string& key) {
  const PromResult* result = cm_result(results, key);
  if (result == nullptr || result->series.empty()) return std::nullopt;
  return cm_value(result->series.front());
}

std::vector<PromSample> cm_history(const std::map<std::string, PromResult>& results, const std::string& key) {
  const PromResult* result = cm_result(results, key);
  if (result == nullptr || result->series.empty()) return {};
  return result->series.front().samples;
}

MemberFigures& cm_member(std::vector<MemberFigures>& members, const std::string& name) {
  for (auto& member : members) {
    if (member.name == name) return member;
  }
  members.push_back({});
  members.back().name = name;
  return members.back();
}

Json cm_number(const std::optional<double>& value) {
  if (!value || std::isnan(*value) || std::isinf(*value)) return nullptr;
  return *value;
}

std::optional<double> cm_optional(const Json& object, const char* key) {
  const auto found = object.find(key);
  if (found == object.end() || !found->is_number()) return std::nullopt;
  return found->get<double>();
}

Json cm_points_to_json(const std::vector<PromSample>& points) {
  Json out = Json::array();
  for (const auto& point : points) out.push_back(Json::array({point.time, cm_number(point.value)}));
  return out;
}

Result<std::vector<PromSample>> cm_points_from_json(const Json& json, const std::string& where) {
  std::vector<PromSample> out;
  if (json.is_null()) return out;
  if (!json.is_array()) return make_error(ErrorCode::kInvalidInput, where + ": expected a list of [time, value]");
  for (const auto& point : json) {
    if (!point.is_array() || point.size() != 2 || !point[0].is_number())
      return make_error(ErrorCode::kInvalidInput, where + ": expected a list of [time, value]");
    out.push_back({point[0].get<double>(), point[1].is_number() ? point[1].get<double>() : std::nan("")});
  }
  return out;
}

}  // namespace

double cluster_metrics_step(int minutes) { return std::max(5.0, std::round(minutes * 60.0 / 60.0)); }

std::vector<ClusterMetricsQuery> cluster_metrics_queries(const std::string& namespace_name,
                                                         const std::string& cluster) {
  const std::string sel = fmt::format("namespace={},cluster={}", promql_quote(namespace_name), promql_quote(cluster));
  // Commits and rollbacks on every member: a replica's read-only transactions count too.
  const std::string tps = fmt::format(
      "sum(rate(pg_stat_database_xact_commit{{{0}}}[1m])) + sum(rate(pg_stat_database_xact_rollback{{{0}}}[1m]))", sel);
  // The primary's WAL: a replica's position is what it received of the same WAL.
  const std::string wal = fmt::format(
      "sum(rate(pg_wal_position_bytes{{{0}}}[1m]) * on (instance_name) (1 - pg_replication_is_replica{{{0}}}))", sel);
  const std::string cache = fmt::format(
      "sum(pg_stat_database_blks_hit{{{0}}}) / (sum(pg_stat_database_blks_hit{{{0}}}) + "
      "sum(pg_stat_database_blks_read{{{0}}}))",
      sel);
  const std::string connections = fmt::format("sum(pg_connections_used{{{}}})", sel);
  const std::string lag = fmt::format("max by (instance_name) (pg_replication_lag{{{}}})", sel);
  // node_exporter's series of the hosts the members run on: their targets carry the same `host` label.
  const std::string on_member_hosts = fmt::format(" and on (host) max by (host) (pg_up{{{}}})", sel);
  const std::string host_cpu = "1 - avg by (host) (rate(node_cpu_seconds_total{mode=\"idle\"}[1m]))" + on_member_hosts;
  const std::string host_memory =
      "1 - max by (host) (node_memory_MemAvailable_bytes) / max by (host) (node_memory_MemTotal_bytes)" +
      on_member_hosts;
  const std::string host_disk =
      "max by (host) (1 - node_filesystem_avail_bytes / node_filesystem_size_bytes)" + on_member_hosts;
  const auto proxy_quantile = [&](double quantile) {
    return fmt::format(
        "histogram_quantile({}, sum by (le) (rate(pgstack_proxy_query_duration_seconds_bucket{{{}}}[5m])))", quantile,
        sel);
  };
  return {
      {"up", fmt::format("max by (instance_name) (pg_up{{{}}})", sel), false},
      {"replica", fmt::format("max by (instance_name) (pg_replication_is_replica{{{}}})", sel), false},
      {"tps", tps, false},
      {"member_tps",
       fmt::format("sum by (instance_name) (rate(pg_stat_database_xact_commit{{{0}}}[1m])) + sum by (instance_name) "
                   "(rate(pg_stat_database_xact_rollback{{{0}}}[1m]))",
                   sel),
       false},
      {"member_connections", fmt::format("max by (instance_name) (pg_connections_used{{{}}})", sel), false},
      {"member_max_connections", fmt::format("max by (instance_name) (pg_connections_max_connections{{{}}})", sel),
       false},
      {"connections_by_state", fmt::format("sum by (state) (pg_stat_activity_count{{{}}})", sel), false},
      {"lag_seconds", lag, false},
      {"lag_bytes", fmt::format("max by (application_name) (pg_replication_status_lag_bytes{{{}}})", sel), false},
      {"wal", wal, false},
      {"cache_hit_ratio", cache, false},
      {"statements_time",
       fmt::format("topk(10, sum by (queryid, datname, user) (rate(pg_statements_total_time_seconds{{{}}}[5m])))", sel),
       false},
      {"statements_calls", fmt::format("sum by (queryid, datname, user) (rate(pg_statements_calls{{{}}}[5m]))", sel),
       false},
      {"proxy_time",
       fmt::format("topk(10, sum by (query, database, user) (rate(pgstack_proxy_query_seconds_total{{{}}}[5m])))", sel),
       false},
      {"proxy_calls",
       fmt::format("sum by (query, database, user) (rate(pgstack_proxy_query_calls_total{{{}}}[5m]))", sel), false},
      {"proxy_p50", proxy_quantile(0.5), false},
      {"proxy_p95", proxy_quantile(0.95), false},
      {"proxy_p99", proxy_quantile(0.99), false},
      {"proxy_statements", fmt::format("sum by (listener) (rate(pgstack_proxy_statements_total{{{}}}[5m]))", sel),
       false},
      {"proxy_errors", fmt::format("sum by (severity, class) (increase(pgstack_proxy_errors_total{{{}}}[1h]))", sel),
       false},
      {"tps_history", tps, true},
      {"connections_history", connections, true},
      {"wal_history", wal, true},
      {"cache_hit_history", cache, true},
      {"lag_history", lag, true},
      {"host_cpu", host_cpu, false},
      {"host_memory", host_memory, false},
      {"host_disk", host_disk, false},
      {"host_cpu_history", host_cpu, true},
      {"host_memory_history", host_memory, true},
  };
}

ClusterMetrics assemble_cluster_metrics(const std::string& namespace_name, const std::string& cluster, int minutes,
                                        double now, const std::map<std::string, PromResult>& results) {
  ClusterMetrics out;
  out.namespace_name = namespace_name;
  out.cluster = cluster;
  out.time = now;
  out.minutes = minutes;
  out.step = cluster_metrics_step(minutes);
  const auto each = [&](const std::string& key, const auto& apply) {
    if (const PromResult* result = cm_result(results, key)) {
      for (const auto& series : result->series) apply(series);
    }
  };
  each("up", [&](const PromSeries& s) {
    if (cm_label(s, "instance_name").empty()) return;
    cm_member(out.members, cm_label(s, "instance_name")).up = cm_value(s).value_or(0) == 1;
  });
  each("replica", [&](const PromSeries& s) {
    if (cm_label(s, "instance_name").empty() || !cm_value(s)) return;
    cm_member(out.members, cm_label(s, "instance_name")).role = *cm_value(s) == 1 ? "replica" : "primary";
  });
  const auto member_figure = [&](const std::string& key, const std::string& label,
                                 std::optional<double> MemberFigures::*field) {
    each(key, [&](const PromSeries& s) {
      if (!cm_label(s, label).empty()) cm_member(out.members, cm_label(s, label)).*field = cm_value(s);
    });
  };
  member_figure("member_tps", "instance_name", &MemberFigures::tps);
  member_figure("member_connections", "instance_name", &MemberFigures::connections);
  member_figure("member_max_connections", "instance_name", &MemberFigures::max_connections);
  member_figure("lag_seconds", "instance_name", &MemberFigures::lag_seconds);
  member_figure("lag_bytes", "application_name", &MemberFigures::lag_bytes);
  std::sort(out.members.begin(), out.members.end(),
            [](const MemberFigures& a, const MemberFigures& b) { return a.name < b.name; });
  for (auto& member : out.members) {
    // Lag is a replica's; a primary's exporter reports 0, which says nothing.
    if (member.role != "replica") member.lag_seconds.reset(), member.lag_bytes.reset();
  }

  out.tps = cm_single(results, "tps");
  out.wal_bytes_per_second = cm_single(results, "wal");
  out.cache_hit_ratio = cm_single(results, "cache_hit_ratio");
  double used = 0, most = 0;
  bool any_used = false, any_max = false;
  for (const auto& member : out.members) {
    if (member.connections) used += *member.connections, any_used = true;
    // Each member admits its own max_connections; the cluster's limit is what one member allows.
    if (member.max_connections) most = std::max(most, *member.max_connections), any_max = true;
  }
  if (any_used) out.connections = used;
  if (any_max) out.max_connections = most;
  each("connections_by_state", [&](const PromSeries& s) {
    if (const auto value = cm_value(s); value && !cm_label(s, "state").empty())
      out.connections_by_state[cm_label(s, "state")] = *value;
  });

  // Top queries: time first; calls joined on the same labels.
  const auto top = [&](const std::string& time_key, const std::string& calls_key, const std::string& source,
                       const std::string& id_label, const std::string& database_label) {
    std::map<std::string, double> calls;
    each(calls_key, [&](const PromSeries& s) {
      calls[cm_label(s, id_label) + "\n" + cm_label(s, database_label) + "\n" + cm_label(s, "user")] =
          cm_value(s).value_or(0);
    });
    each(time_key, [&](const PromSeries& s) {
      QueryFigures query;
      query.source = source;
      query.id = cm_label(s, id_label);
      query.database = cm_label(s, database_label);
      query.user = cm_label(s, "user");
      query.seconds_per_second = cm_value(s).value_or(0);
      const auto found = calls.find(query.id + "\n" + query.database + "\n" + query.user);
      if (found != calls.end()) query.calls_per_second = found->second;
      if (query.calls_per_second > 0) query.mean_seconds = query.seconds_per_second / query.calls_per_second;
      // topk keeps statements that did nothing in the window: they are not "top".
      if (!query.id.empty() && (query.seconds_per_second > 0 || query.calls_per_second > 0))
        out.top_queries.push_back(std::move(query));
    });
  };
  top("statements_time", "statements_calls", "pg_stat_statements", "queryid", "datname");
  top("proxy_time", "proxy_calls", "pgstack-proxy", "query", "database");
  std::stable_sort(out.top_queries.begin(), out.top_queries.end(), [](const QueryFigures& a, const QueryFigures& b) {
    return a.seconds_per_second > b.seconds_per_second;
  });

  out.proxy.p50 = cm_single(results, "proxy_p50");
  out.proxy.p95 = cm_single(results, "proxy_p95");
  out.proxy.p99 = cm_single(results, "proxy_p99");
  each("proxy_statements", [&](const PromSeries& s) {
    if (const auto value = cm_value(s); value && !cm_label(s, "listener").empty())
      out.proxy.statements_per_second[cm_label(s, "listener")] = *value;
  });
  each("proxy_errors", [&](const PromSeries& s) {
    // increase() extrapolates: 0.9 of an error is one; none in the hour is not listed.
    if (const auto value = cm_value(s); value && std::round(*value) >= 1)
      out.proxy.errors.push_back({cm_label(s, "severity"), cm_label(s, "class"), std::round(*value)});
  });
  std::stable_sort(out.proxy.errors.begin(), out.proxy.errors.end(),
                   [](const ProxyErrorFigures& a, const ProxyErrorFigures& b) { return a.count > b.count; });

  out.tps_history = cm_history(results, "tps_history");
  out.connections_history = cm_history(results, "connections_history");
  out.wal_history = cm_history(results, "wal_history");
  out.cache_hit_history = cm_history(results, "cache_hit_history");
  each("lag_history", [&](const PromSeries& s) {
    const std::string& name = cm_label(s, "instance_name");
    const auto member =
        std::find_if(out.members.begin(), out.members.end(), [&](const MemberFigures& m) { return m.name == name; });
    if (member != out.members.end() && member->role == "replica") out.lag_history[name] = s.samples;
  });

  const auto host_figure = [&](const std::string& key, std::optional<double> HostFigures::*field) {
    each(key, [&](const PromSeries& s) {
      const std::string& name = cm_label(s, "host");
      if (name.empty()) return;
      auto host =
          std::find_if(out.hosts.begin(), out.hosts.end(), [&](const HostFigures& h) { return h.name == name; });
      if (host == out.hosts.end()) {
        out.hosts.push_back({});
        out.hosts.back().name = name;
        host = std::prev(out.hosts.end());
      }
      (*host).*field = cm_value(s);
    });
  };
  host_figure("host_cpu", &HostFigures::cpu_busy);
  host_figure("host_memory", &HostFigures::memory_used);
  host_figure("host_disk", &HostFigures::disk_used);
  std::sort(out.hosts.begin(), out.hosts.end(),
            [](const HostFigures& a, const HostFigures& b) { return a.name < b.name; });
  each("host_cpu_history", [&](const PromSeries& s) {
    if (!cm_label(s, "host").empty()) out.host_cpu_history[cm_label(s, "host")] = s.samples;
  });
  each("host_memory_history", [&](const PromSeries& s) {
    if (!cm_label(s, "host").empty()) out.host_memory_history[cm_label(s, "host")] = s.samples;
  });
  return out;
}

std::vector<ClusterMetricsQuery> status_figures_queries() {
  return {
      {"tps",
       "sum by (namespace, cluster) (rate(pg_stat_database_xact_commit[1m])) + sum by (namespace, cluster) "
       "(rate(pg_stat_database_xact_rollback[1m]))",
       false},
      {"connections", "sum by (namespace, cluster) (pg_connections_used)", false},
      {"max_connections", "max by (namespace, cluster) (pg_connections_max_connections)", false},
      // Replicas only: a primary's exporter reports 0 lag, which says nothing.
      {"lag_seconds",
       "max by (namespace, cluster, instance_name) (pg_replication_lag) and on (namespace, cluster, instance_name) "
       "(max by (namespace, cluster, instance_name) (pg_replication_is_replica) == 1)",
       false},
  };
}

std::map<std::string, Json> status_figures_by_cluster(const std::map<std::string, PromResult>& results,
                                                      const std::string& observed_at) {
  std::map<std::string, Json> out;
  const auto figures_of = [&](const PromSeries& series) -> Json* {
    const std::string& ns = cm_label(series, "namespace");
    const std::string& cluster = cm_label(series, "cluster");
    if (ns.empty() || cluster.empty()) return nullptr;
    Json& figures = out[ns + "/" + cluster];
    if (figures.is_null())
      figures = {{"tps", nullptr},
                 {"connections", nullptr},
                 {"maxConnections", nullptr},
                 {"lagSeconds", Json::object()},
                 {"observedAt", observed_at}};
    return &figures;
  };
  const std::pair<const char*, const char*> cluster_wide[] = {
      {"tps", "tps"}, {"connections", "connections"}, {"max_connections", "maxConnections"}};
  for (const auto& [key, field] : cluster_wide) {
    if (const PromResult* result = cm_result(results, key)) {
      for (const auto& series : result->series) {
        if (Json* figures = figures_of(series)) (*figures)[field] = cm_number(cm_value(series));
      }
    }
  }
  if (const PromResult* result = cm_result(results, "lag_seconds")) {
    for (const auto& series : result->series) {
      Json* figures = figures_of(series);
      if (figures != nullptr && !cm_label(series, "instance_name").empty())
        (*figures)["lagSeconds"][cm_label(series, "instance_name")] = cm_number(cm_value(series));
    }
  }
  return out;
}

Json cluster_metrics_to_json(const ClusterMetrics& metrics) {
  Json members = Json::array();
  for (const auto& member : metrics.members) {
    members.push_back({{"name", member.name},
                       {"role", member.role},
                       {"up", member.up},
                       {"tps", cm_number(member.tps)},
                       {"connections", cm_number(member.connections)},
                       {"maxConnections", cm_number(member.max_connections)},
                       {"lagSeconds", cm_number(member.lag_seconds)},
                       {"lagBytes", cm_number(member.lag_bytes)}});
  }
  Json queries = Json::array();
  for (const auto& query : metrics.top_queries) {
    queries.push_back({{"source", query.source},
                       {"id", query.id},
                       {"database", query.database},
                       {"user", query.user},
                       {"secondsPerSecond", cm_number(query.seconds_per_second)},
                       {"callsPerSecond", cm_number(query.calls_per_second)},
                       {"meanSeconds", cm_number(query.mean_seconds)}});
  }
  const auto by_name = [](const std::map<std::string, std::vector<PromSample>>& series) {
    Json out = Json::object();
    for (const auto& [name, points] : series) out[name] = cm_points_to_json(points);
    return out;
  };
  Json hosts = Json::array();
  for (const auto& host : metrics.hosts) {
    hosts.push_back({{"name", host.name},
                     {"cpuBusy", cm_number(host.cpu_busy)},
                     {"memoryUsed", cm_number(host.memory_used)},
                     {"diskUsed", cm_number(host.disk_used)}});
  }
  Json proxy_errors = Json::array();
  for (const auto& error : metrics.proxy.errors)
    proxy_errors.push_back(
        {{"severity", error.severity}, {"sqlstateClass", error.sqlstate_class}, {"count", error.count}});
  Json proxy = {{"latencySeconds",
                 {{"p50", cm_number(metrics.proxy.p50)},
                  {"p95", cm_number(metrics.proxy.p95)},
                  {"p99", cm_number(metrics.proxy.p99)}}},
                {"statementsPerSecond", metrics.proxy.statements_per_second},
                {"errors", std::move(proxy_errors)}};
  return {{"apiVersion", "pgstack.io/v1"},
          {"kind", "ClusterMetrics"},
          {"namespace", metrics.namespace_name},
          {"cluster", metrics.cluster},
          {"time", metrics.time},
          {"minutes", metrics.minutes},
          {"step", metrics.step},
          {"tps", cm_number(metrics.tps)},
          {"connections",
           {{"used", cm_number(metrics.connections)},
            {"max", cm_number(metrics.max_connections)},
            {"byState", metrics.connections_by_state}}},
          {"walBytesPerSecond", cm_number(metrics.wal_bytes_per_second)},
          {"cacheHitRatio", cm_number(metrics.cache_hit_ratio)},
          {"members", std::move(members)},
          {"topQueries", std::move(queries)},
          {"hosts", std::move(hosts)},
          {"proxy", std::move(proxy)},
          {"history",
           {{"tps", cm_points_to_json(metrics.tps_history)},
            {"connections", cm_points_to_json(metrics.connections_history)},
            {"walBytesPerSecond", cm_points_to_json(metrics.wal_history)},
            {"cacheHitRatio", cm_points_to_json(metrics.cache_hit_history)},
            {"lagSeconds", by_name(metrics.lag_history)},
            {"hostCpuBusy", by_name(metrics.host_cpu_history)},
            {"hostMemoryUsed", by_name(metrics.host_memory_history)}}},
          {"errors", metrics.errors}};
}

Result<ClusterMetrics> cluster_metrics_from_json(const Json& json) {
  if (!json.is_object() || json.value("kind", "") != "ClusterMetrics")
    return make_error(ErrorCode::kInvalidInput, "cluster metrics: expected an object of kind ClusterMetrics");
  ClusterMetrics out;
  out.namespace_name = json.value("namespace", "");
  out.cluster = json.value("cluster", "");
  out.time = json.value("time", 0.0);
  out.minutes = json.value("minutes", 10);
  out.step = json.value("step", 10.0);
  out.tps = cm_optional(json, "tps");
  out.wal_bytes_per_second = cm_optional(json, "walBytesPerSecond");
  out.cache_hit_ratio = cm_optional(json, "cacheHitRatio");
  const Json connections = json.value("connections", Json::object());
  if (connections.is_object()) {
    out.connections = cm_optional(connections, "used");
    out.max_connections = cm_optional(connections, "max");
    const Json by_state = connections.value("byState", Json::object());
    for (const auto& [state, value] : by_state.items())
      if (value.is_number()) out.connections_by_state[state] = value.get<double>();
  }
  const Json members = json.value("members", Json::array());
  if (!members.is_array()) return make_error(ErrorCode::kInvalidInput, "cluster metrics.members: expected a list");
  for (const auto& item : members) {
    if (!item.is_object()) return make_error(ErrorCode::kInvalidInput, "cluster metrics.members: expected objects");
    MemberFigures member;
    member.name = item.value("name", "");
    member.role = item.value("role", "");
    member.up = item.value("up", false);
    member.tps = cm_optional(item, "tps");
    member.connections = cm_optional(item, "connections");
    member.max_connections = cm_optional(item, "maxConnections");
    member.lag_seconds = cm_optional(item, "lagSeconds");
    member.lag_bytes = cm_optional(item, "lagBytes");
    out.members.push_back(std::move(member));
  }
  const Json queries = json.value("topQueries", Json::array());
  if (!queries.is_array()) return make_error(ErrorCode::kInvalidInput, "cluster metrics.topQueries: expected a list");
  for (const auto& item : queries) {
    if (!item.is_object()) return make_error(ErrorCode::kInvalidInput, "cluster metrics.topQueries: expected objects");
    QueryFigures query;
    query.source = item.value("source", "");
    query.id = item.value("id", "");
    query.database = item.value("database", "");
    query.user = item.value("user", "");
    query.seconds_per_second = cm_optional(item, "secondsPerSecond").value_or(0);
    query.calls_per_second = cm_optional(item, "callsPerSecond").value_or(0);
    query.mean_seconds = cm_optional(item, "meanSeconds");
    out.top_queries.push_back(std::move(query));
  }
  const Json hosts = json.value("hosts", Json::array());
  if (!hosts.is_array()) return make_error(ErrorCode::kInvalidInput, "cluster metrics.hosts: expected a list");
  for (const auto& item : hosts) {
    if (!item.is_object()) return make_error(ErrorCode::kInvalidInput, "cluster metrics.hosts: expected objects");
    HostFigures host;
    host.name = item.value("name", "");
    host.cpu_busy = cm_optional(item, "cpuBusy");
    host.memory_used = cm_optional(item, "memoryUsed");
    host.disk_used = cm_optional(item, "diskUsed");
    out.hosts.push_back(std::move(host));
  }
  // "proxy" is absent from a controller older than it: no figures then.
  if (const Json proxy = json.value("proxy", Json::object()); proxy.is_object()) {
    const Json latency = proxy.value("latencySeconds", Json::object());
    if (latency.is_object()) {
      out.proxy.p50 = cm_optional(latency, "p50");
      out.proxy.p95 = cm_optional(latency, "p95");
      out.proxy.p99 = cm_optional(latency, "p99");
    }
    const Json statements = proxy.value("statementsPerSecond", Json::object());
    if (statements.is_object()) {
      for (const auto& [listener, value] : statements.items()) {
        if (value.is_number()) out.proxy.statements_per_second[listener] = value.get<double>();
      }
    }
    for (const auto& item : proxy.value("errors", Json::array())) {
      if (!item.is_object())
        return make_error(ErrorCode::kInvalidInput, "cluster metrics.proxy.errors: expected objects");
      out.proxy.errors.push_back(
          {item.value("severity", ""), item.value("sqlstateClass", ""), cm_optional(item, "count").value_or(0)});
    }
  }
  const Json history = json.value("history", Json::object());
  if (history.is_object()) {
    ASSIGN_OR_RETURN(out.tps_history, cm_points_from_json(history.value("tps", Json()), "cluster metrics.history.tps"));
    ASSIGN_OR_RETURN(out.connections_history,
                     cm_points_from_json(history.value("connections", Json()), "cluster metrics.history.connections"));
    ASSIGN_OR_RETURN(out.wal_history, cm_points_from_json(history.value("walBytesPerSecond", Json()),
                                                          "cluster metrics.history.walBytesPerSecond"));
    ASSIGN_OR_RETURN(out.cache_hit_history, cm_points_from_json(history.value("cacheHitRatio", Json()),
                                                                "cluster metrics.history.cacheHitRatio"));
    const std::pair<const char*, std::map<std::string, std::vector<PromSample>>*> by_name[] = {
        {"lagSeconds", &out.lag_history},
        {"hostCpuBusy", &out.host_cpu_history},
        {"hostMemoryUsed", &out.host_memory_history}};
    for (const auto& [key, series] : by_name) {
      const Json named = history.value(key, Json::object());
      if (!named.is_object()) continue;
      for (const auto& [name, points] : named.items()) {
        ASSIGN_OR_RETURN((*series)[name],
                         cm_points_from_json(points, fmt::format("cluster metrics.history.{}.{}", key, name)));
      }
    }
  }
  for (const auto& error : json.value("errors", Json::array()))
    if (error.is_string()) out.errors.push_back(error.get<std::string>());
  return out;
}

}  // namespace pgstack::monitoring
