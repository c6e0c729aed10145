#include "controller/cluster_reconciler.h"

#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/render_patroni.h"
#include "config/tuning.h"
#include "controller/backup_schedule.h"
#include "controller/cluster_status.h"
#include "controller/credentials.h"
#include "controller/patroni_client.h"
#include "controller/restore_source.h"
#include "model/cron.h"
#include "model/resources.h"

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

// Whether every key of `desired` has the same value in `actual` (Patroni adds keys of its own).
bool contains_all(const Json& actual, const Json& desired) {
  if (!desired.is_object()) return actual == desired;
  if (!actual.is_object()) return false;
  for (const auto& [key, value] : desired.items()) {
    if (!actual.contains(key) || !contains_all(actual[key], value)) {
      // Patroni stores parameter values as given; compare numbers and strings by their text.
      if (actual.contains(key) && !value.is_structured() && !actual[key].is_structured()) {
        const auto text = [](const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
        if (text(actual[key]) == text(value)) continue;
      }
      return false;
    }
  }
  return true;
}

bool condition_true(const Json& conditions, const std::string& type) {
  if (!conditions.is_array()) return false;
  for (const auto& condition : conditions) {
    if (condition.is_object() && condition.value("type", "") == type) return condition.value("status", "") == "True";
  }
  return false;
}

// metadata.resourceVersion changes on every write of a document; assignments compare without it.
void drop_resource_version(Json& document) {
  if (document.is_object() && document.contains("metadata") && document["metadata"].is_object())
    document["metadata"].erase("resourceVersion");
}

}  // namespace

std::string assignment_key(const std::string& etcd_prefix, const Placement& placement) {
  return fmt::format("{}/assignments/{}/{}/{}", etcd_prefix, placement.host, placement.cluster_key, placement.member);
}

std::string backup_schedule_key(const std::string& etcd_prefix, const std::string& namespace_name,
                                const std::string& cluster) {
  return fmt::format("{}/backup-schedule/{}/{}", etcd_prefix, namespace_name, cluster);
}

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

void ClusterReconciler::reconcile_all() {
  const auto& etcd = store_.client();
  const std::string& prefix = settings_.etcd_prefix;

  auto host_keys = etcd.get_prefix(prefix + "/hosts/");
  auto assignment_keys = etcd.get_prefix(prefix + "/assignments/");
  auto clusters = store_.list("SGCluster");
  auto backup_documents = store_.list("SGBackup");
  auto backup_statuses = etcd.get_prefix(store_.status_prefix() + "sgbackups/");
  if (!host_keys.ok() || !assignment_keys.ok() || !clusters.ok() || !backup_documents.ok() || !backup_statuses.ok()) {
    spdlog::warn("reconcile skipped: etcd is unavailable");
    return;
  }
  std::map<std::string, std::string> hosts;  // name -> address
  for (const auto& kv : host_keys->items) {
    const Json host = Json::parse(kv.value, nullptr, false);
    if (host.is_object()) hosts[host.value("name", "")] = host.value("address", "");
  }
  std::vector<Placement> placements;
  std::map<std::string, ProxyPorts> proxy_ports;  // by "<ns>/<cluster>"
  const std::size_t assignments_prefix_size = prefix.size() + std::string("/assignments/").size();
  for (const auto& kv : assignment_keys->items) {
    const auto parts = split_key(kv.key, assignments_prefix_size);  // host, ns, cluster, member
    const Json value = Json::parse(kv.value, nullptr, false);
    if (parts.size() != 4 || !value.is_object()) continue;
    Placement placement{parts[1] + "/" + parts[2], parts[3], value.value("index", 0), parts[0], {}};
    const Json ports = value.value("ports", Json::object());
    placement.ports = {ports.value("postgres", 0), ports.value("pgbouncer", 0), ports.value("patroni", 0)};
    placements.push_back(placement);
    const Json proxy = value.value("proxy", Json::object());
    if (proxy.is_object() && proxy.value("readWrite", 0) != 0)
      proxy_ports[placement.cluster_key] = {proxy.value("readWrite", 0), proxy.value("readOnly", 0),
                                            proxy.value("admin", 0)};
  }

  ObservedBackups backups;
  for (const auto& backup : backup_documents.value()) {
    const Json& metadata = backup.body.value("metadata", Json::object());
    backups[backup.namespace_name() + "/" + backup.name()] = {
        model::backup_from(backup).cluster, {backup.name(), metadata.value("creationTimestamp", ""), nullptr}};
  }
  const std::size_t status_prefix_size = store_.status_prefix().size() + std::string("sgbackups/").size();
  for (const auto& kv : backup_statuses->items) {
    const auto found = backups.find(kv.key.substr(status_prefix_size));  // "<ns>/<name>"
    const Json status = Json::parse(kv.value, nullptr, false);
    if (found != backups.end() && status.is_object()) found->second.observation.status = status;
  }

  std::set<std::string> live_clusters;
  for (const auto& cluster : clusters.value()) {
    live_clusters.insert(cluster.namespace_name() + "/" + cluster.name());
    reconcile_cluster(cluster, placements, hosts, proxy_ports, backups);
  }
  // Members of deleted clusters: the agents stop them; their data stays on disk.
  for (const auto& placement : placements) {
    if (live_clusters.count(placement.cluster_key) == 0) {
      spdlog::info("cluster {} was deleted: unassigning {}", placement.cluster_key, placement.member);
      (void)etcd.remove(assignment_key(prefix, placement));
    }
  }
  // Day-2 operations (SGDbOps): each cluster's next one runs on a worker of its own.
  operations_.reconcile();
  // The backup schedule of a deleted cluster: a new cluster of the same name starts afresh.
  const std::string schedules = prefix + "/backup-schedule/";
  if (auto kept = etcd.get_prefix(schedules); kept.ok()) {
    for (const auto& kv : kept->items) {
      if (live_clusters.count(kv.key.substr(schedules.size())) == 0) (void)etcd.remove(kv.key);
    }
  }
}

void ClusterReconciler::reconcile_cluster(const model::Document& document, const std::vector<Placement>& placements,
                                          const std::map<std::string, std::string>& hosts,
                                          std::map<std::string, ProxyPorts>& proxy_ports,
                                          const ObservedBackups& backups) {
  const auto& etcd = store_.client();
  const std::string& prefix = settings_.etcd_prefix;
  const model::Cluster cluster = model::cluster_from(document);
  const std::string ns = cluster.namespace_name;

  // Credentials first: the agents wait for them before bootstrapping.
  const std::string secrets_key = fmt::format("{}/secrets/{}/{}", prefix, ns, cluster.name);
  if (auto existing = etcd.get(secrets_key); existing.ok() && !existing->has_value()) {
    auto credentials = generate_cluster_credentials(cluster);
    if (credentials.ok()) (void)etcd.put_if(secrets_key, credentials->dump(), 0);
  }

  std::string problem;
  const auto postgres = model::resolve_postgres_version(cluster.postgres_version, settings_.installed_postgres);
  if (!postgres.ok()) problem = postgres.error().message;
  Json profile = nullptr, postgres_config = nullptr, pooling_config = nullptr;
  const auto fetch = [&](const char* kind, const std::string& name, Json& out) {
    if (name.empty()) return;
    auto found = store_.get(kind, ns, name);
    if (found.ok()) {
      out = found->body;
    } else if (problem.empty()) {
      problem = fmt::format("{}/{} does not exist in namespace {}", kind, name, ns);
    }
  };
  fetch("SGInstanceProfile", cluster.instance_profile_name, profile);
  fetch("SGPostgresConfig", cluster.postgres_config_name, postgres_config);
  fetch("SGPoolingConfig", cluster.pooling_config_name, pooling_config);
  Json object_storage = nullptr;
  if (cluster.backup) fetch("SGObjectStorage", cluster.backup->object_storage, object_storage);

  auto topology = read_topology(etcd, prefix, ns, cluster.name);
  std::vector<Placement> mine;
  for (const auto& placement : placements) {
    if (placement.cluster_key == ns + "/" + cluster.name) mine.push_back(placement);
  }

  // A restored cluster's members start from the backup: nothing is placed until it can be restored.
  // Once members run, the restore is history; they keep what their assignments say.
  Json restore = nullptr;
  bool keep_assigned_restore = false;
  if (cluster.restore) {
    const auto source = backups.find(ns + "/" + cluster.restore->backup);
    const Json* backup_status = source == backups.end() ? nullptr : &source->second.observation.status;
    Json storage = nullptr;
    if (backup_status != nullptr) {
      const std::string storage_name = restore_storage_name(*backup_status);
      if (!storage_name.empty()) {
        if (auto found = store_.get("SGObjectStorage", ns, storage_name); found.ok()) storage = found->body;
      }
    }
    auto assignment = restore_assignment(*cluster.restore, ns, backup_status, storage);
    if (assignment.ok()) {
      restore = std::move(assignment).value();
    } else if (!mine.empty()) {
      keep_assigned_restore = true;
    } else if (problem.empty()) {
      problem = assignment.error().message;
    }
  }

  if (problem.empty()) {
    SchedulingRequest request{ns, cluster.name, cluster.instances, std::nullopt, {}, placements};
    if (topology.ok()) request.primary_member = topology->leader;
    for (const auto& [name, address] : hosts) request.hosts.push_back(name);
    const SchedulingResult plan = schedule_cluster(request, settings_.port_bases);
    problem = plan.problem;
    const auto proxy = proxy_ports_for(ns + "/" + cluster.name, proxy_ports, settings_.port_bases);
    if (proxy) proxy_ports[ns + "/" + cluster.name] = *proxy;
    if (!proxy && problem.empty()) problem = "no free pgstack-proxy port slot left";
    const Json proxy_json =
        proxy ? Json{{"readWrite", proxy->read_write}, {"readOnly", proxy->read_only}, {"admin", proxy->admin}}
              : Json(nullptr);
    const int major = postgres->major;
    for (const auto& placement : plan.remove) {
      spdlog::info("cluster {}/{}: scaling down, unassigning {}", ns, cluster.name, placement.member);
      (void)etcd.remove(assignment_key(prefix, placement));
    }
    std::vector<Placement> wanted = plan.keep;
    wanted.insert(wanted.end(), plan.add.begin(), plan.add.end());
    for (const auto& placement : wanted) {
      const std::string key = assignment_key(prefix, placement);
      auto current = etcd.get(key);
      if (!current.ok()) continue;
      Json assignment = current->has_value() ? Json::parse((*current)->value, nullptr, false) : Json::object();
      const std::int64_t generation = assignment.is_object() ? assignment.value("restartGeneration", 0) : 0;
      const Json desired = {
          {"namespace", ns},
          {"clusterName", cluster.name},
          {"member", placement.member},
          {"index", placement.index},
          {"host", placement.host},
          {"postgresMajor", major},
          {"ports",
           {{"postgres", placement.ports.postgres},
            {"pgbouncer", placement.ports.pgbouncer},
            {"patroni", placement.ports.patroni}}},
          {"proxy", proxy_json},
          {"cluster", document.body},
          {"profile", profile},
          {"postgresConfig", postgres_config},
          {"poolingConfig", pooling_config},
          {"objectStorage", object_storage},
          {"restore",
           keep_assigned_restore && assignment.is_object() ? assignment.value("restore", Json(nullptr)) : restore},
          {"restartGeneration", generation}};
      // resourceVersion changes on every write of a document; compare without it to avoid churn.
      Json comparable_desired = desired, comparable_current = assignment;
      for (Json* j : {&comparable_desired, &comparable_current}) {
        if (!j->is_object()) continue;
        for (const char* field : {"cluster", "profile", "postgresConfig", "poolingConfig", "objectStorage"}) {
          if (j->contains(field)) drop_resource_version((*j)[field]);
        }
        if (j->contains("restore") && (*j)["restore"].is_object() && (*j)["restore"].contains("repository") &&
            (*j)["restore"]["repository"].is_object() && (*j)["restore"]["repository"].contains("objectStorage"))
          drop_resource_version((*j)["restore"]["repository"]["objectStorage"]);
      }
      if (comparable_current != comparable_desired) {
        if (!current->has_value())
          spdlog::info("cluster {}/{}: assigning {} to host {}", ns, cluster.name, placement.member, placement.host);
        (void)etcd.put(key, desired.dump());
      }
    }
    mine = wanted;

    // Parameters Patroni takes only from the DCS (max_connections, ...) change through PATCH /config.
    if (topology.ok() && topology->leader && topology->members.count(*topology->leader) &&
        !topology->dynamic_config.empty()) {
      model::InstanceProfile instance_profile =
          profile.is_object() ? model::instance_profile_from({"", 0, profile}) : model::default_instance_profile();
      std::optional<model::PostgresConfig> pg_config;
      if (postgres_config.is_object()) pg_config = model::postgres_config_from({"", 0, postgres_config});
      const auto tuning = config::tuning_input_for(cluster, instance_profile, pg_config ? &*pg_config : nullptr, major);
      const Json desired_dcs = config::patroni_dynamic_config(cluster, config::tune_postgres_parameters(tuning));
      if (!contains_all(topology->dynamic_config, desired_dcs)) {
        auto patched = patch_dynamic_config(topology->members.at(*topology->leader), desired_dcs);
        if (patched.ok()) {
          spdlog::info("cluster {}/{}: updated Patroni's dynamic configuration", ns, cluster.name);
        } else {
          spdlog::warn("cluster {}/{}: {}", ns, cluster.name, patched.error().message);
        }
      }
    }
  }

  auto previous = store_.get_status("SGCluster", ns, cluster.name);
  const Json previous_conditions = previous.ok() && previous->has_value() && (**previous).contains("conditions")
                                       ? (**previous)["conditions"]
                                       : Json::array();

  std::vector<BackupObservation> cluster_backups;
  for (const auto& [key, backup] : backups) {
    if (key.starts_with(ns + "/") && backup.cluster == cluster.name) cluster_backups.push_back(backup.observation);
  }
  // Backups need the storage; the first one waits until the cluster was Ready (last pass's status).
  if (cluster.backup && object_storage.is_object()) {
    const Json& metadata = document.body.value("metadata", Json::object());
    schedule_backups(cluster, metadata.value("uid", ""), condition_true(previous_conditions, "Ready"), cluster_backups);
  }

  StatusInputs inputs;
  inputs.instances = cluster.instances;
  inputs.postgres_version = postgres.ok() ? postgres->version : "";
  inputs.placements = mine;
  inputs.host_addresses = hosts;
  inputs.pooling_enabled = !cluster.disable_connection_pooling;
  if (const auto found = proxy_ports.find(ns + "/" + cluster.name); found != proxy_ports.end())
    inputs.proxy_ports = found->second;
  inputs.scheduling_problem = problem;
  inputs.now = utc_timestamp_now();
  if (topology.ok()) {
    inputs.leader = topology->leader;
    inputs.members = topology->members;
    if (topology->leader && topology->members.count(*topology->leader)) {
      auto standbys = read_standbys(topology->members.at(*topology->leader));
      if (standbys.ok()) inputs.standbys = standbys.value();
      // The primary's agent reports pg_stat_archiver (docs/api.md, instance reports).
      auto report = etcd.get(fmt::format("{}/instances/{}/{}/{}", prefix, ns, cluster.name, *topology->leader));
      if (report.ok() && report->has_value()) {
        const Json parsed = Json::parse((*report)->value, nullptr, false);
        if (parsed.is_object() && parsed.contains("archiving")) inputs.archiving = parsed["archiving"];
        if (parsed.is_object()) {
          inputs.backup_problem = parsed.contains("backupProblem") && parsed["backupProblem"].is_string()
                                      ? parsed["backupProblem"].get<std::string>()
                                      : std::string();
        }
      }
    }
  }
  for (const auto& placement : mine) {
    auto report = etcd.get(fmt::format("{}/instances/{}/{}/{}", prefix, ns, cluster.name, placement.member));
    if (!report.ok() || !report->has_value()) continue;
    Json parsed = Json::parse((*report)->value, nullptr, false);
    if (!parsed.is_object()) continue;
    if (parsed.contains("events") && parsed["events"].is_array())
      inputs.member_events[placement.member] = parsed["events"].get<std::vector<Json>>();
    if (parsed.contains("rejoin") && parsed["rejoin"].is_object()) inputs.rejoins[placement.member] = parsed["rejoin"];
    // Why a member is not running, in the agent's words (a running one needs none).
    const bool running = topology.ok() && topology->members.count(placement.member) > 0 &&
                         topology->members.at(placement.member).state == "running";
    if (!running) inputs.member_reports[placement.member] = std::move(parsed);
  }
  inputs.backups = cluster_backups;
  inputs.backups_configured = cluster.backup.has_value();
  inputs.previous_conditions = previous_conditions;
  if (previous.ok() && previous->has_value() && (**previous).contains("events"))
    inputs.previous_events = (**previous)["events"];
  Json status = build_cluster_status(inputs);
  if (previous.ok() && previous->has_value()) {
    // Keep what other writers put in the status (rolling-restart progress).
    for (const auto& [key, value] : (**previous).items()) {
      if (!status.contains(key)) status[key] = value;
    }
  }
  managed_sql_.reconcile(document, status);  // after the merge above: it may remove status.managedSql
  if (!previous.ok() || !previous->has_value() || **previous != status)
    (void)store_.put_status("SGCluster", ns, cluster.name, status);
}

void ClusterReconciler::schedule_backups(const model::Cluster& cluster, const std::string& cluster_uid, bool ready,
                                         std::vector<BackupObservation>& backups) {
  const auto& etcd = store_.client();
  const std::string& ns = cluster.namespace_name;
  const std::string key = backup_schedule_key(settings_.etcd_prefix, ns, cluster.name);
  auto stored = etcd.get(key);
  if (!stored.ok()) return;

  BackupScheduleInput input;
  input.cluster = cluster.name;
  input.cluster_uid = cluster_uid;
  input.cluster_ready = ready;
  input.cluster_has_backups = !backups.empty();
  input.now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  if (stored->has_value()) input.state = backup_schedule_state_from_json((*stored)->value);
  if (!cluster.backup->cron_schedule.empty()) {
    auto schedule = model::parse_cron(cluster.backup->cron_schedule);
    if (schedule.ok()) {
      input.schedule = schedule.value();
    } else {
      spdlog::warn("cluster {}/{}: cronSchedule: {}", ns, cluster.name, schedule.error().message);
    }
  }
  const BackupScheduleDecision decision = decide_backup(input);

  if (decision.trigger != BackupTrigger::kNone) {
    const Json body = {{"apiVersion", "stackgres.io/v1"},
                       {"kind", "SGBackup"},
                       {"metadata", {{"name", decision.backup_name}, {"namespace", ns}}},
                       {"spec", {{"sgCluster", cluster.name}, {"managedLifecycle", true}}}};
    auto created = store_.create(model::Document{"controller", 0, body});
    // Already there: created before a restart that came before the state write; not a second one.
    if (!created.ok() && created.error().code != ErrorCode::kAlreadyExists) {
      spdlog::warn("cluster {}/{}: cannot create SGBackup {}: {}", ns, cluster.name, decision.backup_name,
                   created.error().message);
      return;
    }
    if (created.ok()) {
      spdlog::info("cluster {}/{}: created SGBackup {} ({})", ns, cluster.name, decision.backup_name,
                   backup_trigger_name(decision.trigger));
      const Json& metadata = created->body.value("metadata", Json::object());
      backups.push_back({decision.backup_name, metadata.value("creationTimestamp", ""), nullptr});
    }
  }
  if (decision.state_changed) (void)etcd.put(key, backup_schedule_state_to_json(decision.state).dump());
}

}  // namespace pgstack::controller
