#include "controller/cluster_reconciler.h"

#include <set>

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include "config/render_patroni.h"
#include "config/tuning.h"
#include "controller/cluster_status.h"
#include "controller/credentials.h"
#include "controller/patroni_client.h"
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

Json document_or_null(const Result<model::Document>& document) {
  return document.ok() ? document->body : Json(nullptr);
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

}  // namespace

std::string assignment_key(const std::string& etcd_prefix, const Placement& placement) {
  return fmt::format("{}/assignments/{}/{}/{}", etcd_prefix, placement.host, placement.cluster_key, placement.member);
}

ClusterReconciler::ClusterReconciler(store::ResourceStore store, const LeaderElection& leadership,
                                     ReconcilerSettings settings)
    : store_(std::move(store)), leadership_(leadership), settings_(std::move(settings)) {}

ClusterReconciler::~ClusterReconciler() { stop(); }

void ClusterReconciler::start() { thread_ = std::thread([this] { run(); }); }

void ClusterReconciler::stop() {
  if (stopping_.exchange(true)) return;
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
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
  if (!host_keys.ok() || !assignment_keys.ok() || !clusters.ok()) {
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
      proxy_ports[placement.cluster_key] = {proxy.value("readWrite", 0), proxy.value("readOnly", 0), proxy.value("admin", 0)};
  }

  std::set<std::string> live_clusters;
  for (const auto& cluster : clusters.value()) {
    live_clusters.insert(cluster.namespace_name() + "/" + cluster.name());
    reconcile_cluster(cluster, placements, hosts, proxy_ports);
  }
  // Members of deleted clusters: the agents stop them; their data stays on disk.
  for (const auto& placement : placements) {
    if (live_clusters.count(placement.cluster_key) == 0) {
      spdlog::info("cluster {} was deleted: unassigning {}", placement.cluster_key, placement.member);
      (void)etcd.remove(assignment_key(prefix, placement));
    }
  }
}

void ClusterReconciler::reconcile_cluster(const model::Document& document, const std::vector<Placement>& placements,
                                          const std::map<std::string, std::string>& hosts,
                                          std::map<std::string, ProxyPorts>& proxy_ports) {
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

  auto topology = read_topology(etcd, prefix, ns, cluster.name);
  std::vector<Placement> mine;
  for (const auto& placement : placements) {
    if (placement.cluster_key == ns + "/" + cluster.name) mine.push_back(placement);
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
    const Json proxy_json = proxy ? Json{{"readWrite", proxy->read_write}, {"readOnly", proxy->read_only},
                                         {"admin", proxy->admin}}
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
      const Json desired = {{"namespace", ns},
                            {"clusterName", cluster.name},
                            {"member", placement.member},
                            {"index", placement.index},
                            {"host", placement.host},
                            {"postgresMajor", major},
                            {"ports", {{"postgres", placement.ports.postgres},
                                       {"pgbouncer", placement.ports.pgbouncer},
                                       {"patroni", placement.ports.patroni}}},
                            {"proxy", proxy_json},
                            {"cluster", document.body},
                            {"profile", profile},
                            {"postgresConfig", postgres_config},
                            {"poolingConfig", pooling_config},
                            {"restartGeneration", generation}};
      // resourceVersion changes on every write of the cluster; compare without it to avoid churn.
      Json comparable_desired = desired, comparable_current = assignment;
      for (Json* j : {&comparable_desired, &comparable_current}) {
        for (const char* field : {"cluster", "profile", "postgresConfig", "poolingConfig"}) {
          if (j->is_object() && j->contains(field) && (*j)[field].is_object() && (*j)[field].contains("metadata"))
            (*j)[field]["metadata"].erase("resourceVersion");
        }
      }
      if (comparable_current != comparable_desired) {
        if (!current->has_value()) spdlog::info("cluster {}/{}: assigning {} to host {}", ns, cluster.name, placement.member, placement.host);
        (void)etcd.put(key, desired.dump());
      }
    }
    mine = wanted;

    // Parameters Patroni takes only from the DCS (max_connections, ...) change through PATCH /config.
    if (topology.ok() && topology->leader && topology->members.count(*topology->leader) && !topology->dynamic_config.empty()) {
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
    }
  }
  auto previous = store_.get_status("SGCluster", ns, cluster.name);
  if (previous.ok() && previous->has_value() && (**previous).contains("conditions"))
    inputs.previous_conditions = (**previous)["conditions"];
  Json status = build_cluster_status(inputs);
  if (previous.ok() && previous->has_value()) {
    // Keep what other writers put in the status (rolling-restart progress).
    for (const auto& [key, value] : (**previous).items()) {
      if (!status.contains(key)) status[key] = value;
    }
  }
  if (!previous.ok() || !previous->has_value() || **previous != status)
    (void)store_.put_status("SGCluster", ns, cluster.name, status);
}

}  // namespace pgstack::controller
