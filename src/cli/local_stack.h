// What `pgstack up` and `pgstack join` share: the settings a host keeps in <state>/up.json, and how the
// daemons they run on this host are started (pid and log files under the state dir, the agent's flags).
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "common/error.h"
#include "model/document.h"
#include "process/process_supervisor.h"

namespace pgstack::cli {

inline constexpr std::string_view kEtcdPrefix = "/pgstack";

// What a first `up` decided and later runs reuse (up.json).
struct UpSettings {
  bool manage_etcd = true;
  std::string etcd_url;       // client URL(s), comma-separated when external
  std::string etcd_peer_url;  // only for the managed etcd
  std::string api_address = "127.0.0.1:8080";
  std::string host_name;
  // The address other hosts and clients reach this one by: etcd, the agent's members and proxies
  // serve on it (docs/multihost.md). Chosen by the first `up` and kept.
  std::string address = "127.0.0.1";
  // Monitoring (docs/monitoring.md): loopback ports of the local Prometheus (unless prometheus_url names
  // an existing one), Alertmanager and the controller's /metrics.
  int prometheus_port = 0;
  int alertmanager_port = 0;
  int controller_metrics_port = 0;
  std::string prometheus_url;  // an existing Prometheus: none is started
  std::string alert_webhook;   // Alertmanager's webhook receiver; empty: none
  // The agent's --metrics-listen and --node-exporter-listen ("host:port" or "off"); empty: the agent's
  // defaults (127.0.0.1:19101 and :19100), which a second installation on the machine cannot also hold.
  std::string agent_metrics_listen;
  std::string node_exporter_listen;
  // A host that joined an installation (pgstack join): the API it joined through. It runs only an agent,
  // with etcd's endpoints and prefix from the join; `up` refuses to start an installation of its own here.
  std::string joined_api;
  std::string etcd_prefix = std::string(kEtcdPrefix);
  // The managed etcd member: its name, and for a member that joined an existing cluster the cluster as it
  // was when it joined ("name=peer-url,..."; empty: a cluster of this member alone).
  std::vector<std::string> labels;  // the agent's --label KEY=VALUE (pods.scheduling.nodeSelector matches them)
  std::string etcd_member_name = "pgstack";
  std::string etcd_initial_cluster;

  model::Json to_json() const {
    return model::Json{{"manageEtcd", manage_etcd},
                       {"etcdUrl", etcd_url},
                       {"etcdPeerUrl", etcd_peer_url},
                       {"apiAddress", api_address},
                       {"etcdPrefix", etcd_prefix},
                       {"hostName", host_name},
                       {"address", address},
                       {"prometheusPort", prometheus_port},
                       {"alertmanagerPort", alertmanager_port},
                       {"controllerMetricsPort", controller_metrics_port},
                       {"prometheusUrl", prometheus_url},
                       {"alertWebhook", alert_webhook},
                       {"agentMetricsListen", agent_metrics_listen},
                       {"nodeExporterListen", node_exporter_listen},
                       {"joinedApi", joined_api},
                       {"labels", labels},
                       {"etcdMemberName", etcd_member_name},
                       {"etcdInitialCluster", etcd_initial_cluster}};
  }
  static UpSettings from_json(const model::Json& json) {
    UpSettings out;
    out.manage_etcd = json.value("manageEtcd", true);
    out.etcd_url = json.value("etcdUrl", "");
    out.etcd_peer_url = json.value("etcdPeerUrl", "");
    out.api_address = json.value("apiAddress", out.api_address);
    out.host_name = json.value("hostName", "");
    out.address = json.value("address", out.address);
    out.prometheus_port = json.value("prometheusPort", 0);
    out.alertmanager_port = json.value("alertmanagerPort", 0);
    out.controller_metrics_port = json.value("controllerMetricsPort", 0);
    out.prometheus_url = json.value("prometheusUrl", "");
    out.alert_webhook = json.value("alertWebhook", "");
    out.agent_metrics_listen = json.value("agentMetricsListen", "");
    out.node_exporter_listen = json.value("nodeExporterListen", "");
    out.joined_api = json.value("joinedApi", "");
    out.etcd_prefix = json.value("etcdPrefix", out.etcd_prefix);
    out.etcd_member_name = json.value("etcdMemberName", out.etcd_member_name);
    out.labels = json.value("labels", std::vector<std::string>());
    out.etcd_initial_cluster = json.value("etcdInitialCluster", "");
    return out;
  }
  std::string api_url() const { return "https://" + api_address; }
  bool local_prometheus() const { return prometheus_url.empty(); }
  std::string prometheus_address() const { return fmt::format("127.0.0.1:{}", prometheus_port); }
  // Where the controller's metrics API queries: the local Prometheus, or the one of --prometheus.
  std::string prometheus_query_url() const {
    return local_prometheus() ? "http://" + prometheus_address() : prometheus_url;
  }
  std::string alertmanager_address() const { return fmt::format("127.0.0.1:{}", alertmanager_port); }
  std::string controller_metrics_address() const { return fmt::format("127.0.0.1:{}", controller_metrics_port); }
};

// This machine's host name ("localhost" when it has none).
std::string host_name();
// This process's environment, for the daemons it starts.
std::map<std::string, std::string> current_environment();
// The last lines of a log, for errors that say why a daemon did not come up.
std::string log_tail(const std::filesystem::path& path, std::size_t lines = 15);
Error died_error(std::string_view name, const std::filesystem::path& log);
// host:port with brackets around an IPv6 address.
std::string url_authority(const std::string& host, int port);
// --address: an IP address this machine holds (etcd, Postgres and the proxies bind it).
Result<bool> check_own_address(const std::string& address);

// etcd refuses a change of its members until every started member has been connected for a few seconds
// ("unhealthy cluster"): right after a member joined or restarted. `change` is retried until `deadline`.
template <typename Change>
auto retry_while_etcd_settles(const Change& change, std::chrono::steady_clock::time_point deadline) {
  auto result = change();
  while (!result && result.error().message.find("unhealthy cluster") != std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    result = change();
  }
  return result;
}

// --label flags of up and join: each KEY=VALUE, or an error naming the flag. Replace the kept labels when given.
Result<std::vector<std::string>> checked_labels(const std::vector<std::string>& flags);

// A daemon of this host: its pid file and log under the state dir, which is its working directory.
ProcessSpec local_daemon_spec(const LocalStack& stack, const std::string& name);
// This host's etcd member (settings.manage_etcd): its client URL is the first of settings.etcd_url; TLS for
// clients and peers with <pki>/etcd.crt, which must name the address.
ProcessSpec local_etcd_spec(const LocalStack& stack, const UpSettings& settings);
// pgstack-agent as `settings` say (installed next to this program).
Result<ProcessSpec> local_agent_spec(const LocalStack& stack, const UpSettings& settings);
// Starts it unless it runs, and says which on stderr.
Result<bool> start_local_daemon(ProcessSupervisor& supervisor);

}  // namespace pgstack::cli
