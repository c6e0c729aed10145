#include "agent/rejoin_watch.h"

#include <fmt/format.h>

namespace pgstack::agent {

RejoinDecision decide_rejoin(const RejoinObservation& observed, RejoinState& state,
                             std::chrono::steady_clock::time_point now, const RejoinTiming& timing) {
  if (observed.is_primary || observed.streaming || !observed.evidence) {
    state.stuck_since.reset();
    return {RejoinStep::kNone, ""};
  }
  if (!state.stuck_since) state.stuck_since = now;
  const auto stuck = std::chrono::duration_cast<std::chrono::seconds>(now - *state.stuck_since);
  const std::string why = fmt::format("not streaming for {} s: {}", stuck.count(), *observed.evidence);
  // Patroni's rewind or a copy in flight: interrupting it would only start over.
  if (observed.copy_in_progress || !observed.leader_elsewhere || stuck < timing.grace) return {RejoinStep::kWatch, why};
  if (state.last_rebuild && now - *state.last_rebuild < timing.cooldown) return {RejoinStep::kWatch, why};
  if (observed.copies_kept >= timing.most_copies_kept) {
    return {RejoinStep::kNeedsPerson,
            fmt::format("{}; {} earlier data directories of this member are kept aside already: remove what is not "
                        "needed and it is rebuilt from the primary",
                        why, observed.copies_kept)};
  }
  return {RejoinStep::kRebuild, why};
}

}  // namespace pgstack::agent
