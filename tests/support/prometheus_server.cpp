#include "support/prometheus_server.h"

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "common/files.h"
#include "common/http_client.h"

namespace pgstack::testing {

using nlohmann::json;
using namespace std::chrono_literals;

std::string url_encode(std::string_view text) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

PrometheusServer::PrometheusServer(std::filesystem::path directory, int port)
    : directory_(std::move(directory)), url_(fmt::format("http://127.0.0.1:{}", port)), port_(port) {}

PrometheusServer::~PrometheusServer() { stop(); }

Result<bool> PrometheusServer::start(const std::string& config) {
  RETURN_IF_ERROR(write_file_atomically(directory_ / "prometheus.yml", config));
  ProcessSpec spec;
  spec.name = "prometheus";
  const char* path = std::getenv("PATH");
  spec.environment = {{"PATH", path != nullptr ? path : "/usr/bin:/bin"}};
  spec.working_directory = directory_;
  spec.log_file = directory_ / "prometheus.log";
  spec.pid_file = directory_ / "prometheus.pid";
  spec.argv = {"prometheus",
               "--config.file=" + (directory_ / "prometheus.yml").string(),
               "--storage.tsdb.path=" + (directory_ / "prometheus").string(),
               "--storage.tsdb.retention.time=15d",
               "--web.listen-address=127.0.0.1:" + std::to_string(port_),
               "--web.enable-lifecycle"};
  supervisor_ = std::make_unique<ProcessSupervisor>(std::move(spec));
  RETURN_IF_ERROR(supervisor_->start());
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto ready = http_request("GET", url_ + "/-/ready", {}, {}, 2s);
    if (ready.ok() && ready->status == 200) return true;
    std::this_thread::sleep_for(200ms);
  }
  return make_error(ErrorCode::kUnavailable, "Prometheus is not ready: " + log());
}

void PrometheusServer::stop() {
  if (supervisor_) (void)supervisor_->stop();
}

std::vector<json> PrometheusServer::targets(const std::string& job) const {
  std::vector<json> out;
  auto response = http_request("GET", url_ + "/api/v1/targets?state=active", {}, {}, 5s);
  if (!response.ok() || response->status != 200) return out;
  const json body = json::parse(response->body, nullptr, false);
  if (!body.is_object()) return out;
  for (const auto& target : body["data"]["activeTargets"]) {
    if (target["labels"].value("job", "") == job) out.push_back(target);
  }
  return out;
}

std::vector<std::pair<json, double>> PrometheusServer::query(const std::string& promql) const {
  std::vector<std::pair<json, double>> out;
  auto response = http_request("POST", url_ + "/api/v1/query", "query=" + url_encode(promql),
                               {{"Content-Type", "application/x-www-form-urlencoded"}}, 5s);
  if (!response.ok() || response->status != 200) return out;
  const json body = json::parse(response->body, nullptr, false);
  if (!body.is_object() || !body["data"].is_object()) return out;
  for (const auto& sample : body["data"]["result"])
    out.emplace_back(sample["metric"], std::stod(sample["value"][1].get<std::string>()));
  return out;
}

json PrometheusServer::query_response(const std::string& promql) const {
  auto response = http_request("POST", url_ + "/api/v1/query", "query=" + url_encode(promql),
                               {{"Content-Type", "application/x-www-form-urlencoded"}}, 10s);
  if (!response.ok()) return {{"status", "error"}, {"error", response.error().message}};
  const json body = json::parse(response->body, nullptr, false);
  if (!body.is_object()) return {{"status", "error"}, {"error", "not JSON: " + response->body}};
  return body;
}

std::pair<std::vector<std::string>, int> PrometheusServer::rule_errors() const {
  std::vector<std::string> errors;
  int rules = 0;
  auto response = http_request("GET", url_ + "/api/v1/rules", {}, {}, 5s);
  if (!response.ok() || response->status != 200) return {{"GET /api/v1/rules failed"}, 0};
  const json body = json::parse(response->body, nullptr, false);
  for (const auto& group : body["data"]["groups"]) {
    for (const auto& rule : group["rules"]) {
      ++rules;
      if (rule.value("health", "") == "err")
        errors.push_back(group.value("name", "") + "/" + rule.value("name", "") + ": " + rule.value("lastError", ""));
    }
  }
  return {errors, rules};
}

pid_t PrometheusServer::pid() const { return supervisor_ ? supervisor_->status().pid : -1; }

bool PrometheusServer::running() const { return supervisor_ && supervisor_->is_running(); }

std::string PrometheusServer::log() const {
  auto content = read_file(directory_ / "prometheus.log");
  return content.ok() ? *content : "(no log)";
}

}  // namespace pgstack::testing
