// Credentials first: a cluster's generated passwords (<prefix>/secrets/<ns>/<cluster>) are written
// once, on its first reconcile; the agents wait for them before bootstrapping.
#pragma once

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

// Never stops the reconcile: members that need the credentials wait for them on their own.
StepOutcome ensure_credentials(const StepEnvironment& environment, ClusterState& state);

}  // namespace pgstack::controller
