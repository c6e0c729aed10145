// pgstack-controller: the REST API and the reconcilers. Several may run; one leads (etcd lease).
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <signal.h>
#include <thread>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "auth/authenticator.h"
#include "common/daemon_options.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/output_rotation.h"
#include "controller/access_gate.h"
#include "controller/api_input.h"
#include "controller/api_server.h"
#include "controller/cluster_reconciler.h"
#include "controller/controller_metrics.h"
#include "controller/join_api.h"
#include "controller/leader_election.h"
#include "host/host_context.h"
#include "monitoring/metrics_auth.h"
#include "monitoring/scrape_credential.h"
#include "store/resource_store.h"

namespace {

std::mutex stop_mutex;
std::condition_variable stop_requested;
volatile std::sig_atomic_t stop_signal = 0;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pgstack-controller: REST API and reconcilers of pgstack"};
  pgstack::DaemonFlags daemon(app, "pgstack-controller");
  daemon.add_listen_flag("127.0.0.1:8080", "Address and port of the REST API");
  daemon.add_etcd_flags();
  daemon.add_log_level_flag();
  // --log-file is rotated by the controller itself (OutputRotation): no other process tends it.
  daemon.add_log_file_flag();
  daemon.add_log_rotation_flags();
  char hostname[256] = {};
  ::gethostname(hostname, sizeof hostname - 1);
  std::string identity = fmt::format("{}-{}", hostname, ::getpid());
  pgstack::TlsClientFiles trust;
  app.add_option("--ca-file", trust.ca_file,
                 "The CA that signs etcd's and Patroni's certificates (https); default: the system's trust store")
      ->type_name("FILE");
  app.add_option("--client-cert", trust.certificate_file,
                 "This controller's client certificate (PEM), which etcd requires (client-cert-auth)")
      ->type_name("FILE");
  app.add_option("--client-key", trust.private_key_file, "Its private key (PEM)")->type_name("FILE");
  std::string ca_key;
  app.add_option("--ca-key", ca_key,
                 "The key of --ca-file, handed to hosts that join with a join token (pgstack join); without it "
                 "no host can join through this controller")
      ->type_name("FILE");
  std::string tls_certificate, tls_key;
  app.add_option("--tls-cert", tls_certificate, "Serve the REST API over HTTPS with this certificate (PEM)")
      ->type_name("FILE");
  app.add_option("--tls-key", tls_key, "The key of --tls-cert (PEM)")->type_name("FILE");
  app.add_option("--id", identity, "This controller's name in the leader election")->capture_default_str();
  pgstack::controller::PortBases ports;
  app.add_option("--postgres-port-base", ports.postgres, "First Postgres port of each host's members")
      ->capture_default_str();
  app.add_option("--pgbouncer-port-base", ports.pgbouncer, "First PgBouncer port of each host's members")
      ->capture_default_str();
  app.add_option("--patroni-port-base", ports.patroni, "First Patroni REST API port of each host's members")
      ->capture_default_str();
  app.add_option("--exporter-port-base", ports.exporter,
                 "First postgres_exporter port of each host's members (/metrics, one per member)")
      ->capture_default_str();
  app.add_option("--proxy-port-base", ports.proxy,
                 "First pgstack-proxy port: each cluster gets a read-write and a read-only port from here")
      ->capture_default_str();
  app.add_option("--proxy-admin-port-base", ports.proxy_admin,
                 "First pgstack-proxy admin port (/metrics, /stats), one per cluster")
      ->capture_default_str();
  std::string metrics_listen;
  app.add_option("--metrics-listen", metrics_listen,
                 "Serve /metrics (Prometheus, plain HTTP) on this HOST:PORT, apart from the API; off loopback it "
                 "asks for the scrape credential (--metrics-auth, docs/monitoring.md)")
      ->type_name("HOST:PORT");
  std::string metrics_auth_text = "auto";
  app.add_option("--metrics-auth", metrics_auth_text,
                 "When --metrics-listen needs the installation's scrape credential: 'auto' (every address but "
                 "loopback) or 'always'")
      ->capture_default_str();
  std::string scrape_password_file;
  app.add_option("--scrape-password-file", scrape_password_file,
                 "Write the scrape credential's password here for Prometheus (basic_auth.password_file): 0600, "
                 "owned by the owner of its directory")
      ->type_name("FILE");
  std::string prometheus_targets_dir;
  app.add_option(
         "--prometheus-targets-dir", prometheus_targets_dir,
         "While leading, keep Prometheus file_sd files (<job>.json) of every member's targets in this directory")
      ->type_name("DIR");
  std::string bootstrap_admin;
  std::string bootstrap_token_file;
  app.add_option("--bootstrap-admin", bootstrap_admin,
                 "Make sure this user exists as an admin of every namespace (pgstack up: the user who ran it)");
  app.add_option("--bootstrap-token-file", bootstrap_token_file,
                 "With --bootstrap-admin: keep a working token of that user in this file (0600)");
  pgstack::auth::AuthSettings auth_settings;
  std::int64_t session_idle = auth_settings.session_idle_timeout.count();
  std::int64_t session_lifetime = auth_settings.session_lifetime.count();
  std::int64_t login_lockout = auth_settings.throttle.lockout.count();
  app.add_option("--session-idle-timeout", session_idle, "Seconds of inactivity that end a login session")
      ->capture_default_str()
      ->check(CLI::Range(2, 7 * 24 * 3600));
  app.add_option("--session-lifetime", session_lifetime, "Seconds after which a login session ends in any case")
      ->capture_default_str()
      ->check(CLI::Range(2, 30 * 24 * 3600));
  app.add_option("--login-max-failures", auth_settings.throttle.max_failures_per_user,
                 "Failed logins of one user (in 5 minutes) before its logins are refused for --login-lockout")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--login-lockout", login_lockout, "Seconds logins stay refused after too many failures")
      ->capture_default_str()
      ->check(CLI::Range(1, 24 * 3600));
  std::string alertmanager_url;
  app.add_option("--alertmanager", alertmanager_url,
                 "Alertmanager's URL (http://host:port): the alerts API and each cluster's AlertsFiring condition "
                 "read its firing alerts; without it they say monitoring is not configured")
      ->type_name("URL");
  std::string prometheus_url;
  app.add_option("--prometheus", prometheus_url,
                 "Prometheus's URL (http://host:port): the metrics API (a cluster's summary, `pgstack top`, raw "
                 "PromQL) queries it; without it they say monitoring is not configured")
      ->type_name("URL");
  std::int64_t replace_lost_after = 600;
  app.add_option("--replace-lost-members-after", replace_lost_after,
                 "Seconds a host may be lost (members placed on it, its agent's registration gone) before its "
                 "replicas are rebuilt on other hosts, as pgstack host drain does; 0: never on its own")
      ->capture_default_str()
      ->check(CLI::Range(static_cast<std::int64_t>(0), static_cast<std::int64_t>(30 * 24 * 3600)));
  if (auto exit_code = daemon.parse(argc, argv)) return *exit_code;
  const pgstack::DaemonOptions& options = daemon.options();
  auto log_rotation = pgstack::log_to_own_file(options);
  if (!log_rotation) return daemon.bad_flag(log_rotation.error().message);
  const std::string& prefix = options.etcd_prefix;
  if (!bootstrap_admin.empty() && bootstrap_token_file.empty())
    return daemon.bad_flag("--bootstrap-admin needs --bootstrap-token-file");
  if (tls_certificate.empty() != tls_key.empty()) return daemon.bad_flag("--tls-cert and --tls-key go together");
  if (!alertmanager_url.empty()) {
    if (auto url = pgstack::parse_http_url(alertmanager_url); !url)
      return daemon.bad_flag("--alertmanager: " + url.error().message);
  }
  if (!prometheus_url.empty()) {
    if (auto url = pgstack::parse_http_url(prometheus_url); !url)
      return daemon.bad_flag("--prometheus: " + url.error().message);
  }
  auth_settings.session_idle_timeout = std::chrono::seconds(session_idle);
  auth_settings.session_lifetime = std::chrono::seconds(session_lifetime);
  auth_settings.throttle.lockout = std::chrono::seconds(login_lockout);
  auth_settings.throttle.max_failures_per_address =
      std::max(auth_settings.throttle.max_failures_per_address, 4 * auth_settings.throttle.max_failures_per_user);
  std::optional<pgstack::HostPort> metrics_address;
  if (!metrics_listen.empty()) {
    auto parsed = pgstack::parse_host_port(metrics_listen);
    if (!parsed.ok()) return daemon.bad_flag("--metrics-listen: " + parsed.error().message);
    metrics_address = *parsed;
  }
  auto metrics_auth = pgstack::monitoring::parse_metrics_auth_mode(metrics_auth_text, "--metrics-auth");
  if (!metrics_auth.ok()) return daemon.bad_flag(metrics_auth.error().message);
  pgstack::set_tls_client_files(trust);

  pgstack::store::EtcdClient client(options.etcd_endpoints);
  // Every user of `client` holds a copy, and copies share the endpoints: members that join later are tried too.
  std::atomic<bool> member_follower_stop{false};
  std::thread member_follower([&client, &member_follower_stop] {
    while (!member_follower_stop.load()) {
      pgstack::store::follow_etcd_members(client, "the controller");
      for (auto waited = std::chrono::milliseconds(0);
           waited < pgstack::store::kEtcdMemberCheckInterval && !member_follower_stop.load();
           waited += std::chrono::milliseconds(100))
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  struct JoinOnExit {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~JoinOnExit() {
      stop = true;
      thread.join();
    }
  } join_member_follower{member_follower_stop, member_follower};
  // The installation's scrape credential, when this controller serves /metrics off loopback or hands the
  // password to Prometheus; etcd may still be starting.
  const bool metrics_authenticated =
      metrics_address && pgstack::monitoring::listener_needs_auth(metrics_listen, *metrics_auth);
  std::optional<pgstack::monitoring::ScrapeCredential> scrape_credential;
  if (metrics_authenticated || !scrape_password_file.empty()) {
    auto credential = pgstack::monitoring::wait_for_scrape_credential(client, prefix, std::chrono::seconds(30));
    if (!credential.ok()) {
      std::cerr << "pgstack-controller: the scrape credential: " << credential.error().message << "\n";
      return pgstack::exit_code_for(credential.error().code);
    }
    scrape_credential = *credential;
    if (!scrape_password_file.empty()) {
      if (auto written = pgstack::monitoring::write_scrape_password_file(scrape_password_file, *scrape_credential);
          !written.ok()) {
        std::cerr << "pgstack-controller: --scrape-password-file: " << written.error().message << "\n";
        return pgstack::exit_code_for(written.error().code);
      }
    }
  }
  pgstack::store::ResourceStore store(client, prefix);
  pgstack::host::HostValidationContext host;

  pgstack::controller::LeaderElection leadership(client, prefix, identity);
  pgstack::controller::ReconcilerSettings settings;
  settings.etcd_prefix = prefix;
  settings.port_bases = ports;
  settings.installed_postgres = host.context().installed_postgres;
  pgstack::controller::ControllerMetrics metrics;
  settings.metrics = &metrics;
  settings.prometheus_targets_dir = prometheus_targets_dir;
  if (metrics_address) settings.controller_metrics_addresses.push_back(metrics_listen);
  settings.alertmanager_url = alertmanager_url;
  settings.prometheus_url = prometheus_url;
  settings.replace_lost_members_after = std::chrono::seconds(replace_lost_after);
  pgstack::controller::ClusterReconciler reconciler(store, leadership, settings);
  pgstack::controller::ApiHandler api(store, prefix, host.context(), &leadership);
  api.use_alertmanager(alertmanager_url);
  api.use_prometheus(prometheus_url);
  pgstack::auth::Authenticator authenticator(pgstack::auth::AuthStore(client, prefix), auth_settings);
  if (!bootstrap_admin.empty()) {
    // etcd may still be starting: try for a while before giving up.
    pgstack::Result<bool> bootstrapped = false;
    for (int attempt = 0; attempt < 30; ++attempt) {
      bootstrapped = authenticator.bootstrap_admin(bootstrap_admin, bootstrap_token_file);
      if (bootstrapped.ok() || bootstrapped.error().code != pgstack::ErrorCode::kUnavailable) break;
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    if (!bootstrapped.ok()) {
      std::cerr << "pgstack-controller: " << bootstrapped.error().message << "\n";
      return pgstack::exit_code_for(bootstrapped.error().code);
    }
  }
  pgstack::controller::AccessGate gate(api, authenticator);
  const pgstack::controller::JoinApi joins(
      client, {trust.ca_file, ca_key, options.etcd_endpoints, prefix, !tls_certificate.empty()});
  gate.serve_joins(&joins);
  pgstack::HttpServer server(
      options.listen.host, options.listen.port, [&gate, &metrics](const pgstack::HttpRequest& request) {
        pgstack::HttpReply reply = gate.handle(request);
        std::vector<std::string> parts;
        const bool routable = !pgstack::controller::split_path(request.target, parts).has_value();
        metrics.record_request(request.method, routable ? pgstack::controller::route_template(parts) : "{other}",
                               reply.status);
        return reply;
      });
  if (!tls_certificate.empty()) server.use_tls(tls_certificate, tls_key);
  if (auto started = server.start(); !started.ok()) {
    std::cerr << "pgstack-controller: " << started.error().message << "\n";
    return pgstack::exit_code_for(started.error().code);
  }
  spdlog::info("pgstack-controller {} serving {}://{}:{} (etcd {}, prefix {})", identity,
               tls_certificate.empty() ? "http" : "https", options.listen.host, server.port(),
               fmt::join(options.etcd_endpoints, ","), prefix);
  // Apart from the API so that Prometheus needs no token: counts and durations, nothing secret; off loopback
  // the scrape credential keeps the network out.
  std::unique_ptr<pgstack::HttpServer> metrics_server;
  if (metrics_address) {
    metrics_server = std::make_unique<pgstack::HttpServer>(
        metrics_address->host, metrics_address->port,
        [&metrics, &leadership, metrics_authenticated, &scrape_credential](const pgstack::HttpRequest& request) {
          if (metrics_authenticated && !pgstack::monitoring::authorized_scrape(request.headers, *scrape_credential)) {
            return pgstack::HttpReply{401,
                                      "text/plain",
                                      "the scrape credential is required (docs/security.md)\n",
                                      {{"WWW-Authenticate", std::string(pgstack::monitoring::kScrapeChallenge)}}};
          }
          if (request.path != "/metrics")
            return pgstack::HttpReply{404, "text/plain", "only /metrics is served here\n", {}};
          if (request.method != "GET" && request.method != "HEAD")
            return pgstack::HttpReply{405, "text/plain", "GET /metrics\n", {}};
          return pgstack::HttpReply{200, "text/plain; version=0.0.4", metrics.render(leadership.is_leader()), {}};
        });
    if (auto started = metrics_server->start(); !started.ok()) {
      std::cerr << "pgstack-controller: --metrics-listen: " << started.error().message << "\n";
      return pgstack::exit_code_for(started.error().code);
    }
    spdlog::info("pgstack-controller: /metrics on http://{}:{}{}", metrics_address->host, metrics_server->port(),
                 metrics_authenticated ? " (scrapes need the scrape credential)" : "");
  }
  if (!alertmanager_url.empty()) spdlog::info("pgstack-controller: alerts from {}", alertmanager_url);
  if (!prometheus_url.empty()) spdlog::info("pgstack-controller: metrics from {}", prometheus_url);
  leadership.start();
  reconciler.start();

  struct sigaction action {};
  // Only an atomic store is safe in a handler; the main thread polls it.
  action.sa_handler = [](int signal) { stop_signal = signal; };
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
  {
    std::unique_lock lock(stop_mutex);
    while (stop_signal == 0) stop_requested.wait_for(lock, std::chrono::milliseconds(200));
  }
  spdlog::info("pgstack-controller: stopping (signal {})", static_cast<int>(stop_signal));
  reconciler.stop();
  leadership.stop();
  server.stop();
  if (metrics_server) metrics_server->stop();
  return 0;
}
