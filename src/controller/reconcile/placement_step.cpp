#include "controller/reconcile/placement_step.h"

#include <algorithm>
#include <chrono>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>
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

namespace {

// The member to take over from a primary on a leaving host: a running replica elsewhere, a synchronous
// standby first (in the sync modes Patroni accepts no other). Nothing when the primary is not leaving or
// no member elsewhere can take over yet.
std::optional<std::string> drain_switchover_candidate(const ClusterState& state, const std::vector<Placement>& members,
                                                      const SchedulingRequest& scheduling) {
  if (!state.topology || !state.topology->leader) return std::nullopt;
  const std::string& leader = *state.topology->leader;
  std::map<std::string, std::string> host_of;
  for (const auto& placement : members) host_of[placement.member] = placement.host;
  if (host_of.count(leader) == 0 || scheduling.leaving_hosts.count(host_of[leader]) == 0) return std::nullopt;
  std::optional<std::string> candidate;
  for (const auto& [name, member] : state.topology->members) {
    const auto host = host_of.find(name);
    if (name == leader || host == host_of.end() || scheduling.leaving_hosts.count(host->second) > 0) continue;
    if (member.state != "running" && member.state != "streaming") continue;
    const bool sync = std::find(state.topology->sync_standbys.begin(), state.topology->sync_standbys.end(), name) !=
                      state.topology->sync_standbys.end();
    if (sync) return name;
    if (!candidate && state.topology->sync_standbys.empty()) candidate = name;
  }
  return candidate;
}

}  // namespace

PlacementDecision plan_placement(const PlacementRequest& request) {
  const ClusterState& state = *request.state;
  const PassSnapshot& pass = *request.pass;
  PlacementDecision decision;

  SchedulingRequest scheduling{
      state.cluster.namespace_name, state.cluster.name, state.wanted_instances(), std::nullopt, {}, pass.placements};
  if (state.topology) {
    scheduling.primary_member = state.topology->leader;
    for (const auto& [name, member] : state.topology->members) {
      if (member.state == "running" || member.state == "streaming") scheduling.ready_members.insert(name);
    }
    scheduling.sync_standbys.insert(state.topology->sync_standbys.begin(), state.topology->sync_standbys.end());
  }
  // pods.scheduling.nodeSelector: only hosts with its labels take new members (those placed stay).
  std::map<std::string, model::Labels> labels_of;
  for (const auto& registration : pass.host_registrations)
    labels_of[registration.value("name", "")] = model::labels_from(registration.value("labels", model::Json()));
  std::string unselected;
  scheduling.leaving_hosts = pass.draining_hosts;
  for (const auto& [name, address] : pass.hosts) {
    if (pass.draining_hosts.count(name) > 0) continue;
    const model::Labels& labels = labels_of[name];
    if (model::matches_selector(labels, state.cluster.node_selector)) {
      scheduling.hosts.push_back(name);
    } else {
      unselected += fmt::format("{}{} ({})", unselected.empty() ? "" : ", ", name, model::describe_labels(labels));
    }
  }
  if (scheduling.hosts.empty() && !pass.draining_hosts.empty() && unselected.empty())
    scheduling.no_host_reason = fmt::format("every registered host is being drained ({}; pgstack host uncordon HOST)",
                                            fmt::join(pass.draining_hosts, ", "));
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
  decision.moved = plan.moved;
  decision.spreading = plan.spreading;
  decision.surge = plan.surge;
  decision.switchover_to = drain_switchover_candidate(state, plan.keep, scheduling);
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

StepOutcome place_members(const StepEnvironment& environment, PassSnapshot& pass, ClusterState& state,
                          DrainSwitchovers& drain_switchovers) {
  const std::string& prefix = environment.settings.etcd_prefix;
  const auto& etcd = environment.store.client();
  PlacementDecision decision = plan_placement({&state, &pass, prefix, environment.settings.port_bases});

  // Waits for the new primary (seconds); retried on a later pass when it fails.
  constexpr auto kSwitchoverRetry = std::chrono::seconds(30);
  const auto now = std::chrono::steady_clock::now();
  if (decision.switchover_to &&
      (drain_switchovers.count(state.key) == 0 || now - drain_switchovers[state.key] >= kSwitchoverRetry)) {
    drain_switchovers[state.key] = now;
    spdlog::info("cluster {}: the primary {} runs on a drained host; switching over to {}", state.key,
                 *state.topology->leader, *decision.switchover_to);
    auto moved = switchover(etcd, prefix, state.cluster.namespace_name, state.cluster.name, *decision.switchover_to,
                            "the drain of its primary's host", std::chrono::seconds(30));
    if (!moved) spdlog::warn("cluster {}: switchover off the drained host: {}", state.key, moved.error().message);
  }
  if (decision.surge) {
    for (const auto& placement : decision.added)
      spdlog::info("cluster {}: its single member runs on a drained host; adding {} on host {} to switch over to",
                   state.key, placement.member, placement.host);
  }
  for (const auto& placement : decision.moved) {
    if (decision.spreading) {
      spdlog::info("cluster {}: moving {} off host {}, which runs another member, to a host with none", state.key,
                   placement.member, placement.host);
    } else {
      spdlog::info("cluster {}: moving {} off the drained host {}", state.key, placement.member, placement.host);
    }
  }

  for (const auto& placement : decision.remove) {
    if (std::find(decision.moved.begin(), decision.moved.end(), placement) == decision.moved.end())
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
