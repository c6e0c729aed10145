// Member placement: which host runs each member with which ports (the scheduler), pgstack-proxy's
// ports for the cluster, and the assignments the agents act on: new and changed ones are written,
// those of removed members (scale down) deleted.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "controller/reconcile/step.h"

namespace pgstack::controller {

struct PlacementRequest {
  const ClusterState* state = nullptr;  // the cluster, its inputs, restore plan and topology
  const PassSnapshot* pass = nullptr;   // hosts, every cluster's placements, proxy ports and assignments
  std::string etcd_prefix;
  PortBases port_bases;
};

struct AssignmentWrite {
  std::string key;
  model::Assignment assignment;
  bool is_new = false;  // no assignment at the key yet
};

struct PlacementDecision {
  std::vector<Placement> remove;        // members to unassign (scale down)
  std::vector<AssignmentWrite> writes;  // new assignments and those whose content changed
  std::vector<Placement> members;       // the cluster's members after this pass
  std::vector<Placement> added;         // new members among them
  std::vector<Placement> moved;         // of `remove`, those moving off a drained host (or spreading)
  bool spreading = false;               // `moved` is a replica leaving a shared host for an empty one
  bool surge = false;                   // a member more than asked for, for a single member's drain
  // The primary runs on a drained host: switch over to this member first.
  std::optional<std::string> switchover_to;
  std::optional<ProxyPorts> proxy;  // the cluster's pgstack-proxy ports
  StepOutcome outcome;              // stopped when a member or the proxy cannot be placed
};

PlacementDecision plan_placement(const PlacementRequest& request);

// The assignment of one member: what the cluster resolved to, plus what the member carries over from
// the assignment it has (`current`, null for a new member): its restartGeneration, and its restore
// when the cluster's members run already.
model::Assignment desired_assignment(const ClusterState& state, const Placement& placement,
                                     const std::optional<ProxyPorts>& proxy, const model::Json& current);

// When each cluster's last switchover off a drained host was asked for (at most one per kSwitchoverRetry).
using DrainSwitchovers = std::map<std::string, std::chrono::steady_clock::time_point>;

StepOutcome place_members(const StepEnvironment& environment, PassSnapshot& pass, ClusterState& state,
                          DrainSwitchovers& drain_switchovers);

}  // namespace pgstack::controller
