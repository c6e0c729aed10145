// The safety net for a replica that cannot follow its primary (issue 18): a former primary that came
// back on a history the new primary does not have (no pg_rewind happened, or it failed), or a data
// directory Postgres cannot start from. Patroni only rewinds when it sees the divergence itself, and
// a standby that never accepts connections is never checked again. Such a member stays "starting"
// for good. Postgres' own log says why; when it does, and the member has not streamed since, for
// longer than Patroni needs to rewind, the member is rebuilt from the primary (its data directory
// kept aside, never deleted). Pure: InstanceSupervisor does the I/O.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pgstack::agent {

struct RejoinObservation {
  bool is_primary = false;              // Patroni says this member is the leader
  bool leader_elsewhere = false;        // another member leads and runs as primary: something to copy from
  bool streaming = false;               // the leader's pg_stat_replication shows this member streaming
  std::optional<std::string> evidence;  // divergence_in_log (postgres_log.h) of the newest log
  bool copy_in_progress = false;        // pg_rewind or pg_basebackup runs for this data directory
  int copies_kept = 0;                  // data directories already kept aside for this member
};

struct RejoinState {
  std::optional<std::chrono::steady_clock::time_point> stuck_since;
  std::optional<std::chrono::steady_clock::time_point> last_rebuild;
};

enum class RejoinStep {
  kNone,         // following the primary, or nothing to judge
  kWatch,        // the log shows a divergence: give Patroni's own rewind its time
  kRebuild,      // rebuild from the primary now
  kNeedsPerson,  // would rebuild, but too many copies are already kept aside
};

struct RejoinDecision {
  RejoinStep step = RejoinStep::kNone;
  std::string reason;
};

struct RejoinTiming {
  std::chrono::seconds grace{20};      // Patroni's loop (2 s) and a rewind of a small database fit in it
  std::chrono::seconds cooldown{300};  // between two rebuilds of one member
  int most_copies_kept = 2;
};

// Updates `state` (when the member was first seen stuck) and says what to do.
RejoinDecision decide_rejoin(const RejoinObservation& observed, RejoinState& state,
                             std::chrono::steady_clock::time_point now, const RejoinTiming& timing = {});

}  // namespace pgstack::agent
