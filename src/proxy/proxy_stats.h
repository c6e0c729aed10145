// Protocol statistics per cluster, listener, database and user. Sessions count into a private
// SessionCounters (no locks on the data path) and merge it into the shared StatsEntry at each
// ReadyForQuery and at close; scrapes copy the entries. Rendering is pure and unit-tested.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "pgwire/messages.h"

namespace pgstack::proxy {

// The database and user label of sessions that ended before the server authenticated them.
inline constexpr std::string_view kUnauthenticated = "<unauthenticated>";

inline constexpr std::size_t kCommandKindCount = static_cast<std::size_t>(pgwire::CommandKind::kOther) + 1;
std::string_view command_kind_label(pgwire::CommandKind kind);

// Upper bounds in microseconds (Prometheus "le" buckets); the last bucket is +Inf.
inline constexpr std::array<std::uint64_t, 18> kLatencyBucketsMicros = {
    50,    100,    250,    500,    1000,    2500,    5000,    10000,    25000,
    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000};

struct LatencyHistogram {
  std::array<std::uint64_t, kLatencyBucketsMicros.size() + 1> buckets{};  // not cumulative
  std::uint64_t count = 0;
  std::uint64_t sum_micros = 0;

  void record(std::uint64_t micros);
  void merge(const LatencyHistogram& other);
  // The upper bound of the bucket holding quantile q (0..1); 0 when empty.
  std::uint64_t quantile_bound_micros(double q) const;
};

struct FingerprintStats {
  std::uint64_t calls = 0;
  std::uint64_t total_micros = 0;
};

inline constexpr std::string_view kOtherFingerprint = "<other>";

struct SessionCounters {
  std::uint64_t sessions_total = 0;
  std::uint64_t sessions_tls = 0;
  std::uint64_t sessions_plain = 0;
  std::int64_t sessions_active = 0;  // in a delta: +1 at start, -1 at close
  std::array<std::uint64_t, kCommandKindCount> statements{};
  std::uint64_t commits = 0;
  std::uint64_t rollbacks = 0;
  std::uint64_t notices = 0;
  std::uint64_t bytes_in = 0;                                           // from the client
  std::uint64_t bytes_out = 0;                                          // to the client
  std::map<std::pair<std::string, std::string>, std::uint64_t> errors;  // (severity, SQLSTATE class)
  LatencyHistogram query_latency;
  LatencyHistogram transaction_latency;
  std::unordered_map<std::string, FingerprintStats> fingerprints;

  void record_error(std::string_view severity, std::string_view sqlstate);
  // Folds `delta` in; fingerprints beyond max_fingerprints distinct ones count as kOtherFingerprint.
  void merge(const SessionCounters& delta, std::size_t max_fingerprints);
  bool empty() const;
};

struct StatsKey {
  std::string cluster;
  std::string listener;
  std::string database;
  std::string user;
  auto operator<=>(const StatsKey&) const = default;  // NOLINT(modernize-use-nullptr): clang-tidy 14 misfires
};

class StatsEntry {
 public:
  explicit StatsEntry(std::size_t max_fingerprints) : max_fingerprints_(max_fingerprints) {}
  // Merges and clears `delta`.
  void flush(SessionCounters& delta);
  SessionCounters copy() const;

 private:
  const std::size_t max_fingerprints_;
  mutable std::mutex mutex_;
  SessionCounters totals_;
};

class StatsRegistry {
 public:
  explicit StatsRegistry(std::size_t max_fingerprints) : max_fingerprints_(max_fingerprints) {}
  std::shared_ptr<StatsEntry> entry(const StatsKey& key);
  std::vector<std::pair<StatsKey, SessionCounters>> collect() const;

 private:
  const std::size_t max_fingerprints_;
  mutable std::mutex mutex_;
  std::map<StatsKey, std::shared_ptr<StatsEntry>> entries_;
};

// Per-listener counters that do not belong to a database/user (connections refused before startup,
// mirroring, failover closes).
struct ListenerCounters {
  std::string cluster;
  std::string listener;
  std::string role;
  std::uint64_t accepted = 0;
  std::uint64_t refused_max_connections = 0;
  std::uint64_t routing_failures = 0;
  std::uint64_t protocol_errors = 0;
  std::uint64_t closed_by_failover = 0;
  std::uint64_t rerouted_by_failover = 0;
  std::uint64_t cancel_requests = 0;
  bool mirror_enabled = false;
  std::uint64_t mirrored = 0;
  std::uint64_t mirror_dropped = 0;
  std::uint64_t mirror_errors = 0;
  bool pooled = false;  // the listener pools server connections itself
  std::int64_t pool_open = 0;
  std::int64_t pool_idle = 0;
  std::int64_t pool_waiting = 0;
  std::uint64_t pool_logins = 0;
  std::uint64_t pool_wait_timeouts = 0;
  std::uint64_t pool_prepares_answered = 0;
};

// Per-member routing state for the exposition.
struct MemberGauge {
  std::string cluster;
  std::string member;
  bool primary = false;
  bool readable = false;
  std::int64_t active_connections = 0;
};

struct StatsView {
  std::vector<std::pair<StatsKey, SessionCounters>> entries;
  std::vector<ListenerCounters> listeners;
  std::vector<MemberGauge> members;
  std::size_t top_queries = 20;
};

std::string render_prometheus(const StatsView& view);
nlohmann::json render_stats_json(const StatsView& view);
// The `top` fingerprints by total time, descending (ties by text).
std::vector<std::pair<std::string, FingerprintStats>> top_fingerprints(
    const std::unordered_map<std::string, FingerprintStats>& fingerprints, std::size_t top);

}  // namespace pgstack::proxy
