// The read-write endpoint's outages as this proxy saw them: from the first failed check of the primary
// (or the moment it lost its role) to the first moment another primary was routable. Kept in memory (the
// newest kKeptOutages per cluster), served at the admin endpoint's /outages, and saved to etcd by the
// cluster's router (a proxy that restarts, or a host that is gone, keeps its figures there); the
// controller joins both with the cluster's switchovers and failovers (GET .../sgclusters/{name}/history,
// unavailableSeconds).
// The resolution is the health check interval (1 s by default): a shorter outage may show as 0 s.
#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgstack::proxy {

struct PrimaryOutage {
  std::string from;  // the primary that was lost
  std::string to;    // the next one routable
  std::chrono::system_clock::time_point started;
  std::chrono::system_clock::time_point ended;
  double seconds() const { return std::chrono::duration<double>(ended - started).count(); }
};

// Pure: fed with the routed primary at each change and with the failed checks of the primary.
class PrimaryOutages {
 public:
  static constexpr std::size_t kKeptOutages = 20;

  // A health check of `primary` failed (it may still be routed: a member that passed keeps its role
  // for a few failed checks). The first of a run of failures is when the outage began, if one follows.
  void check_failed(const std::string& primary, std::chrono::system_clock::time_point at);
  // A check of `primary` passed: earlier failures were a blip.
  void check_passed(const std::string& primary);
  // The routed primary (nullopt: none) as of `at`.
  void observe(const std::optional<std::string>& primary, std::chrono::system_clock::time_point at);

  const std::deque<PrimaryOutage>& outages() const { return outages_; }
  // [{"from", "to", "startedAt", "endedAt" (UTC, ms), "seconds"}], oldest first.
  nlohmann::json to_json() const;

  // The outages recorded since the last mark_saved (at most kKeptOutages), oldest first.
  std::vector<PrimaryOutage> unsaved() const;
  // The oldest `count` of unsaved() are saved (outages recorded since that call stay unsaved).
  void mark_saved(std::size_t count);

 private:
  void record(PrimaryOutage outage);
  // When the current run of failed checks of `member` began, else `otherwise`.
  std::chrono::system_clock::time_point failing_since(const std::string& member,
                                                      std::chrono::system_clock::time_point otherwise) const;

  std::optional<std::string> primary_;  // routed now
  std::string lost_;                    // the primary of the open outage
  std::optional<std::chrono::system_clock::time_point> open_since_;
  std::optional<std::pair<std::string, std::chrono::system_clock::time_point>> failing_since_;
  std::deque<PrimaryOutage> outages_;
  std::size_t unsaved_ = 0;  // the newest this many of outages_
};

// One outage as an item of to_json().
nlohmann::json to_json(const PrimaryOutage& outage);

}  // namespace pgstack::proxy
