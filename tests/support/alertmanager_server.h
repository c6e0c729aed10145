// A real Alertmanager (Debian's prometheus-alertmanager 0.25) for tests: 127.0.0.1 on a free port, its
// configuration and data in a temporary directory removed on destruction, no gossip listener
// (--cluster.listen-address empty). Alerts are given to it as Prometheus does: POST /api/v2/alerts.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <sys/types.h>

#include "common/error.h"

namespace pgstack::testing {

class AlertmanagerServer {
 public:
  // Returns once /-/ready answers 200, or fails after 20 s with the end of its log.
  static Result<std::unique_ptr<AlertmanagerServer>> start();
  ~AlertmanagerServer();
  AlertmanagerServer(const AlertmanagerServer&) = delete;
  AlertmanagerServer& operator=(const AlertmanagerServer&) = delete;

  const std::string& url() const { return url_; }  // http://127.0.0.1:<port>
  // POST /api/v2/alerts with a list of postableAlert ({labels, annotations, startsAt, endsAt}).
  Result<bool> post_alerts(const nlohmann::json& alerts) const;
  std::string log_tail() const;

 private:
  AlertmanagerServer() = default;

  std::filesystem::path directory_;
  std::string url_;
  pid_t pid_ = -1;
};

}  // namespace pgstack::testing
