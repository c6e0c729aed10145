#include "monitoring/prometheus_config.h"

#include <gtest/gtest.h>

namespace pgstack::monitoring {
namespace {

PrometheusSettings settings() {
  PrometheusSettings out;
  out.targets_dir = "/state/monitoring/targets";
  out.rules_dir = "/state/monitoring/rules";
  out.alertmanager = "127.0.0.1:9093";
  out.patroni_ca_file = "/state/pki/ca.crt";
  return out;
}

TEST(PrometheusConfig, ReadsEachJobFromItsFileAndPatroniOverTlsWithTheCa) {
  const std::string config = render_prometheus_config(settings());
  EXPECT_NE(config.find("scrape_interval: \"15s\""), std::string::npos) << config;
  EXPECT_NE(config.find("- \"/state/monitoring/rules/*.yml\""), std::string::npos) << config;
  EXPECT_NE(config.find("targets: [\"127.0.0.1:9093\"]"), std::string::npos) << config;
  EXPECT_NE(
      config.find("job_name: \"patroni\"\n    scheme: https\n    tls_config:\n      ca_file: \"/state/pki/ca.crt\""),
      std::string::npos)
      << config;
  for (const char* job : {"patroni", "pgstack-proxy", "pgstack-controller"})
    EXPECT_NE(config.find(std::string("files: [\"/state/monitoring/targets/") + job + ".json\"]"), std::string::npos)
        << job;
}

TEST(PrometheusConfig, TheJobsOfPgstacksOwnListenersSendTheScrapeCredential) {
  PrometheusSettings with_password = settings();
  with_password.scrape_password_file = "/state/monitoring/secrets/scrape-password";
  const std::string config = render_scrape_configs(with_password);
  const std::string basic_auth =
      "    basic_auth:\n      username: \"prometheus\"\n      password_file: "
      "\"/state/monitoring/secrets/scrape-password\"\n";
  for (const char* job : {"postgres", "node", "pgstack-agent", "pgstack-controller"}) {
    const auto start = config.find(std::string("job_name: \"") + job + "\"");
    ASSERT_NE(start, std::string::npos) << job;
    const auto end = config.find("job_name:", start + 1);
    EXPECT_NE(config.substr(start, end - start).find(basic_auth), std::string::npos) << job << "\n" << config;
  }
  // Patroni has its own credentials for what needs them; the proxy's admin port is on loopback only.
  for (const char* job : {"patroni", "pgstack-proxy"}) {
    const auto start = config.find(std::string("job_name: \"") + job + "\"");
    const auto end = config.find("job_name:", start + 1);
    EXPECT_EQ(config.substr(start, end - start).find("basic_auth"), std::string::npos) << job;
  }
  EXPECT_EQ(render_scrape_configs(settings()).find("basic_auth"), std::string::npos);
}

TEST(PrometheusConfig, NoAlertingSectionWithoutAlertmanager) {
  auto without = settings();
  without.alertmanager.clear();
  EXPECT_EQ(render_prometheus_config(without).find("alerting:"), std::string::npos);
}

TEST(PrometheusConfig, PathsAreQuotedAsOneValue) {
  auto odd = settings();
  odd.targets_dir = "/state dir/with \"quotes\"";
  EXPECT_NE(render_scrape_configs(odd).find(R"("/state dir/with \"quotes\"/patroni.json")"), std::string::npos);
}

TEST(AlertmanagerConfig, DefaultReceiverOrWebhook) {
  const std::string plain = render_alertmanager_config({});
  EXPECT_NE(plain.find("receiver: \"default\""), std::string::npos) << plain;
  EXPECT_EQ(plain.find("webhook_configs"), std::string::npos);
  const std::string webhook = render_alertmanager_config({"http://127.0.0.1:5001/hook"});
  EXPECT_NE(webhook.find("receiver: \"webhook\""), std::string::npos) << webhook;
  EXPECT_NE(webhook.find("url: \"http://127.0.0.1:5001/hook\""), std::string::npos) << webhook;
  EXPECT_NE(webhook.find("send_resolved: true"), std::string::npos);
}

}  // namespace
}  // namespace pgstack::monitoring
