// pgstack up: a whole pgstack on this machine in one command. Starts (or re-attaches to) a
// single-member etcd, the controller and an agent as background daemons, creates the SGCluster
// `demo` unless told not to, waits until it is Ready and prints how to connect. Idempotent: a second
// run finds everything running, changes nothing and prints the same.
//
// Layout under the state dir (see LocalStack): up.json (ports and URLs, reused by later runs),
// run/*.pid, logs/*.log, etcd/ (etcd's data), agent/ (the agent's instances), pki/ (the CA: ca.crt,
// ca.key 0600), monitoring/ (Prometheus and Alertmanager: their configurations, data, rules/ and the
// file_sd targets/ the controller keeps, the Grafana dashboards/; docs/monitoring.md).
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <thread>
#include <unistd.h>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "cli/api_client.h"
#include "cli/api_context.h"
#include "cli/commands.h"
#include "cli/local_stack.h"
#include "cli/output.h"
#include "common/files.h"
#include "common/http_client.h"
#include "common/network.h"
#include "common/pki.h"
#include "common/process.h"
#include "common/strings.h"
#include "monitoring/alert_rules.h"
#include "monitoring/dashboards.h"
#include "monitoring/prometheus_config.h"
#include "monitoring/scrape_credential.h"
#include "process/process_supervisor.h"
#include "store/etcd_client.h"

extern char** environ;  // NOLINT: POSIX

namespace pgstack::cli {

namespace {

using Clock = std::chrono::steady_clock;
using model::Json;

constexpr std::string_view kDemoCluster = "demo";
constexpr std::string_view kLocalBackupStorage = "local-backups";
constexpr std::string_view kDemoLogStore = "logs";  // an SGDistributedLogs: the central logs of the demo
constexpr auto kPollInterval = std::chrono::milliseconds(500);

// The name of the user running this process (the first admin of a new installation).
std::string invoking_user_name() {
  if (const passwd* entry = ::getpwuid(::geteuid()); entry != nullptr && entry->pw_name != nullptr)
    return entry->pw_name;
  return "admin";
}

// Whether something accepts TCP connections on "host:port". A bare connect, closed at once: Postgres
// logs nothing for it, unlike for a request in a protocol it does not speak.
bool accepts_connections(const std::string& endpoint) {
  const auto url = parse_http_url("http://" + endpoint);
  if (!url) return false;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(url->host.c_str(), url->port.c_str(), &hints, &found) != 0) return false;
  bool accepted = false;
  for (const addrinfo* entry = found; entry != nullptr && !accepted; entry = entry->ai_next) {
    const int fd = ::socket(entry->ai_family, entry->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, entry->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, entry->ai_addr, entry->ai_addrlen) == 0) {
      accepted = true;
    } else if (errno == EINPROGRESS) {
      pollfd waiting{fd, POLLOUT, 0};
      int error = 0;
      socklen_t length = sizeof(error);
      accepted =
          ::poll(&waiting, 1, 500) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return accepted;
}

// A status read right after `up` restarted the processes may still be the one written before `down`:
// Ready counts only when every member's Postgres and PgBouncer, and pgstack-proxy's listeners, accept
// connections.
std::vector<std::string> unreachable_endpoints(const Json& status) {
  std::vector<std::string> out;
  const Json endpoints = status.value("endpoints", Json::object());
  for (const char* key : {"proxyReadWrite", "proxyReadOnly"}) {
    if (!endpoints.is_object() || !endpoints.contains(key) || !endpoints[key].is_array()) continue;
    for (const auto& endpoint : endpoints[key]) {
      if (endpoint.is_string() && !accepts_connections(endpoint.get<std::string>()))
        out.push_back(fmt::format("pgstack-proxy {} {}", key, endpoint.get<std::string>()));
    }
  }
  const auto members = status.find("members");
  if (members == status.end() || !members->is_array()) return out;
  for (const auto& member : *members) {
    const auto endpoints = member.find("endpoints");
    if (endpoints == member.end() || !endpoints->is_object()) continue;
    for (const char* key : {"postgres", "pgbouncer"}) {
      const auto endpoint = endpoints->find(key);
      if (endpoint != endpoints->end() && endpoint->is_string() && !accepts_connections(endpoint->get<std::string>()))
        out.push_back(fmt::format("{} {} {}", member.value("name", "?"), key, endpoint->get<std::string>()));
    }
  }
  return out;
}

// Where pgstack-proxy serves its Prometheus metrics, when the cluster has a proxy.
std::string proxy_metrics_line(const Json& status) {
  const Json admin = status.value("/endpoints/proxyAdmin"_json_pointer, Json::array());
  if (!admin.is_array() || admin.empty() || !admin.front().is_string()) return {};
  return fmt::format("  metrics:     {}/metrics (pgstack-proxy: per-query statistics)\n",
                     admin.front().get<std::string>());
}

class LocalUp {
 public:
  LocalUp(LocalStack stack, UpSettings settings, Clock::time_point deadline)
      : stack_(std::move(stack)), settings_(std::move(settings)), deadline_(deadline) {}

  Result<bool> start_etcd() {
    if (!settings_.manage_etcd) return wait_for_etcd(nullptr);
    ProcessSpec spec = local_etcd_spec(stack_, settings_);
    etcd_ = std::make_unique<ProcessSupervisor>(std::move(spec));
    RETURN_IF_ERROR(start(*etcd_));
    return wait_for_etcd(etcd_.get());
  }

  // The scrape credential's password for Prometheus, also written here and not only by the controller
  // (--scrape-password-file): a controller from before the credential keeps running, and Prometheus'
  // new configuration must not point at a missing file.
  Result<bool> write_scrape_password() const {
    const store::EtcdClient etcd(split(settings_.etcd_url, ','));
    ASSIGN_OR_RETURN(const auto credential,
                     monitoring::wait_for_scrape_credential(etcd, std::string(kEtcdPrefix), std::chrono::seconds(30)));
    return monitoring::write_scrape_password_file(scrape_password_file(), credential);
  }

  Result<bool> start_controller() {
    auto binary = sibling_program("pgstack-controller");
    RETURN_IF_ERROR(binary);
    ProcessSpec spec = base_spec("controller");
    spec.argv = {*binary, "--listen", settings_.api_address, "--etcd", settings_.etcd_url, "--etcd-prefix",
                 std::string(kEtcdPrefix), "--ca-file", pki::ca_files_in(stack_.pki_dir()).certificate.string(),
                 "--client-cert", (stack_.pki_dir() / "controller.crt").string(), "--client-key",
                 (stack_.pki_dir() / "controller.key").string(),
                 // Handed to hosts that join with a token (pgstack join; docs/multihost.md).
                 "--ca-key", pki::ca_files_in(stack_.pki_dir()).private_key.string(), "--tls-cert",
                 (stack_.pki_dir() / "api.crt").string(), "--tls-key", (stack_.pki_dir() / "api.key").string(),
                 // The user who ran `up` is the first admin; the CLI finds its token by itself.
                 "--bootstrap-admin", invoking_user_name(), "--bootstrap-token-file",
                 local_token_file(stack_.state_dir).string(),
                 // Prometheus reads /metrics there (no API token), and the targets the controller keeps.
                 "--metrics-listen", settings_.controller_metrics_address(), "--prometheus-targets-dir",
                 targets_dir().string(), "--alertmanager", "http://" + settings_.alertmanager_address(), "--prometheus",
                 settings_.prometheus_query_url(),
                 // Prometheus sends it to the listeners that ask for it (off loopback; docs/security.md).
                 "--scrape-password-file", scrape_password_file().string(),
                 // It rotates its own log (16 MiB, 4 kept): nothing else here would.
                 "--log-file", stack_.log_file("controller").string()};
    controller_ = std::make_unique<ProcessSupervisor>(std::move(spec));
    RETURN_IF_ERROR(start(*controller_));
    const ApiClient client(settings_.api_url());
    Error last = make_error(ErrorCode::kUnavailable, "not asked yet");
    while (Clock::now() < deadline_) {
      auto health = client.health(std::chrono::seconds(2));
      if (health) return true;
      last = health.error();
      if (!controller_->is_running()) return died_error("pgstack-controller", stack_.log_file("controller"));
      std::this_thread::sleep_for(kPollInterval);
    }
    return make_error(ErrorCode::kUnavailable, fmt::format("the controller did not become healthy in time: {}\n{}",
                                                           last.message, log_tail(stack_.log_file("controller"))));
  }

  Result<bool> start_agent() {
    ASSIGN_OR_RETURN(ProcessSpec spec, local_agent_spec(stack_, settings_));
    agent_ = std::make_unique<ProcessSupervisor>(std::move(spec));
    return start(*agent_);
  }

  std::filesystem::path monitoring_dir() const { return stack_.state_dir / "monitoring"; }
  std::filesystem::path targets_dir() const { return monitoring_dir() / "targets"; }
  std::filesystem::path rules_dir() const { return monitoring_dir() / "rules"; }
  // 0700, the monitoring user's: the scrape credential's password, which the controller writes there.
  std::filesystem::path secrets_dir() const { return monitoring_dir() / "secrets"; }
  std::filesystem::path scrape_password_file() const { return secrets_dir() / "scrape-password"; }

  // The configuration files, and the directories Prometheus and Alertmanager keep their data in (owned
  // by the user they run as). Made before the controller starts, which writes into targets/.
  Result<bool> prepare_monitoring() {
    for (const auto& dir : {monitoring_dir(), targets_dir(), rules_dir()})
      RETURN_IF_ERROR(make_traversable_directories(dir));
    std::vector<std::filesystem::path> data_dirs = {monitoring_dir() / "alertmanager"};
    if (settings_.local_prometheus()) data_dirs.push_back(monitoring_dir() / "prometheus");
    for (const auto& dir : data_dirs) {
      RETURN_IF_ERROR(make_traversable_directories(dir));
      if (const passwd* user = monitoring_user();
          user != nullptr && ::chown(dir.c_str(), user->pw_uid, user->pw_gid) != 0)
        return make_error(ErrorCode::kUnavailable,
                          fmt::format("cannot give {} to {}: {}", dir.string(), user->pw_name, std::strerror(errno)));
    }
    RETURN_IF_ERROR(make_traversable_directories(secrets_dir()));
    if (::chmod(secrets_dir().c_str(), 0700) != 0)
      return make_error(ErrorCode::kUnavailable,
                        fmt::format("cannot make {} 0700: {}", secrets_dir().string(), std::strerror(errno)));
    if (const passwd* user = monitoring_user();
        user != nullptr && ::chown(secrets_dir().c_str(), user->pw_uid, user->pw_gid) != 0)
      return make_error(ErrorCode::kUnavailable, fmt::format("cannot give {} to {}: {}", secrets_dir().string(),
                                                             user->pw_name, std::strerror(errno)));
    monitoring::PrometheusSettings prometheus;
    prometheus.scrape_password_file = scrape_password_file().string();
    prometheus.targets_dir = targets_dir().string();
    prometheus.rules_dir = rules_dir().string();
    prometheus.alertmanager = settings_.alertmanager_address();
    prometheus.patroni_ca_file = pki::ca_files_in(stack_.pki_dir()).certificate.string();
    // For an existing Prometheus: what to paste into its configuration (docs/monitoring.md).
    ASSIGN_OR_RETURN(prometheus_config_changed_, write_if_changed(monitoring_dir() / "scrape-configs.yml",
                                                                  monitoring::render_scrape_configs(prometheus)));
    if (settings_.local_prometheus()) {
      ASSIGN_OR_RETURN(prometheus_config_changed_, write_if_changed(monitoring_dir() / "prometheus.yml",
                                                                    monitoring::render_prometheus_config(prometheus)));
    }
    ASSIGN_OR_RETURN(alertmanager_config_changed_,
                     write_if_changed(monitoring_dir() / "alertmanager.yml",
                                      monitoring::render_alertmanager_config({settings_.alert_webhook})));
    return true;
  }

  Result<bool> start_alertmanager() {
    ProcessSpec spec = monitoring_spec("alertmanager");
    spec.argv = {"prometheus-alertmanager", "--config.file=" + (monitoring_dir() / "alertmanager.yml").string(),
                 "--storage.path=" + (monitoring_dir() / "alertmanager").string(),
                 "--web.listen-address=" + settings_.alertmanager_address(),
                 // One Alertmanager: no gossip port (it would listen on every interface).
                 "--cluster.listen-address=", "--data.retention=120h"};
    alertmanager_ = std::make_unique<ProcessSupervisor>(std::move(spec));
    return start_monitoring_daemon(*alertmanager_, "http://" + settings_.alertmanager_address(),
                                   alertmanager_config_changed_);
  }

  Result<bool> start_prometheus() {
    if (!settings_.local_prometheus()) {
      // An installation switched to an existing Prometheus: the local one an earlier up started goes.
      if (stop_from_pid_file("prometheus", "prometheus", stack_.pid_file("prometheus"), std::chrono::seconds(30)))
        std::cerr << "prometheus: stopped (using " << settings_.prometheus_url << ")\n";
      return true;
    }
    ProcessSpec spec = monitoring_spec("prometheus");
    spec.argv = {"prometheus",
                 "--config.file=" + (monitoring_dir() / "prometheus.yml").string(),
                 "--storage.tsdb.path=" + (monitoring_dir() / "prometheus").string(),
                 "--storage.tsdb.retention.time=15d",
                 "--storage.tsdb.retention.size=2GB",
                 "--web.listen-address=" + settings_.prometheus_address(),
                 "--web.enable-lifecycle"};
    prometheus_ = std::make_unique<ProcessSupervisor>(std::move(spec));
    return start_monitoring_daemon(*prometheus_, "http://" + settings_.prometheus_address(),
                                   prometheus_config_changed_);
  }

  // Creates `demo` unless it exists (an existing one is left exactly as it is).
  // The central log store the demo ships its logs to (docs/logs.md); one that exists is left as it is.
  Result<bool> ensure_demo_log_store() const {
    const ApiClient client = local_client();
    const model::KindInfo& kind = *model::find_kind("SGDistributedLogs");
    auto existing = client.get(kind, kDefaultNamespace, kDemoLogStore);
    if (existing) return true;
    if (existing.error().code != ErrorCode::kNotFound) return existing.error();
    const Json document = {
        {"apiVersion", "stackgres.io/v1"},
        {"kind", "SGDistributedLogs"},
        {"metadata", {{"name", kDemoLogStore}, {"namespace", kDefaultNamespace}}},
        {"spec", {{"persistentVolume", {{"size", "1Gi"}}}}},
    };
    auto created = client.create(kind, kDefaultNamespace, document);
    if (!created && created.error().code != ErrorCode::kAlreadyExists) return created.error();
    std::cerr << fmt::format("created SGDistributedLogs {} (the central log store, run as SGCluster {})\n",
                             kDemoLogStore, kDemoLogStore);
    return true;
  }

  Result<bool> ensure_demo_cluster(int instances, bool instances_given) const {
    const ApiClient client = local_client();
    const model::KindInfo& kind = *model::find_kind("SGCluster");
    auto existing = client.get(kind, kDefaultNamespace, kDemoCluster);
    if (existing) {
      const auto& spec = (*existing)["spec"];
      const int current = spec.is_object() ? spec.value("instances", 0) : 0;
      if (instances_given && current != instances) {
        std::cerr << fmt::format(
            "note: SGCluster {} exists with {} instances and is left as it is (change it with "
            "pgstack apply)\n",
            kDemoCluster, current);
      }
      if (spec.is_object() && !spec.contains("distributedLogs"))
        std::cerr << fmt::format(
            "note: SGCluster {} keeps its logs on its hosts and is left as it is; for central logs apply an "
            "SGDistributedLogs and set the cluster's spec.distributedLogs (docs/logs.md)\n",
            kDemoCluster);
      return true;
    }
    if (existing.error().code != ErrorCode::kNotFound) return existing.error();
    if (auto store = ensure_demo_log_store(); !store) return store.error();
    // Backups by default: a filesystem repository under the state directory, a daily backup at
    // 03:00 UTC (and a first one once the cluster is ready), seven full backups kept, each verified.
    const model::KindInfo& storage_kind = *model::find_kind("SGObjectStorage");
    const Json storage = {
        {"apiVersion", "stackgres.io/v1beta1"},
        {"kind", "SGObjectStorage"},
        {"metadata", {{"name", kLocalBackupStorage}, {"namespace", kDefaultNamespace}}},
        {"spec", {{"type", "filesystem"}, {"filesystem", {{"path", stack_.backups_dir().string()}}}}},
    };
    if (auto made = client.create(storage_kind, kDefaultNamespace, storage);
        !made && made.error().code != ErrorCode::kAlreadyExists)
      return made.error();
    const Json document = {
        {"apiVersion", "stackgres.io/v1"},
        {"kind", "SGCluster"},
        {"metadata", {{"name", kDemoCluster}, {"namespace", kDefaultNamespace}}},
        {"spec",
         {{"instances", instances},
          {"postgres", {{"version", "latest"}}},
          {"pods", {{"persistentVolume", {{"size", "5Gi"}}}}},
          {"distributedLogs", {{"sgDistributedLogs", kDemoLogStore}, {"retention", "7 days"}}},
          {"configurations",
           {{"backups", Json::array({{{"sgObjectStorage", kLocalBackupStorage},
                                      {"cronSchedule", "0 3 * * *"},
                                      {"retention", 7},
                                      {"compression", "lz4"}}})}}}}},
    };
    auto created = client.create(kind, kDefaultNamespace, document);
    if (!created && created.error().code != ErrorCode::kAlreadyExists) return created.error();
    std::cerr << fmt::format("created SGCluster {} ({} instance{})\n", kDemoCluster, instances,
                             instances == 1 ? "" : "s");
    return true;
  }

  // Follows the cluster's status until Ready, printing each change of its members.
  Result<Json> wait_until_ready() const {
    const ApiClient client = local_client();
    std::cerr << fmt::format("waiting for SGCluster {} to be ready\n", kDemoCluster);
    std::string last_summary;
    while (true) {
      auto status = client.cluster_status(kDefaultNamespace, kDemoCluster);
      if (status) {
        std::string summary = member_summary(*status);
        const bool ready = condition_is_true(*status, "Ready");
        const auto unreachable = ready ? unreachable_endpoints(*status) : std::vector<std::string>();
        if (!unreachable.empty()) summary += fmt::format("; not listening yet: {}", fmt::join(unreachable, ", "));
        if (summary != last_summary) std::cerr << "  " << summary << "\n";
        last_summary = summary;
        if (ready && unreachable.empty()) return std::move(status).value();
      } else if (status.error().code != ErrorCode::kNotFound) {
        return status.error();  // 404: no status observed yet
      }
      if (agent_ && !agent_->is_running()) return died_error("pgstack-agent", stack_.log_file("agent"));
      if (controller_ && !controller_->is_running())
        return died_error("pgstack-controller", stack_.log_file("controller"));
      if (Clock::now() >= deadline_) {
        return make_error(ErrorCode::kUnavailable,
                          fmt::format("SGCluster {} is not ready in time (--timeout): {}\n  see pgstack describe "
                                      "sgcluster {}, and the logs in {}",
                                      kDemoCluster, last_summary.empty() ? "no status yet" : last_summary, kDemoCluster,
                                      (stack_.state_dir / "logs").string()));
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }

  // The controller wrote the admin's token before it became healthy.
  ApiClient local_client() const {
    auto token = read_file(local_token_file(stack_.state_dir));
    return ApiClient(settings_.api_url(), token.ok() ? trim(token.value()) : "");
  }

 private:
  // As root, Prometheus and Alertmanager run as postgres, not root: they parse what every target sends,
  // and need no privilege (docs/monitoring.md says why not root). Otherwise as the user running up.
  static const passwd* monitoring_user() { return ::geteuid() == 0 ? ::getpwnam("postgres") : nullptr; }

  ProcessSpec monitoring_spec(const std::string& name) const {
    ProcessSpec spec = base_spec(name);
    spec.working_directory = monitoring_dir();
    if (const passwd* user = monitoring_user()) {
      spec.run_as_user = user->pw_name;
      spec.environment["HOME"] = monitoring_dir().string();
      spec.environment["USER"] = user->pw_name;
    }
    return spec;
  }

  // true when the file was (re)written.
  static Result<bool> write_if_changed(const std::filesystem::path& path, const std::string& content) {
    if (auto current = read_file(path); current.ok() && *current == content) return false;
    RETURN_IF_ERROR(write_file_atomically(path, content));
    return true;
  }

  // Starts it (or finds it running, and reloads it when its configuration changed), then waits for /-/ready.
  Result<bool> start_monitoring_daemon(ProcessSupervisor& supervisor, const std::string& url, bool config_changed) {
    auto outcome = supervisor.start();
    RETURN_IF_ERROR(outcome);
    std::cerr << fmt::format("{}: {} (pid {})\n", supervisor.spec().name,
                             *outcome == StartOutcome::kStarted ? "started" : "already running",
                             supervisor.status().pid);
    if (*outcome != StartOutcome::kStarted && config_changed) {
      auto reloaded = http_request("POST", url + "/-/reload", {}, {}, std::chrono::seconds(10));
      if (!reloaded || reloaded->status != 200)
        std::cerr << fmt::format("warning: {} did not reload its changed configuration: {}\n", supervisor.spec().name,
                                 reloaded ? trim(reloaded->body) : reloaded.error().message);
    }
    std::string last;
    while (Clock::now() < deadline_) {
      auto response = http_request("GET", url + "/-/ready", {}, {}, std::chrono::seconds(2));
      if (response && response->status == 200) return true;
      last = response ? fmt::format("HTTP {}", response->status) : response.error().message;
      if (!supervisor.is_running()) return died_error(supervisor.spec().name, stack_.log_file(supervisor.spec().name));
      std::this_thread::sleep_for(kPollInterval);
    }
    return make_error(ErrorCode::kUnavailable, fmt::format("{} at {} is not ready: {}\n{}", supervisor.spec().name, url,
                                                           last, log_tail(stack_.log_file(supervisor.spec().name))));
  }

  ProcessSpec base_spec(const std::string& name) const { return local_daemon_spec(stack_, name); }

  static Result<bool> start(ProcessSupervisor& supervisor) { return start_local_daemon(supervisor); }

  Result<bool> wait_for_etcd(const ProcessSupervisor* supervisor) const {
    const std::string url = split(settings_.etcd_url, ',').front();
    std::string last;
    while (Clock::now() < deadline_) {
      auto response = http_request("GET", url + "/health", {}, {}, std::chrono::seconds(2));
      if (response && response->status == 200) return true;
      last = response ? fmt::format("HTTP {}: {}", response->status, trim(response->body)) : response.error().message;
      if (supervisor != nullptr && !supervisor->is_running()) return died_error("etcd", stack_.log_file("etcd"));
      std::this_thread::sleep_for(kPollInterval);
    }
    return make_error(ErrorCode::kUnavailable, fmt::format("etcd at {} is not healthy: {}", url, last));
  }

  LocalStack stack_;
  UpSettings settings_;
  Clock::time_point deadline_;
  std::unique_ptr<ProcessSupervisor> etcd_;
  std::unique_ptr<ProcessSupervisor> controller_;
  std::unique_ptr<ProcessSupervisor> agent_;
  std::unique_ptr<ProcessSupervisor> prometheus_;
  std::unique_ptr<ProcessSupervisor> alertmanager_;
  bool prometheus_config_changed_ = false;
  bool alertmanager_config_changed_ = false;
};

// up.json when a previous `up` wrote one, with the flags given now on top; new ports otherwise.
Result<UpSettings> settings_for(const LocalStack& stack, const std::string& etcd_flag, const std::string& api_flag,
                                const std::string& address_flag, const std::string& prometheus_flag,
                                const std::string& webhook_flag, const std::string& agent_metrics_flag,
                                const std::string& node_exporter_flag, const std::vector<std::string>& label_flags) {
  UpSettings settings;
  bool known = false;
  if (auto content = read_file(stack.settings_file())) {
    const Json json = Json::parse(*content, nullptr, /*allow_exceptions=*/false);
    if (json.is_object()) {
      settings = UpSettings::from_json(json);
      known = true;
    }
  }
  if (!address_flag.empty() && address_flag != settings.address) {
    RETURN_IF_ERROR(check_own_address(address_flag));
    // The managed etcd keeps its peer URL in its data: moving it is a member update, not a flag.
    if (known && settings.manage_etcd && !settings.etcd_peer_url.empty())
      return make_error(ErrorCode::kFailedPrecondition,
                        fmt::format("the installation in {} serves on {}; --address {} would move its etcd member, "
                                    "which up does not do (pgstack down --purge, then up --address {})",
                                    stack.state_dir.string(), settings.address, address_flag, address_flag));
    if (!known && api_flag.empty()) settings.api_address = url_authority(address_flag, 8080);
    settings.address = address_flag;
  }
  if (!etcd_flag.empty()) {
    settings.manage_etcd = false;
    settings.etcd_url = etcd_flag;
    settings.etcd_peer_url.clear();
  } else if (!known || settings.etcd_url.empty() || (settings.manage_etcd && settings.etcd_peer_url.empty())) {
    settings.manage_etcd = true;
    auto client_port = free_tcp_port();
    auto peer_port = free_tcp_port();
    RETURN_IF_ERROR(client_port);
    RETURN_IF_ERROR(peer_port);
    if (*peer_port == *client_port) peer_port = *client_port + 1;
    settings.etcd_url = "https://" + url_authority(settings.address, *client_port);
    settings.etcd_peer_url = "https://" + url_authority(settings.address, *peer_port);
  }
  if (settings.manage_etcd) {
    // The managed etcd serves TLS only; up.json of an older pgstack names its ports over http.
    for (std::string* url : {&settings.etcd_url, &settings.etcd_peer_url}) {
      if (url->rfind("http://", 0) == 0) *url = "https://" + url->substr(7);
    }
  }
  if (!api_flag.empty()) settings.api_address = api_flag;
  if (settings.host_name.empty()) settings.host_name = host_name();
  if (!prometheus_flag.empty()) settings.prometheus_url = prometheus_flag;
  if (!webhook_flag.empty()) settings.alert_webhook = webhook_flag;
  if (!agent_metrics_flag.empty()) settings.agent_metrics_listen = agent_metrics_flag;
  if (!node_exporter_flag.empty()) settings.node_exporter_listen = node_exporter_flag;
  if (!label_flags.empty()) settings.labels = label_flags;
  // Chosen once and kept in up.json: Prometheus's own data names its targets by address.
  for (int* port : {&settings.prometheus_port, &settings.alertmanager_port, &settings.controller_metrics_port}) {
    if (*port != 0) continue;
    auto free = free_tcp_port();
    RETURN_IF_ERROR(free);
    *port = *free;
  }
  return settings;
}

}  // namespace

std::filesystem::path default_state_dir() {
  if (const char* explicit_dir = std::getenv("PGSTACK_STATE_DIR"); explicit_dir != nullptr && *explicit_dir != '\0')
    return explicit_dir;
  if (::geteuid() == 0) return "/var/lib/pgstack";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg != '\0')
    return std::filesystem::path(xdg) / "pgstack";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr && *home != '\0' ? home : ".") / ".local" / "state" / "pgstack";
}

std::filesystem::path installation_ca_file() {
  if (const char* explicit_ca = std::getenv("PGSTACK_CA_FILE"); explicit_ca != nullptr && *explicit_ca != '\0')
    return explicit_ca;
  return pki::ca_files_in(LocalStack{default_state_dir()}.pki_dir()).certificate;
}

void add_up_command(CLI::App& app, ExitStatus& status) {
  struct Options {
    int instances = 3;
    std::string state_dir;
    std::string etcd;
    std::string api_address;
    bool no_cluster = false;
    int timeout_seconds = 180;
    std::string prometheus;
    std::string alert_webhook;
    std::string agent_metrics_listen;
    std::string node_exporter_listen;
    std::string address;
    std::vector<std::string> labels;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "up", "Run pgstack on this machine: etcd, controller, agent and a ready SGCluster 'demo' (idempotent)");
  CLI::Option* instances = command->add_option("--instances", options->instances, "Instances of the demo cluster")
                               ->check(CLI::PositiveNumber)
                               ->capture_default_str();
  command
      ->add_option("--state-dir", options->state_dir,
                   "Where data, logs and pid files live (default $PGSTACK_STATE_DIR, /var/lib/pgstack for root, "
                   "else ~/.local/state/pgstack)")
      ->type_name("DIR");
  command->add_option("--etcd", options->etcd, "Use this etcd (client URLs, comma-separated) instead of starting one")
      ->type_name("URLS");
  command->add_option("--api-address", options->api_address, "Where the controller listens (default 127.0.0.1:8080)")
      ->type_name("HOST:PORT");
  command
      ->add_option("--address", options->address,
                   "The IP address other hosts and clients reach this machine by: etcd, Postgres, Patroni and the "
                   "proxies serve on it, and the API on ADDRESS:8080 unless --api-address says otherwise (default "
                   "127.0.0.1; chosen by the first up and kept)")
      ->type_name("IP");
  command->add_flag("--no-cluster", options->no_cluster, "Do not create the demo cluster");
  command
      ->add_option("--label", options->labels,
                   "A label of this host, KEY=VALUE (repeatable; replaces the kept ones): an SGCluster's "
                   "pods.scheduling.nodeSelector places members only on hosts with its labels")
      ->type_name("KEY=VALUE");
  command
      ->add_option("--prometheus", options->prometheus,
                   "Use this existing Prometheus instead of starting one (paste <state>/monitoring/scrape-configs.yml "
                   "into it; docs/monitoring.md)")
      ->type_name("URL");
  command->add_option("--alert-webhook", options->alert_webhook, "Alertmanager sends alerts to this webhook too")
      ->type_name("URL");
  command
      ->add_option("--agent-metrics-listen", options->agent_metrics_listen,
                   "The agent's /metrics listener, or 'off' (default 127.0.0.1:19101); kept for later runs, used "
                   "when the agent starts")
      ->type_name("HOST:PORT");
  command
      ->add_option("--node-exporter-listen", options->node_exporter_listen,
                   "node_exporter's listener, or 'off' (default 127.0.0.1:19100); kept for later runs, used when the "
                   "agent starts")
      ->type_name("HOST:PORT");
  command
      ->add_option("--timeout", options->timeout_seconds, "How long to wait for everything to be ready (e.g. 180s, 5m)")
      ->transform(CLI::AsNumberWithUnit(std::map<std::string, int>{{"s", 1}, {"m", 60}, {"h", 3600}}))
      ->default_str("180s")
      ->type_name("DURATION");
  command->callback([options, instances, &status] {
    // The supervisor logs through spdlog: keep stdout for the result and only warnings on stderr.
    auto logger = spdlog::stderr_color_mt("pgstack-up");
    logger->set_level(spdlog::level::warn);
    spdlog::set_default_logger(logger);

    // Absolute: the daemons run with the state dir as their working directory.
    const auto chosen = options->state_dir.empty() ? default_state_dir() : std::filesystem::path(options->state_dir);
    const LocalStack stack{std::filesystem::absolute(chosen).lexically_normal()};
    const auto fail = [&status](const Error& error) { status.code = report_error("up", error); };
    // A bad address is refused before anything is made under the state dir.
    if (!options->address.empty()) {
      if (auto own = check_own_address(options->address); !own) return fail(own.error());
    }
    auto labels = checked_labels(options->labels);
    if (!labels) return fail(labels.error());
    // So is a state dir of a host that joined another installation.
    if (auto content = read_file(stack.settings_file())) {
      const Json json = Json::parse(*content, nullptr, /*allow_exceptions=*/false);
      if (const UpSettings joined = json.is_object() ? UpSettings::from_json(json) : UpSettings();
          !joined.joined_api.empty())
        return fail(make_error(
            ErrorCode::kFailedPrecondition,
            fmt::format("{} is of a host that joined the installation at {}: it runs only an "
                        "agent; `pgstack join {} --state-dir {}` starts it again, `pgstack down` "
                        "stops it",
                        stack.state_dir.string(), joined.joined_api, joined.joined_api, stack.state_dir.string())));
    }
    std::error_code error;
    for (const auto& dir : {stack.state_dir, stack.state_dir / "run", stack.state_dir / "logs", stack.etcd_dir()}) {
      std::filesystem::create_directories(dir, error);
      if (error)
        return fail(
            make_error(ErrorCode::kUnavailable, fmt::format("cannot create {}: {}", dir.string(), error.message())));
    }
    std::filesystem::permissions(stack.etcd_dir(), std::filesystem::perms::owner_all, error);  // etcd wants 0700
    // The alert rules this build was tested with, where Prometheus loads every *.yml (docs/monitoring.md).
    if (auto rules = monitoring::write_alert_rules(stack.state_dir / "monitoring" / "rules"); !rules)
      return fail(rules.error());
    // The Grafana dashboards, for an existing Grafana to import.
    if (auto dashboards = monitoring::write_dashboards(stack.state_dir / "monitoring" / "dashboards"); !dashboards)
      return fail(dashboards.error());
    if (::geteuid() == 0) {
      // As root the instances run as postgres, which must reach them: a state dir made by `mktemp -d` is
      // 0700, and the agent makes its own directories traversable but not the ones above them.
      std::filesystem::permissions(stack.state_dir, std::filesystem::perms::others_exec,
                                   std::filesystem::perm_options::add, error);
      if (const passwd* postgres = ::getpwnam("postgres")) {
        if (auto usable = check_traversable_by(stack.state_dir, postgres->pw_uid, postgres->pw_gid, "postgres");
            !usable)
          return fail(usable.error());
      }
    }
    // The installation's CA, made once; its key stays here (0600) and signs every certificate: etcd's
    // (server and peer), the controller's client certificate and the API's here, the instances' in the agent.
    auto ca = pki::load_or_create_ca(stack.pki_dir(), "pgstack CA " + host_name());
    if (!ca) return fail(ca.error());
    auto settings =
        settings_for(stack, options->etcd, options->api_address, options->address, options->prometheus,
                     options->alert_webhook, options->agent_metrics_listen, options->node_exporter_listen, *labels);
    if (!settings) return fail(settings.error());
    if (auto written = write_file_atomically(stack.settings_file(), settings->to_json().dump(2) + "\n"); !written)
      return fail(written.error());
    pki::LeafRequest etcd_names{"etcd", {"localhost"}, {"127.0.0.1"}, pki::Usage::kServerAndClient};
    if (settings->address != "127.0.0.1") etcd_names.ip_addresses.push_back(settings->address);
    const pki::LeafRequest controller_names{"pgstack-controller", {}, {}, pki::Usage::kClient};
    // The REST API's own certificate, for the names the CLI reaches it by.
    pki::LeafRequest api_names{"pgstack API", {"localhost"}, {"127.0.0.1"}, pki::Usage::kServer};
    if (const auto url = parse_http_url(settings->api_url());
        url && url->host != "127.0.0.1" && url->host != "localhost")
      (pki::is_ip_address(url->host) ? api_names.ip_addresses : api_names.dns_names).push_back(url->host);
    for (const auto& [request, name] :
         {std::pair{etcd_names, "etcd"}, std::pair{controller_names, "controller"}, std::pair{api_names, "api"}}) {
      auto issued = pki::ensure_certificate(*ca, request, stack.pki_dir() / (std::string(name) + ".crt"),
                                            stack.pki_dir() / (std::string(name) + ".key"));
      if (!issued) return fail(issued.error());
    }
    // up itself asks etcd whether it is healthy (as the controller) and the API, trusting the CA.
    set_tls_client_files({pki::ca_files_in(stack.pki_dir()).certificate.string(),
                          (stack.pki_dir() / "controller.crt").string(),
                          (stack.pki_dir() / "controller.key").string()});

    LocalUp up(stack, *settings, Clock::now() + std::chrono::seconds(options->timeout_seconds));
    if (auto done = up.prepare_monitoring(); !done) return fail(done.error());
    if (auto done = up.start_etcd(); !done) return fail(done.error());
    if (auto done = up.write_scrape_password(); !done) return fail(done.error());
    if (auto done = up.start_controller(); !done) return fail(done.error());
    if (auto done = up.start_agent(); !done) return fail(done.error());
    if (auto done = up.start_alertmanager(); !done) return fail(done.error());
    if (auto done = up.start_prometheus(); !done) return fail(done.error());

    const std::string api_url = settings->api_url();
    const bool default_api = api_url == kDefaultApiUrl;
    std::string state_line =
        fmt::format(
            "  prometheus:  {}{}\n",
            settings->local_prometheus() ? "http://" + settings->prometheus_address() : settings->prometheus_url,
            settings->local_prometheus()
                ? ""
                : fmt::format(" (add {} to its configuration)",
                              (stack.state_dir / "monitoring" / "scrape-configs.yml").string())) +
        fmt::format("  alerts:      http://{} (Alertmanager)\n", settings->alertmanager_address()) +
        fmt::format("  dashboards:  {} (Grafana JSON to import)\n",
                    (stack.state_dir / "monitoring" / "dashboards").string()) +
        fmt::format("  state:       {} (pgstack down stops it all)\n", stack.state_dir.string());
    // The web console is served by the controller; the first admin is the user who ran `up`, with a
    // token and no password until they set one.
    const std::string console_line = fmt::format(
        "  console:     {}/ui/ (log in as {}; set a password with `pgstack user set-password {}`; the "
        "browser must trust {})\n",
        api_url, invoking_user_name(), invoking_user_name(), (stack.state_dir / "pki" / "ca.crt").string());
    // The CLI finds the admin token under the default state dir; another one must be named.
    if (std::filesystem::absolute(default_state_dir()).lexically_normal() != stack.state_dir)
      state_line += fmt::format("  export PGSTACK_STATE_DIR={}\n", stack.state_dir.string());
    if (options->no_cluster) {
      std::cout << "pgstack is up\n" << fmt::format("  API:         {}\n", api_url) << console_line << state_line;
      if (!default_api) std::cout << fmt::format("  export PGSTACK_API={}\n", api_url);
      status.code = 0;
      return;
    }
    if (auto done = up.ensure_demo_cluster(options->instances, instances->count() > 0); !done)
      return fail(done.error());
    auto ready = up.wait_until_ready();
    if (!ready) return fail(ready.error());

    const ApiClient client = up.local_client();
    auto read_write = fetch_connection(client, kDefaultNamespace, kDemoCluster, {});
    if (!read_write) return fail(read_write.error());
    auto read_only = fetch_connection(client, kDefaultNamespace, kDemoCluster, {.replica = true});
    if (!read_only) return fail(read_only.error());
    const std::string version = ready->value("postgresVersion", "");
    std::cout << fmt::format("SGCluster {} is ready: {} members{}\n", kDemoCluster,
                             ready_members(Json{{"status", *ready}}),
                             version.empty() ? std::string() : ", PostgreSQL " + version)
              << fmt::format("  read-write:  {}\n", read_write->uri)
              << fmt::format("  read-only:   {}\n", read_only->uri)
              << fmt::format("  password:    pgstack connstr {} --show-password{}\n", kDemoCluster,
                             default_api ? "" : " --api " + api_url)
              << proxy_metrics_line(*ready) << fmt::format("  API:         {}\n", api_url) << console_line
              << state_line;
    if (!default_api) std::cout << fmt::format("  export PGSTACK_API={}\n", api_url);
    status.code = 0;
  });
}

}  // namespace pgstack::cli
