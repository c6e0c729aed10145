// A cluster created from a backup (spec.initialData.restore.fromBackup): whether the API accepts it,
// and the "restore" object of its assignments that tells the agent where the backup is. Pure: callers
// look up the SGBackup's status and the SGObjectStorage documents.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "controller/backup_schedule.h"
#include "model/assignment.h"
#include "model/document.h"
#include "model/resources.h"

namespace pgstack::controller {

struct FieldProblem {
  std::string path;  // "spec.initialData.restore.fromBackup.name"
  std::string message;
};

// Admission of a new cluster: the backup exists (`backup_status` is nullptr when it does not; a JSON
// null when it has no status yet), is Completed, a restoreToTimestamp lies between the backup's
// finishedAt and `now`, and a targetLsn is not before the backup's stop LSN.
std::optional<FieldProblem> check_restore_request(const model::RestoreSource& source, const std::string& namespace_name,
                                                  const model::Json* backup_status, UtcSeconds now);

// fromBackup.uid (StackGres' older way to name the backup) -> fromBackup.name of the SGBackup in
// `backups` whose metadata.uid it is, written into `cluster_body`. A problem when none has it, or when
// a name is also given and is another backup's.
std::optional<FieldProblem> resolve_backup_uid(model::Json& cluster_body, const std::vector<model::Document>& backups);

// The backup's status.repository.objectStorage ("" when the status does not name one).
std::string restore_storage_name(const model::Json& backup_status);

// The assignment's restore (model/assignment.h): the backup's label and repository, and the source's
// target ({"time"|"lsn"|"xid"|"name": value, "inclusive"}, null without one).
// kNotFound / kFailedPrecondition with a message for the cluster's Scheduling condition when the
// backup is missing (`backup_status` nullptr), not Completed, or its storage (`storage` null) is missing.
Result<model::RestoreAssignment> restore_assignment(const model::RestoreSource& source,
                                                    const std::string& namespace_name, const model::Json* backup_status,
                                                    const model::Json& storage);

// The times a new cluster restored from one cluster's backups can reach (GET .../sgclusters/{name}/
// recoverywindow): from the end of its oldest Completed backup to `now` while its primary runs and archives
// (a restore has it seal its WAL first, docs/backups.md), else to the last WAL segment it archived. A
// failing archive is a gap from the last archived segment on. `backups` are the cluster's SGBackups with
// their status; `cluster_status` its observed status (primary, members, archiving).
// `archive_continuity`: the primary's agent's last check of the repository's WAL (agent/
// archive_continuity.h; null when there is none). A restore replays WAL in order from its backup's first
// segment, so a hole ends what the backups before it reach at the last segment archived before it (each
// backup's "reachableUntil"), and the time until the next backup ends is a gap.
model::Json recovery_window(const std::vector<model::Document>& backups, const model::Json& cluster_status,
                            UtcSeconds now, const model::Json& archive_continuity = model::Json());

// A restoreToTimestamp after the window's `latest` (recovery_window() above): the problem at its path.
std::optional<FieldProblem> restore_target_beyond(const model::Json& window, const std::string& target_time);

// A restoreToTimestamp the named backup cannot reach: at or after its "reachableUntil" (a hole in the
// repository's WAL after it), or after the window's `latest`.
std::optional<FieldProblem> restore_target_unreachable(const model::Json& window, const std::string& backup_name,
                                                       const std::string& target_time);

}  // namespace pgstack::controller
