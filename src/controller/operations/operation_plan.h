// The pure decisions of day-2 operations (SGDbOps): which operation of a cluster runs now (one at a
// time, in creation order), how its status reads (StackGres's conditions), and the next step of a
// rolling restart. The runner (operations_runner.h) gathers the inputs and carries the steps out.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/dbops.h"
#include "model/document.h"

namespace pgstack::controller::operations {

using model::Json;

// One SGDbOps with its stored status (null before it was first seen).
struct QueuedOperation {
  model::DbOps spec;
  Json status;
};

enum class Phase { kPending, kRunning, kCompleted, kFailed };
Phase phase_of(const Json& status);

struct QueueDecision {
  std::optional<std::string> run;              // the operation to run (or resume) now
  std::map<std::string, std::string> waiting;  // name -> why it waits
};

// At most one operation per cluster: one already started goes on; otherwise the oldest whose runAt
// has come (creation order: creationTimestamp, then resourceVersion, then name). The others wait, and say for what.
QueueDecision decide_queue(const std::vector<QueuedOperation>& operations, std::chrono::system_clock::time_point now);

// Whether `timeout` has passed since the operation started (opStarted).
bool timed_out(const model::DbOps& spec, const Json& status, std::chrono::system_clock::time_point now);

// StackGres's three conditions: exactly one True (Running, Completed or Failed), with a reason.
// reason: OperationRunning, OperationCompleted, OperationFailed, OperationTimedOut, OperationNotStarted.
Json conditions_for(Phase phase, const std::string& reason, const std::string& message, const std::string& now,
                    const Json& previous_conditions);

// One member as the rolling restart sees it (Patroni's member record and GET /patroni).
struct MemberState {
  std::string role;   // primary, replica (Patroni's words normalised)
  std::string state;  // running, starting, ...
  bool pending_restart = false;
  std::string postmaster_start_time;
  std::int64_t server_version = 0;  // e.g. 150010
};

// What a restart-like operation (restart, securityUpgrade, minorVersionUpgrade) is doing; kept in the
// operation's status under its op name, in StackGres's words plus the member being restarted now.
struct RestartProgress {
  std::string primary_instance;
  std::vector<std::string> initial_instances;
  std::vector<std::string> pending;    // pendingToRestartInstances
  std::vector<std::string> restarted;  // restartedInstances
  std::string switchover_initiated, switchover_finalized;
  // The member whose restart was asked for, and its postmaster start time before: after a controller
  // restart, a changed start time says the restart happened (so it is not done twice).
  std::string restarting;
  std::string restarting_started_before;
  // ReducedImpact: a member added for the restart's duration, so that as many replicas serve reads as
  // before while one restarts; removed at the end.
  bool additional_requested = false;
  std::string additional_instance;  // its name, once it appeared
  bool additional_released = false;
};
Json to_json(const RestartProgress& progress);
RestartProgress restart_progress_from(const Json& json);

// Which members a restart-like operation restarts, decided once when it starts.
// restart: all, or only those with pending_restart; upgrades: those running an older binary than
// `installed_version_num` (e.g. 150010).
std::vector<std::string> members_to_restart(const model::DbOps& spec, const std::map<std::string, MemberState>& members,
                                            std::int64_t installed_version_num);

enum class RestartAction {
  kRestart,         // restart `member` (a replica, or the primary of a one-member cluster)
  kConfirmRestart,  // `member`'s restart was asked for before: done when its start time moved
  kSwitchover,      // move the primary away from `member` to `candidate`; its demotion restarts it (then confirmed)
  kAddInstance,     // ReducedImpact: ask for the additional member
  kSwitchBack,      // ReducedImpact: the additional member leads; move the primary to `candidate` before removing it
  kRemoveInstance,  // ReducedImpact: every member was restarted; remove the additional one
  kWait,            // something is in flight (a demotion, a member starting): look again soon
  kDone,
  kFail,
};
struct RestartStep {
  RestartAction action = RestartAction::kWait;
  std::string member;
  std::string reason;
  std::string candidate;  // kSwitchover, kSwitchBack: the member to lead next ("": Patroni picks)
};
// `reduced_impact`: the method ReducedImpact (an additional member first, removed at the end).
RestartStep next_restart_step(const RestartProgress& progress, const std::map<std::string, MemberState>& members,
                              const std::optional<std::string>& leader, bool reduced_impact = false);

// The member that is not one of the restart's initial instances: the additional one ("" if none runs).
std::string additional_member(const RestartProgress& progress, const std::map<std::string, MemberState>& members);

// "15.10" -> 150010, "16.1" -> 160001; 0 when unreadable.
std::int64_t version_num(const std::string& version);

}  // namespace pgstack::controller::operations
