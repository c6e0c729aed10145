#include "controller/cluster_reconciler.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>

#include <spdlog/spdlog.h>

#include "controller/controller_metrics.h"
#include "controller/reconcile/backups_step.h"
#include "controller/reconcile/credentials_step.h"
#include "controller/reconcile/inputs_step.h"
#include "controller/reconcile/log_store_step.h"
#include "controller/reconcile/patroni_config_step.h"
#include "controller/reconcile/placement_step.h"
#include "controller/reconcile/restore_step.h"
#include "controller/reconcile/status_step.h"
#include "monitoring/alertmanager.h"
#include "monitoring/cluster_metrics.h"
#include "monitoring/scrape_target_files.h"
#include "monitoring/scrape_targets.h"
#include "store/keys.h"

namespace pgstack::controller {
namespace {

using model::Json;

std::vector<std::string> split_key(const std::string& key, std::size_t from) {
  std::vector<std::string> parts;
  std::size_t start = from;
  while (start <= key.size()) {
    const auto slash = key.find('/', start);
    parts.push_back(key.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return parts;
}

}  // namespace

ClusterReconciler::ClusterReconciler(store::ResourceStore store, const LeaderElection& leadership,
                                     ReconcilerSettings settings)
    : store_(store),
      leadership_(leadership),
      settings_(std::move(settings)),
      operations_(std::move(store), leadership,
                  operations::OperationsSettings{settings_.etcd_prefix, settings_.installed_postgres}) {}

ClusterReconciler::~ClusterReconciler() { stop(); }

void ClusterReconciler::start() {
  thread_ = std::thread([this] { run(); });
}

void ClusterReconciler::stop() {
  if (stopping_.exchange(true)) return;
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  operations_.stop();
  managed_sql_.stop();
  log_stores_.stop();
}

void ClusterReconciler::run() {
  while (!stopping_) {
    if (leadership_.is_leader()) {
      try {
        reconcile_all();
      } catch (const std::exception& failure) {
        spdlog::error("reconcile failed: {}", failure.what());
      }
    }
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, settings_.interval, [this] { return stopping_.load(); });
  }
}

std::optional<PassSnapshot> ClusterReconciler::read_pass() const {
  const auto& etcd = store_.client();
  const std::string& prefix = settings_.etcd_prefix;
  auto host_keys = etcd.get_prefix(store::keys::hosts_prefix(prefix));
  auto assignment_keys = etcd.get_prefix(store::keys::assignments_prefix(prefix));
  auto backup_documents = store_.list("SGBackup");
  auto backup_statuses = etcd.get_prefix(store_.status_prefix() + "sgbackups/");
  auto additional = etcd.get_prefix(store::keys::additional_instances_prefix(prefix));
  auto drains = etcd.get_prefix(store::keys::host_drains_prefix(prefix));
  if (!host_keys.ok() || !assignment_keys.ok() || !backup_documents.ok() || !backup_statuses.ok() || !additional.ok() ||
      !drains.ok())
    return std::nullopt;

  PassSnapshot pass;
  for (const auto& kv : host_keys->items) {
    const Json host = Json::parse(kv.value, nullptr, false);
    if (!host.is_object()) continue;
    pass.hosts[host.value("name", "")] = host.value("address", "");
    pass.host_registrations.push_back(host);
  }
  for (const auto& kv : drains->items)
    pass.draining_hosts.insert(kv.key.substr(store::keys::host_drains_prefix(prefix).size()));
  const std::size_t assignments_prefix_size = store::keys::assignments_prefix(prefix).size();
  for (const auto& kv : assignment_keys->items) {
    const auto parts = split_key(kv.key, assignments_prefix_size);  // host, ns, cluster, member
    if (parts.size() != 4) continue;
    auto assignment = model::assignment_from_text(kv.value);
    if (!assignment.ok()) {
      spdlog::warn("{}: not a member's assignment: {}", kv.key, assignment.error().message);
      continue;
    }
    pass.assignments[kv.key] = Json::parse(kv.value, nullptr, false);
    const auto& ports = assignment->ports;
    pass.parsed_assignments.push_back(*assignment);
    Placement placement{parts[1] + "/" + parts[2],
                        parts[3],
                        assignment->index,
                        parts[0],
                        {ports.postgres, ports.pgbouncer, ports.patroni, ports.exporter}};
    if (assignment->proxy)
      pass.proxy_ports[placement.cluster_key] = {assignment->proxy->read_write, assignment->proxy->read_only,
                                                 assignment->proxy->admin};
    pass.placements.push_back(std::move(placement));
  }

  const std::size_t additional_prefix_size = store::keys::additional_instances_prefix(prefix).size();
  for (const auto& kv : additional->items) {
    const Json added = Json::parse(kv.value, nullptr, false);
    const auto count = added.is_object() ? added.find("count") : added.end();
    if (count != added.end() && count->is_number_integer() && count->get<int>() > 0 && count->get<int>() <= 1) {
      pass.additional_instances[kv.key.substr(additional_prefix_size)] = count->get<int>();
    } else {
      spdlog::warn("{}: not an additional-instances record (want {{\"count\": 1}}); ignored", kv.key);
    }
  }
  for (const auto& backup : backup_documents.value()) {
    const Json& metadata = backup.body.value("metadata", Json::object());
    pass.backups[backup.namespace_name() + "/" + backup.name()] = {
        model::backup_from(backup).cluster, {backup.name(), metadata.value("creationTimestamp", ""), nullptr}};
  }
  const std::size_t status_prefix_size = store_.status_prefix().size() + std::string("sgbackups/").size();
  for (const auto& kv : backup_statuses->items) {
    const auto found = pass.backups.find(kv.key.substr(status_prefix_size));  // "<ns>/<name>"
    const Json status = Json::parse(kv.value, nullptr, false);
    if (found != pass.backups.end() && status.is_object()) found->second.observation.status = status;
  }
  return pass;
}

void ClusterReconciler::track_lost_hosts(PassSnapshot& pass) {
  std::set<std::string> registered;
  for (const auto& [name, address] : pass.hosts) registered.insert(name);
  const std::set<std::string> before = [&] {
    std::set<std::string> past;
    for (const auto& [host, since] : lost_since_) past.insert(host);
    return past;
  }();
  const auto past = hosts_lost_past(registered, pass.placements, lost_since_, std::chrono::steady_clock::now(),
                                    settings_.replace_lost_members_after);
  for (const auto& [host, since] : lost_since_) {
    if (before.count(host) == 0)
      spdlog::warn("host {} is lost (members placed on it, its agent's registration gone){}", host,
                   settings_.replace_lost_members_after.count() > 0
                       ? fmt::format("; its replicas are rebuilt elsewhere if it is still lost in {} s",
                                     settings_.replace_lost_members_after.count())
                       : std::string());
  }
  for (const auto& host : past) {
    if (pass.draining_hosts.insert(host).second && replacing_lost_.insert(host).second)
      spdlog::warn("host {} lost for {} s or more: moving its members to other hosts as a drain does", host,
                   settings_.replace_lost_members_after.count());
  }
  for (auto it = replacing_lost_.begin(); it != replacing_lost_.end();)
    it = past.count(*it) > 0 ? std::next(it) : replacing_lost_.erase(it);
}

void ClusterReconciler::reconcile_all() {
  auto clusters = store_.list("SGCluster");
  std::optional<PassSnapshot> pass = clusters.ok() ? read_pass() : std::nullopt;
  if (!pass) {
    spdlog::warn("reconcile skipped: etcd is unavailable");
    if (settings_.metrics != nullptr) settings_.metrics->record_skipped_pass();
    return;
  }
  pass->alerts = current_alerts();
  current_figures(*pass);
  track_lost_hosts(*pass);
  try {
    // Before the clusters: a new store's SGCluster is reconciled from the next pass on.
    reconcile_log_stores(StepEnvironment{store_, settings_}, clusters.value(), log_stores_);
  } catch (const std::exception& failure) {
    spdlog::error("reconcile of the log stores failed: {}", failure.what());
  }
  std::set<std::string> live_clusters;
  std::map<std::string, int> expected_replicas;
  for (const auto& cluster : clusters.value()) {
    const std::string key = cluster.namespace_name() + "/" + cluster.name();
    live_clusters.insert(key);
    expected_replicas[key] = std::max(0, model::cluster_from(cluster).instances - 1);
    const auto started = std::chrono::steady_clock::now();
    bool failed = false;
    try {
      reconcile_cluster(cluster, *pass);
    } catch (const std::exception& failure) {
      // One cluster's failure does not hold up the others; the next pass tries it again.
      spdlog::error("reconcile of {} failed: {}", key, failure.what());
      failed = true;
    }
    if (settings_.metrics != nullptr)
      settings_.metrics->record_reconcile(key, std::chrono::steady_clock::now() - started, failed);
  }
  if (settings_.metrics != nullptr) settings_.metrics->set_expected_replicas(std::move(expected_replicas));
  forget_deleted_clusters(*pass, live_clusters);
  publish_scrape_targets(*pass);
  // Day-2 operations (SGDbOps): each cluster's next one runs on a worker of its own.
  operations_.reconcile();
}

void ClusterReconciler::current_figures(PassSnapshot& pass) {
  if (settings_.prometheus_url.empty()) {
    pass.figures_problem = "monitoring is not configured: pgstack-controller runs without --prometheus";
    return;
  }
  constexpr auto kFiguresRefresh = std::chrono::seconds(10);
  const auto now = std::chrono::steady_clock::now();
  if (figures_read_at_ == std::chrono::steady_clock::time_point() || now - figures_read_at_ >= kFiguresRefresh) {
    figures_read_at_ = now;
    // Short: the pass waits for it.
    const monitoring::PrometheusClient prometheus(settings_.prometheus_url, std::chrono::seconds(2));
    std::map<std::string, monitoring::PromResult> results;
    std::string problem;
    for (const auto& query : monitoring::status_figures_queries()) {
      auto result = prometheus.instant(query.promql);
      if (!result.ok()) {
        problem = result.error().message;
        break;  // unreachable or failing: the other queries would fare no better
      }
      results[query.key] = std::move(result).value();
    }
    if (!problem.empty() && figures_problem_ != problem) spdlog::warn("status figures: {}", problem);
    figures_problem_ = problem.empty() ? "Prometheus has no series of this cluster yet" : problem;
    figures_ = problem.empty() ? monitoring::status_figures_by_cluster(results, utc_timestamp_now())
                               : std::map<std::string, model::Json>();
  }
  pass.figures = figures_;
  pass.figures_problem = figures_problem_;
}

std::optional<AlertsObservation> ClusterReconciler::current_alerts() {
  if (settings_.alertmanager_url.empty()) return std::nullopt;
  // Prometheus evaluates rules every few seconds; reading Alertmanager each 1 s pass would add nothing.
  constexpr auto kAlertsRefresh = std::chrono::seconds(5);
  const auto now = std::chrono::steady_clock::now();
  if (alerts_ && now - alerts_read_at_ < kAlertsRefresh) return alerts_;
  auto read = monitoring::fetch_alertmanager_alerts(settings_.alertmanager_url, std::chrono::seconds(2));
  if (read.ok()) {
    alerts_ = AlertsObservation{std::move(read).value(), ""};
  } else {
    if (!alerts_ || alerts_->problem.empty()) spdlog::warn("alerts: {}", read.error().message);
    alerts_ = AlertsObservation{{}, read.error().message};
  }
  alerts_read_at_ = now;
  return alerts_;
}

void ClusterReconciler::reconcile_cluster(const model::Document& document, PassSnapshot& pass) {
  ClusterState state(document, model::cluster_from(document));
  const std::string& ns = state.cluster.namespace_name;
  if (auto topology = read_topology(store_.client(), settings_.etcd_prefix, ns, state.cluster.name); topology.ok())
    state.topology = std::move(topology).value();
  for (const auto& placement : pass.placements) {
    if (placement.cluster_key == state.key) state.members.push_back(placement);
  }
  if (const auto added = pass.additional_instances.find(state.key); added != pass.additional_instances.end())
    state.additional_instances = added->second;
  if (auto previous = store_.get_status("SGCluster", ns, state.cluster.name); previous.ok() && previous->has_value())
    state.previous_status = **previous;

  state.amend_status = [this, &document](Json& status) { managed_sql_.reconcile(document, status); };
  const StepEnvironment environment{store_, settings_};
  // Each writes part of the desired state; the first that stops ends the list.
  const std::function<StepOutcome()> desired_state_steps[] = {
      [&] { return ensure_credentials(environment, state); },
      [&] { return resolve_cluster_inputs(environment, state); },
      [&] { return admit_restore(environment, pass, state); },
      [&] { return place_members(environment, pass, state, drain_switchovers_); },
      [&] { return sync_patroni_config(environment, state); },
  };
  for (const auto& step : desired_state_steps) {
    if (StepOutcome outcome = step(); outcome.stop) {
      state.stopped = std::move(outcome);
      break;
    }
  }
  // These run whatever stopped the list: backups of a running cluster go on, and the status says why.
  schedule_backups(environment, pass, state);
  publish_status(environment, pass, state);
}

void ClusterReconciler::publish_scrape_targets(const PassSnapshot& pass) const {
  if (settings_.prometheus_targets_dir.empty()) return;
  monitoring::ScrapeInputs inputs;
  inputs.hosts = pass.host_registrations;
  inputs.assignments = pass.parsed_assignments;
  inputs.controller_metrics_addresses = settings_.controller_metrics_addresses;
  auto written =
      monitoring::write_scrape_target_files(settings_.prometheus_targets_dir, monitoring::scrape_target_groups(inputs));
  if (!written.ok()) {
    spdlog::warn("cannot write Prometheus's targets: {}", written.error().message);
  } else if (*written > 0) {
    spdlog::info("Prometheus targets: {} file(s) rewritten in {}", *written, settings_.prometheus_targets_dir.string());
  }
}

void ClusterReconciler::forget_deleted_clusters(const PassSnapshot& pass, const std::set<std::string>& live_clusters) {
  const auto& etcd = store_.client();
  const std::string& prefix = settings_.etcd_prefix;
  // Members of deleted clusters: the agents stop them; their data stays on disk.
  for (const auto& placement : pass.placements) {
    if (live_clusters.count(placement.cluster_key) != 0) continue;
    spdlog::info("cluster {} was deleted: unassigning {}", placement.cluster_key, placement.member);
    const std::string key = store::keys::assignment(prefix, placement.host, placement.cluster_key, placement.member);
    if (auto removed = etcd.remove(key); !removed.ok())
      spdlog::warn("cluster {}: cannot unassign {}: {}", placement.cluster_key, placement.member,
                   removed.error().message);
  }
  // The backup schedule and the operations' additional members of a deleted cluster: a new cluster of
  // the same name starts afresh.
  for (const std::string& family :
       {store::keys::backup_schedules_prefix(prefix), store::keys::additional_instances_prefix(prefix)}) {
    auto kept = etcd.get_prefix(family);
    if (!kept.ok()) continue;
    for (const auto& kv : kept->items) {
      if (live_clusters.count(kv.key.substr(family.size())) != 0) continue;
      if (auto removed = etcd.remove(kv.key); !removed.ok())
        spdlog::warn("{}: cannot remove the record of a deleted cluster: {}", kv.key, removed.error().message);
    }
  }
}

}  // namespace pgstack::controller
