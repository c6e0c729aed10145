// Parameters Patroni takes only from its DCS configuration (max_connections, ...) change through
// PATCH /config on the primary, when what Patroni has differs from what the cluster asks for.
#pragma once

#include <optional>
#include <string>

#include "controller/reconcile/step.h"

namespace pgstack::controller {

struct PatroniConfigObservation {
  const model::Cluster* cluster = nullptr;
  const ResolvedInputs* inputs = nullptr;
  const ClusterTopology* topology = nullptr;  // nullptr: Patroni's keys could not be read
};

struct PatroniConfigDecision {
  std::optional<model::Json> patch;  // what to PATCH on `leader`; nothing: Patroni has it already
  std::string leader;
  std::string why;
};

PatroniConfigDecision decide_patroni_config(const PatroniConfigObservation& observed);

// Whether every key of `desired` has the same value in `actual` (Patroni adds keys of its own, and
// stores parameter values as given: numbers and strings compare by their text).
bool contains_all(const model::Json& actual, const model::Json& desired);

// A failed PATCH is logged and tried again on the next pass; it never stops the reconcile.
StepOutcome sync_patroni_config(const StepEnvironment& environment, ClusterState& state);

}  // namespace pgstack::controller
