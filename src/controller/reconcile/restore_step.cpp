#include "controller/reconcile/restore_step.h"

#include "controller/restore_source.h"

namespace pgstack::controller {

RestoreDecision decide_restore(const RestoreObservation& observed) {
  RestoreDecision decision;
  if (observed.source == nullptr) return decision;
  auto restore =
      restore_assignment(*observed.source, observed.namespace_name, observed.backup_status, observed.storage);
  if (restore.ok()) {
    decision.plan.restore = std::move(restore).value();
  } else if (observed.members_placed) {
    decision.plan.keep_assigned = true;
  } else {
    decision.outcome = StepOutcome::stopped("RestoreNotPossible", restore.error().message);
  }
  return decision;
}

StepOutcome admit_restore(const StepEnvironment& environment, const PassSnapshot& pass, ClusterState& state) {
  if (!state.cluster.restore) return StepOutcome::proceed();
  const std::string& ns = state.cluster.namespace_name;
  RestoreObservation observed;
  observed.source = &*state.cluster.restore;
  observed.namespace_name = ns;
  observed.members_placed = !state.members.empty();
  const auto backup = pass.backups.find(ns + "/" + state.cluster.restore->backup);
  if (backup != pass.backups.end()) {
    observed.backup_status = &backup->second.observation.status;
    const std::string storage_name = restore_storage_name(*observed.backup_status);
    if (!storage_name.empty()) {
      if (auto found = environment.store.get("SGObjectStorage", ns, storage_name); found.ok())
        observed.storage = found->body;
    }
  }
  RestoreDecision decision = decide_restore(observed);
  state.restore = std::move(decision.plan);
  return decision.outcome;
}

}  // namespace pgstack::controller
