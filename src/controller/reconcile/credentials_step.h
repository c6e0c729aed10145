// Credentials first: a cluster's generated passwords (<prefix>/secrets/<ns>/<cluster>) are written
// once, on its first reconcile; the agents wait for them before bootstrapping. A role that pgstack added
// later (the monitoring role) gets its credential added to a cluster made before it; the others never
// change.
#pragma once

#include <optional>
#include <string>

#include "controller/reconcile/step.h"

namespace pgstack::controller {

struct CredentialsObservation {
  bool read = false;    // etcd answered
  bool exists = false;  // the key is there
};

struct CredentialsDecision {
  bool create = false;
  std::string why;
};

CredentialsDecision decide_credentials(const CredentialsObservation& observed);

// The stored credentials with the entries they lack taken from `generated` (a fresh set); nullopt when
// nothing is missing or `stored` is not an object (left alone: the agents report what they cannot read).
std::optional<model::Json> with_missing_credentials(const model::Json& stored, const model::Json& generated);

// Never stops the reconcile: members that need the credentials wait for them on their own.
StepOutcome ensure_credentials(const StepEnvironment& environment, ClusterState& state);

}  // namespace pgstack::controller
