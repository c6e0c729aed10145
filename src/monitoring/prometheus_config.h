// The configuration files of the installation's Prometheus and Alertmanager (pgstack up), and the
// scrape configuration to paste into an existing Prometheus. YAML with every string JSON-quoted (a
// valid YAML scalar), so paths with any character stay one value. Pure, no I/O.
#pragma once

#include <string>

namespace pgstack::monitoring {

struct PrometheusSettings {
  std::string scrape_interval = "15s";
  std::string targets_dir;      // the file_sd files the controller writes (<job>.json)
  std::string rules_dir;        // rule_files: <rules_dir>/*.yml
  std::string alertmanager;     // "host:port"; empty: no alerting section
  std::string patroni_ca_file;  // the installation's CA, which signs Patroni's REST API certificates
  // The scrape credential's password (pgstack-controller --scrape-password-file), sent as basic auth by
  // the jobs of listeners that ask for it off loopback; empty: none sent.
  std::string scrape_password_file;
};

// scrape_configs only: one job per scrape_jobs() entry, each reading its file_sd file.
std::string render_scrape_configs(const PrometheusSettings& settings);
// The whole prometheus.yml: global, rule_files, alerting, scrape_configs.
std::string render_prometheus_config(const PrometheusSettings& settings);

struct AlertmanagerSettings {
  std::string webhook_url;  // empty: alerts are only kept (and read through the API)
};
std::string render_alertmanager_config(const AlertmanagerSettings& settings);

}  // namespace pgstack::monitoring
