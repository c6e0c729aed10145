#include "proxy/proxy_stats.h"

#include <algorithm>

#include <fmt/format.h>

namespace pgstack::proxy {
namespace {

std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string key_labels(const StatsKey& key) {
  return fmt::format("cluster=\"{}\",listener=\"{}\",database=\"{}\",user=\"{}\"", escape_label(key.cluster),
                     escape_label(key.listener), escape_label(key.database), escape_label(key.user));
}

void help(std::string& out, std::string_view name, std::string_view type, std::string_view text) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, text, name, type);
}

void render_histogram(std::string& out, std::string_view name, const std::string& labels, const LatencyHistogram& h) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kLatencyBucketsMicros.size(); ++i) {
    cumulative += h.buckets[i];
    out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", name, labels, kLatencyBucketsMicros[i] / 1e6, cumulative);
  }
  cumulative += h.buckets.back();
  out += fmt::format("{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels, cumulative);
  out += fmt::format("{}_sum{{{}}} {}\n", name, labels, h.sum_micros / 1e6);
  out += fmt::format("{}_count{{{}}} {}\n", name, labels, h.count);
}

nlohmann::json histogram_json(const LatencyHistogram& h) {
  return {{"count", h.count},
          {"mean_us", h.count ? static_cast<double>(h.sum_micros) / h.count : 0.0},
          {"p50_us_le", h.quantile_bound_micros(0.5)},
          {"p99_us_le", h.quantile_bound_micros(0.99)}};
}

}  // namespace

std::string_view command_kind_label(pgwire::CommandKind kind) {
  static constexpr std::array<std::string_view, kCommandKindCount> kNames = {
      "select", "insert", "update", "delete", "merge", "copy", "fetch", "move", "begin", "commit", "rollback", "other"};
  return kNames[static_cast<std::size_t>(kind)];
}

void LatencyHistogram::record(std::uint64_t micros) {
  const auto bucket = std::lower_bound(kLatencyBucketsMicros.begin(), kLatencyBucketsMicros.end(), micros);
  ++buckets[static_cast<std::size_t>(bucket - kLatencyBucketsMicros.begin())];
  ++count;
  sum_micros += micros;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
  count += other.count;
  sum_micros += other.sum_micros;
}

std::uint64_t LatencyHistogram::quantile_bound_micros(double q) const {
  if (count == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count) + 0.999999);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kLatencyBucketsMicros.size(); ++i) {
    seen += buckets[i];
    if (seen >= rank) return kLatencyBucketsMicros[i];
  }
  return UINT64_MAX;
}

void SessionCounters::record_error(std::string_view severity, std::string_view sqlstate) {
  ++errors[{std::string(severity.empty() ? "ERROR" : severity), std::string(sqlstate.substr(0, 2))}];
}

bool SessionCounters::empty() const {
  if (sessions_total || sessions_active || commits || rollbacks || notices || bytes_in || bytes_out) return false;
  if (!errors.empty() || query_latency.count || transaction_latency.count || !fingerprints.empty()) return false;
  for (const auto count : statements) {
    if (count) return false;
  }
  return true;
}

void SessionCounters::merge(const SessionCounters& delta, std::size_t max_fingerprints) {
  sessions_total += delta.sessions_total;
  sessions_tls += delta.sessions_tls;
  sessions_plain += delta.sessions_plain;
  sessions_active += delta.sessions_active;
  for (std::size_t i = 0; i < statements.size(); ++i) statements[i] += delta.statements[i];
  commits += delta.commits;
  rollbacks += delta.rollbacks;
  notices += delta.notices;
  bytes_in += delta.bytes_in;
  bytes_out += delta.bytes_out;
  for (const auto& [key, count] : delta.errors) errors[key] += count;
  query_latency.merge(delta.query_latency);
  transaction_latency.merge(delta.transaction_latency);
  for (const auto& [text, stats] : delta.fingerprints) {
    auto found = fingerprints.find(text);
    if (found == fingerprints.end()) {
      if (fingerprints.size() >= max_fingerprints) {
        found = fingerprints.try_emplace(std::string(kOtherFingerprint)).first;
      } else {
        found = fingerprints.try_emplace(text).first;
      }
    }
    found->second.calls += stats.calls;
    found->second.total_micros += stats.total_micros;
  }
}

void StatsEntry::flush(SessionCounters& delta) {
  if (delta.empty()) return;
  {
    std::lock_guard lock(mutex_);
    totals_.merge(delta, max_fingerprints_);
  }
  delta = SessionCounters{};
}

SessionCounters StatsEntry::copy() const {
  std::lock_guard lock(mutex_);
  return totals_;
}

std::shared_ptr<StatsEntry> StatsRegistry::entry(const StatsKey& key) {
  std::lock_guard lock(mutex_);
  auto& slot = entries_[key];
  if (!slot) slot = std::make_shared<StatsEntry>(max_fingerprints_);
  return slot;
}

std::vector<std::pair<StatsKey, SessionCounters>> StatsRegistry::collect() const {
  std::vector<std::pair<StatsKey, std::shared_ptr<StatsEntry>>> entries;
  {
    std::lock_guard lock(mutex_);
    entries.assign(entries_.begin(), entries_.end());
  }
  std::vector<std::pair<StatsKey, SessionCounters>> out;
  out.reserve(entries.size());
  for (const auto& [key, entry] : entries) out.emplace_back(key, entry->copy());
  return out;
}

std::vector<std::pair<std::string, FingerprintStats>> top_fingerprints(
    const std::unordered_map<std::string, FingerprintStats>& fingerprints, std::size_t top) {
  std::vector<std::pair<std::string, FingerprintStats>> sorted(fingerprints.begin(), fingerprints.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    if (a.second.total_micros != b.second.total_micros) return a.second.total_micros > b.second.total_micros;
    return a.first < b.first;
  });
  if (sorted.size() > top) sorted.resize(top);
  return sorted;
}

std::string render_prometheus(const StatsView& view) {
  std::string out;
  out.reserve(4096 + view.entries.size() * 4096);
  const auto& entries = view.entries;

  auto each_counter = [&](std::string_view name, std::string_view type, std::string_view text, auto value_of) {
    if (entries.empty()) return;
    help(out, name, type, text);
    for (const auto& [key, counters] : entries)
      out += fmt::format("{}{{{}}} {}\n", name, key_labels(key), value_of(counters));
  };

  if (!entries.empty()) {
    help(out, "pgstack_proxy_sessions_total", "counter", "Client sessions routed to a server, by transport.");
    for (const auto& [key, c] : entries) {
      out += fmt::format("pgstack_proxy_sessions_total{{{},tls=\"true\"}} {}\n", key_labels(key), c.sessions_tls);
      out += fmt::format("pgstack_proxy_sessions_total{{{},tls=\"false\"}} {}\n", key_labels(key), c.sessions_plain);
    }
  }
  each_counter("pgstack_proxy_sessions_active", "gauge", "Client sessions open now.",
               [](const SessionCounters& c) { return c.sessions_active; });
  if (!entries.empty()) {
    help(out, "pgstack_proxy_statements_total", "counter", "Statements completed, by CommandComplete tag.");
    for (const auto& [key, c] : entries) {
      for (std::size_t i = 0; i < kCommandKindCount; ++i) {
        out += fmt::format("pgstack_proxy_statements_total{{{},type=\"{}\"}} {}\n", key_labels(key),
                           command_kind_label(static_cast<pgwire::CommandKind>(i)), c.statements[i]);
      }
    }
    help(out, "pgstack_proxy_transactions_total", "counter", "Transaction blocks ended, by outcome.");
    for (const auto& [key, c] : entries) {
      out += fmt::format("pgstack_proxy_transactions_total{{{},outcome=\"commit\"}} {}\n", key_labels(key), c.commits);
      out +=
          fmt::format("pgstack_proxy_transactions_total{{{},outcome=\"rollback\"}} {}\n", key_labels(key), c.rollbacks);
    }
    help(out, "pgstack_proxy_errors_total", "counter",
         "ErrorResponses sent by servers, by severity and SQLSTATE class.");
    for (const auto& [key, c] : entries) {
      for (const auto& [error, count] : c.errors) {
        out += fmt::format("pgstack_proxy_errors_total{{{},severity=\"{}\",class=\"{}\"}} {}\n", key_labels(key),
                           escape_label(error.first), escape_label(error.second), count);
      }
    }
  }
  each_counter("pgstack_proxy_notices_total", "counter", "NoticeResponses sent by servers.",
               [](const SessionCounters& c) { return c.notices; });
  each_counter("pgstack_proxy_client_bytes_received_total", "counter", "Bytes received from clients.",
               [](const SessionCounters& c) { return c.bytes_in; });
  each_counter("pgstack_proxy_client_bytes_sent_total", "counter", "Bytes sent to clients.",
               [](const SessionCounters& c) { return c.bytes_out; });
  if (!entries.empty()) {
    help(out, "pgstack_proxy_query_duration_seconds", "histogram", "Query (or Sync) to ReadyForQuery.");
    for (const auto& [key, c] : entries) {
      render_histogram(out, "pgstack_proxy_query_duration_seconds", key_labels(key), c.query_latency);
    }
    help(out, "pgstack_proxy_transaction_duration_seconds", "histogram", "First statement of a block to its end.");
    for (const auto& [key, c] : entries) {
      render_histogram(out, "pgstack_proxy_transaction_duration_seconds", key_labels(key), c.transaction_latency);
    }
    help(out, "pgstack_proxy_query_calls_total", "counter", "Calls of the top query fingerprints.");
    std::string seconds;
    for (const auto& [key, c] : entries) {
      for (const auto& [text, stats] : top_fingerprints(c.fingerprints, view.top_queries)) {
        const auto labels = fmt::format("{},query=\"{}\"", key_labels(key), escape_label(text));
        out += fmt::format("pgstack_proxy_query_calls_total{{{}}} {}\n", labels, stats.calls);
        seconds += fmt::format("pgstack_proxy_query_seconds_total{{{}}} {}\n", labels, stats.total_micros / 1e6);
      }
    }
    help(out, "pgstack_proxy_query_seconds_total", "counter", "Total time of the top query fingerprints.");
    out += seconds;
  }

  if (!view.listeners.empty()) {
    auto listener_counter = [&](std::string_view name, std::string_view text, auto value_of, bool mirror_only) {
      help(out, name, "counter", text);
      for (const auto& l : view.listeners) {
        if (mirror_only && !l.mirror_enabled) continue;
        out += fmt::format("{}{{cluster=\"{}\",listener=\"{}\",role=\"{}\"}} {}\n", name, escape_label(l.cluster),
                           escape_label(l.listener), l.role, value_of(l));
      }
    };
    listener_counter(
        "pgstack_proxy_connections_accepted_total", "TCP connections accepted.",
        [](const ListenerCounters& l) { return l.accepted; }, false);
    listener_counter(
        "pgstack_proxy_connections_refused_total", "Connections refused at max_client_connections.",
        [](const ListenerCounters& l) { return l.refused_max_connections; }, false);
    listener_counter(
        "pgstack_proxy_routing_failures_total", "Connections with no member to route to.",
        [](const ListenerCounters& l) { return l.routing_failures; }, false);
    listener_counter(
        "pgstack_proxy_protocol_errors_total", "Connections ended for malformed input.",
        [](const ListenerCounters& l) { return l.protocol_errors; }, false);
    listener_counter(
        "pgstack_proxy_closed_by_failover_total", "Sessions closed because their member lost its role.",
        [](const ListenerCounters& l) { return l.closed_by_failover; }, false);
    listener_counter(
        "pgstack_proxy_rerouted_by_failover_total",
        "Pooled clients between transactions kept and sent to their member's successor.",
        [](const ListenerCounters& l) { return l.rerouted_by_failover; }, false);
    listener_counter(
        "pgstack_proxy_cancel_requests_total", "CancelRequests received.",
        [](const ListenerCounters& l) { return l.cancel_requests; }, false);
    listener_counter(
        "pgstack_proxy_mirrored_total", "Queries replayed on the shadow.",
        [](const ListenerCounters& l) { return l.mirrored; }, true);
    listener_counter(
        "pgstack_proxy_mirror_dropped_total", "Queries not mirrored: queue full or shadow sessions at max.",
        [](const ListenerCounters& l) { return l.mirror_dropped; }, true);
    listener_counter(
        "pgstack_proxy_mirror_errors_total", "Mirrored queries that failed on the shadow.",
        [](const ListenerCounters& l) { return l.mirror_errors; }, true);

    // Pooled listeners: their server connections, and the clients waiting for one.
    const bool any_pooled =
        std::any_of(view.listeners.begin(), view.listeners.end(), [](const ListenerCounters& l) { return l.pooled; });
    if (any_pooled) {
      auto pooled_series = [&](std::string_view name, std::string_view type, std::string_view text, auto each) {
        help(out, name, type, text);
        for (const auto& l : view.listeners) {
          if (!l.pooled) continue;
          each(l, fmt::format("cluster=\"{}\",listener=\"{}\",role=\"{}\"", escape_label(l.cluster),
                              escape_label(l.listener), l.role));
        }
      };
      pooled_series("pgstack_proxy_pool_server_connections", "gauge",
                    "Server connections of the listener's pool, by state (idle, or in use or logging in).",
                    [&](const ListenerCounters& l, const std::string& labels) {
                      out += fmt::format("pgstack_proxy_pool_server_connections{{{},state=\"idle\"}} {}\n", labels,
                                         l.pool_idle);
                      out += fmt::format("pgstack_proxy_pool_server_connections{{{},state=\"active\"}} {}\n", labels,
                                         std::max<std::int64_t>(0, l.pool_open - l.pool_idle));
                    });
      pooled_series("pgstack_proxy_pool_waiting_clients", "gauge", "Clients waiting for a server connection.",
                    [&](const ListenerCounters& l, const std::string& labels) {
                      out += fmt::format("pgstack_proxy_pool_waiting_clients{{{}}} {}\n", labels, l.pool_waiting);
                    });
      pooled_series("pgstack_proxy_pool_logins_total", "counter", "Server connections the pool logged in.",
                    [&](const ListenerCounters& l, const std::string& labels) {
                      out += fmt::format("pgstack_proxy_pool_logins_total{{{}}} {}\n", labels, l.pool_logins);
                    });
      pooled_series("pgstack_proxy_pool_wait_timeouts_total", "counter",
                    "Clients refused after query_wait_timeout without a server connection.",
                    [&](const ListenerCounters& l, const std::string& labels) {
                      out += fmt::format("pgstack_proxy_pool_wait_timeouts_total{{{}}} {}\n", labels,
                                         l.pool_wait_timeouts);
                    });
      pooled_series("pgstack_proxy_pool_prepares_answered_total", "counter",
                    "Statement preparations answered by the proxy without a server connection (statements the "
                    "pool has parsed before).",
                    [&](const ListenerCounters& l, const std::string& labels) {
                      out += fmt::format("pgstack_proxy_pool_prepares_answered_total{{{}}} {}\n", labels,
                                         l.pool_prepares_answered);
                    });
    }
  }
  if (!view.members.empty()) {
    help(out, "pgstack_proxy_member_primary", "gauge", "1 when the member is the confirmed primary.");
    for (const auto& m : view.members) {
      out += fmt::format("pgstack_proxy_member_primary{{cluster=\"{}\",member=\"{}\"}} {}\n", escape_label(m.cluster),
                         escape_label(m.member), m.primary ? 1 : 0);
    }
    help(out, "pgstack_proxy_member_readable", "gauge", "1 when the member takes read-only connections.");
    for (const auto& m : view.members) {
      out += fmt::format("pgstack_proxy_member_readable{{cluster=\"{}\",member=\"{}\"}} {}\n", escape_label(m.cluster),
                         escape_label(m.member), m.readable ? 1 : 0);
    }
    help(out, "pgstack_proxy_member_connections", "gauge", "Server connections open to the member.");
    for (const auto& m : view.members) {
      out += fmt::format("pgstack_proxy_member_connections{{cluster=\"{}\",member=\"{}\"}} {}\n",
                         escape_label(m.cluster), escape_label(m.member), m.active_connections);
    }
  }
  return out;
}

nlohmann::json render_stats_json(const StatsView& view) {
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& [key, c] : view.entries) {
    nlohmann::json statements = nlohmann::json::object();
    for (std::size_t i = 0; i < kCommandKindCount; ++i) {
      statements[std::string(command_kind_label(static_cast<pgwire::CommandKind>(i)))] = c.statements[i];
    }
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& [error, count] : c.errors) {
      errors.push_back({{"severity", error.first}, {"class", error.second}, {"count", count}});
    }
    nlohmann::json top = nlohmann::json::array();
    for (const auto& [text, stats] : top_fingerprints(c.fingerprints, view.top_queries)) {
      top.push_back({{"query", text},
                     {"calls", stats.calls},
                     {"total_ms", stats.total_micros / 1000.0},
                     {"mean_ms", stats.calls ? stats.total_micros / 1000.0 / stats.calls : 0.0}});
    }
    entries.push_back({{"cluster", key.cluster},
                       {"listener", key.listener},
                       {"database", key.database},
                       {"user", key.user},
                       {"sessions",
                        {{"total", c.sessions_total},
                         {"active", c.sessions_active},
                         {"tls", c.sessions_tls},
                         {"plain", c.sessions_plain}}},
                       {"statements", statements},
                       {"transactions", {{"commit", c.commits}, {"rollback", c.rollbacks}}},
                       {"errors", errors},
                       {"notices", c.notices},
                       {"bytes", {{"in", c.bytes_in}, {"out", c.bytes_out}}},
                       {"query_latency", histogram_json(c.query_latency)},
                       {"transaction_latency", histogram_json(c.transaction_latency)},
                       {"top_queries", top}});
  }
  nlohmann::json listeners = nlohmann::json::array();
  for (const auto& l : view.listeners) {
    nlohmann::json item = {{"cluster", l.cluster},
                           {"listener", l.listener},
                           {"role", l.role},
                           {"accepted", l.accepted},
                           {"refused_max_connections", l.refused_max_connections},
                           {"routing_failures", l.routing_failures},
                           {"protocol_errors", l.protocol_errors},
                           {"closed_by_failover", l.closed_by_failover},
                           {"rerouted_by_failover", l.rerouted_by_failover},
                           {"cancel_requests", l.cancel_requests}};
    if (l.mirror_enabled) {
      item["mirror"] = {{"mirrored", l.mirrored}, {"dropped", l.mirror_dropped}, {"errors", l.mirror_errors}};
    }
    if (l.pooled) {
      item["pool"] = {{"open", l.pool_open},
                      {"idle", l.pool_idle},
                      {"waiting", l.pool_waiting},
                      {"logins", l.pool_logins},
                      {"wait_timeouts", l.pool_wait_timeouts},
                      {"prepares_answered", l.pool_prepares_answered}};
    }
    listeners.push_back(std::move(item));
  }
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : view.members) {
    members.push_back({{"cluster", m.cluster},
                       {"member", m.member},
                       {"primary", m.primary},
                       {"readable", m.readable},
                       {"connections", m.active_connections}});
  }
  return {{"entries", entries}, {"listeners", listeners}, {"members", members}};
}

}  // namespace pgstack::proxy
