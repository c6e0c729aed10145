// pgstack-proxy: read-write / read-only endpoints for Patroni clusters, with protocol statistics and
// mirroring. Needs etcd and Patroni only; see docs/proxy.md for the configuration.
#include <iostream>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "common/daemon_options.h"
#include "common/http_client.h"
#include "proxy/proxy_server.h"

int main(int argc, char** argv) {
  CLI::App app{"pgstack-proxy: read-write and read-only endpoints for pgstack clusters"};
  pgstack::DaemonFlags daemon(app, "pgstack-proxy");
  daemon.add_log_level_flag();  // etcd and the listeners are in the configuration file
  daemon.add_log_file_flag();   // the agent rotates proxy.log by renaming it and sending SIGHUP
  std::string config_path;
  bool check_only = false;
  app.add_option("-c,--config", config_path, "YAML configuration file (docs/proxy.md)")->required();
  app.add_flag("--check", check_only, "Validate the configuration and exit");
  if (auto exit_code = daemon.parse(argc, argv)) return *exit_code;

  auto config = pgstack::proxy::load_proxy_config(config_path);
  if (!config) {
    std::cerr << "pgstack-proxy: " << config.error().message << "\n";
    return pgstack::exit_code_for(config.error().code);
  }
  if (check_only) {
    std::cout << "configuration OK\n";
    return 0;
  }

  const std::string& log_file = daemon.options().log_file;
  if (!log_file.empty()) {
    if (auto redirected = pgstack::redirect_output_to(log_file); !redirected) {
      std::cerr << "pgstack-proxy: " << redirected.error().message << "\n";
      return pgstack::exit_code_for(redirected.error().code);
    }
  }

  const auto& trust = config->client_tls;
  pgstack::set_tls_client_files({trust.ca_file, trust.certificate, trust.private_key});

  // Signals are taken synchronously by this thread; workers never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  pgstack::proxy::ProxyServer server(std::move(config).value());
  if (auto started = server.start(); !started) {
    std::cerr << "pgstack-proxy: " << started.error().message << "\n";
    return pgstack::exit_code_for(started.error().code);
  }
  for (const auto& cluster : server.config().clusters) {
    for (const auto& listener : cluster.listeners) {
      spdlog::info("cluster {} listener {} ({}) on {}:{}", cluster.name, listener.name,
                   pgstack::proxy::listener_role_name(listener.role), listener.listen.host,
                   server.listener_port(cluster.name, listener.name));
    }
  }
  spdlog::info("admin on {}:{} (/metrics, /stats, /healthz)", server.config().admin.host, server.admin_port());
  int signal_number = 0;
  while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
    // Whoever rotates the log renamed it: write on to a new file of the same name. Without --log-file
    // there is nothing to reopen, and SIGHUP does nothing.
    if (log_file.empty()) continue;
    if (auto reopened = pgstack::redirect_output_to(log_file); !reopened) {
      spdlog::warn("SIGHUP: {}; still writing to the file that was open", reopened.error().message);
    } else {
      spdlog::info("SIGHUP: reopened the log file {}", log_file);
    }
  }
  spdlog::info("signal {}: stopping", signal_number);
  server.stop();
  return 0;
}
