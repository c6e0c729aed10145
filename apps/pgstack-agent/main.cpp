// pgstack-agent: runs the instances the controller assigns to this host (see src/agent/agent.h).
#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <set>
#include <string>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include "agent/agent.h"
#include "agent/agent_metrics.h"
#include "agent/cluster_log_sink.h"
#include "agent/host_setup.h"
#include "agent/metrics_listen.h"
#include "agent/node_exporter.h"
#include "common/daemon_options.h"
#include "common/output_rotation.h"
#include "common/pki.h"
#include "model/host_labels.h"
#include "model/quantity.h"
#include "monitoring/metrics_auth.h"
#include "monitoring/scrape_credential.h"
#include "process/process_supervisor.h"
#include "store/etcd_client.h"

namespace {

std::atomic<bool> stop_requested{false};

void on_stop_signal(int) { stop_requested.store(true); }

std::string current_host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

// Each PgBouncer client takes a descriptor; children inherit the limit.
void raise_open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) spdlog::warn("cannot raise the open files limit to {}", limit.rlim_max);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pgstack-agent: runs the PostgreSQL instances the pgstack controller assigns to this host"};
  pgstack::DaemonFlags daemon(app, "pgstack-agent");
  daemon.add_etcd_flags();
  daemon.add_log_level_flag();
  // --log-file is rotated by the agent itself (OutputRotation): no other process tends it.
  daemon.add_log_file_flag();
  daemon.add_log_rotation_flags();
  std::string host_name = current_host_name();
  std::string address = "127.0.0.1";
  std::string state_dir = "/var/lib/pgstack";
  bool stop_instances_on_exit = false;
  bool no_extension_installs = false;
  std::string ca_dir;
  int certificate_lifetime = static_cast<int>(std::chrono::seconds(pgstack::pki::kLeafLifetime).count());
  app.add_option("--host-name", host_name, "This host's name in etcd")->capture_default_str();
  app.add_option("--address", address, "Address other members and clients use to reach this host")
      ->capture_default_str();
  std::vector<std::string> labels;
  app.add_option("--label", labels,
                 "A label of this host, KEY=VALUE (repeatable): an SGCluster's pods.scheduling.nodeSelector "
                 "places members only on hosts with its labels")
      ->type_name("KEY=VALUE");
  app.add_option("--state-dir", state_dir, "Where instances keep their data, configuration and logs")
      ->capture_default_str();
  app.add_option("--ca-dir", ca_dir,
                 "The installation's CA (ca.crt, ca.key 0600) that signs the instances' certificates; made there "
                 "when missing (default: <state-dir>/pki)")
      ->type_name("DIR");
  app.add_option("--certificate-lifetime", certificate_lifetime,
                 "Lifetime in seconds of the certificates the agent issues; renewed at 2/3 of it")
      ->check(CLI::Range(30, 10 * 366 * 24 * 3600))
      ->capture_default_str();
  int archive_check_interval = static_cast<int>(pgstack::agent::AgentSettings{}.archive_check_interval.count());
  app.add_option("--archive-check-interval", archive_check_interval,
                 "Seconds between two listings of a backup repository's WAL for missing segments (also after "
                 "each backup)")
      ->check(CLI::Range(5, 24 * 3600))
      ->capture_default_str();
  std::string metrics_listen;
  app.add_option("--metrics-listen", metrics_listen,
                 fmt::format("host:port of the agent's own /metrics; 'off' for none (default: <address>:{})",
                             pgstack::agent::kAgentMetricsDefaultPort));
  std::string node_exporter_listen;
  app.add_option("--node-exporter-listen", node_exporter_listen,
                 fmt::format("host:port of the host's node_exporter; 'off' for none (default: <address>:{})",
                             pgstack::agent::kNodeExporterDefaultPort));
  std::string metrics_auth_text = "auto";
  app.add_option("--metrics-auth", metrics_auth_text,
                 "Which metrics listeners (exporters, /metrics) need the installation's scrape credential: 'auto' "
                 "(every address but loopback) or 'always'")
      ->capture_default_str();
  std::string log_dir_limit = "1Gi";
  app.add_option("--log-dir-limit", log_dir_limit,
                 "How much Postgres's log files may take in an instance's log directory before the agent removes "
                 "the oldest, shipped or not (removing unshipped ones is reported); a size such as 512Mi or 2Gi")
      ->capture_default_str();
  app.add_flag("--stop-instances-on-exit", stop_instances_on_exit,
               "Stop Patroni, Postgres and PgBouncer on SIGTERM/SIGINT (default: they keep running)");
  app.add_flag("--no-extension-installs", no_extension_installs,
               "Never install packages for postgres.extensions; a cluster that needs a missing one reports it");
  // The agent's log (a file under `pgstack up`) has times; its level comes from --log-level.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("pgstack-agent"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
  spdlog::flush_on(spdlog::level::info);
  if (auto exit_code = daemon.parse(argc, argv)) return *exit_code;
  const pgstack::DaemonOptions& options = daemon.options();
  auto log_rotation = pgstack::log_to_own_file(options);
  if (!log_rotation) return daemon.bad_flag(log_rotation.error().message);
  if (!pgstack::agent::is_safe_name(host_name)) {
    return daemon.bad_flag(
        fmt::format("--host-name: '{}' is not a valid name (letters, digits, '.', '_', '-')", host_name));
  }

  pgstack::agent::AgentSettings settings;
  settings.etcd_endpoints = daemon.options().etcd_endpoints;
  settings.etcd_prefix = daemon.options().etcd_prefix;
  settings.host_name = host_name;
  settings.address = address;
  for (const auto& text : labels) {
    std::string error;
    const auto label = pgstack::model::parse_label(text, error);
    if (!label) return daemon.bad_flag("--label " + error);
    settings.labels[label->first] = label->second;
  }
  settings.certificate_lifetime = std::chrono::seconds(certificate_lifetime);
  settings.archive_check_interval = std::chrono::seconds(archive_check_interval);
  settings.extension_installs = !no_extension_installs;
  if (auto limit = pgstack::model::parse_memory_bytes(log_dir_limit); limit && *limit > 0) {
    settings.log_directory_limit_bytes = static_cast<std::uint64_t>(*limit);
  } else {
    return daemon.bad_flag(fmt::format("--log-dir-limit: '{}' is not a size such as 512Mi or 2Gi", log_dir_limit));
  }
  auto metrics_auth = pgstack::monitoring::parse_metrics_auth_mode(metrics_auth_text, "--metrics-auth");
  if (!metrics_auth) return daemon.bad_flag(metrics_auth.error().message);
  settings.metrics_auth = *metrics_auth;
  // Checked again below, once the state directory is known; "" here only means "off".
  settings.node_exporter_listen = node_exporter_listen == "off" ? "" : "pending";
  if (auto prepared = pgstack::agent::prepare_host(settings, state_dir, ca_dir); !prepared) {
    spdlog::error("{}", prepared.error().message);
    return 1;
  }
  // Lines about a cluster also go to that cluster's agent.log, which its log store receives (cluster_log_sink.h).
  // Added before any thread of the agent logs.
  const auto cluster_log_sink = std::make_shared<pgstack::agent::ClusterLogSink>(settings.state_dir);
  spdlog::default_logger()->sinks().push_back(cluster_log_sink);
  settings.on_host_clusters = [cluster_log_sink](std::set<std::string> clusters) {
    cluster_log_sink->set_host_clusters(std::move(clusters));
  };
  if (!settings.node_exporter_listen.empty()) {
    // One this agent left running holds its port: it is restarted anyway (it reads its flags at start).
    const auto spec = pgstack::agent::node_exporter_spec(settings);
    pgstack::stop_from_pid_file(spec.name, settings.node_exporter_program, spec.pid_file, spec.stop_timeout);
    auto chosen = pgstack::agent::resolve_metrics_listen(node_exporter_listen, "--node-exporter-listen", address,
                                                         pgstack::agent::kNodeExporterDefaultPort);
    if (!chosen) return daemon.bad_flag(chosen.error().message);
    if (chosen->fell_back)
      spdlog::warn(
          "--node-exporter-listen: port {} is in use (another agent on this host?); node_exporter listens on {}",
          pgstack::agent::kNodeExporterDefaultPort, chosen->listen);
    settings.node_exporter_listen = chosen->listen;
  }
  auto metrics_chosen = pgstack::agent::resolve_metrics_listen(metrics_listen, "--metrics-listen", address,
                                                               pgstack::agent::kAgentMetricsDefaultPort);
  if (!metrics_chosen) return daemon.bad_flag(metrics_chosen.error().message);
  if (metrics_chosen->fell_back)
    spdlog::warn("--metrics-listen: port {} is in use (another agent on this host?); the agent's /metrics is on {}",
                 pgstack::agent::kAgentMetricsDefaultPort, metrics_chosen->listen);
  settings.metrics_listen = metrics_chosen->listen;

  // The postgres_exporters listen on --address; the credential is read (or made) once, from etcd.
  using pgstack::monitoring::listener_needs_auth;
  if (listener_needs_auth(pgstack::agent::listen_text(address, 1), settings.metrics_auth) ||
      (!settings.metrics_listen.empty() && listener_needs_auth(settings.metrics_listen, settings.metrics_auth)) ||
      (!settings.node_exporter_listen.empty() &&
       listener_needs_auth(settings.node_exporter_listen, settings.metrics_auth))) {
    const pgstack::store::EtcdClient etcd(settings.etcd_endpoints);
    auto credential =
        pgstack::monitoring::wait_for_scrape_credential(etcd, settings.etcd_prefix, std::chrono::seconds(60));
    if (!credential) {
      spdlog::error("the scrape credential (metrics listeners off loopback need it): {}", credential.error().message);
      return pgstack::exit_code_for(credential.error().code);
    }
    settings.scrape_credential = *credential;
  }

  raise_open_files_limit();
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, nullptr);

  pgstack::agent::Agent agent(settings);
  return agent.run(stop_requested, stop_instances_on_exit);
}
