#include "controller/reconcile/placement_step.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "model/host_labels.h"
#include "store/keys.h"

namespace pgstack::controller {

model::Assignment desired_assignment(const ClusterState& state, const Placement& placement,
                                     const std::optional<ProxyPorts>& proxy, const model::Json& current) {
  model::Assignment assignment;
  assignment.namespace_name = state.cluster.namespace_name;
  assignment.cluster_name = state.cluster.name;
  assignment.member = placement.member;
  assignment.index = placement.index;
  assignment.host = placement.host;
  assignment.postgres_major = state.inputs.postgres.major;
  assignment.ports = {placement.ports.postgres, placement.ports.pgbouncer, placement.ports.patroni,
                      placement.ports.exporter};
  if (proxy) assignment.proxy = model::AssignedProxyPorts{proxy->read_write, proxy->read_only, proxy->admin};
  assignment.cluster_document = state.document.body;
  assignment.profile_document = state.inputs.profile;
  assignment.postgres_config_document = state.inputs.postgres_config;
  assignment.pooling_config_document = state.inputs.pooling_config;
  assignment.object_storage_document = state.inputs.object_storage;
  assignment.restore = state.restore.restore;

  // Not the controller's to decide: kept from what the member was assigned (an assignment that
  // cannot be read is replaced whole).
  if (auto assigned = model::assignment_from_json(current); assigned.ok()) {
    assignment.restart_generation = assigned->restart_generation;
    if (state.restore.keep_assigned) assignment.restore = assigned->restore;
  }
  return assignment;
}

PlacementDecision plan_placement(const PlacementRequest& request) {
  const ClusterState& state = *request.state;
  const PassSnapshot& pass = *request.pass;
  PlacementDecision decision;

  SchedulingRequest scheduling{
      state.cluster.namespace_name, state.cluster.name, state.wanted_instances(), std::nullopt, {}, pass.placements};
  if (state.topology) scheduling.primary_member = state.topology->leader;
  // pods.scheduling.nodeSelector: only hosts with its labels take new members (those placed stay).
  std::map<std::string, model::Labels> labels_of;
  for (const auto& registration : pass.host_registrations)
    labels_of[registration.value("name", "")] = model::labels_from(registration.value("labels", model::Json()));
  std::string unselected;
  for (const auto& [name, address] : pass.hosts) {
    const model::Labels& labels = labels_of[name];
    if (model::matches_selector(labels, state.cluster.node_selector)) {
      scheduling.hosts.push_back(name);
    } else {
      unselected += fmt::format("{}{} ({})", unselected.empty() ? "" : ", ", name, model::describe_labels(labels));
    }
  }
  if (scheduling.hosts.empty() && !unselected.empty())
    scheduling.no_host_reason = fmt::format(
        "no registered host has the labels of pods.scheduling.nodeSelector ({}); the hosts: {} (pgstack up or "
        "pgstack join --label KEY=VALUE gives a host labels)",
        model::describe_labels(state.cluster.node_selector), unselected);
  const SchedulingResult plan = schedule_cluster(scheduling, request.port_bases);
  decision.proxy = proxy_ports_for(state.key, pass.proxy_ports, request.port_bases);
  if (!plan.problem.empty()) {
    decision.outcome = StepOutcome::stopped("CannotPlaceMembers", plan.problem);
  } else if (!decision.proxy) {
    decision.outcome = StepOutcome::stopped("CannotPlaceMembers", "no free pgstack-proxy port slot left");
  }

  decision.remove = plan.remove;
  decision.added = plan.add;
  decision.members = plan.keep;
  decision.members.insert(decision.members.end(), plan.add.begin(), plan.add.end());
  for (const auto& placement : decision.members) {
    const std::string key =
        store::keys::assignment(request.etcd_prefix, placement.host, placement.cluster_key, placement.member);
    const auto stored = pass.assignments.find(key);
    const model::Json current = stored == pass.assignments.end() ? model::Json(nullptr) : stored->second;
    model::Assignment desired = desired_assignment(state, placement, decision.proxy, current);
    // Documents change resourceVersion on every write; compare without it to avoid churn.
    if (model::comparable_assignment(current) != model::comparable_assignment(model::assignment_to_json(desired)))
      decision.writes.push_back({key, std::move(desired), stored == pass.assignments.end()});
  }
  return decision;
}

StepOutcome place_members(const StepEnvironment& environment, PassSnapshot& pass, ClusterState& state) {
  const std::string& prefix = environment.settings.etcd_prefix;
  const auto& etcd = environment.store.client();
  PlacementDecision decision = plan_placement({&state, &pass, prefix, environment.settings.port_bases});

  for (const auto& placement : decision.remove) {
    spdlog::info("cluster {}: scaling down, unassigning {}", state.key, placement.member);
    const std::string key = store::keys::assignment(prefix, placement.host, placement.cluster_key, placement.member);
    if (auto removed = etcd.remove(key); !removed.ok())
      spdlog::warn("cluster {}: cannot unassign {}: {}", state.key, placement.member, removed.error().message);
  }
  for (const auto& write : decision.writes) {
    if (write.is_new)
      spdlog::info("cluster {}: assigning {} to host {}", state.key, write.assignment.member, write.assignment.host);
    if (auto written = etcd.put(write.key, model::assignment_to_json(write.assignment).dump()); !written.ok())
      spdlog::warn("cluster {}: cannot write the assignment of {}: {}", state.key, write.assignment.member,
                   written.error().message);
  }
  if (decision.proxy) pass.proxy_ports[state.key] = *decision.proxy;
  // The next cluster of this pass must see these members' port slots as taken.
  pass.placements.insert(pass.placements.end(), decision.added.begin(), decision.added.end());
  state.members = std::move(decision.members);
  return decision.outcome;
}

}  // namespace pgstack::controller
