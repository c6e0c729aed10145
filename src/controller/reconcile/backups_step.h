// Scheduled backups: the cluster's first backup once it was Ready, then those its cronSchedule asks
// for (the decision is backup_schedule.h's); created as SGBackups the agents take.
#pragma once

#include <string>
#include <vector>

#include "controller/backup_schedule.h"
#include "controller/reconcile/step.h"

namespace pgstack::controller {

// The SGBackups of one cluster, among every SGBackup the pass read.
std::vector<BackupObservation> backups_of(const PassSnapshot& pass, const std::string& namespace_name,
                                          const std::string& cluster);

// The SGBackup the controller creates for a decision: managed, so retention may delete it.
model::Json scheduled_backup_document(const std::string& namespace_name, const std::string& cluster,
                                      const std::string& backup_name);

// Whether the status has the condition `type` with status True.
bool condition_true(const model::Json& status, const std::string& type);

// Never stops the reconcile; a backup that cannot be created is tried again on the next pass.
StepOutcome schedule_backups(const StepEnvironment& environment, const PassSnapshot& pass, ClusterState& state);

}  // namespace pgstack::controller
