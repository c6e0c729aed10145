// A cluster restored from a backup (spec.initialData.restore.fromBackup): its members start from the
// backup, so nothing is placed until the backup can be restored. Once members run, the restore is
// history: they keep what their assignments say, whatever became of the backup.
#pragma once

#include "controller/reconcile/step.h"

namespace pgstack::controller {

struct RestoreObservation {
  const model::RestoreSource* source = nullptr;  // nullptr: not a restored cluster
  std::string namespace_name;
  const model::Json* backup_status = nullptr;  // nullptr: the SGBackup does not exist
  model::Json storage = nullptr;               // the backup's SGObjectStorage, null when missing
  bool members_placed = false;
};

struct RestoreDecision {
  RestorePlan plan;
  StepOutcome outcome;
};

RestoreDecision decide_restore(const RestoreObservation& observed);

StepOutcome admit_restore(const StepEnvironment& environment, const PassSnapshot& pass, ClusterState& state);

}  // namespace pgstack::controller
