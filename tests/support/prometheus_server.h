// A real Prometheus (Debian's prometheus) for tests: 127.0.0.1 on a port the test chose (the controller's
// --prometheus must name it before it starts), the configuration the test rendered (pgstack's, from
// monitoring::render_prometheus_config), its data and log in a directory the test owns. start() may be
// called again after stop(): the same data directory is reused.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/types.h>

#include "common/error.h"
#include "process/process_supervisor.h"

namespace pgstack::testing {

// A form or query value, percent-encoded (PromQL has braces, quotes and spaces).
std::string url_encode(std::string_view text);

class PrometheusServer {
 public:
  // `directory` gets prometheus.yml, prometheus/ (the data) and prometheus.log.
  PrometheusServer(std::filesystem::path directory, int port);
  ~PrometheusServer();
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  // Writes `config` as prometheus.yml, starts Prometheus and returns once /-/ready answers (30 s at most).
  Result<bool> start(const std::string& config);
  void stop();

  // The active targets of `job`.
  std::vector<nlohmann::json> targets(const std::string& job) const;
  // The samples of an instant query: labels and value; nothing when it fails.
  std::vector<std::pair<nlohmann::json, double>> query(const std::string& promql) const;
  // The raw answer of an instant query: {"status": ..., "data"/"error": ...}; an object with "error" when
  // Prometheus did not answer.
  nlohmann::json query_response(const std::string& promql) const;
  // The rule groups' evaluation errors ("group/rule: error"), and how many rules were loaded.
  std::pair<std::vector<std::string>, int> rule_errors() const;

  const std::string& url() const { return url_; }
  pid_t pid() const;
  bool running() const;
  std::string log() const;

 private:
  std::filesystem::path directory_;
  std::string url_;
  int port_;
  std::unique_ptr<ProcessSupervisor> supervisor_;
};

}  // namespace pgstack::testing
