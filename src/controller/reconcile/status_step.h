// The observed status of a cluster (cluster_status.h builds it): from Patroni's keys, the primary's
// view of its standbys, the agents' reports and what this pass's steps decided; published when it
// changed. Always runs, also after a step stopped the reconcile, whose reason it shows.
#pragma once

#include <map>
#include <string>

#include "controller/reconcile/step.h"
#include "model/instance_report.h"

namespace pgstack::controller {

struct StatusObservation {
  const ClusterState* state = nullptr;
  const PassSnapshot* pass = nullptr;
  // The agents' reports of the cluster's members and of the leader, by member.
  std::map<std::string, model::InstanceReport> reports;
  std::map<std::string, StandbyReplication> standbys;  // the primary's pg_stat_replication
  std::string now;
};

// The status to publish: build_cluster_status over the observation, plus what other writers put into
// the previous status (rolling-restart progress), which this pass does not own.
model::Json decide_status(const StatusObservation& observed);

StepOutcome publish_status(const StepEnvironment& environment, const PassSnapshot& pass, ClusterState& state);

}  // namespace pgstack::controller
