#include "support/alertmanager_server.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>

#include <fmt/format.h>

#include "common/files.h"
#include "common/http_client.h"
#include "support/child_process.h"
#include "support/etcd_server.h"

namespace pgstack::testing {
namespace {

constexpr const char* kAlertmanagerBinary = "/usr/bin/prometheus-alertmanager";

// One receiver that sends nowhere: the tests read alerts back through the API, not from a webhook.
constexpr const char* kConfiguration = R"(route:
  receiver: pgstack-test
  group_wait: 1s
receivers:
  - name: pgstack-test
)";

}  // namespace

Result<std::unique_ptr<AlertmanagerServer>> AlertmanagerServer::start() {
  if (::access(kAlertmanagerBinary, X_OK) != 0)
    return make_error(
        ErrorCode::kUnavailable,
        fmt::format("{} is missing; run scripts/install-deps (prometheus-alertmanager)", kAlertmanagerBinary));
  std::unique_ptr<AlertmanagerServer> server(new AlertmanagerServer());
  std::string pattern = (std::filesystem::temp_directory_path() / "pgstack-alertmanager-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    return make_error(ErrorCode::kUnavailable, fmt::format("mkdtemp {}: {}", pattern, std::strerror(errno)));
  server->directory_ = pattern;
  RETURN_IF_ERROR(write_file_atomically(server->directory_ / "alertmanager.yml", kConfiguration));
  const int port = free_tcp_port();
  server->url_ = fmt::format("http://127.0.0.1:{}", port);
  const std::vector<std::string> argv = {
      kAlertmanagerBinary, "--config.file=" + (server->directory_ / "alertmanager.yml").string(),
      "--storage.path=" + (server->directory_ / "data").string(),
      fmt::format("--web.listen-address=127.0.0.1:{}", port), "--cluster.listen-address="};
  const auto log = server->directory_ / "alertmanager.log";
  ASSIGN_OR_RETURN(server->pid_, spawn_child(argv, log));
  const std::string ready_url = server->url_ + "/-/ready";
  RETURN_IF_ERROR(
      wait_until_ready(server->pid_, "Alertmanager", server->url_, log, [&ready_url]() -> std::optional<std::string> {
        auto answer = http_request("GET", ready_url, {}, {}, std::chrono::seconds(2));
        if (!answer) return answer.error().message;
        if (answer->status != 200) return fmt::format("HTTP {}", answer->status);
        return std::nullopt;
      }));
  return server;
}

AlertmanagerServer::~AlertmanagerServer() {
  if (pid_ > 0) stop_child(pid_, std::chrono::seconds(5));
  std::error_code ignored;
  if (!directory_.empty()) std::filesystem::remove_all(directory_, ignored);
}

Result<bool> AlertmanagerServer::post_alerts(const nlohmann::json& alerts) const {
  auto response = http_request("POST", url_ + "/api/v2/alerts", alerts.dump(), {{"Content-Type", "application/json"}});
  RETURN_IF_ERROR(response);
  if (response->status != 200)
    return make_error(ErrorCode::kUnavailable,
                      fmt::format("POST /api/v2/alerts answered {}: {}", response->status, response->body));
  return true;
}

std::string AlertmanagerServer::log_tail() const { return file_tail(directory_ / "alertmanager.log"); }

}  // namespace pgstack::testing
