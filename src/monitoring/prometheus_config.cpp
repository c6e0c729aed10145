#include "monitoring/prometheus_config.h"

#include <fmt/format.h>

#include "model/document.h"
#include "monitoring/metrics_auth.h"
#include "monitoring/scrape_targets.h"

namespace pgstack::monitoring {
namespace {

std::string quoted(const std::string& text) { return model::Json(text).dump(); }

}  // namespace

std::string render_scrape_configs(const PrometheusSettings& settings) {
  std::string out = "scrape_configs:\n";
  for (const auto& job : scrape_jobs()) {
    out += fmt::format("  - job_name: {}\n", quoted(job.name));
    out += fmt::format("    scheme: {}\n", job.scheme);
    if (job.patroni_tls) {
      // Patroni's REST API serves TLS with a certificate from the installation's CA and does not ask
      // for a client certificate (restapi.verify_client is unset), so the CA is all Prometheus needs.
      out += fmt::format("    tls_config:\n      ca_file: {}\n", quoted(settings.patroni_ca_file));
    }
    if (job.scrape_credential && !settings.scrape_password_file.empty()) {
      // Sent to every target of the job: a loopback listener that asks for nothing ignores it.
      out += fmt::format("    basic_auth:\n      username: {}\n      password_file: {}\n",
                         quoted(std::string(kScrapeUsername)), quoted(settings.scrape_password_file));
    }
    out += fmt::format("    file_sd_configs:\n      - files: [{}]\n",
                       quoted(settings.targets_dir + "/" + job.name + ".json"));
  }
  return out;
}

std::string render_prometheus_config(const PrometheusSettings& settings) {
  std::string out =
      "# Written by pgstack up; rewritten when it changes. Targets: the file_sd files the controller keeps.\n";
  out += fmt::format("global:\n  scrape_interval: {}\n  evaluation_interval: {}\n", quoted(settings.scrape_interval),
                     quoted(settings.scrape_interval));
  out += fmt::format("rule_files:\n  - {}\n", quoted(settings.rules_dir + "/*.yml"));
  if (!settings.alertmanager.empty()) {
    out += fmt::format("alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [{}]\n",
                       quoted(settings.alertmanager));
  }
  return out + render_scrape_configs(settings);
}

std::string render_alertmanager_config(const AlertmanagerSettings& settings) {
  const bool webhook = !settings.webhook_url.empty();
  std::string out = "# Written by pgstack up (--alert-webhook URL adds the webhook receiver).\n";
  out += fmt::format(
      "route:\n  receiver: {}\n  group_by: [\"alertname\", \"namespace\", \"cluster\"]\n  group_wait: 30s\n"
      "  group_interval: 5m\n  repeat_interval: 4h\n",
      webhook ? "\"webhook\"" : "\"default\"");
  // The default receiver sends nothing: its alerts are read through Alertmanager's API.
  out += "receivers:\n  - name: \"default\"\n";
  if (webhook) {
    out += fmt::format("  - name: \"webhook\"\n    webhook_configs:\n      - url: {}\n        send_resolved: true\n",
                       quoted(settings.webhook_url));
  }
  return out;
}

}  // namespace pgstack::monitoring
