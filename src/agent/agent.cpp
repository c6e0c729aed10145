#include "agent/agent.h"

#include <algorithm>
#include <future>
#include <pwd.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "agent/cluster_log_sink.h"
#include "agent/node_exporter.h"
#include "common/files.h"
#include "common/http_client.h"
#include "common/pki.h"
#include "common/strings.h"
#include "common/time.h"
#include "config/render_patroni.h"
#include "config/tuning.h"
#include "host/postgres_installations.h"
#include "model/resources.h"
#include "monitoring/metrics_auth.h"
#include "patroni/dcs.h"
#include "patroni/roles.h"
#include "store/keys.h"
#include "store/resource_store.h"

namespace pgstack::agent {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kStopCheckInterval{100};
// The host's extension inventory: apt-cache is asked again only after an install, control files each time.
constexpr std::chrono::seconds kInventoryInterval{15};

// Whether etcd has a quorum this host reaches: a linearizable read (which needs one) answered by any
// endpoint within `timeout`, all asked at once. The demotion guard races a cut-off Patroni that writes its
// leader key again the moment etcd is back: asked one after another, three endpoints took up to three
// timeouts, and a partition healed a few seconds after the election was over before the guard decided
// (bench/multihost/soak's rolling scenario).
bool etcd_quorum_answers(const std::vector<std::string>& endpoints, const std::string& key,
                         std::chrono::milliseconds timeout) {
  std::vector<std::future<bool>> answers;
  answers.reserve(endpoints.size());
  for (const auto& endpoint : endpoints) {
    answers.push_back(std::async(std::launch::async, [endpoint, &key, timeout] {
      return store::EtcdClient(std::vector<std::string>{endpoint}, timeout).get(key).ok();
    }));
  }
  bool answered = false;
  for (auto& answer : answers) answered = answer.get() || answered;
  return answered;
}

// The users' Secrets the assignment's storages (its own, its restore source's) refer to, into
// secrets.storage_secrets. One that does not exist stays absent: the plan says which is missing.
Result<bool> read_storage_secrets(const store::UserSecretStore& store, const Assignment& assignment,
                                  ClusterSecrets& secrets) {
  std::vector<std::string> names;
  if (assignment.object_storage) names = config::referenced_secrets(*assignment.object_storage);
  if (assignment.restore) {
    for (auto& name : config::referenced_secrets(assignment.restore->storage)) names.push_back(std::move(name));
  }
  for (const auto& name : names) {
    if (secrets.storage_secrets.count(name) > 0) continue;
    auto read = store.get(assignment.namespace_name, name);
    if (read) {
      secrets.storage_secrets[name] = std::move(read).value().secret.data;
    } else if (read.error().code != ErrorCode::kNotFound && read.error().code != ErrorCode::kInvalidInput) {
      return make_error(ErrorCode::kUnavailable, fmt::format("cannot read Secret {}/{}: {}", assignment.namespace_name,
                                                             name, read.error().message));
    }
  }
  return true;
}

// Names of what is missing only, never a value.
std::string storage_credentials_problem(const Assignment& assignment, const ClusterSecrets& secrets) {
  for (const auto* storage : {assignment.object_storage ? &*assignment.object_storage : nullptr,
                              assignment.restore ? &assignment.restore->storage : nullptr}) {
    if (storage == nullptr) continue;
    if (auto resolved = config::resolve_storage_credentials(*storage, secrets.storage_secrets); !resolved)
      return resolved.error().message;
  }
  return {};
}

}  // namespace

Agent::Agent(AgentSettings settings)
    : settings_(std::move(settings)),
      etcd_(settings_.etcd_endpoints, std::chrono::seconds(3)),
      registration_(etcd_, store::keys::host(settings_.etcd_prefix, settings_.host_name),
                    [settings = settings_] { return host_facts(settings); }),
      extensions_(ExtensionInstallerOptions{settings_.extension_installs}),
      huge_pages_(HugePagesPaths{.baseline_file = (settings_.state_dir / "huge-pages-baseline").string()}) {}

Agent::~Agent() = default;

void Agent::wake() {
  {
    std::lock_guard lock(mutex_);
    dirty_ = true;
  }
  wake_.notify_all();
}

Result<bool> Agent::claim_state_dir() const {
  const std::filesystem::path file = settings_.state_dir / "host-name";
  auto recorded = read_file(file);
  if (recorded) {
    const std::string name = trim(recorded.value());
    if (name == settings_.host_name) return true;
    // Another name would find no assignments and stop every instance this directory holds.
    return make_error(ErrorCode::kFailedPrecondition,
                      fmt::format("{} belongs to host '{}' ({}): start with --host-name {}, or remove that file to "
                                  "run its instances under the name '{}'",
                                  settings_.state_dir.string(), name, file.string(), name, settings_.host_name));
  }
  if (recorded.error().code != ErrorCode::kNotFound) return recorded.error();
  return write_file_atomically(file, settings_.host_name + "\n");
}

int Agent::run(const std::atomic<bool>& stop, bool stop_instances) {
  if (auto claimed = claim_state_dir(); !claimed) {
    spdlog::error("{}", claimed.error().message);
    return exit_code_for(claimed.error().code);
  }
  spdlog::info("pgstack-agent on host {} ({}), state in {}, etcd {} under {}, instances run as {}", settings_.host_name,
               settings_.address, settings_.state_dir.string(), fmt::join(settings_.etcd_endpoints, ","),
               settings_.etcd_prefix, settings_.os_user);
  registration_.start();
  // The watch only makes the agent react at once; the periodic reconcile alone would be enough.
  auto watch = etcd_.watch_prefix(store::keys::host_assignments_prefix(settings_.etcd_prefix, settings_.host_name), 0,
                                  [this](const std::vector<store::WatchEvent>&) { wake(); });

  start_node_exporter();
  start_metrics_server();
  // Well above Patroni's loop_wait: a Patroni that reaches etcd has seen it within one loop.
  // Its own clients, one per endpoint with a short timeout: the guard's question is whether etcd answers at all.
  demotion_guard_ = std::make_unique<DemotionGuard>(
      std::chrono::seconds(2 * config::kPatroniTiming.loop_wait + 1),
      [this, key = store::keys::host(settings_.etcd_prefix, settings_.host_name)] {
        return etcd_quorum_answers(etcd_.endpoints(), key, std::chrono::milliseconds(1500));
      });
  auto next_reconcile = SteadyClock::now();
  auto next_report = SteadyClock::now() + kReportInterval;
  auto next_member_check = SteadyClock::now();
  while (!stop.load()) {
    bool dirty = false;
    {
      std::lock_guard lock(mutex_);
      std::swap(dirty, dirty_);
    }
    guard_demotions();
    if (dirty || SteadyClock::now() >= next_reconcile) {
      if (node_exporter_) node_exporter_->tick();
      reconcile();
      next_reconcile = SteadyClock::now() + kReconcileInterval;
    }
    if (SteadyClock::now() >= next_report) {
      guard_demotions();
      report();
      next_report = SteadyClock::now() + kReportInterval;
      // The agent's etcd certificate is renewed like the instances' (at 2/3 of its lifetime).
      if (auto renewed = ensure_agent_certificate(settings_); !renewed)
        spdlog::warn("the agent's client certificate: {}", renewed.error().message);
    }
    if (SteadyClock::now() >= next_member_check) {
      store::follow_etcd_members(etcd_, "the agent");
      next_member_check = SteadyClock::now() + store::kEtcdMemberCheckInterval;
    }
    const auto until = std::min({next_reconcile, next_report, SteadyClock::now() + kStopCheckInterval});
    std::unique_lock lock(mutex_);
    wake_.wait_until(lock, until, [this] { return dirty_; });
  }

  spdlog::info("stopping{}", stop_instances ? " with the instances" : "; the instances keep running");
  demotion_guard_.reset();
  watch->stop();
  if (stop_instances) {
    if (node_exporter_) (void)node_exporter_->stop();
    for (auto& [key, proxy] : proxies_) proxy->stop();
    for (auto& [key, instance] : instances_) {
      instance->stop();
      (void)etcd_.remove(store::keys::instance_report(settings_.etcd_prefix, key));
    }
  }
  backups_.reset();  // waits for a running backup or verification
  logs_.clear();     // waits for batches in flight
  proxies_.clear();
  instances_.clear();
  registration_.stop(stop_instances);
  if (metrics_server_) metrics_server_->stop();
  return 0;
}

void Agent::start_node_exporter() {
  const ProcessSpec spec = node_exporter_spec(settings_);
  std::error_code ignored;
  std::filesystem::create_directories(spec.working_directory, ignored);
  if (::geteuid() == 0) {
    if (const passwd* user = ::getpwnam(settings_.os_user.c_str()))
      (void)::chown(spec.working_directory.c_str(), user->pw_uid, user->pw_gid);
  }
  if (settings_.node_exporter_listen.empty()) {
    // Turned off: one left from an earlier start with it on stops.
    stop_from_pid_file(spec.name, settings_.node_exporter_program, spec.pid_file, spec.stop_timeout);
    return;
  }
  auto web_config = node_exporter_web_config(settings_);
  if (!web_config) {
    spdlog::warn("node_exporter: {}", web_config.error().message);
    return;
  }
  if (web_config->has_value()) {
    const auto path = node_exporter_web_config_path(settings_);
    auto written = write_file_atomically(path, **web_config, std::filesystem::perms(0600));
    if (written && ::geteuid() == 0) {
      // node_exporter runs as the instances' OS user and reads the file itself.
      if (const passwd* user = ::getpwnam(settings_.os_user.c_str());
          user == nullptr || ::chown(path.c_str(), user->pw_uid, user->pw_gid) != 0)
        written =
            make_error(ErrorCode::kUnavailable, fmt::format("cannot give {} to {}", path.string(), settings_.os_user));
    }
    if (!written) {
      spdlog::warn("node_exporter: {}", written.error().message);
      return;
    }
  }
  ProcessSpec running = spec;
  if (::geteuid() != 0) running.run_as_user.reset();
  auto supervisor = std::make_unique<ProcessSupervisor>(running);
  auto started = supervisor->start();
  if (!started) {
    spdlog::warn("node_exporter: {}", started.error().message);
    return;
  }
  // One from an earlier start may have other flags (it reads them only when it starts): it holds no
  // state, so it is simply started again.
  if (started.value() == StartOutcome::kReattached) {
    if (auto stopped = supervisor->stop(); !stopped) spdlog::warn("node_exporter: {}", stopped.error().message);
    if (auto again = supervisor->start(); !again) {
      spdlog::warn("node_exporter: {}", again.error().message);
      return;
    }
  }
  spdlog::info("node_exporter on {}{}", settings_.node_exporter_listen,
               web_config->has_value() ? " (scrapes need the scrape credential)" : "");
  node_exporter_ = std::move(supervisor);
}

void Agent::start_metrics_server() {
  if (settings_.metrics_listen.empty()) return;
  const auto colon = settings_.metrics_listen.rfind(':');
  std::string host = settings_.metrics_listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const int port = std::atoi(settings_.metrics_listen.c_str() + colon + 1);
  update_metrics();
  HttpServerLimits limits;
  limits.max_connections = 8;  // a scraper or two, and curl
  limits.max_body_bytes = 1024;
  const bool authenticated = monitoring::listener_needs_auth(settings_.metrics_listen, settings_.metrics_auth);
  if (authenticated && !settings_.scrape_credential) {
    spdlog::warn("the agent's /metrics on {}: asks for the scrape credential and the agent has none: not served",
                 settings_.metrics_listen);
    return;
  }
  auto server = std::make_unique<HttpServer>(
      host, static_cast<std::uint16_t>(port),
      [this, authenticated](const HttpRequest& request) {
        if (authenticated && !monitoring::authorized_scrape(request.headers, *settings_.scrape_credential)) {
          return HttpReply{401,
                           "text/plain",
                           "the scrape credential is required (docs/security.md)\n",
                           {{"WWW-Authenticate", std::string(monitoring::kScrapeChallenge)}}};
        }
        if (request.path != "/metrics") return HttpReply{404, "text/plain", "not found; try /metrics\n", {}};
        if (request.method != "GET") return HttpReply{405, "text/plain", "GET only\n", {}};
        std::lock_guard lock(metrics_mutex_);
        return HttpReply{200, kPrometheusTextContentType, metrics_text_, {}};
      },
      limits);
  if (auto started = server->start(); !started) {
    spdlog::warn("the agent's /metrics on {}: {}", settings_.metrics_listen, started.error().message);
    return;
  }
  spdlog::info("the agent's /metrics on http://{}/metrics{}", settings_.metrics_listen,
               authenticated ? " (scrapes need the scrape credential)" : "");
  metrics_server_ = std::move(server);
}

void Agent::update_metrics() {
  if (settings_.metrics_listen.empty()) return;
  AgentMetricsInput input;
  input.host = settings_.host_name;
  if (node_exporter_) input.host_processes["node_exporter"] = node_exporter_->status();
  for (const auto& [key, instance] : instances_) {
    InstanceMetricsInput metrics = instance->metrics_input();
    if (const auto logs = logs_.find(key); logs != logs_.end()) metrics.log_shipping = logs->second->report();
    input.instances.push_back(std::move(metrics));
  }
  // Backups are minutes apart: their statuses are read from etcd every half minute, not every round.
  constexpr auto kBackupMetricsInterval = std::chrono::seconds(30);
  if (SteadyClock::now() - backup_metrics_read_ >= kBackupMetricsInterval) {
    backup_metrics_read_ = SteadyClock::now();
    backup_metrics_.clear();
    const store::ResourceStore store(etcd_, settings_.etcd_prefix);
    for (const auto& target : backup_targets()) {
      ClusterBackupsInput cluster{target.namespace_name, target.cluster, {}};
      auto documents = store.list("SGBackup", target.namespace_name);
      if (!documents) continue;
      for (const auto& document : *documents) {
        if (model::backup_from(document).cluster != target.cluster) continue;
        if (auto status = store.get_status("SGBackup", target.namespace_name, document.name()); status && *status)
          cluster.statuses.push_back(**status);
      }
      backup_metrics_.push_back(std::move(cluster));
    }
  }
  input.backups = backup_metrics_;
  std::string text = format_prometheus_text(agent_metric_families(input));
  std::lock_guard lock(metrics_mutex_);
  metrics_text_ = std::move(text);
}

void Agent::guard_demotions() {
  for (const auto& key : demotion_guard_->take_stopped()) {
    if (const auto it = instances_.find(key); it != instances_.end()) it->second->stopped_by_guard();
  }
  std::map<std::string, DemotionGuard::Watched> watched;
  for (const auto& [key, instance] : instances_) {
    if (auto target = instance->guard_target()) watched.emplace(key, std::move(*target));
  }
  demotion_guard_->watch(std::move(watched));
}

void Agent::reconcile() {
  const std::string prefix = store::keys::host_assignments_prefix(settings_.etcd_prefix, settings_.host_name);
  auto listed = etcd_.get_prefix(prefix);
  if (!listed) {
    // Without etcd nothing changes: the instances keep running and supervised.
    if (listed.error().message != last_list_error_) spdlog::warn("cannot read {}: {}", prefix, listed.error().message);
    last_list_error_ = listed.error().message;
    for (auto& [key, instance] : instances_) instance->tick_without_etcd();
    for (auto& [key, proxy] : proxies_) proxy->tick();
    return;
  }
  last_list_error_.clear();

  std::map<std::string, std::string> assigned;  // instance key -> assignment JSON
  for (const auto& item : listed->items) {
    const std::string key = item.key.substr(prefix.size());
    const auto parts = split(key, '/');
    if (parts.size() != 3 ||
        !std::all_of(parts.begin(), parts.end(), [](const std::string& p) { return is_safe_name(p); })) {
      spdlog::warn("ignoring {}: expected {}<namespace>/<cluster>/<member>", item.key, prefix);
      continue;
    }
    assigned.emplace(key, item.value);
  }

  for (auto it = instances_.begin(); it != instances_.end();) {
    if (assigned.count(it->first) > 0) {
      ++it;
      continue;
    }
    spdlog::info("{}: no longer assigned to {}; stopping it", it->first, settings_.host_name);
    it->second->stop_unassigned();
    if (auto removed = etcd_.remove(store::keys::instance_report(settings_.etcd_prefix, it->first)); !removed)
      spdlog::warn("{}: cannot remove its report: {}", it->first, removed.error().message);
    last_primary_.erase(it->first);
    it = instances_.erase(it);
  }
  if (!leftovers_checked_) {
    std::set<std::string> keys;
    for (const auto& [key, value] : assigned) keys.insert(key);
    stop_unassigned_leftovers(keys);
    leftovers_checked_ = true;
  }

  // Before any instance starts: the huge pages they map (Postgres takes them only when it starts).
  std::vector<std::int64_t> huge_pages;
  for (const auto& [key, text] : assigned) {
    auto assignment = model::assignment_from_text(text);
    if (!assignment) continue;
    const auto parameters = config::tune_postgres_parameters(config::tuning_input_for(
        assignment->cluster, assignment->profile, assignment->postgres_config ? &*assignment->postgres_config : nullptr,
        assignment->postgres_major));
    if (auto bytes = config::huge_pages_bytes(parameters, assignment->profile)) huge_pages.push_back(*bytes);
  }
  huge_pages_.ensure(huge_pages);

  std::map<std::string, Result<ClusterSecrets>> secrets;  // by "<ns>/<cluster>", read once per round
  std::map<std::string, config::ProxyLayout> proxies;     // by "<ns>/<cluster>"
  for (const auto& [key, text] : assigned) {
    auto& instance = instances_[key];
    if (!instance) {
      instance = std::make_unique<InstanceSupervisor>(settings_, key);
      // key is "<ns>/<cluster>/<member>".
      const auto first_slash = key.find('/');
      const auto slash = key.rfind('/');
      const std::string leader_key = patroni::leader_key(settings_.etcd_prefix, key.substr(0, first_slash),
                                                         key.substr(first_slash + 1, slash - first_slash - 1));
      const std::string member = key.substr(slash + 1);
      instance->set_leader_key_access(
          {[this, leader_key, member] {
             auto current = etcd_.get(leader_key);
             if (!current.ok() || !current->has_value() || (*current)->value != member) return false;
             return etcd_.remove_if(leader_key, (*current)->mod_revision).ok();
           },
           [this, leader_key, member] {
             auto current = etcd_.get(leader_key);
             return current.ok() && current->has_value() && (*current)->value != member;
           },
           [this, leader_key, member] {
             auto current = etcd_.get(leader_key);
             if (!current.ok() || !current->has_value() || (*current)->value == member) return false;
             // Patroni's member key: <prefix>/patroni/<ns>/<cluster>/members/<name>, role and state.
             const std::string members = leader_key.substr(0, leader_key.rfind('/')) + "/members/";
             auto record = etcd_.get(members + (*current)->value);
             if (!record.ok() || !record->has_value()) return false;
             const model::Json data = model::Json::parse((*record)->value, nullptr, false);
             if (!data.is_object()) return false;
             const std::string role = data.value("role", "");
             return (role == "master" || role == "primary") && data.value("state", "") == "running";
           }});
    }
    auto assignment = model::assignment_from_text(text);
    if (!assignment) {
      instance->hold(InstanceCondition{true, assignment.error().message});
      continue;
    }
    if (assignment->instance_key() != key) {
      instance->hold(InstanceCondition{
          true, fmt::format("assignment under key {} describes {}", key, assignment->instance_key())});
      continue;
    }
    const std::string cluster_key = assignment->namespace_name + "/" + assignment->cluster_name;
    if (assignment->proxy && !settings_.proxy_program.empty() && proxies.count(cluster_key) == 0) {
      config::ProxyLayout layout = proxy_layout_for(*assignment, settings_);
      std::error_code error;
      if (!std::filesystem::exists(*layout.tls_certificate, error) ||
          !std::filesystem::exists(*layout.tls_private_key, error)) {
        layout.tls_certificate.reset();  // the instance makes its certificate on its first reconcile
        layout.tls_private_key.reset();
        layout.client_certificate.clear();
        layout.client_private_key.clear();
      }
      proxies.emplace(cluster_key, std::move(layout));
    }
    auto found = secrets.find(cluster_key);
    if (found == secrets.end()) {
      const std::string secret_key =
          store::keys::cluster_secrets(settings_.etcd_prefix, assignment->namespace_name, assignment->cluster_name);
      auto read = etcd_.get(secret_key);
      Result<ClusterSecrets> parsed =
          make_error(ErrorCode::kNotFound, "waiting for the controller to write " + secret_key);
      if (!read) {
        parsed =
            make_error(ErrorCode::kUnavailable, fmt::format("cannot read {}: {}", secret_key, read.error().message));
      } else if (read.value()) {
        parsed = parse_cluster_secrets(read.value()->value);
      }
      if (parsed) {
        const store::UserSecretStore user_secrets(etcd_, settings_.etcd_prefix);
        if (auto storage = read_storage_secrets(user_secrets, *assignment, parsed.value()); !storage) {
          parsed = storage.error();
        } else if (std::string problem = storage_credentials_problem(*assignment, parsed.value());
                   problem != storage_problems_[cluster_key]) {
          // Backups and archiving fail until it is fixed: say so once, not every second.
          if (problem.empty()) {
            spdlog::info("{}: the backup storage's credentials are resolved", cluster_key);
          } else {
            spdlog::warn("{}: {}", cluster_key, problem);
          }
          storage_problems_[cluster_key] = std::move(problem);
        }
      }
      found = secrets.emplace(cluster_key, std::move(parsed)).first;
    }
    if (!found->second) {
      const Error& error = found->second.error();
      if (error.code == ErrorCode::kUnavailable) {
        spdlog::debug("{}: {}", key, error.message);
        instance->tick();
      } else {
        instance->hold(InstanceCondition{error.code == ErrorCode::kInvalidInput, error.message}, assignment->ports);
      }
      continue;
    }
    if (auto proxy = proxies.find(cluster_key); proxy != proxies.end() && proxy->second.pool) {
      // The proxy's pool looks users up as the authenticator (the secrets name it and hold its password).
      proxy->second.pool->auth_user = found->second.value().authenticator.username;
      proxy->second.pool->auth_password = found->second.value().authenticator.password;
    }
    auto runnable = with_available_extensions(assignment.value(), *instance);
    if (!runnable) continue;
    instance->reconcile(*runnable, found->second.value());
  }
  reconcile_proxies(proxies);
  reconcile_logs();
  if (!backups_)
    backups_ = std::make_unique<BackupRunner>(settings_, store::ResourceStore(etcd_, settings_.etcd_prefix));
  backups_->reconcile(backup_targets());
}

void Agent::reconcile_logs() {
  for (auto it = logs_.begin(); it != logs_.end();) {
    if (instances_.count(it->first) > 0) {
      ++it;
      continue;
    }
    it = logs_.erase(it);  // the instance went away
  }
  // The cluster's proxy on this host logs to one file, and so do the agent's lines about the cluster: the first of
  // its instances here ships them.
  std::set<std::string> host_logs_taken;
  for (const auto& [key, instance] : instances_) {
    const auto& plan = instance->plan();
    if (!plan) continue;
    InstanceLogsSettings wanted;
    const std::string cluster_key = plan->cluster.namespace_name + "/" + plan->cluster.name;
    if (host_logs_taken.insert(cluster_key).second) {
      wanted.agent_log = InstanceLogsSettings::AgentLog{cluster_agent_log_directory(settings_.state_dir, cluster_key),
                                                        settings_.host_name};
      if (proxies_.count(cluster_key) > 0) {
        const auto directory = ProxySupervisor::directory_for(settings_.state_dir, cluster_key);
        wanted.proxy = InstanceLogsSettings::Proxy{directory, directory / kProxyPidFile, settings_.proxy_program,
                                                   settings_.host_name};
      }
    }
    wanted.namespace_name = plan->cluster.namespace_name;
    wanted.cluster = plan->cluster.name;
    wanted.cluster_uid = plan->cluster.uid;
    wanted.member = plan->layout.member_name;
    wanted.log_dir = plan->layout.log_dir;
    // pgBackRest's log-path (render_pgbackrest), when the instance runs pgBackRest.
    if (plan->backup) wanted.pgbackrest_log_dir = std::filesystem::path(plan->backup->instance.work_dir) / "log";
    if (!plan->cluster.distributed_logs.empty())
      wanted.store = logs::parse_log_store_reference(plan->cluster.distributed_logs, plan->cluster.namespace_name);
    wanted.etcd_endpoints = etcd_.endpoints();  // with the members learnt (a change restarts the loops: rare)
    wanted.etcd_prefix = settings_.etcd_prefix;
    wanted.ca_file = pki::ca_files_in(settings_.ca_dir).certificate.string();
    wanted.removal.max_directory_bytes = settings_.log_directory_limit_bytes;
    if (plan->pooling) {
      wanted.pgbouncer_pid_file = std::filesystem::path(plan->layout.config_dir) / kPgbouncerPidFile;
      wanted.pgbouncer_program = settings_.pgbouncer_program;
    }
    auto& logs = logs_[key];
    if (logs && logs->settings() == wanted) continue;
    if (wanted.store)
      spdlog::info("{}: shipping its logs to the log store {}/{}", key, wanted.store->namespace_name,
                   wanted.store->name);
    std::string role;
    const auto primary = last_primary_.find(key);
    if (primary != last_primary_.end()) role = primary->second ? "primary" : "replica";
    logs.reset();
    logs = std::make_unique<InstanceLogs>(std::move(wanted));
    logs->set_role(role);
  }
  if (settings_.on_host_clusters) settings_.on_host_clusters(std::move(host_logs_taken));
}

std::vector<BackupTarget> Agent::backup_targets() const {
  std::map<std::string, BackupTarget> by_cluster;  // "<ns>/<cluster>"
  std::map<std::string, std::vector<const InstancePlan*>> replicas;
  std::map<std::string, int> starting_replicas;  // replicas on this host not running yet
  for (const auto& [key, instance] : instances_) {
    const auto& plan = instance->plan();
    if (!plan || !plan->cluster.backup) continue;
    const bool usable = plan->backup && plan->backup->archiving && plan->backup_problem.empty();
    const std::string cluster_key = key.substr(0, key.rfind('/'));
    const auto role = last_primary_.find(key);
    if (role == last_primary_.end()) continue;
    if (!role->second) {
      if (!usable) continue;
      const auto state = last_state_.find(key);
      if (state != last_state_.end() && state->second == "running")
        replicas[cluster_key].push_back(&*plan);
      else
        ++starting_replicas[cluster_key];
      continue;
    }
    BackupTarget target;
    target.namespace_name = plan->cluster.namespace_name;
    target.cluster = plan->cluster.name;
    target.object_storage = plan->cluster.backup->object_storage;
    if (plan->backup) target.primary = *plan->backup;
    if (!usable) {
      target.problem = plan->backup_problem.empty() ? "the cluster's backups cannot be planned" : plan->backup_problem;
    }
    target.bin_dir = plan->layout.bin_dir;
    target.superuser = plan->cluster.credentials.superuser_name;
    by_cluster[cluster_key] = std::move(target);
  }
  std::vector<BackupTarget> out;
  for (auto& [cluster_key, target] : by_cluster) {
    // A streaming replica on this host serves the backup's reads, sparing the primary.
    if (const auto found = replicas.find(cluster_key);
        target.problem.empty() && found != replicas.end() && !found->second.empty())
      target.standby = found->second.front()->backup->instance;
    target.standby_starting = !target.standby && starting_replicas.count(cluster_key) > 0;
    out.push_back(std::move(target));
  }
  return out;
}

void Agent::reconcile_proxies(const std::map<std::string, config::ProxyLayout>& wanted) {
  for (auto it = proxies_.begin(); it != proxies_.end();) {
    if (wanted.count(it->first) > 0) {
      ++it;
      continue;
    }
    spdlog::info("proxy {}: the cluster has no member on {} any more; stopping it", it->first, settings_.host_name);
    it->second->stop();
    it = proxies_.erase(it);
  }
  if (!proxy_leftovers_checked_) {
    // <state-dir>/proxies/<ns>/<cluster>
    const std::filesystem::path root = settings_.state_dir / "proxies";
    std::error_code error;
    for (const auto& ns : std::filesystem::directory_iterator(root, error)) {
      if (!ns.is_directory()) continue;
      for (const auto& cluster : std::filesystem::directory_iterator(ns.path(), error)) {
        const std::string key = ns.path().filename().string() + "/" + cluster.path().filename().string();
        if (cluster.is_directory() && wanted.count(key) == 0) ProxySupervisor(settings_, key).stop();
      }
    }
    proxy_leftovers_checked_ = true;
  }
  for (const auto& [key, layout] : wanted) {
    auto& proxy = proxies_[key];
    if (!proxy) proxy = std::make_unique<ProxySupervisor>(settings_, key);
    proxy->reconcile(layout);
  }
}

void Agent::stop_unassigned_leftovers(const std::set<std::string>& assigned) {
  const std::filesystem::path root = settings_.state_dir / "instances";
  std::error_code error;
  if (!std::filesystem::is_directory(root, error)) return;
  // <root>/<ns>/<cluster>/<member>
  for (const auto& ns : std::filesystem::directory_iterator(root, error)) {
    if (!ns.is_directory()) continue;
    for (const auto& cluster : std::filesystem::directory_iterator(ns.path(), error)) {
      if (!cluster.is_directory()) continue;
      for (const auto& member : std::filesystem::directory_iterator(cluster.path(), error)) {
        if (!member.is_directory()) continue;
        const std::string key = fmt::format("{}/{}/{}", ns.path().filename().string(),
                                            cluster.path().filename().string(), member.path().filename().string());
        if (assigned.count(key) > 0) continue;
        InstanceSupervisor(settings_, key).stop();
      }
    }
  }
}

std::optional<Assignment> Agent::with_available_extensions(const Assignment& assignment, InstanceSupervisor& instance) {
  if (assignment.cluster.extensions.empty()) {
    instance.set_extensions(std::nullopt);
    return assignment;
  }
  const int major = assignment.postgres_major != 0 ? assignment.postgres_major : model::kCatalogueMajor;
  const auto wanted = resolve_cluster_extensions(assignment.cluster, major);
  std::vector<std::string> packages;
  for (const auto& extension : wanted) {
    if (std::find(packages.begin(), packages.end(), extension.package) == packages.end())
      packages.push_back(extension.package);
  }
  const ExtensionReadiness readiness = extensions_.ensure(packages);
  const auto missing = [&](const model::ResolvedExtension& extension) {
    return std::find(readiness.missing_packages.begin(), readiness.missing_packages.end(), extension.package) !=
           readiness.missing_packages.end();
  };
  model::Json items = model::Json::array();
  for (const auto& extension : wanted) {
    model::Json item = {{"name", extension.name}, {"package", extension.package}, {"preload", extension.preload}};
    if (!missing(extension)) {
      if (std::string version = extensions_.installed_version(extension.name, major); !version.empty())
        item["version"] = version;
    }
    items.push_back(std::move(item));
  }
  instance.set_extensions(model::Json{{"items", items},
                                      {"missingPackages", readiness.missing_packages},
                                      {"installing", readiness.installing},
                                      {"problem", readiness.problem}});
  if (readiness.ready()) return assignment;

  const std::string reason = readiness.problem.empty() ? fmt::format("installing {} for postgres.extensions",
                                                                     fmt::join(readiness.missing_packages, ", "))
                                                       : readiness.problem;
  // A data directory from before (this agent restarted) counts as running: Patroni is re-attached and supervised.
  std::error_code error;
  const bool initialized =
      instance.plan().has_value() ||
      std::filesystem::exists(settings_.state_dir / "instances" / assignment.instance_key() / "data" / "PG_VERSION",
                              error);
  if (!initialized) {
    // Not started yet: start once the libraries are there, not without them and restart later.
    instance.hold(InstanceCondition{!readiness.problem.empty(), reason}, assignment.ports);
    return std::nullopt;
  }
  // Running: everything else is still reconciled; what is missing is neither preloaded nor reported as there.
  Assignment usable = assignment;
  usable.cluster.extensions.clear();
  for (const auto& request : assignment.cluster.extensions) {
    const auto found = std::find_if(wanted.begin(), wanted.end(), [&](const model::ResolvedExtension& extension) {
      return extension.name == request.name;
    });
    if (found != wanted.end() && !missing(*found)) usable.cluster.extensions.push_back(request);
  }
  return usable;
}

void Agent::publish_extension_inventory(std::int64_t lease) {
  const std::uint64_t installs = extensions_.installs_finished();
  if (lease == inventory_lease_ && installs == inventory_installs_ && SteadyClock::now() < next_inventory_) return;
  std::vector<int> majors;
  for (const auto& installation : host::find_postgres_installations()) majors.push_back(installation.major);
  model::Json inventory = {{"host", settings_.host_name},
                           {"installsAllowed", extensions_.installs_allowed()},
                           {"postgresMajors", majors},
                           {"extensions", extensions_.inventory(majors)}};
  next_inventory_ = SteadyClock::now() + kInventoryInterval;
  inventory_installs_ = installs;
  // Written when it changed (or the lease did): each write is a new etcd revision of a large value.
  if (lease == inventory_lease_ && inventory == last_inventory_) return;
  last_inventory_ = inventory;
  inventory["updatedAt"] = utc_timestamp_now();
  auto written =
      etcd_.put(store::keys::host_extensions(settings_.etcd_prefix, settings_.host_name), inventory.dump(), lease);
  if (!written) {
    spdlog::warn("cannot publish the host's extensions: {}", written.error().message);
    last_inventory_ = nullptr;
    return;
  }
  inventory_lease_ = lease;
}

void Agent::report() {
  const std::int64_t lease = registration_.lease();
  if (lease == 0) return;  // reports live under the host's lease; the registration thread gets a new one
  publish_extension_inventory(lease);
  LeaderStatusCache leaders;
  for (const auto& [key, instance] : instances_) {
    const ReportInput observed = instance->observe(settings_.host_name, leaders);
    model::InstanceReport report = instance_report(observed);
    const auto logs = logs_.find(key);
    if (logs != logs_.end()) report.log_shipping = logs->second->report();
    // PgBouncer caches the server's startup parameters, in_hot_standby among them, and libpq's
    // target_session_attrs trusts them: after a promotion or demotion the pooler must start afresh.
    const std::string role = report.patroni ? report.patroni->role : std::string();
    const bool primary = patroni::is_leader_role(role);
    if (!role.empty()) {
      const auto previous = last_primary_.find(key);
      if (previous != last_primary_.end() && previous->second != primary) {
        spdlog::info("{}: became {}; restarting PgBouncer so clients see the new role", key,
                     primary ? "the primary" : "a replica");
        instance->restart_pooler();
      }
      last_primary_[key] = primary;
      last_state_[key] = report.state;
      instance->note_role(primary);
      if (logs != logs_.end()) logs->second->set_role(primary ? "primary" : "replica");
    }
    instance->watch_rejoin(observed, report);
    auto written = etcd_.put(store::keys::instance_report(settings_.etcd_prefix, key),
                             model::instance_report_to_json(report).dump(), lease);
    if (!written && written.error().message != last_report_error_) {
      spdlog::warn("{}: cannot write its report: {}", key, written.error().message);
    }
    last_report_error_ = written ? std::string() : written.error().message;
  }
  update_metrics();
}

Result<bool> ensure_agent_certificate(const AgentSettings& settings) {
  const std::filesystem::path dir = settings.state_dir / "tls";
  const std::filesystem::path certificate = dir / "agent.crt";
  const std::filesystem::path key = dir / "agent.key";
  const pki::CaFiles ca_files = pki::ca_files_in(settings.ca_dir);
  set_tls_client_files({ca_files.certificate.string(), certificate.string(), key.string()});
  auto ca = pki::load_ca(ca_files);
  RETURN_IF_ERROR(ca);
  const pki::LeafRequest wanted{
      "pgstack-agent " + settings.host_name, {}, {}, pki::Usage::kClient, settings.certificate_lifetime};
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, error);
  auto reason = pki::ensure_certificate(*ca, wanted, certificate, key);
  RETURN_IF_ERROR(reason);
  if (reason->empty()) return false;
  spdlog::info("issued the agent's client certificate {} ({})", certificate.string(), *reason);
  return true;
}

}  // namespace pgstack::agent
